"""The router: route choice, retries, failover, timeouts, and a record of every attempt.

Providers are the real SDK-backed ones against local wire-format servers; the records go to a real
`SQLAiHistories` on SQLite. The routers run on a `ManualClock`: their timeouts and backoffs fire
only when a test moves the clock, so a slow machine never times a healthy call out.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from ai_agents.providers.base import (
    TIERS,
    CompletionRequest,
    Message,
    Provider,
    StreamEvent,
    Usage,
)
from ai_agents.providers.configs import build_provider, provider_configs
from ai_agents.providers.offline import OfflineProvider
from ai_agents.providers.router import (
    AiInterrupted,
    AiUnavailable,
    CallContext,
    Route,
    Router,
    RouteTable,
    tier_for,
)
from api.settings import Settings
from storage.ai_histories.base import AiCall
from storage.ai_histories.sql import SQLAiHistories
from storage.sql.database import Database
from tests.support.clock import ManualClock
from tests.support.fake_llm import FakeLLM, Reply, running_fake_llm
from tests.support.server import free_port
from tests.support.waiting import eventually

CTX = CallContext(user_id=7, work_id=70, task_id="task-1", action_type="continue")
REQUEST = CompletionRequest(
    task="continue",
    messages=[Message("system", "你是小说家。"), Message("user", "续写：夜雨敲窗。")],
    inputs={},
)
ANSWER = "她放下手中的信，轻声叹了口气。"
SILENT_S = 600  # a model that says nothing for this long: only a timeout ends the wait


@pytest.fixture
async def histories(tmp_path: Path) -> AsyncIterator[SQLAiHistories]:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ai.sqlite3'}")
    await database.migrate()
    yield SQLAiHistories(database)
    await database.close()


@pytest.fixture
async def first() -> AsyncIterator[FakeLLM]:
    async with running_fake_llm() as server:
        yield server


@pytest.fixture
async def second() -> AsyncIterator[FakeLLM]:
    async with running_fake_llm() as server:
        yield server


def two_provider_router(
    first: FakeLLM,
    second: FakeLLM,
    histories: SQLAiHistories | None,
    *,
    second_kind: str = "anthropic",
    retries: int = 1,
    call_timeout_s: float = 10,
    idle_timeout_s: float = 10,
    backoff_s: float = 0,
    first_piece_timeout_s: float = 10,
    offline_fallback: bool = False,
    clock: ManualClock | None = None,
) -> Router:
    """`a` (OpenAI-compatible, on `first`) then `b` (on `second`); offline only if asked.

    Time is a `ManualClock` (a new one unless given): timeouts and backoffs wait for the test.
    """
    clock = clock or ManualClock()
    settings = Settings(
        ai_providers=[
            first.provider_config("a", "openai", model="model-a"),
            second.provider_config("b", second_kind, model="model-b"),  # type: ignore[arg-type]
        ],
        ai_offline_fallback=offline_fallback,
        ai_offline_delay_ms=0,
        ai_first_piece_timeout_s=first_piece_timeout_s,
        ai_retries=retries,
        ai_backoff_s=backoff_s,
        ai_call_timeout_s=call_timeout_s,
        ai_idle_timeout_s=idle_timeout_s,
    )
    return Router.from_settings(settings, histories, clock=clock, sleep=clock.sleep)


async def advance_when(
    clock: ManualClock, ready: Callable[[], bool], seconds: float, call: asyncio.Future[Any]
) -> None:
    """Once `ready()` holds and the router waits exactly `seconds` on the clock, move it on.

    Returns early (without moving the clock) if `call` ended first; awaiting it tells why.
    """

    def waiting() -> bool:
        return call.done() or (ready() and clock.sleeping == [pytest.approx(seconds)])

    await eventually(waiting, what=f"the router waiting {seconds}s")
    if not call.done():
        clock.advance(seconds)


async def stored(histories: SQLAiHistories) -> list[AiCall]:
    """The user's calls, oldest first."""
    _, page = await histories.list(CTX.user_id, limit=100)
    return [item.call for item in reversed(page)]


async def stream_text(router: Router) -> tuple[str, set[tuple[str, str]]]:
    parts: list[str] = []
    served: set[tuple[str, str]] = set()
    async with aclosing(router.stream(REQUEST, level="basic", ctx=CTX)) as events:
        async for event in events:
            parts.append(event.text)
            served.add((event.provider, event.model))
    return "".join(parts), served


FAILURES = {
    "500": (Reply(status=500), {}),
    "429": (Reply(status=429, headers={"retry-after": "0"}), {}),
    "idle-timeout": (Reply(delay_s=SILENT_S), {"idle_timeout_s": 0.3}),
    "call-timeout": (Reply(delay_s=SILENT_S), {"call_timeout_s": 0.3}),
}


@pytest.mark.parametrize("failure", list(FAILURES))
async def test_failover_to_the_second_provider_and_every_attempt_is_recorded(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories, failure: str
) -> None:
    reply, timeouts = FAILURES[failure]
    first.default = reply
    second.script(Reply(text=ANSWER, chunk_chars=4, usage=(88, 21)))
    clock = ManualClock()
    router = two_provider_router(first, second, histories, retries=1, clock=clock, **timeouts)
    try:
        call = asyncio.ensure_future(stream_text(router))
        if timeouts:  # each try of `a` hangs until the clock passes the timeout
            for tries in (1, 2):
                await advance_when(clock, lambda n=tries: len(first.requests) == n, 0.3, call)
        text, served = await call
    finally:
        await router.aclose()
    assert text == ANSWER
    assert served == {("b", "model-b")}
    assert len(first.requests) == 2  # one retry, then failover
    assert [r.model for r in second.requests] == ["model-b"]

    calls = await stored(histories)
    assert [(c.provider, c.model, c.status) for c in calls] == [
        ("a", "model-a", "error"),
        ("a", "model-a", "error"),
        ("b", "model-b", "ok"),
    ]
    failed, _, served_call = calls
    assert failed.output == "" and failed.tokens == 0 and failed.error
    if failure == "idle-timeout":
        assert "no answer for 0.3s" in failed.error
    if failure == "call-timeout":
        assert "longer than 0.3s" in failed.error
    if timeouts:
        assert failed.duration == pytest.approx(300, abs=1)  # the clock moved by the timeout
    if failure in ("500", "429"):
        assert str(failure) in failed.error
    assert served_call.output == ANSWER
    assert (served_call.prompt_tokens, served_call.completion_tokens) == (88, 21)
    assert served_call.tokens == 109
    assert served_call.input == REQUEST.prompt_text()
    assert "你是小说家。" in served_call.input and "续写：夜雨敲窗。" in served_call.input
    assert (served_call.user_id, served_call.work_id) == (CTX.user_id, CTX.work_id)
    assert (served_call.task_id, served_call.action_type) == ("task-1", "continue")
    assert served_call.error is None


POLISH = CompletionRequest(
    task="polish",
    messages=[Message("user", "润色：他很快的跑了过去。")],
    inputs={"text": "他很快的跑了过去。", "style": "literary"},
)
DEFAULT_TIMEOUTS = {"idle_timeout_s": 20, "call_timeout_s": 60}  # as in Settings


async def polish_text_served(router: Router) -> tuple[str, set[tuple[str, str]]]:
    parts: list[str] = []
    served: set[tuple[str, str]] = set()
    async with aclosing(router.stream(POLISH, level="basic", ctx=CTX)) as events:
        async for event in events:
            parts.append(event.text)
            served.add((event.provider, event.model))
    return "".join(parts), served


async def test_a_stalled_model_is_abandoned_at_the_first_piece_deadline(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    """Not three idle timeouts (retries) of 20 s each: 10 s without a first piece, then offline."""
    first.default = Reply(delay_s=SILENT_S)
    clock = ManualClock()
    started = clock.now
    router = two_provider_router(
        first, second, histories, retries=2, offline_fallback=True, clock=clock, **DEFAULT_TIMEOUTS
    )
    try:
        call = asyncio.ensure_future(polish_text_served(router))
        await advance_when(clock, lambda: len(first.requests) == 1, 10, call)
        text, served = await call
    finally:
        await router.aclose()
    assert served == {("offline", "offline")} and "很快地跑" in text
    assert clock.now - started == 10
    assert len(first.requests) == 1 and second.requests == []  # no retry, `b` skipped
    calls = await stored(histories)
    assert [(c.provider, c.status) for c in calls] == [("a", "error"), ("offline", "ok")]
    assert calls[0].error == "timed out: no first piece within 10.0s"
    assert calls[0].duration == 10_000


async def test_the_first_piece_deadline_spans_retries_and_backoffs(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    """A 500, a 4 s backoff, a stalled retry: that retry gets what is left of the 10 s."""
    first.script(Reply(status=500), Reply(delay_s=SILENT_S))
    second.default = Reply(text="不该出现的文字")
    clock = ManualClock()
    router = two_provider_router(
        first,
        second,
        histories,
        retries=2,
        backoff_s=4,
        offline_fallback=True,
        clock=clock,
        **DEFAULT_TIMEOUTS,
    )
    try:
        call = asyncio.ensure_future(polish_text_served(router))
        await advance_when(clock, lambda: len(first.requests) == 1, 4, call)
        await advance_when(clock, lambda: len(first.requests) == 2, 6, call)
        _, served = await call
    finally:
        await router.aclose()
    assert served == {("offline", "offline")}
    assert second.requests == []
    calls = await stored(histories)
    assert [(c.provider, c.status) for c in calls] == [
        ("a", "error"),
        ("a", "error"),
        ("offline", "ok"),
    ]
    assert "500" in (calls[0].error or "")
    assert calls[1].error == "timed out: no first piece within 10.0s"


async def test_a_backoff_past_the_first_piece_deadline_is_not_waited(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    """A retry that could only start after the deadline is skipped: the next route answers."""
    first.default = Reply(status=503)
    second.script(Reply(text=ANSWER))
    router = two_provider_router(
        first, second, histories, retries=2, backoff_s=30, **DEFAULT_TIMEOUTS
    )
    try:
        text, served = await stream_text(router)
    finally:
        await router.aclose()
    assert (text, served) == (ANSWER, {("b", "model-b")})
    assert len(first.requests) == 1


async def test_the_first_piece_deadline_ends_with_the_first_piece(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    """After a first piece only the idle and call timeouts apply (20 s here, not 10 s)."""
    first.script(Reply(text=ANSWER, chunk_chars=3, stall_after=1, stall_s=SILENT_S))
    clock = ManualClock()
    router = two_provider_router(first, second, histories, clock=clock, **DEFAULT_TIMEOUTS)
    parts: list[str] = []

    async def consume() -> None:
        async with aclosing(router.stream(REQUEST, level="basic", ctx=CTX)) as events:
            async for event in events:
                parts.append(event.text)

    try:
        call = asyncio.ensure_future(consume())
        await advance_when(clock, lambda: len(parts) == 1, 20, call)
        with pytest.raises(AiInterrupted) as caught:
            await call
    finally:
        await router.aclose()
    assert caught.value.partial_text == ANSWER[:3]
    assert "no answer for 20" in caught.value.attempts[-1].error


async def test_a_retry_on_the_same_provider_can_serve(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    first.script(Reply(status=503), Reply(text=ANSWER, usage=(10, 5)))
    router = two_provider_router(first, second, histories, retries=2)
    try:
        completion = await router.complete(REQUEST, level="free", ctx=CTX)
    finally:
        await router.aclose()
    assert (completion.text, completion.provider, completion.model) == (ANSWER, "a", "model-a")
    assert completion.usage == Usage(10, 5)
    assert second.requests == []
    assert [c.status for c in await stored(histories)] == ["error", "ok"]


async def test_retries_wait_a_doubling_backoff_or_the_retry_after_asked_for(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    first.script(
        Reply(status=500),
        Reply(status=429, headers={"retry-after": "3"}),
        Reply(status=503),
        Reply(text=ANSWER),
    )
    clock = ManualClock()
    router = two_provider_router(first, second, histories, retries=3, backoff_s=1.0, clock=clock)
    try:
        call = asyncio.ensure_future(router.complete(REQUEST, level="basic", ctx=CTX))
        # After the nth failure the router waits, and asks again only once the wait is over.
        for failures, wait in ((1, 1.0), (2, 3.0), (3, 4.0)):
            await advance_when(clock, lambda n=failures: len(first.requests) == n, wait, call)
        completion = await call
    finally:
        await router.aclose()
    assert (completion.text, completion.provider) == (ANSWER, "a")
    assert len(first.requests) == 4 and second.requests == []


@pytest.mark.parametrize(
    "reply",
    [Reply(status=429, headers={"retry-after": "3600"}), Reply(status=401)],
    ids=["long-retry-after", "not-retryable"],
)
async def test_no_retry_when_waiting_cannot_help(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories, reply: Reply
) -> None:
    first.default = reply
    second.script(Reply(text=ANSWER))
    router = two_provider_router(first, second, histories, retries=3)
    try:
        text, _ = await stream_text(router)
    finally:
        await router.aclose()
    assert text == ANSWER
    assert len(first.requests) == 1


@pytest.mark.parametrize(
    "reply",
    [
        Reply(text=ANSWER, chunk_chars=3, error_after=2),
        Reply(text=ANSWER, chunk_chars=3, stall_after=2, stall_s=SILENT_S),
    ],
    ids=["error-event", "stall"],
)
async def test_no_failover_once_text_went_out(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories, reply: Reply
) -> None:
    first.script(reply)
    second.default = Reply(text="不该出现的文字")
    clock = ManualClock()
    router = two_provider_router(
        first, second, histories, retries=2, idle_timeout_s=0.3, clock=clock
    )
    parts: list[str] = []

    async def consume() -> None:
        async with aclosing(router.stream(REQUEST, level="basic", ctx=CTX)) as events:
            async for event in events:
                parts.append(event.text)

    try:
        call = asyncio.ensure_future(consume())
        if reply.stall_after is not None:  # silent after two pieces: the idle timeout ends it
            await advance_when(clock, lambda: len(parts) == 2, 0.3, call)
        with pytest.raises(AiInterrupted) as caught:
            await call
    finally:
        await router.aclose()
    assert "".join(parts) == ANSWER[:6] == caught.value.partial_text
    assert len(first.requests) == 1
    assert second.requests == []
    (call,) = await stored(histories)
    assert (call.provider, call.status, call.output) == ("a", "error", ANSWER[:6])
    assert call.completion_tokens == 6  # no usage came: estimated from the characters


async def test_every_provider_failing_raises_ai_unavailable(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    first.default = Reply(status=500)
    second.default = Reply(status=529)
    router = two_provider_router(first, second, histories, retries=1)
    try:
        with pytest.raises(AiUnavailable) as caught:
            await router.complete(REQUEST, level="premium", ctx=CTX)
    finally:
        await router.aclose()
    attempts = caught.value.attempts
    assert [(a.provider, a.status, a.retryable) for a in attempts] == [
        ("a", 500, True),
        ("a", 500, True),
        ("b", 529, True),
        ("b", 529, True),
    ]
    assert not isinstance(caught.value, AiInterrupted)
    assert len(await stored(histories)) == 4


async def test_a_caller_that_stops_early_leaves_a_record_of_what_went_out(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    first.script(Reply(text=ANSWER, chunk_chars=2, chunk_delay_s=0.05))
    router = two_provider_router(first, second, histories)
    try:
        async with aclosing(router.stream(REQUEST, level="basic", ctx=CTX)) as events:
            received: list[str] = []
            async for event in events:
                received.append(event.text)
                if len(received) == 3:
                    break
    finally:
        await router.aclose()
    (call,) = await stored(histories)
    assert call.status == "error" and call.error and "cancelled" in call.error
    assert call.output == "".join(received) == ANSWER[:6]
    assert second.requests == []


async def test_a_cancelled_task_leaves_a_record_of_what_went_out(
    first: FakeLLM, second: FakeLLM, histories: SQLAiHistories
) -> None:
    first.script(Reply(text=ANSWER, chunk_chars=2, chunk_delay_s=0.05))
    router = two_provider_router(first, second, histories)
    received: list[str] = []
    three = asyncio.Event()

    async def consume() -> None:
        async for event in router.stream(REQUEST, level="basic", ctx=CTX):
            received.append(event.text)
            if len(received) == 3:
                three.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(three.wait(), 10)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await router.aclose()
    (call,) = await stored(histories)
    assert call.status == "error" and call.error and "cancelled" in call.error
    assert call.output == "".join(received)
    assert ANSWER.startswith(call.output) and len(call.output) >= 6


def table(**routes: list[str]) -> RouteTable:
    return RouteTable(
        models={
            "qwen": {"economy": "qwen-turbo", "standard": "qwen-plus", "premium": "qwen-max"},
            "claude": dict.fromkeys(TIERS, "claude-sonnet"),
            "offline": dict.fromkeys(TIERS, "offline"),
        },
        routes={key.replace("__", ":").replace("ALL", "*"): value for key, value in routes.items()},
    )


def test_cheaper_tiers_for_free_users_and_simple_tasks() -> None:
    assert tier_for("continue", "free") == "economy"
    assert tier_for("polish", "free") == "economy"
    assert tier_for("continue", "basic") == "standard"
    assert tier_for("polish", "basic") == "economy"
    assert tier_for("outline", "premium") == "premium"
    assert tier_for("summary", "premium") == "standard"
    assert tier_for("review", "admin") == "premium"
    assert tier_for("continue", "unknown-level") == "economy"


def test_default_plan_is_every_provider_at_the_tier_then_offline() -> None:
    routes = table()
    assert routes.plan("continue", "free") == [
        Route("qwen", "qwen-turbo"),
        Route("claude", "claude-sonnet"),
        Route("offline", "offline"),
    ]
    assert routes.plan("outline", "premium")[0] == Route("qwen", "qwen-max")
    assert routes.plan("convert", "basic")[0] == Route("qwen", "qwen-turbo")


def test_route_keys_are_looked_up_from_the_most_specific() -> None:
    routes = table(
        continue__premium=["claude", "qwen/qwen-max"],
        ALL=["qwen"],
        polish=["claude"],
        free=["qwen/qwen-turbo"],
    )
    assert routes.plan("continue", "premium") == [
        Route("claude", "claude-sonnet"),
        Route("qwen", "qwen-max"),
        Route("offline", "offline"),
    ]
    assert routes.plan("polish", "free")[0] == Route("claude", "claude-sonnet")  # task > level
    assert routes.plan("continue", "free")[:1] == [Route("qwen", "qwen-turbo")]
    assert routes.plan("outline", "basic") == [
        Route("qwen", "qwen-plus"),
        Route("offline", "offline"),
    ]


def test_model_names_may_contain_slashes_and_offline_keeps_its_place() -> None:
    routes = table(ALL=["offline", "qwen/Qwen/Qwen2.5-7B-Instruct"])
    assert routes.plan("continue", "basic") == [
        Route("offline", "offline"),
        Route("qwen", "Qwen/Qwen2.5-7B-Instruct"),
    ]


def test_offline_fallback_can_be_turned_off_and_unknown_providers_are_refused() -> None:
    routes = RouteTable(models={"qwen": dict.fromkeys(("economy",), "t")}, offline_fallback=False)
    assert [r.provider for r in routes.plan("continue", "free")] == ["qwen"]
    with pytest.raises(ValueError, match="gpt"):
        table(ALL=["gpt"])


def test_settings_shortcuts_add_providers(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        openai_api_key="sk-o",
        openai_model="qwen-plus",
        anthropic_api_key="sk-a",
        ai_providers=[{"name": "local", "base_url": "http://127.0.0.1:1/v1", "model": "llama3"}],
    )
    configs = provider_configs(settings)
    assert [(c.name, c.kind, c.model) for c in configs] == [
        ("local", "openai", "llama3"),
        ("openai", "openai", "qwen-plus"),
        ("anthropic", "anthropic", "claude-haiku-4-5"),
    ]
    router = Router.from_settings(settings, None)
    assert [r.provider for r in router.plan("continue", "free")] == [
        "local",
        "openai",
        "anthropic",
        "offline",
    ]
    assert {p.kind for p in router.providers.values()} == {"openai", "anthropic", "offline"}
    assert Router.from_settings(Settings(data_dir=tmp_path), None).plan("polish", "free") == [
        Route("offline", "offline")
    ]


async def test_falls_back_to_offline_with_the_network_unavailable(
    histories: SQLAiHistories,
) -> None:
    pytest.importorskip("ai_agents.offline.continuation")
    closed = free_port()
    settings = Settings(
        openai_base_url=f"http://127.0.0.1:{closed}/v1",
        anthropic_api_key="sk-unused",
        anthropic_base_url=f"http://127.0.0.1:{closed}",
        ai_retries=1,
        ai_backoff_s=0.01,
        ai_offline_delay_ms=0,
    )
    router = Router.from_settings(settings, histories)
    preceding = "春风又绿江南岸。江南的春天来得早，柳枝抽出新芽，燕子在檐下筑巢。"
    request = CompletionRequest(
        task="continue",
        messages=[Message("user", preceding)],
        inputs={"preceding": preceding, "corpus": [preceding * 3], "length": 40, "seed": 1},
    )
    try:
        completion = await router.complete(request, level="free", ctx=CTX)
    finally:
        await router.aclose()
    assert (completion.provider, completion.model) == ("offline", "offline")
    assert completion.text
    assert completion.usage.completion_tokens == len(completion.text)
    calls = await stored(histories)
    assert [(c.provider, c.status) for c in calls] == [
        ("openai", "error"),
        ("openai", "error"),
        ("anthropic", "error"),
        ("anthropic", "error"),
        ("offline", "ok"),
    ]
    assert calls[-1].output == completion.text


async def test_a_provider_that_breaks_unexpectedly_is_failed_over(
    histories: SQLAiHistories,
) -> None:
    class Broken:
        """Stands for a provider with a bug: no wire format involved, so nothing to run for real."""

        name = "broken"
        kind = "openai"

        async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[object]:
            raise RuntimeError("bug")
            yield  # pragma: no cover

        async def aclose(self) -> None:
            pass

    class Echo(OfflineProvider):
        name = "echo"

        async def stream(self, request: CompletionRequest, model: str) -> AsyncIterator[object]:
            yield StreamEvent(text=request.messages[-1].content)

    providers: dict[str, Provider] = {"broken": Broken(), "echo": Echo()}  # type: ignore[dict-item]
    routes = RouteTable(
        models={name: dict.fromkeys(TIERS, name) for name in providers},
        offline_fallback=False,
    )
    router = Router(
        providers,
        routes,
        histories,
        call_timeout_s=5,
        idle_timeout_s=5,
        retries=3,
        backoff_s=0.01,
    )
    completion = await router.complete(REQUEST, level="basic", ctx=CTX)
    assert (completion.provider, completion.text) == ("echo", "续写：夜雨敲窗。")
    calls = await stored(histories)
    assert [(c.provider, c.status) for c in calls] == [("broken", "error"), ("echo", "ok")]
    assert calls[0].error == "RuntimeError: bug"


def test_build_provider_picks_the_sdk_by_kind(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, openai_api_key="k", anthropic_api_key="k")
    kinds = [build_provider(c, timeout_s=1).kind for c in provider_configs(settings)]
    assert kinds == ["openai", "anthropic"]
