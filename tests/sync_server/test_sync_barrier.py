"""A sync step 1 is answered only after every update the same socket sent before it is stored:
a client (the AI peer, before it leaves) can use it as a barrier."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from storage.docs.merge import load_content
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from sync_server import protocol
from sync_server.auth import Access
from sync_server.connection import Connection
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.waiting import eventually


class GatedStore(SQLDocStore):
    """Appends wait until the test opens the gate."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.gate = asyncio.Event()

    async def append(self, doc: str, update: bytes) -> None:
        await self.gate.wait()
        await super().append(doc, update)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[GatedStore]:
    docs = GatedStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    await docs.start()
    yield docs
    await docs.close()


async def test_a_sync_step_1_is_answered_after_the_sockets_earlier_updates_are_stored(
    store: GatedStore,
) -> None:
    manager = RoomManager(store, policy=RoomPolicy(), unload_grace_s=60)
    room = manager.acquire("barrier")
    store.gate.set()
    await room.ready()
    store.gate.clear()
    answers: list[bytes] = []

    async def receive(frame: bytes) -> None:
        answers.append(frame)

    async def close(code: int, reason: str) -> None:
        pass

    conn = Connection(
        send_bytes=receive, close=close, access=Access.WRITE, principal="7", queue_limit=100
    )
    sender = asyncio.create_task(conn.run_sender())
    writer = Doc()
    writer.get(CONTENT, type=Text).insert(0, "最后一段")
    await room.handle(conn, protocol.SyncUpdate(writer.get_update()))
    step1 = asyncio.create_task(room.handle(conn, protocol.SyncStep1(Doc().get_state())))
    for _ in range(20):  # part of the test: zero-time yields let the handler run as far as it can
        await asyncio.sleep(0)
    assert not step1.done() and answers == []  # held while the update is not yet stored

    store.gate.set()
    await step1
    assert (await load_content(store, "barrier"))[0] == "最后一段"
    await eventually(lambda: answers, what="the answer to the sync step 1")
    reader = Doc()
    for frame in answers:
        message = protocol.parse_message(frame)
        assert isinstance(message, protocol.SyncStep2 | protocol.SyncUpdate)
        reader.apply_update(message.update)
    assert str(reader.get(CONTENT, type=Text)) == "最后一段"
    sender.cancel()
    manager.release(room)
    await manager.close()
