"""The room hooks: what plugs into rooms hears of loads, stored updates, changes, presence and
unloads, in the order the invariants need (subscribe before load; store before relay), and is
never called for a hook it leaves at its no-op default."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from storage.docs.base import Compaction, StoredDoc
from storage.docs.edits import updates_made
from storage.docs.merge import merged_state, read_state
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from sync_server import protocol
from sync_server.hooks import Relayed, RoomHooks, overriding
from sync_server.room import Room, RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.room_peer import RoomPeer

DOC = "钩子"


class RecordingStore(SQLDocStore):
    events: list[str]

    async def load(self, doc: str) -> StoredDoc:
        self.events.append("store.load")
        return await super().load(doc)

    async def append(self, doc: str, *updates: bytes) -> None:
        await super().append(doc, *updates)
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


class OnlyChanges(RoomHooks):
    """Overrides one hook, as the text projection does; keeps every other default."""

    def __init__(self) -> None:
        self.principals: list[str | None] = []

    def on_change(self, room: Room, principal: str | None) -> None:
        self.principals.append(principal)


class PlainHooks:
    """Implements `RoomHooks` structurally, without subclassing it."""

    def __init__(self) -> None:
        self.heard: list[str] = []

    async def on_load(self, room: Room) -> None:
        self.heard.append("on_load")

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        self.heard.append("on_stored")

    def on_change(self, room: Room, principal: str | None) -> None:
        self.heard.append("on_change")

    def on_presence(self, room: Room, entries: list[protocol.AwarenessEntry]) -> None:
        self.heard.append("on_presence")

    def on_relay(self, room: Room, kind: Relayed, frames: int) -> None:
        self.heard.append(f"on_relay:{kind}")

    def on_compacted(self, name: str, result: Compaction) -> None:
        self.heard.append("on_compacted")

    async def on_unload(self, room: Room) -> None:
        self.heard.append("on_unload")


RoomsWith = Callable[..., RoomManager]


@pytest.fixture
async def recording_store(tmp_path: Path) -> AsyncIterator[RecordingStore]:
    docs = RecordingStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    docs.events = []
    await docs.start()
    yield docs
    await docs.close()


@pytest.fixture
async def rooms_with(recording_store: RecordingStore) -> AsyncIterator[RoomsWith]:
    """Builds the rooms of a node over `recording_store`, following the hooks it is given."""
    managers: list[RoomManager] = []

    def build(*hooks: RoomHooks) -> RoomManager:
        manager = RoomManager(recording_store, policy=RoomPolicy(), unload_grace_s=0, hooks=hooks)
        managers.append(manager)
        return manager

    yield build
    for manager in managers:
        await manager.close()


@pytest.fixture
def recorder(recording_store: RecordingStore) -> Recorder:
    """Writes what it hears into the same list as the store."""
    return Recorder(recording_store.events)


@pytest.fixture
def manager(rooms_with: RoomsWith, recorder: Recorder) -> RoomManager:
    return rooms_with(recorder)


async def loaded(manager: RoomManager, doc: str = DOC) -> Room:
    room = manager.acquire(doc)
    await room.ready()
    return room


def joined(room: Room) -> RoomPeer:
    peer = RoomPeer()
    room.join(peer.conn)
    return peer


def typed(text: str) -> bytes:
    doc: Doc = Doc()
    doc.get(CONTENT, type=Text).insert(0, text)
    return doc.get_update()


async def test_hooks_hear_of_a_load_before_the_store_is_read(
    manager: RoomManager, recorder: Recorder
) -> None:
    await loaded(manager)
    assert recorder.events == ["on_load", "store.load"]


async def test_an_update_is_stored_then_announced_then_relayed_then_a_change(
    manager: RoomManager, recorder: Recorder
) -> None:
    room = await loaded(manager)
    writer, _reader = joined(room), joined(room)
    recorder.events.clear()
    await room.submit(typed("先存后发"), origin=writer.conn)
    assert recorder.events == ["store.append", "on_stored", "on_relay:updates:1", "on_change:7"]
    assert recorder.text_when_stored == [""], "no peer can have it: the room does not yet"


async def test_an_update_that_changes_nothing_is_stored_but_no_change(
    manager: RoomManager, recorder: Recorder
) -> None:
    room = await loaded(manager)
    update = typed("一次")
    await room.submit(update, origin=None)
    recorder.events.clear()
    await room.submit(update, origin=None)
    assert recorder.events == ["store.append", "on_stored"]


async def test_presence_of_this_nodes_peers_is_announced(
    manager: RoomManager, recorder: Recorder
) -> None:
    room = await loaded(manager)
    peer = joined(room)
    await peer.say(room, client_id=42, clock=1, name="阿丽")
    assert [entry.client_id for entry in recorder.presence] == [42]
    room.leave(peer.conn)
    assert [(entry.client_id, entry.removed) for entry in recorder.presence[1:]] == [(42, True)]


async def test_hooks_hear_of_an_unload_only_after_a_load(
    manager: RoomManager, recorder: Recorder
) -> None:
    never_loaded = manager.acquire("未加载")
    manager.release(never_loaded)
    await never_loaded.wait_closed()
    assert recorder.events == []

    room = await loaded(manager)
    manager.release(room)
    await room.wait_closed()
    assert recorder.events == ["on_load", "store.load", "on_unload"]


def test_a_hook_is_called_only_on_the_hooks_that_override_it_in_the_order_given() -> None:
    recorder, only_changes, plain = Recorder([]), OnlyChanges(), PlainHooks()
    hooks = [plain, only_changes, recorder]
    assert overriding(hooks, "on_stored") == (plain, recorder)
    assert overriding(hooks, "on_change") == (plain, only_changes, recorder)
    assert overriding(hooks, "on_compacted") == (plain,)


async def test_a_hook_left_at_its_default_is_never_awaited_for_a_stored_update(
    rooms_with: RoomsWith, monkeypatch: pytest.MonkeyPatch
) -> None:
    only_changes = OnlyChanges()
    room = await loaded(rooms_with(only_changes))
    awaited: list[RoomHooks] = []

    async def default_on_stored(
        self: RoomHooks, room: Room, update: bytes, append_seconds: float
    ) -> None:
        awaited.append(self)

    monkeypatch.setattr(RoomHooks, "on_stored", default_on_stored)
    await room.submit(typed("不打扰"), origin=None)
    assert only_changes.principals == [None], "the hook it overrides is called"
    assert awaited == [], "the default it keeps is not"


async def test_a_hook_that_does_not_subclass_the_protocol_hears_every_hook(
    rooms_with: RoomsWith,
) -> None:
    plain = PlainHooks()
    manager = rooms_with(plain)
    room = await loaded(manager)
    peer = joined(room)
    await room.submit(typed("鸭子类型"), origin=peer.conn)
    await peer.say(room, client_id=42, clock=1, name="阿丽")
    manager.release(room)
    await room.wait_closed()
    assert plain.heard == [
        "on_load",
        "on_stored",
        "on_relay:updates",
        "on_change",
        "on_relay:awareness",
        "on_presence",
        "on_unload",
    ]


class Signing(RoomHooks):
    """Amends every batch that leaves the text unsigned with a signature of the server's own."""

    SIGNATURE = "——编者"

    def amend(self, room: Room, updates: Sequence[bytes]) -> list[bytes]:
        scratch: Doc = Doc()
        scratch.apply_update(room.doc.get_update())
        for update in updates:
            scratch.apply_update(update)
        text = scratch.get(CONTENT, type=Text)
        if str(text).endswith(self.SIGNATURE):
            return []
        return updates_made(scratch, lambda _doc: text.insert(len(text), self.SIGNATURE))


async def test_an_amendment_is_stored_with_its_batch_and_relayed_in_the_same_frame(
    rooms_with: RoomsWith, recording_store: RecordingStore, recorder: Recorder
) -> None:
    room = await loaded(rooms_with(Signing(), recorder))
    writer, reader = joined(room), joined(room)
    recorder.events.clear()
    await room.submit(typed("正文"), origin=writer.conn)
    # One append holds both; the peers get one frame, so none ever sees the text unsigned.
    assert recorder.events == [
        "store.append",
        "on_stored",
        "on_stored",
        "on_relay:updates:2",
        "on_change:7",
        "on_change:None",
    ]
    await room.flushed()
    assert reader.text == writer.text == "正文——编者"
    text, _meta = read_state(merged_state(await recording_store.load(DOC)))
    assert text == "正文——编者"
