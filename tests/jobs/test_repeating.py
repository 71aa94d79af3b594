"""Background loops of a task end when their task ends, even if a database call ate a cancellation.

Under Python 3.11 asyncmy's read timeout (`asyncio.wait_for`) drops a cancellation that arrives as
a query completes; an import on MariaDB then hung for good waiting on its progress writer. The
fake store below does what that driver does, deterministically: it swallows the cancellation.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from jobs.progress import ProgressPump
from jobs.repeating import Repeating

HANG_GUARD_S = 30  # turns a hang into a failure; nothing here waits for time to pass


class SwallowingTasks:
    """A `TaskStore` whose `progress` write loses a cancellation, as asyncmy's can."""

    def __init__(self) -> None:
        self.writing = asyncio.Event()
        self.release = asyncio.Event()
        self.written: list[int] = []

    async def progress(self, _task_id: str, percent: int, **_fields: Any) -> None:
        self.writing.set()
        with contextlib.suppress(asyncio.CancelledError):  # the driver's bug: it is lost
            await self.release.wait()
        self.written.append(percent)


async def test_a_progress_pump_ends_while_a_write_is_in_flight() -> None:
    tasks = SwallowingTasks()
    guard = asyncio.timeout(HANG_GUARD_S)
    pump = ProgressPump(tasks, "t", interval_s=0.01)  # type: ignore[arg-type]
    async with guard, pump:
        pump(30)
        await tasks.writing.wait()
        asyncio.get_running_loop().call_soon(tasks.release.set)
        pump(80)
    assert not guard.expired()  # the pump did not wait for the guard to cancel its writer
    assert tasks.written == [30, 80]  # the in-flight write finished, then the final flush


async def test_a_repeating_step_runs_until_stopped_and_not_after() -> None:
    steps: list[int] = []
    third = asyncio.Event()

    async def step() -> None:
        steps.append(len(steps))
        if len(steps) == 3:
            third.set()

    repeating = Repeating(step, 0, name="counting")
    repeating.start()
    async with asyncio.timeout(HANG_GUARD_S):
        await third.wait()
        await repeating.stop()
    count = len(steps)
    await asyncio.sleep(0)
    assert count >= 3 and len(steps) == count


async def test_a_heartbeat_waits_one_interval_before_its_first_beat() -> None:
    beats: list[None] = []

    async def beat() -> None:
        beats.append(None)

    repeating = Repeating(beat, 3600, name="heartbeat", wait_first=True)
    repeating.start()
    await asyncio.sleep(0)
    async with asyncio.timeout(HANG_GUARD_S):
        await repeating.stop()
    assert beats == []
