"""Rooms: loaded once, shared, isolated from each other, unloaded after a grace period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Text

from api.settings import Settings
from storage.docs.base import StoredDoc
from storage.docs.merge import merged_state, read_state
from storage.docs.restore import apply_state
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from sync_server.metrics import RoomMetrics, SyncMetrics
from sync_server.presence import STALE_AFTER_S
from sync_server.room import Room, RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.clock import ManualClock
from tests.support.inprocess import RunningApp, running_app
from tests.support.room_peer import RoomPeer
from tests.support.waiting import eventually
from tests.support.yclient import YClient
from tests.support.ydocs import clocks

GRACE_S = 10.0


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", auth="off", **overrides)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    async with running_app(settings_for(tmp_path)) as running:
        yield running


@pytest.fixture
async def manual_rooms(store: SQLDocStore) -> AsyncIterator[tuple[RoomManager, ManualClock]]:
    """A node's rooms on a clock the test moves: the grace and staleness windows are crossed
    exactly, never waited for."""
    clock = ManualClock()
    manager = RoomManager(store, policy=RoomPolicy(), unload_grace_s=GRACE_S, clock=clock)
    yield manager, clock
    await manager.close()


def content(room: Room) -> str:
    return str(room.doc.get(CONTENT, type=Text))


def text_of_room(app: RunningApp, name: str) -> str:
    room = app.adapters.rooms.rooms.get(name)
    return content(room) if room is not None and room._doc is not None else ""


async def test_an_empty_room_stays_loaded_for_the_grace_period_then_unloads(
    manual_rooms: tuple[RoomManager, ManualClock],
) -> None:
    manager, clock = manual_rooms
    room = manager.acquire("grace")
    await room.ready()
    await room.change(lambda doc: doc.get(CONTENT, type=Text).insert(0, "留"))
    manager.release(room)
    clock.advance(GRACE_S - 0.1)
    assert manager.unload_idle() == []
    assert manager.acquire("grace") is room, "a peer returning within the grace reuses the room"
    manager.release(room)
    clock.advance(GRACE_S - 0.1)
    assert manager.unload_idle() == [], "the grace starts again when the last holder leaves"
    clock.advance(0.1)
    assert manager.unload_idle() == ["grace"]
    await room.wait_closed()
    assert "grace" not in manager.rooms

    again = manager.acquire("grace")
    await again.ready()
    assert again is not room
    assert content(again) == "留", "reloaded from the store"
    manager.release(again)


async def test_a_room_nobody_holds_is_unloaded_by_its_own_timer(tmp_path: Path) -> None:
    async with running_app(settings_for(tmp_path, room_unload_grace_s=0.01)) as app:
        rooms = app.adapters.rooms.rooms
        client = await YClient(app.sync_url, "grace").connect()
        client.append("留")
        await eventually(lambda: text_of_room(app, "grace") == "留", what="the edit is stored")
        room = rooms["grace"]
        await client.close()
        await room.wait_closed()
        assert "grace" not in rooms
        again = await YClient(app.sync_url, "grace").connect()
        assert str(again.text) == "留"
        await again.close()


async def test_peers_opening_a_new_room_at_the_same_moment_all_sync(app: RunningApp) -> None:
    clients = [YClient(app.sync_url, "stampede") for _ in range(30)]
    await asyncio.gather(*(client.connect() for client in clients))
    clients[0].append("同时")
    await eventually(lambda: all(str(c.text) == "同时" for c in clients), what="all 30 synced")
    assert len(app.adapters.rooms.rooms["stampede"].connections) == 30
    await asyncio.gather(*(client.close() for client in clients))


class FailingStore(SQLDocStore):
    """A real store whose loads of one document fail, as a broken record would."""

    async def load(self, doc: str) -> StoredDoc:
        if doc == "broken":
            raise RuntimeError("disk says no")
        return await super().load(doc)


async def test_a_failing_room_does_not_disturb_another(tmp_path: Path) -> None:
    store = FailingStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    async with running_app(settings_for(tmp_path), store=store) as app:
        healthy = await YClient(app.sync_url, "healthy").connect()
        other = await YClient(app.sync_url, "healthy").connect()
        broken = YClient(app.sync_url, "broken")
        await broken.connect(wait_synced=False)
        await broken.closed.wait()
        assert broken.close_code == 1011
        assert "broken" not in app.adapters.rooms.rooms
        healthy.append("无恙")
        await eventually(lambda: str(other.text) == "无恙", what="the healthy room relays")
        await healthy.close()
        await other.close()


def named(client: YClient, name: str) -> bool:
    return any(s.get("user", {}).get("name") == name for s in client.awareness.values())


async def test_newcomers_see_who_is_here_and_silent_departures_are_announced(
    app: RunningApp,
) -> None:
    alice = await YClient(app.sync_url, "presence").connect()
    await alice.set_awareness({"user": {"name": "阿丽"}})
    bob = await YClient(app.sync_url, "presence").connect()
    await eventually(lambda: named(bob, "阿丽"), what="the newcomer sees Alice")
    await bob.set_awareness({"user": {"name": "小波"}})
    await eventually(lambda: bob.doc.client_id in alice.awareness, what="Alice sees Bob")
    bob._ws.transport.abort()  # gone without a goodbye
    await eventually(lambda: bob.doc.client_id not in alice.awareness, what="Bob's departure")
    await alice.close()


async def test_clients_nobody_renews_are_retired_and_their_departure_announced(
    manual_rooms: tuple[RoomManager, ManualClock],
) -> None:
    manager, clock = manual_rooms
    room = manager.acquire("stale")
    await room.ready()
    quiet, lively, watcher = RoomPeer(), RoomPeer(), RoomPeer()
    for peer in (quiet, lively, watcher):
        room.join(peer.conn)
    await quiet.say(room, 1, 1, "quiet")
    await lively.say(room, 2, 1, "lively")
    await eventually(lambda: set(watcher.awareness) == {1, 2}, what="the watcher sees both")
    clock.advance(STALE_AFTER_S - 1)
    await lively.say(room, 2, 2, "lively")  # a keep-alive
    clock.advance(1)
    assert room.expire_presence() == [], "35 s without a renewal is not yet stale"
    clock.advance(0.001)
    assert [entry.client_id for entry in room.expire_presence()] == [1]
    await eventually(lambda: set(watcher.awareness) == {2}, what="the watcher sees 1 leave")
    assert 1 not in quiet.conn.client_ids
    newcomer = RoomPeer()
    room.join(newcomer.conn)
    assert [entry.client_id for entry in room.presence.snapshot()] == [2]
    for peer in (quiet, lively, watcher, newcomer):
        room.leave(peer.conn)
    manager.release(room)


async def test_unchanged_awareness_renewals_are_batched(tmp_path: Path) -> None:
    # A flush period no test outlives: the test flushes, so nothing depends on its length.
    settings = settings_for(tmp_path, awareness_renewal_flush_s=3600)
    async with running_app(settings) as app:
        clients = [await YClient(app.sync_url, "idle").connect() for _ in range(5)]
        for index, client in enumerate(clients):
            await client.set_awareness({"user": {"name": f"u{index}"}})
        await eventually(lambda: all(len(c.awareness) == 4 for c in clients), what="all see all")
        room = app.adapters.rooms.rooms["idle"]
        relayed = app.adapters.metrics.awareness_relayed
        before = relayed._value.get()
        frames_before = [c.awareness_frames for c in clients]
        for _ in range(3):  # three rounds of keep-alives from everyone
            for index, client in enumerate(clients):
                await client.set_awareness({"user": {"name": f"u{index}"}})

        def renewals_applied() -> bool:
            latest = {entry.client_id: entry.clock for entry in room.presence.snapshot()}
            return all(latest.get(c.doc.client_id) == c._clock for c in clients)

        await eventually(renewals_applied, what="the server applied every keep-alive")
        assert relayed._value.get() == before, "keep-alives are held back, not relayed one by one"

        room.flush_renewals()
        # Relayed one by one this would be 3 rounds x 4 peers = 12 frames per client.
        assert relayed._value.get() == before + len(clients), "one frame per client"
        await eventually(
            lambda: [c.awareness_frames for c in clients] == [n + 1 for n in frames_before],
            what="every client got the one batched frame",
        )
        for client in clients:
            await client.close()


async def test_batched_renewals_are_relayed_when_the_flush_period_ends(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, awareness_renewal_flush_s=0.01)
    async with running_app(settings) as app:
        alice, bob = [await YClient(app.sync_url, "flush").connect() for _ in range(2)]
        await alice.set_awareness({"user": {"name": "阿丽"}})
        await eventually(lambda: named(bob, "阿丽"), what="Bob sees Alice")
        frames = bob.awareness_frames
        await alice.set_awareness({"user": {"name": "阿丽"}})  # a keep-alive
        await eventually(lambda: bob.awareness_frames > frames, what="the batch is flushed")
        await alice.close()
        await bob.close()


async def test_a_restored_version_arrives_live_as_new_operations(app: RunningApp) -> None:
    editor = await YClient(app.sync_url, "restore").connect()
    editor.append("第一稿：风起。")
    await eventually(lambda: text_of_room(app, "restore") == "第一稿：风起。", what="stored")
    store = app.adapters.store
    version = await store.create_version("restore", "第一稿")
    editor.text.clear()
    editor.append("第二稿：云涌。")
    await eventually(lambda: text_of_room(app, "restore") == "第二稿：云涌。", what="stored")
    state_before_restore = clocks(editor.doc)

    async with app.adapters.rooms.hold("restore") as room:
        target = await store.read_version("restore", version.id)
        changed = await room.change(lambda doc: apply_state(doc, target))
    assert changed
    await eventually(lambda: str(editor.text) == "第一稿：风起。", what="the restore arrives")
    assert clocks(editor.doc) != state_before_restore, "restore adds operations"

    assert len((await store.load("restore")).updates) >= 3, "history is appended, not rewritten"
    await editor.close()


async def test_a_room_asks_for_a_compaction_when_its_log_passes_the_threshold(
    store: SQLDocStore,
) -> None:
    metrics = SyncMetrics()
    manager = RoomManager(
        store,
        policy=RoomPolicy(compact_after_updates=20),
        unload_grace_s=0,
        hooks=[RoomMetrics(metrics)],
    )
    async with manager.hold("compact-me") as room:
        for index in range(19):
            await room.change(lambda doc, i=index: doc.get(CONTENT, type=Text).insert(0, f"{i}。"))
        await manager.compactions_finished()
        assert metrics.compactions._value.get() == 0
        assert len((await store.load("compact-me")).updates) == 19
        await room.change(lambda doc: doc.get(CONTENT, type=Text).insert(0, "第二十。"))
        await manager.compactions_finished()
        assert metrics.compactions._value.get() == 1
        stored = await store.load("compact-me")
        assert stored.snapshot is not None and stored.updates == []
        assert read_state(merged_state(stored))[0] == content(room)
    await manager.close()


async def test_rooms_compact_their_log_past_the_threshold(tmp_path: Path) -> None:
    """End to end: a stock-like client's edits end in a snapshot. Who compacts is not asserted
    here (the periodic pass may get there first under load); the test above pins the room's part."""
    async with running_app(settings_for(tmp_path, compact_after_updates=20)) as app:
        writer = await YClient(app.sync_url, "compact-me").connect()
        for index in range(50):
            writer.append(f"{index}。")
        await eventually(
            lambda: text_of_room(app, "compact-me") == str(writer.text), what="all 50 stored"
        )

        async def compacted() -> bool:
            stored = await app.adapters.store.load("compact-me")
            return stored.snapshot is not None and len(stored.updates) < 50

        await eventually(compacted, what="a compaction")
        fresh = await YClient(app.sync_url, "compact-me").connect()
        assert str(fresh.text) == str(writer.text)
        await writer.close()
        await fresh.close()


async def test_a_large_chapter_first_sync_arrives_in_bounded_frames(tmp_path: Path) -> None:
    async with running_app(settings_for(tmp_path, sync_chunk_bytes=64 * 1024)) as app:
        writer = await YClient(app.sync_url, "长篇").connect()
        for index in range(400):  # 400 updates, 200,000 characters
            writer.append(f"{index:04d}" + "山不在高有仙则名水不在深有龙则灵" * 31)
        room = app.adapters.rooms.rooms["长篇"]
        await eventually(lambda: clocks(room.doc) == clocks(writer.doc), what="all stored")
        await writer.close()
        reader = YClient(app.sync_url, "长篇")
        sizes: list[int] = []
        original = reader._handle

        def measure(frame: bytes) -> None:
            sizes.append(len(frame))
            original(frame)

        reader._handle = measure  # type: ignore[method-assign]
        await reader.connect()
        assert str(reader.text) == str(writer.text)
        assert len(str(reader.text)) == 200_000
        assert len(sizes) > 8
        assert max(sizes) <= 64 * 1024 + 4096
        await reader.close()


async def test_new_clients_share_one_first_sync_per_document_state(app: RunningApp) -> None:
    writer = await YClient(app.sync_url, "共享首同步").connect()
    writer.append("第一句。")
    await writer.close()
    async with app.adapters.rooms.hold("共享首同步") as room:
        await eventually(lambda: "第一句" in content(room), what="the first line is stored")
        first = room._first_sync(b"\x00")
        assert room._first_sync(b"\x00") is first
        await room.change(lambda doc: doc.get(CONTENT, type=Text).insert(0, "序。"))
        after = room._first_sync(b"\x00")
        assert after is not first
        # A deletion leaves the state vector as it was; the shared answer must change anyway.
        await room.change(lambda doc: doc.get(CONTENT, type=Text).__delitem__(slice(0, 6)))
        assert room._first_sync(b"\x00") is not after
        reader = await YClient(app.sync_url, "共享首同步").connect()
        assert str(reader.text) == "第一句。"
        await reader.close()
