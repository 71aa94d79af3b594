"""Group commit: many concurrent appends, one transaction per batch.

Appends come in submissions (one update, or a room's run of them), each answered by one future.
While a batch is being written, new submissions queue up; the next batch takes all of them. A
batch waits for company until `window_s` after its oldest submission arrived (not at all once it
holds `max_batch` items, or when its submissions already waited that long behind the previous
write), so latency stays bounded under light load and throughput scales with concurrency under
heavy load. With `window_s` 0 (the default setting) a batch is whatever queued while the
previous one was being written: no wait at all when the store is idle.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class GroupCommitter(Generic[T]):
    def __init__(
        self,
        write_batch: Callable[[list[T]], Awaitable[None]],
        *,
        window_s: float,
        max_batch: int,
        on_batch: Callable[[int, float], None] | None = None,
    ) -> None:
        self._write_batch = write_batch
        self._window_s = window_s
        self._max_batch = max_batch
        self._on_batch = on_batch
        self._queue: deque[tuple[Sequence[T], asyncio.Future[None]]] = deque()
        self._queued = 0  # items in `_queue`
        self._oldest = 0.0  # when the oldest submission in `_queue` arrived (loop time)
        # What the writer sleeps on: the first submission (idle), or a full batch (gathering).
        self._wakeup: asyncio.Future[None] | None = None
        self._gathering = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._task is None:
            self._loop = asyncio.get_running_loop()
            self._task = self._loop.create_task(self._run(), name="group-commit")

    def submit(self, items: Sequence[T]) -> asyncio.Future[None]:
        """A future done once all of `items` are durably written, in order, in one transaction;
        it fails if that transaction failed. A caller that stops waiting does not stop the write."""
        if self._closing or self._loop is None:
            raise RuntimeError("group committer is not running")
        future = self._loop.create_future()
        if not self._queue:
            self._oldest = self._loop.time()
        self._queue.append((items, future))
        self._queued += len(items)
        wakeup = self._wakeup
        if wakeup is not None and (not self._gathering or self._queued >= self._max_batch):
            self._wakeup = None
            _wake(wakeup)
        return future

    async def close(self) -> None:
        """Write what was submitted, then stop."""
        self._closing = True
        if self._task is None:
            return
        wakeup, self._wakeup = self._wakeup, None
        if wakeup is not None:
            _wake(wakeup)
        await self._task
        self._task = self._loop = None

    async def _sleep(self, *, gathering: float | None = None) -> None:
        """Until a submission arrives, or (`gathering` seconds at most) a batch is full."""
        assert self._loop is not None
        self._gathering = gathering is not None
        self._wakeup = wakeup = self._loop.create_future()
        timer = None if gathering is None else self._loop.call_later(gathering, _wake, wakeup)
        try:
            await wakeup
        finally:
            self._wakeup = None
            if timer is not None:
                timer.cancel()

    def _take(self) -> list[tuple[Sequence[T], asyncio.Future[None]]]:
        """Whole submissions, oldest first, up to `max_batch` items (at least one submission)."""
        taken = [self._queue.popleft()]
        count = len(taken[0][0])
        while self._queue and count + len(self._queue[0][0]) <= self._max_batch:
            submission = self._queue.popleft()
            taken.append(submission)
            count += len(submission[0])
        self._queued -= count
        return taken

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                await self._sleep()
                continue
            company = self._oldest + self._window_s - loop.time()
            if company > 0 and self._queued < self._max_batch and not self._closing:
                await self._sleep(gathering=company)
            taken = self._take()
            items = [item for submitted, _future in taken for item in submitted]
            started = time.perf_counter()
            try:
                await self._write_batch(items)
            except Exception as exc:  # every waiter of this batch learns it failed
                for _items, future in taken:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:
                for _items, future in taken:
                    future.cancel()
                raise
            for _items, future in taken:
                if not future.done():
                    future.set_result(None)
            if self._on_batch is not None:
                self._on_batch(len(items), time.perf_counter() - started)
