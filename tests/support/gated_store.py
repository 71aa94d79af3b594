"""A SQLite document store whose appends a test holds back, and which records each call."""

from __future__ import annotations

import asyncio

from storage.docs.sql import SQLDocStore


class GatedStore(SQLDocStore):
    """Each `append` call is recorded (its updates), then waits while `gate` is closed."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = asyncio.Event()
        self.gate.set()
        self.calls: list[tuple[bytes, ...]] = []

    async def append(self, doc: str, *updates: bytes) -> None:
        self.calls.append(updates)
        await self.gate.wait()
        await super().append(doc, *updates)
