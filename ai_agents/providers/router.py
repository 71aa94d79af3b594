"""Which provider and model serve a call, retries, failover, timeouts and the record of every try.

Routing (brief §5.3.4, cost control): a route table maps a task type and/or member level to an
ordered list of `provider[/model]`; where no model is named, each provider's model for the call's
tier is used: `economy` for free users and for simple tasks of basic members, `premium` for
demanding tasks of premium members and admins, `standard` otherwise. The offline provider is
appended as the last route unless turned off, so the flow works without any key.

Failover happens only before the first piece of text has been yielded: after that the text is
already in a live document, so a failure raises `AiInterrupted` (with the partial text) instead.

The first piece has a deadline of its own, `first_piece_timeout_s` from the start of the call, over
all its attempts (retries and providers alike): a writer is never left looking at nothing for
retries × idle timeouts. Once it has passed, the attempt waiting is abandoned, no model route is
tried or retried any more, and the offline route (exempt: local and immediate) answers if the plan
has it; without it the call raises `AiUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from storage.ai_histories.base import AiCall, AiHistories
from storage.redaction import redact

from .base import (
    TIERS,
    CompletionRequest,
    Provider,
    ProviderError,
    StreamEvent,
    Tier,
    Usage,
)
from .configs import AiSettings, build_provider, provider_configs
from .offline import OFFLINE, OfflineProvider

if TYPE_CHECKING:
    from ..moderation import Moderator

log = logging.getLogger(__name__)

LEVELS = ("free", "basic", "premium", "admin")
_LEVEL_RANK = {"free": 0, "basic": 1, "premium": 2, "admin": 2}
SIMPLE_TASKS = frozenset({"polish", "convert", "summary"})
_ERROR_TEXT_LIMIT = 2000

Sleep = Callable[[float], Awaitable[None]]
# Told of every try as it ends (tracing, metrics); cheap, and must not raise.
CallObserver = Callable[[AiCall], None]


def tier_for(task: str, level: str) -> Tier:
    """Cheaper models for free users and simple tasks."""
    rank = _LEVEL_RANK.get(level, 0)
    if task in SIMPLE_TASKS:
        rank = max(0, rank - 1)
    return TIERS[rank]


@dataclass(frozen=True, slots=True)
class Route:
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class CallContext:
    user_id: int
    work_id: int | None
    task_id: str | None
    action_type: str


@dataclass(frozen=True, slots=True)
class RoutedEvent:
    text: str
    provider: str
    model: str


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    provider: str
    model: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class Attempt:
    """One failed try, as `AiUnavailable` reports it."""

    provider: str
    model: str
    error: str
    status: int | None
    retryable: bool
    duration_ms: int


class AiUnavailable(Exception):
    """Every route failed (or none was configured)."""

    def __init__(self, attempts: list[Attempt], message: str | None = None) -> None:
        summary = "; ".join(f"{a.provider}/{a.model}: {a.error}" for a in attempts) or "no route"
        super().__init__(message or f"no AI provider could serve the call ({summary})")
        self.attempts = attempts


class AiInterrupted(AiUnavailable):
    """The provider failed after text had been streamed; `partial_text` is what went out."""

    def __init__(self, attempts: list[Attempt], partial_text: str) -> None:
        last = attempts[-1]
        super().__init__(attempts, f"{last.provider}/{last.model} failed mid-stream: {last.error}")
        self.partial_text = partial_text


@dataclass(frozen=True)
class RouteTable:
    """`models`: provider name → its model per tier. `routes`: keys `task:level`, `task`,
    `level` or `*` (looked up in that order) → ordered `provider[/model]` entries; with no match,
    every provider in `models` in order. `offline_fallback` appends offline where it is missing."""

    models: Mapping[str, Mapping[Tier, str]]
    routes: Mapping[str, Sequence[str]] = field(default_factory=dict)
    offline_fallback: bool = True

    def __post_init__(self) -> None:
        for key, entries in self.routes.items():
            for entry in entries:
                name = entry.partition("/")[0]
                if name not in self.models:
                    raise ValueError(f"AI route {key!r} names unknown provider {name!r}")

    def entries(self, task: str, level: str) -> Sequence[str]:
        for key in (f"{task}:{level}", task, level, "*"):
            if key in self.routes:
                return self.routes[key]
        return [name for name in self.models if name != OFFLINE]

    def plan(self, task: str, level: str) -> list[Route]:
        tier = tier_for(task, level)
        plan: list[Route] = []
        for entry in self.entries(task, level):
            # Split at the first "/" only: model names such as "Qwen/Qwen2.5-7B" keep theirs.
            name, _, model = entry.partition("/")
            route = Route(name, model or self.models[name][tier])
            if route not in plan:
                plan.append(route)
        has_offline = any(route.provider == OFFLINE for route in plan)
        if self.offline_fallback and OFFLINE in self.models and not has_offline:
            plan.append(Route(OFFLINE, OFFLINE))
        return plan


@dataclass(frozen=True, slots=True)
class _Done:
    """The end of a successful call (last item of `Router._run`)."""

    route: Route
    usage: Usage


class Router:
    def __init__(
        self,
        providers: dict[str, Provider],
        routes: RouteTable,
        histories: AiHistories | None,
        *,
        call_timeout_s: float,
        idle_timeout_s: float,
        retries: int,
        backoff_s: float,
        max_retry_after_s: float = 10.0,
        first_piece_timeout_s: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        moderator: Moderator | None = None,
        observers: Sequence[CallObserver] = (),
    ) -> None:
        """`clock` measures calls (durations, the timeouts); `sleep` waits out backoffs and is
        the timer of every timeout: a test hands in a manual clock's pair to move time.
        `moderator` judges each answer; its verdict goes into the call's record. `observers`
        hear of every try, recorded in the histories or not."""
        missing = set(routes.models) - set(providers)
        if missing:
            raise ValueError(f"route table names providers that do not exist: {sorted(missing)}")
        self._providers = providers
        self._routes = routes
        self._histories = histories
        self._call_timeout_s = call_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._retries = max(0, retries)
        self._backoff_s = backoff_s
        self._max_retry_after_s = max_retry_after_s
        self._first_piece_timeout_s = first_piece_timeout_s
        self._clock = clock
        self._sleep = sleep
        self._moderator = moderator
        self._observers = tuple(observers)

    @classmethod
    def from_settings(
        cls,
        settings: AiSettings,
        histories: AiHistories | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        moderator: Moderator | None = None,
        observers: Sequence[CallObserver] = (),
    ) -> Router:
        configs = provider_configs(settings)
        if len({c.name for c in configs}) != len(configs):
            raise ValueError("two AI providers share a name")
        providers: dict[str, Provider] = {
            c.name: build_provider(c, timeout_s=settings.ai_call_timeout_s) for c in configs
        }
        providers[OFFLINE] = OfflineProvider(delay_ms=settings.ai_offline_delay_ms)
        models: dict[str, Mapping[Tier, str]] = {
            c.name: {tier: c.model_for(tier) for tier in TIERS} for c in configs
        }
        models[OFFLINE] = dict.fromkeys(TIERS, OFFLINE)
        table = RouteTable(models, settings.ai_routes, settings.ai_offline_fallback)
        return cls(
            providers,
            table,
            histories,
            call_timeout_s=settings.ai_call_timeout_s,
            idle_timeout_s=settings.ai_idle_timeout_s,
            retries=settings.ai_retries,
            backoff_s=settings.ai_backoff_s,
            first_piece_timeout_s=settings.ai_first_piece_timeout_s,
            clock=clock,
            sleep=sleep,
            moderator=moderator,
            observers=observers,
        )

    @property
    def providers(self) -> Mapping[str, Provider]:
        return self._providers

    def plan(self, task: str, level: str) -> list[Route]:
        return self._routes.plan(task, level)

    async def stream(
        self, request: CompletionRequest, *, level: str, ctx: CallContext
    ) -> AsyncIterator[RoutedEvent]:
        """The answer's text as it comes. Close it (`contextlib.aclosing`) to stop early."""
        async with aclosing(self._run(request, level, ctx)) as items:
            async for item in items:
                if isinstance(item, RoutedEvent):
                    yield item

    async def complete(
        self, request: CompletionRequest, *, level: str, ctx: CallContext
    ) -> Completion:
        parts: list[str] = []
        async with aclosing(self._run(request, level, ctx)) as items:
            async for item in items:
                if isinstance(item, RoutedEvent):
                    parts.append(item.text)
                else:
                    route, usage = item.route, item.usage
        return Completion("".join(parts), route.provider, route.model, usage)

    async def aclose(self) -> None:
        for provider in self._providers.values():
            await provider.aclose()

    async def _run(
        self, request: CompletionRequest, level: str, ctx: CallContext
    ) -> AsyncIterator[RoutedEvent | _Done]:
        prompt = request.prompt_text()
        attempts: list[Attempt] = []
        first_piece_by = self._clock() + self._first_piece_timeout_s
        for route in self.plan(request.task, level):
            deadline = None if route.provider == OFFLINE else first_piece_by
            if deadline is not None and self._clock() >= deadline:
                log.info("AI %s skipped: the first piece's deadline has passed", route.provider)
                continue
            provider = self._providers[route.provider]
            for retry in range(self._retries + 1):
                started = self._clock()
                parts: list[str] = []
                usage: Usage | None = None
                error: ProviderError | None = None
                events = provider.stream(request, route.model)
                try:
                    while True:
                        event = await self._next(events, started, None if parts else deadline)
                        if event is None:
                            break
                        if event.usage is not None:
                            usage = event.usage
                        if event.text:
                            parts.append(event.text)
                            yield RoutedEvent(event.text, route.provider, route.model)
                except ProviderError as exc:
                    error = exc
                except Exception as exc:
                    log.exception("AI provider %s raised", route.provider)
                    error = ProviderError(f"{type(exc).__name__}: {exc}", retryable=False)
                except BaseException:
                    # Cancelled, or the caller closed the stream: keep a record of what went out.
                    cancelled = ProviderError("cancelled by the caller", retryable=False)
                    await self._record(ctx, prompt, route, parts, usage, started, cancelled)
                    raise
                finally:
                    close = getattr(events, "aclose", None)
                    if close is not None:
                        await close()
                await self._record(ctx, prompt, route, parts, usage, started, error)
                if error is None:
                    yield _Done(route, usage or _estimate(prompt, parts))
                    return
                attempts.append(
                    Attempt(
                        route.provider,
                        route.model,
                        str(error),
                        error.status,
                        error.retryable,
                        self._ms_since(started),
                    )
                )
                if parts:
                    raise AiInterrupted(attempts, "".join(parts)) from error
                delay = self._retry_delay(error, retry)
                if delay is None or (deadline is not None and self._clock() + delay >= deadline):
                    break
                log.info("AI %s failed (%s); retry in %.2fs", route.provider, error, delay)
                await self._sleep(delay)
        raise AiUnavailable(attempts)

    async def _next(
        self, events: AsyncIterator[StreamEvent], started: float, first_piece_by: float | None
    ) -> StreamEvent | None:
        """The next event, or None at the end. A timeout is a `ProviderError`: retryable, but for
        the first piece's deadline (`first_piece_by`, None once a piece came), which ends the
        call's model attempts."""
        now = self._clock()
        limits = [
            (self._idle_timeout_s, f"no answer for {self._idle_timeout_s}s", True),
            (
                started + self._call_timeout_s - now,
                f"call took longer than {self._call_timeout_s}s",
                True,
            ),
        ]
        if first_piece_by is not None:
            # First in the list: on a tie it is the reason, and the call moves on at once.
            reason = f"no first piece within {self._first_piece_timeout_s}s"
            limits.insert(0, (first_piece_by - now, reason, False))
        budget, reason, retryable = min(limits, key=lambda limit: limit[0])
        if budget <= 0:
            raise ProviderError(f"timed out: {reason}", retryable=retryable)
        step = asyncio.ensure_future(_step(events))
        timer = asyncio.ensure_future(self._sleep(budget))
        try:
            await asyncio.wait((step, timer), return_when=asyncio.FIRST_COMPLETED)
        finally:
            timer.cancel()
            if not step.done():
                step.cancel()
                await asyncio.wait((step,))  # the stream must stop before it can be closed
        if step.done() and not step.cancelled():
            return step.result()
        raise ProviderError(f"timed out: {reason}", retryable=retryable)

    def _retry_delay(self, error: ProviderError, retry: int) -> float | None:
        """Seconds to wait before trying the same provider again; None: go to the next one."""
        if not error.retryable or retry >= self._retries:
            return None
        if error.retry_after_s is not None:
            if error.retry_after_s > self._max_retry_after_s:
                return None
            return error.retry_after_s
        return self._backoff_s * 2**retry

    def _ms_since(self, started: float) -> int:
        return int((self._clock() - started) * 1000)

    async def _record(
        self,
        ctx: CallContext,
        prompt: str,
        route: Route,
        parts: list[str],
        usage: Usage | None,
        started: float,
        error: ProviderError | None,
    ) -> None:
        if self._histories is None and not self._observers:
            return
        if usage is None:
            usage = _estimate(prompt, parts) if parts else Usage(0, 0)
        output = "".join(parts)
        moderation = None
        if self._moderator is not None and error is None and output:
            try:
                moderation = (await self._moderator.moderate(output)).as_dict()
            except Exception:
                log.exception("could not moderate an AI answer")
        call = AiCall(
            user_id=ctx.user_id,
            work_id=ctx.work_id,
            action_type=ctx.action_type[:20],
            input=prompt,
            output=output,
            model=route.model[:100],
            provider=route.provider[:50],
            tokens=usage.total,
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            duration=self._ms_since(started),
            status="ok" if error is None else "error",
            error=None if error is None else redact(str(error))[:_ERROR_TEXT_LIMIT],
            task_id=ctx.task_id,
            moderation=moderation,
        )
        for observe in self._observers:
            try:
                observe(call)
            except Exception:
                log.exception("an AI call observer failed")
        if self._histories is None:
            return
        try:
            await self._histories.record(call)
        except Exception:
            log.exception("could not record an AI call")


def _estimate(prompt: str, parts: list[str]) -> Usage:
    """For APIs that report no usage: one token per character, an upper bound for Chinese."""
    return Usage(len(prompt), sum(len(part) for part in parts))


async def _step(events: AsyncIterator[StreamEvent]) -> StreamEvent | None:
    try:
        return await anext(events)
    except StopAsyncIteration:
        return None
