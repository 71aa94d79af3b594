"""The embedded key-value store: one process's memory, expiring lazily."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence


class MemoryKeyValue:
    def __init__(
        self, *, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._values: dict[str, tuple[str, float]] = {}
        self._max_keys = max_keys
        self._clock = clock

    def _live(self, key: str) -> tuple[str, float] | None:
        entry = self._values.get(key)
        if entry is not None and entry[1] <= self._clock():
            del self._values[key]
            return None
        return entry

    def _sweep(self) -> None:
        if len(self._values) < self._max_keys:
            return
        now = self._clock()
        for key in [k for k, (_, expires) in self._values.items() if expires <= now]:
            del self._values[key]

    async def hit(self, key: str, window_s: float) -> tuple[int, float]:
        entry = self._live(key)
        now = self._clock()
        if entry is None:
            self._sweep()
            entry = ("0", now + window_s)
        count = int(entry[0]) + 1
        self._values[key] = (str(count), entry[1])
        return count, entry[1] - now

    async def hit_many(self, hits: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        return [await self.hit(key, window_s) for key, window_s in hits]

    async def release(self, key: str) -> None:
        entry = self._live(key)
        if entry is not None and int(entry[0]) > 0:
            self._values[key] = (str(int(entry[0]) - 1), entry[1])

    async def set(self, key: str, value: str, ttl_s: float) -> None:
        self._sweep()
        self._values[key] = (value, self._clock() + ttl_s)

    async def get(self, key: str) -> str | None:
        entry = self._live(key)
        return None if entry is None else entry[0]

    async def delete(self, key: str) -> None:
        self._values.pop(key, None)

    async def ping(self) -> None:
        """Memory always answers."""

    async def close(self) -> None:
        self._values.clear()
