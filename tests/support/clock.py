"""A clock the test moves by hand, for components that take `clock: Callable[[], float]`.

Product code that measures time takes a `clock` callable (defaulting to `time.monotonic` or
`time.time`, as it needs); a test hands it `ManualClock()` and calls `advance` instead of sleeping.
Components that also wait (a backoff, a timeout) take a `sleep` as well: `ManualClock.sleep`
returns once the clock has been advanced far enough, so those waits move with the clock too.
Wall-clock reads through `datetime.now` in the same process are moved with `time_machine` instead.
"""

from __future__ import annotations

import asyncio


class ManualClock:
    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
        for deadline, wake in self._sleepers:
            if deadline <= self.now and not wake.done():
                wake.set_result(None)

    async def sleep(self, seconds: float) -> None:
        """`asyncio.sleep` on this clock: returns once `advance` has moved it `seconds` on
        (at once, without yielding, when `seconds` <= 0)."""
        if seconds <= 0:
            return
        entry = (self.now + seconds, asyncio.get_running_loop().create_future())
        self._sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self._sleepers.remove(entry)

    @property
    def sleeping(self) -> list[float]:
        """How far ahead of now each pending `sleep` ends, soonest first."""
        return sorted(deadline - self.now for deadline, _ in self._sleepers)
