"""Each provider through its real SDK, against a local server speaking the vendor's wire format."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from ai_agents.providers.anthropic_provider import AnthropicProvider
from ai_agents.providers.base import (
    CompletionRequest,
    Message,
    Provider,
    ProviderConfig,
    ProviderError,
    Usage,
    retry_after_seconds,
)
from ai_agents.providers.offline import OfflineProvider
from ai_agents.providers.openai_compat import OpenAICompatProvider
from tests.support.fake_llm import FakeLLM, Reply, running_fake_llm
from tests.support.server import free_port
from tests.support.waiting import DEADLINE_S

SYSTEM = "你是一位擅长武侠小说的作家。"
REQUEST = CompletionRequest(
    task="continue",
    messages=[
        Message("system", SYSTEM),
        Message("user", "续写：长风吹过雁门关，"),
    ],
    inputs={},
    max_tokens=300,
    temperature=0.7,
)
ANSWER = "少年按剑而立，望着关外漫天黄沙，良久不语。"


@pytest.fixture
async def llm() -> AsyncIterator[FakeLLM]:
    async with running_fake_llm() as server:
        yield server


def make(kind: str, llm: FakeLLM | None, *, port: int | None = None) -> Provider:
    """A provider whose SDK timeout is the generous deadline: no healthy call reaches it."""
    if kind == "openai":
        url = llm.openai_base_url if llm else f"http://127.0.0.1:{port}/v1"
        return OpenAICompatProvider("qwen", base_url=url, api_key="sk-test", timeout_s=DEADLINE_S)
    url = llm.anthropic_base_url if llm else f"http://127.0.0.1:{port}"
    return AnthropicProvider("claude", base_url=url, api_key="sk-test", timeout_s=DEADLINE_S)


async def collect(provider: Provider, model: str) -> tuple[list[str], list[Usage]]:
    texts: list[str] = []
    usages: list[Usage] = []
    try:
        async for event in provider.stream(REQUEST, model):
            if event.text:
                texts.append(event.text)
            if event.usage is not None:
                usages.append(event.usage)
    finally:
        await provider.aclose()
    return texts, usages


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_streams_the_exact_text_and_the_usage_the_api_reports(
    llm: FakeLLM, kind: str
) -> None:
    chunks = ["少年", "按剑而立，", "望着关外漫天黄沙，", "良久", "不语。"]
    llm.script(Reply(text=ANSWER, chunks=chunks, usage=(321, 54)))
    texts, usages = await collect(make(kind, llm), "model-x")
    assert texts == chunks
    assert usages == [Usage(321, 54)]
    assert usages[0].total == 375


async def test_openai_request_carries_model_messages_and_asks_for_usage(llm: FakeLLM) -> None:
    await collect(make("openai", llm), "qwen-plus")
    (sent,) = llm.requests
    assert sent.path == "/v1/chat/completions"
    assert sent.model == "qwen-plus"
    assert sent.messages == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "续写：长风吹过雁门关，"},
    ]
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.body["max_tokens"] == 300
    assert sent.body["temperature"] == 0.7
    assert sent.headers["authorization"] == "Bearer sk-test"


async def test_anthropic_request_puts_the_system_prompt_in_system(llm: FakeLLM) -> None:
    await collect(make("anthropic", llm), "claude-haiku-4-5")
    (sent,) = llm.requests
    assert sent.path == "/v1/messages"
    assert sent.model == "claude-haiku-4-5"
    assert sent.system == SYSTEM
    assert sent.messages == [{"role": "user", "content": "续写：长风吹过雁门关，"}]
    assert sent.body["max_tokens"] == 300
    # Older SDKs send `x-api-key`, newer ones a bearer token: either carries the configured key.
    credentials = (sent.headers.get("x-api-key"), sent.headers.get("authorization"))
    assert "sk-test" in credentials or "Bearer sk-test" in credentials


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_server_that_reports_no_usage_yields_none(llm: FakeLLM, kind: str) -> None:
    llm.script(Reply(text=ANSWER, report_usage=False))
    texts, usages = await collect(make(kind, llm), "m")
    assert "".join(texts) == ANSWER
    if kind == "openai":
        assert usages == []
    else:  # Anthropic always sends message_start usage; the output count stays 0
        assert usages == [Usage(REQUEST_PROMPT_CHARS, 0)]


REQUEST_PROMPT_CHARS = len(SYSTEM) + len("续写：长风吹过雁门关，")


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
@pytest.mark.parametrize(
    ("reply", "status", "retryable", "retry_after"),
    [
        (Reply(status=500), 500, True, None),
        (Reply(status=503), 503, True, None),
        (Reply(status=429, headers={"retry-after": "7"}), 429, True, 7.0),
        (Reply(status=401), 401, False, None),
        (Reply(status=400), 400, False, None),
    ],
    ids=["500", "503", "429", "401", "400"],
)
async def test_http_errors_map_to_provider_errors(
    llm: FakeLLM,
    kind: str,
    reply: Reply,
    status: int,
    retryable: bool,
    retry_after: float | None,
) -> None:
    llm.script(reply)
    with pytest.raises(ProviderError) as caught:
        await collect(make(kind, llm), "m")
    assert caught.value.status == status
    assert caught.value.retryable is retryable
    assert caught.value.retry_after_s == retry_after


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_an_error_event_inside_the_stream_is_retryable(llm: FakeLLM, kind: str) -> None:
    llm.script(Reply(text=ANSWER, chunk_chars=3, error_after=2))
    texts: list[str] = []
    provider = make(kind, llm)
    with pytest.raises(ProviderError) as caught:
        async for event in provider.stream(REQUEST, "m"):
            texts.append(event.text)
    await provider.aclose()
    assert "".join(texts) == ANSWER[:6]
    assert caught.value.retryable


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_a_closed_port_is_a_retryable_connection_error(kind: str) -> None:
    with pytest.raises(ProviderError) as caught:
        await collect(make(kind, None, port=free_port()), "m")
    assert caught.value.retryable
    assert caught.value.status is None
    assert "connection" in str(caught.value).lower()


async def test_the_sdk_timeout_is_a_retryable_error(llm: FakeLLM) -> None:
    llm.script(Reply(delay_s=600))  # silent far longer than the timeout, however slow the machine
    provider = OpenAICompatProvider(
        "slow", base_url=llm.openai_base_url, api_key="k", timeout_s=0.3
    )
    with pytest.raises(ProviderError) as caught:
        await collect(provider, "m")
    assert caught.value.retryable
    assert "timed out" in str(caught.value)


def test_retry_after_reads_seconds_milliseconds_and_dates() -> None:
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None


def test_provider_config_picks_the_model_per_tier() -> None:
    only_default = ProviderConfig(name="a", model="m")
    assert only_default.model_for("economy") == only_default.model_for("premium") == "m"
    tiers = ProviderConfig(name="b", model="plus", models={"economy": "turbo", "premium": "max"})
    assert [tiers.model_for(t) for t in ("economy", "standard", "premium")] == [
        "turbo",
        "plus",
        "max",
    ]
    partial = ProviderConfig(name="c", models={"economy": "turbo", "premium": "max"})
    assert partial.model_for("standard") == "turbo"  # the nearest tier below
    assert ProviderConfig(name="d", models={"premium": "max"}).model_for("economy") == "max"
    with pytest.raises(ValueError, match="needs"):
        ProviderConfig(name="e")
    with pytest.raises(ValueError, match="offline"):
        ProviderConfig(name="offline", model="x")
    assert "sk-secret" not in repr(ProviderConfig(name="f", model="m", api_key="sk-secret"))


async def test_offline_refuses_a_task_it_has_no_method_for() -> None:
    request = CompletionRequest(task="haiku", messages=[], inputs={})
    with pytest.raises(ProviderError) as caught:
        async for _ in OfflineProvider().stream(request, "offline"):
            pass
    assert not caught.value.retryable


NOVEL = (
    "雨夜，咖啡馆里只剩林小雨一个人。门被推开，陈默走了进来。\n"
    "“还有热的吗？”陈默低声问。\n"
    "林小雨没有回答，转身拧亮了灯。"
)
OFFLINE_INPUTS: dict[str, dict[str, object]] = {
    "continue": {"preceding": NOVEL, "corpus": [NOVEL * 2], "length": 60, "seed": 3},
    "polish": {"text": '他很快的跑了过去,说:"我们走吧!!!"', "style": "formal"},
    "convert": {"text": NOVEL, "to_type": "script", "title": "雨巷"},
    "outline": {
        "premise": "退休刑警老周在旧书里发现一张二十年前的车票。",
        "genre": "悬疑",
        "kind": "novel",
        "chapters": 3,
        "corpus": [],
    },
    "summary": {"text": NOVEL * 3, "max_chars": 40},
    "snowflake": {"step": 1, "state": {"title": "雨巷", "premise": "咖啡馆店主与记者的故事"}},
}
OFFLINE_MODULE = {
    "continue": "continuation",
    "polish": "polish",
    "convert": "conversion",
    "outline": "outline",
    "summary": "summary",
    "snowflake": "snowflake",
}


def offline_expected(task: str, inputs: dict[str, object]) -> str:
    """What the offline methods answer when called directly, laid out as the prompts ask."""
    module = pytest.importorskip(f"ai_agents.offline.{OFFLINE_MODULE[task]}")
    if task == "continue":
        return "".join(
            module.continue_text(
                inputs["preceding"], inputs["corpus"], inputs["length"], seed=inputs["seed"]
            )
        )
    if task == "polish":
        result = module.polish(inputs["text"], inputs["style"])
        advice = "".join(f"\n- {s}" for s in result.suggestions)
        return f"{result.text}\n===建议==={advice}" if advice else result.text
    if task == "convert":
        return module.novel_to_fountain(inputs["text"], title=inputs["title"])
    if task == "outline":
        chapters = module.outline(
            inputs["premise"], genre="悬疑", kind="novel", chapters=3, corpus=[]
        )
        return json.dumps(
            {"chapters": [{"title": c.title, "summary": c.summary} for c in chapters]},
            ensure_ascii=False,
        )
    if task == "summary":
        return module.summarize(inputs["text"], inputs["max_chars"])
    return module.step(inputs["step"], dict(inputs["state"]))


@pytest.mark.parametrize("task", list(OFFLINE_INPUTS))
async def test_offline_serves_every_task_in_small_pieces_deterministically(task: str) -> None:
    inputs = OFFLINE_INPUTS[task]
    expected = offline_expected(task, inputs)
    request = CompletionRequest(task=task, messages=[], inputs=inputs)
    runs: list[tuple[list[str], list[Usage]]] = []
    for _ in range(2):
        runs.append(await collect_request(OfflineProvider(piece_chars=3), request))
    pieces, usages = runs[0]
    assert runs[1] == runs[0]
    assert "".join(pieces) == expected
    assert expected
    assert all(1 <= len(piece) <= 3 for piece in pieces)
    assert usages[-1].completion_tokens == len(expected)
    assert usages[-1].prompt_tokens > 0
    if task == "outline":
        assert len(json.loads("".join(pieces))["chapters"]) == 3


async def collect_request(
    provider: Provider, request: CompletionRequest
) -> tuple[list[str], list[Usage]]:
    pieces: list[str] = []
    usages: list[Usage] = []
    async for event in provider.stream(request, "offline"):
        if event.text:
            pieces.append(event.text)
        if event.usage is not None:
            usages.append(event.usage)
    return pieces, usages
