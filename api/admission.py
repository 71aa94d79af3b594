"""Admission control: a node past what it can do answers 503 at once instead of queueing for
seconds.

At most `max_in_flight` REST requests are worked on at once (by default as many as the database
pool has connections, so that an admitted request does not wait for one); up to `queue_limit`
more wait for a turn, first come first served, each for at most `queue_wait_s`. A request that
finds the queue full, or so long that its turn would come too late at the pace requests have been
finishing, is answered 503 `OVERLOADED` with `Retry-After` at once; so is one whose wait runs out.
A waiting request whose client hangs up is dropped without running. A request still running
after `max_hold_s` gives its turn back (it waits on a model, a payment provider or a slow upload,
not on this node's CPU or database), so a few long calls never hold up the rest. Only REST
(`/api/...`) is admitted here: sockets, the web editor, probes and `/metrics` are never held back.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from prometheus_client import CollectorRegistry, Counter
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .envelope import busy_response
from .settings import Settings

Reason = Literal["queue_full", "queue_timeout", "client_gone", "database", "database_down"]


class Timer(Protocol):
    def cancel(self) -> object: ...


# Calls a function after a delay, like `loop.call_later` (the default; a test's clock instead).
Later = Callable[[float, Callable[[], None]], Timer]


def call_later(delay_s: float, then: Callable[[], None]) -> Timer:
    return asyncio.get_running_loop().call_later(delay_s, then)


PACE_WEIGHT = 0.2  # of each new interval between finished requests, in their running average

# A waiting request's body is read ahead (to notice a hang-up) up to this much; a larger upload
# is left in the socket, and such a request is then not watched any more while it waits.
READ_AHEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class AdmissionLimits:
    max_in_flight: int
    queue_limit: int
    queue_wait_s: float
    max_hold_s: float

    @classmethod
    def from_settings(cls, settings: Settings) -> AdmissionLimits:
        pool = settings.database_pool_size + settings.database_pool_overflow
        return cls(
            max_in_flight=settings.http_max_in_flight or pool,
            queue_limit=settings.http_queue_limit,
            queue_wait_s=settings.http_queue_wait_s,
            max_hold_s=settings.http_max_hold_s,
        )


class Rejections:
    """`inkweave_http_rejected_total{reason}`: REST requests answered 503, or dropped unanswered
    because their client had gone. `database`: the database was too busy (50302);
    `database_down`: a database could not be reached (50303)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self._counter = Counter(
            "inkweave_http_rejected",
            "REST requests not worked on: answered 503 (overloaded), or dropped (client gone)",
            ["reason"],
            registry=registry,
        )

    def count(self, reason: Reason) -> None:
        self._counter.labels(reason).inc()


class Turns:
    """Slots for requests in flight and a bounded first-come queue for them; a slot that comes
    free passes straight to the longest waiter.

    While requests wait, the time between two finishing is averaged (`clock`): the pace the
    queue moves at. Once a busy spell has seen `max_in_flight` requests finish (a pause of the
    whole process is not a pace), a newcomer whose turn would come after half of `queue_wait_s`
    at that pace is refused at once rather than after waiting in vain (the other half is slack
    for a pace that varies). A queue that runs dry ends the spell."""

    def __init__(
        self, limits: AdmissionLimits, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limits = limits
        self._clock = clock
        self._free = limits.max_in_flight
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pace_s = 0.0  # average time between two requests finishing, this busy spell
        self._paced = 0  # how many intervals that average is over
        self._last_finish: float | None = None  # while the queue is not empty

    @property
    def in_flight(self) -> int:
        return self.limits.max_in_flight - self._free

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def take(self) -> bool:
        """A slot now, if one is free and nobody waits for it."""
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return True
        return False

    def queue(self) -> asyncio.Future[None] | None:
        """A place in the queue, done once it holds a slot; None when the queue is full."""
        position = len(self._waiters) + 1
        if position > self.limits.queue_limit:
            return None
        paced = self._paced >= self.limits.max_in_flight
        if paced and position * self._pace_s > self.limits.queue_wait_s / 2:
            return None
        turn: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(turn)
        return turn

    def give_back(self) -> None:
        if self._waiters:
            self._waiters.popleft().set_result(None)
            self._keep_pace()
        else:
            self._free += 1
            self._last_finish, self._paced = None, 0  # the queue ran dry: the spell is over

    def _keep_pace(self) -> None:
        now = self._clock()
        if self._last_finish is not None:
            interval = now - self._last_finish
            weight = 1.0 if self._paced == 0 else PACE_WEIGHT
            self._pace_s += weight * (interval - self._pace_s)
            self._paced += 1
        self._last_finish = now

    def leave(self, turn: asyncio.Future[None]) -> None:
        """A waiter gives up; the slot it may just have been handed goes on to the next."""
        if turn.done():
            self.give_back()
        else:
            self._waiters.remove(turn)
            turn.cancel()


class _ClientWatch:
    """Reads a waiting request's messages ahead, so that a hang-up (`http.disconnect`) is seen
    while it waits; hands what it read to the app afterwards, in order."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._read: deque[Message] = deque()
        self._bytes = 0
        self.next: asyncio.Future[Message] | None = asyncio.ensure_future(receive())

    def gone(self) -> bool:
        """Takes in a finished read and starts the next; True once the client has hung up."""
        if self.next is None or not self.next.done():
            return False
        message = self.next.result()
        self.next = None
        if message["type"] == "http.disconnect":
            return True
        self._read.append(message)
        self._bytes += len(message.get("body", b""))
        if self._bytes < READ_AHEAD_BYTES:  # after the last body part, it waits for a hang-up
            self.next = asyncio.ensure_future(self._receive())
        return False

    async def receive(self) -> Message:
        if self._read:
            return self._read.popleft()
        if self.next is not None:
            pending, self.next = self.next, None
            return await pending
        return await self._receive()

    def close(self) -> None:
        if self.next is not None:
            self.next.cancel()
            self.next = None


class AdmissionMiddleware:
    """`turns` decides who runs; `later` times the longest wait and the longest hold."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        turns: Turns,
        rejections: Rejections,
        later: Later = call_later,
    ) -> None:
        self.app = app
        self.turns = turns
        self.rejections = rejections
        self.later = later

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/api/"):
            await self.app(scope, receive, send)
            return
        if self.turns.take():
            await self._run(scope, receive, send)
            return
        turn = self.turns.queue()
        if turn is None:
            await self._refuse(scope, receive, send, "queue_full")
            return
        await self._wait_and_run(turn, scope, receive, send)

    async def _wait_and_run(
        self, turn: asyncio.Future[None], scope: Scope, receive: Receive, send: Send
    ) -> None:
        client = _ClientWatch(receive)
        try:
            outcome = await self._wait(turn, client)
            if outcome == "admitted":
                await self._run(scope, client.receive, send)
            elif outcome == "client_gone":
                self.rejections.count(outcome)  # nobody to answer
            else:
                await self._refuse(scope, client.receive, send, outcome)
        finally:
            client.close()

    async def _run(self, scope: Scope, receive: Receive, send: Send) -> None:
        """An admitted request, holding its turn until it ends or for `max_hold_s`."""
        held = True

        def give_back() -> None:
            nonlocal held
            if held:
                held = False
                self.turns.give_back()

        timer = self.later(self.turns.limits.max_hold_s, give_back)
        try:
            await self.app(scope, receive, send)
        finally:
            timer.cancel()
            give_back()

    async def _wait(
        self, turn: asyncio.Future[None], client: _ClientWatch
    ) -> Literal["admitted", "queue_timeout", "client_gone"]:
        """Unless admitted, the request has left the queue when this returns (or raises)."""
        deadline: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        timer = self.later(self.turns.limits.queue_wait_s, lambda: _settle(deadline))
        admitted = False
        try:
            while True:
                watched: list[asyncio.Future[Any]] = [turn, deadline]
                if client.next is not None:
                    watched.append(client.next)
                await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if client.gone():
                    return "client_gone"
                if turn.done():
                    admitted = True
                    return "admitted"
                if deadline.done():
                    return "queue_timeout"
        finally:
            timer.cancel()
            if not admitted:
                self.turns.leave(turn)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, reason: Reason) -> None:
        self.rejections.count(reason)
        response = busy_response(Request(scope), reason.replace("_", " "))
        await response(scope, receive, send)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
