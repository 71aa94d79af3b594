"""Group commit: many concurrent appends, one transaction per batch.

While a batch is being written, new appends queue up; the next batch takes all of them. A lone
append waits at most `window_s` for company, so latency stays bounded under light load and
throughput scales with concurrency under heavy load.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(slots=True)
class _Pending(Generic[T]):
    item: T
    future: asyncio.Future[None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


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
        self._queue: asyncio.Queue[_Pending[T]] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="group-commit")

    async def submit(self, item: T) -> None:
        """Return once `item` is durably written; raise if its batch failed."""
        if self._closing or self._task is None:
            raise RuntimeError("group committer is not running")
        pending = _Pending(item)
        self._queue.put_nowait(pending)
        await asyncio.shield(pending.future)

    async def close(self) -> None:
        self._closing = True
        if self._task is None:
            return
        await self._queue.join()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _gather(self) -> list[_Pending[T]]:
        batch = [await self._queue.get()]
        deadline = time.monotonic() + self._window_s
        while len(batch) < self._max_batch:
            if not self._queue.empty():
                batch.append(self._queue.get_nowait())
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(await asyncio.wait_for(self._queue.get(), remaining))
            except TimeoutError:
                break
        return batch

    async def _run(self) -> None:
        while True:
            batch = await self._gather()
            started = time.perf_counter()
            try:
                await self._write_batch([pending.item for pending in batch])
            except Exception as exc:  # every waiter of this batch learns it failed
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_exception(exc)
            else:
                for pending in batch:
                    if not pending.future.done():
                        pending.future.set_result(None)
                if self._on_batch is not None:
                    self._on_batch(len(batch), time.perf_counter() - started)
            finally:
                for _ in batch:
                    self._queue.task_done()
