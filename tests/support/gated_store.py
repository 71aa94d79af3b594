"""A SQLite document store whose appends a test holds back or fails, and which records each call."""

from __future__ import annotations

import asyncio

from storage.docs.base import StoredDoc
from storage.docs.sql import SQLDocStore


class GatedStore(SQLDocStore):
    """Each `append` call is recorded (its updates), then waits while `gate` is closed (a `load`
    while `load_gate` is, and once it has read, while `read_gate` is). The next
    one fails before storing anything when `fail_next` is set, and after storing its updates
    when `fail_after_storing` is (a connection lost before the commit's answer came back)."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = asyncio.Event()
        self.gate.set()
        self.load_gate = asyncio.Event()
        self.load_gate.set()
        self.read_gate = asyncio.Event()
        self.read_gate.set()
        self.calls: list[tuple[bytes, ...]] = []
        self.fail_next = False
        self.fail_after_storing = False

    async def load(self, doc: str) -> StoredDoc:
        await self.load_gate.wait()
        stored = await super().load(doc)
        await self.read_gate.wait()
        return stored

    async def append(self, doc: str, *updates: bytes) -> None:
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the store went away")
        self.calls.append(updates)
        await self.gate.wait()
        await super().append(doc, *updates)
        if self.fail_after_storing:
            self.fail_after_storing = False
            raise ConnectionError("the store's answer was lost")
