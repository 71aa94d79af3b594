"""A step repeated on the loop until stopped, stopped by a flag rather than by cancellation.

Under Python 3.11 a cancellation that arrives just as a database call completes can be lost inside
the driver: `asyncio.wait_for`, which asyncmy uses for its read timeout, then returns the result
and drops the cancellation (CPython gh-86296, fixed in 3.12). A loop stopped by `task.cancel()`
alone then runs on forever, and whoever awaits its end hangs; an import task hung so on MariaDB.
So `Repeating` never cancels a step: `stop()` raises a flag, the wait between steps ends at once,
and a step already running finishes first (a step is one short database write).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable


class Repeating:
    """Run `step()` every `interval_s` in a task of its own, from `start()` until `stop()`.

    `wait_first`: wait one interval before the first step (a heartbeat) instead of stepping at
    once (a progress writer). An exception from `step` ends the loop and is raised by `stop()`.
    """

    def __init__(
        self,
        step: Callable[[], Awaitable[object]],
        interval_s: float,
        *,
        name: str,
        wait_first: bool = False,
    ) -> None:
        self.step = step
        self.interval_s = interval_s
        self.name = name
        self.wait_first = wait_first
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        if self.wait_first and await self._stopped_within(self.interval_s):
            return
        while not self._stopping.is_set():
            await self.step()
            if await self._stopped_within(self.interval_s):
                return

    async def _stopped_within(self, seconds: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stopping.wait()
        return self._stopping.is_set()
