"""The room hooks: what plugs into rooms hears of loads, stored updates, changes, presence and
unloads, in the order the invariants need (subscribe before load; store before relay)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from storage.docs.base import StoredDoc
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from sync_server import protocol
from sync_server.hooks import Relayed, RoomHooks
from sync_server.room import Room, RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.room_peer import RoomPeer

DOC = "钩子"


class RecordingStore(SQLDocStore):
    events: list[str]

    async def load(self, doc: str) -> StoredDoc:
        self.events.append("store.load")
        return await super().load(doc)

    async def append(self, doc: str, update: bytes) -> None:
        await super().append(doc, update)
        self.events.append("store.append")


class Recorder(RoomHooks):
    def __init__(self, events: list[str]) -> None:
        self.events = events
        self.text_when_stored: list[str] = []
        self.presence: list[protocol.AwarenessEntry] = []

    async def on_load(self, room: Room) -> None:
        self.events.append("on_load")

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        self.events.append("on_stored")
        self.text_when_stored.append(str(room.doc.get(CONTENT, type=Text)))

    def on_change(self, room: Room, principal: str | None) -> None:
        self.events.append(f"on_change:{principal}")

    def on_presence(self, room: Room, entries: list[protocol.AwarenessEntry]) -> None:
        self.presence += entries

    def on_relay(self, room: Room, kind: Relayed, frames: int) -> None:
        self.events.append(f"on_relay:{kind}:{frames}")

    async def on_unload(self, room: Room) -> None:
        self.events.append("on_unload")


@pytest.fixture
async def recorded(tmp_path: Path) -> AsyncIterator[tuple[RoomManager, Recorder]]:
    events: list[str] = []
    store = RecordingStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    store.events = events
    await store.start()
    recorder = Recorder(events)
    manager = RoomManager(store, policy=RoomPolicy(), unload_grace_s=0, hooks=[recorder])
    yield manager, recorder
    await manager.close()
    await store.close()


def typed(text: str) -> bytes:
    doc: Doc = Doc()
    doc.get(CONTENT, type=Text).insert(0, text)
    return doc.get_update()


async def test_hooks_hear_of_a_load_before_the_store_is_read(
    recorded: tuple[RoomManager, Recorder],
) -> None:
    manager, recorder = recorded
    await manager.acquire(DOC).ready()
    assert recorder.events == ["on_load", "store.load"]


async def test_an_update_is_stored_then_announced_then_relayed_then_a_change(
    recorded: tuple[RoomManager, Recorder],
) -> None:
    manager, recorder = recorded
    room = manager.acquire(DOC)
    await room.ready()
    peer = RoomPeer()
    room.join(peer.conn)
    recorder.events.clear()
    await room.submit(typed("先存后发"), origin=peer.conn)
    assert recorder.events == ["store.append", "on_stored", "on_relay:updates:1", "on_change:7"]
    assert recorder.text_when_stored == [""], "no peer can have it: the room does not yet"


async def test_an_update_that_changes_nothing_is_stored_but_no_change(
    recorded: tuple[RoomManager, Recorder],
) -> None:
    manager, recorder = recorded
    room = manager.acquire(DOC)
    await room.ready()
    update = typed("一次")
    await room.submit(update, origin=None)
    recorder.events.clear()
    await room.submit(update, origin=None)
    assert recorder.events == ["store.append", "on_stored"]


async def test_presence_of_this_nodes_peers_is_announced(
    recorded: tuple[RoomManager, Recorder],
) -> None:
    manager, recorder = recorded
    room = manager.acquire(DOC)
    await room.ready()
    peer = RoomPeer()
    room.join(peer.conn)
    await peer.say(room, client_id=42, clock=1, name="阿丽")
    assert [entry.client_id for entry in recorder.presence] == [42]
    room.leave(peer.conn)
    assert [(entry.client_id, entry.removed) for entry in recorder.presence[1:]] == [(42, True)]


async def test_hooks_hear_of_an_unload_only_after_a_load(
    recorded: tuple[RoomManager, Recorder],
) -> None:
    manager, recorder = recorded
    never_loaded = manager.acquire("未加载")
    manager.release(never_loaded)
    await never_loaded.wait_closed()
    assert recorder.events == []

    room = manager.acquire(DOC)
    await room.ready()
    manager.release(room)
    await room.wait_closed()
    assert recorder.events == ["on_load", "store.load", "on_unload"]
