"""Small shared state: rate-limit counters, revoked tokens, locks. Memory or Redis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class KeyValue(Protocol):
    async def hit(self, key: str, window_s: float) -> tuple[int, float]:
        """Count one event in the fixed window `key` lives in; return (count, seconds left).

        `get(key)` reads the count without adding to it.
        """
        ...

    async def hit_many(self, hits: Sequence[tuple[str, float]]) -> list[tuple[int, float]]:
        """`hit` each `(key, window_s)` in order, in one round trip; their answers in order."""
        ...

    async def release(self, key: str) -> None:
        """Take back one event `hit` counted (a reservation that turned out not to count); the
        window keeps its end, and a count never goes below zero."""
        ...

    async def set(self, key: str, value: str, ttl_s: float) -> None: ...

    async def get(self, key: str) -> str | None: ...

    async def delete(self, key: str) -> None: ...

    async def ping(self) -> None:
        """Raise when the store does not answer (readiness)."""
        ...

    async def close(self) -> None: ...
