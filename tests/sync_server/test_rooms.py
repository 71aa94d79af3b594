"""Rooms: loaded once, shared, isolated from each other, unloaded after a grace period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Text

from api.settings import Settings
from storage.docs.base import StoredDoc
from storage.docs.restore import apply_state
from storage.docs.sql import SQLDocStore
from tests.support.inprocess import RunningApp, running_app
from tests.support.yclient import YClient, wait_until
from tests.support.ydocs import clocks


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", auth="off", **overrides)


@pytest.fixture
async def app(tmp_path: Path) -> AsyncIterator[RunningApp]:
    async with running_app(settings_for(tmp_path, room_unload_grace_s=0.3)) as running:
        yield running


async def test_an_empty_room_is_unloaded_after_the_grace_period(app: RunningApp) -> None:
    rooms = app.components.rooms.rooms
    client = await YClient(app.sync_url, "grace").connect()
    client.append("留")
    await client.close()
    await wait_until(lambda: "grace" in rooms and not rooms["grace"].connections)
    first = rooms["grace"]
    returning = await YClient(app.sync_url, "grace").connect()
    assert rooms["grace"] is first, "a peer returning within the grace period reuses the room"
    await returning.close()
    await wait_until(lambda: "grace" not in rooms, timeout=5)
    again = await YClient(app.sync_url, "grace").connect()
    assert str(again.text) == "留"
    await again.close()


async def test_peers_opening_a_new_room_at_the_same_moment_all_sync(app: RunningApp) -> None:
    clients = [YClient(app.sync_url, "stampede") for _ in range(30)]
    await asyncio.gather(*(client.connect(timeout=10) for client in clients))
    clients[0].append("同时")
    await wait_until(lambda: all(str(c.text) == "同时" for c in clients))
    assert len(app.components.rooms.rooms["stampede"].connections) == 30
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
        await wait_until(lambda: broken.closed.is_set())
        assert broken.close_code == 1011
        assert "broken" not in app.components.rooms.rooms
        healthy.append("无恙")
        await wait_until(lambda: str(other.text) == "无恙")
        await healthy.close()
        await other.close()


async def test_newcomers_see_who_is_here_and_silent_departures_are_announced(
    app: RunningApp,
) -> None:
    alice = await YClient(app.sync_url, "presence").connect()
    await alice.set_awareness({"user": {"name": "阿丽"}})
    bob = await YClient(app.sync_url, "presence").connect()
    await wait_until(
        lambda: any(s.get("user", {}).get("name") == "阿丽" for s in bob.awareness.values())
    )
    await bob.set_awareness({"user": {"name": "小波"}})
    await wait_until(lambda: bob.doc.client_id in alice.awareness)
    bob._ws.transport.abort()  # gone without a goodbye
    await wait_until(lambda: bob.doc.client_id not in alice.awareness, timeout=5)
    await alice.close()


async def test_unchanged_awareness_renewals_are_batched(tmp_path: Path) -> None:
    settings = settings_for(tmp_path, awareness_renewal_flush_s=0.5)
    async with running_app(settings) as app:
        clients = [await YClient(app.sync_url, "idle").connect() for _ in range(5)]
        for index, client in enumerate(clients):
            await client.set_awareness({"user": {"name": f"u{index}"}})
        await wait_until(lambda: all(len(c.awareness) == 4 for c in clients))
        before = [c.awareness_frames for c in clients]
        for _ in range(3):  # three rounds of keep-alives from everyone
            for client in clients:
                await client.set_awareness({"user": {"name": f"u{clients.index(client)}"}})
            await asyncio.sleep(0.6)
        received = [
            after - b
            for after, b in zip((c.awareness_frames for c in clients), before, strict=True)
        ]
        # Relayed one by one this would be 3 rounds x 4 peers = 12 frames per client.
        assert all(1 <= count <= 4 for count in received), received
        for client in clients:
            await client.close()


async def test_a_restored_version_arrives_live_as_new_operations(app: RunningApp) -> None:
    editor = await YClient(app.sync_url, "restore").connect()
    editor.append("第一稿：风起。")
    await wait_until(lambda: str(editor.text) == "第一稿：风起。")
    await asyncio.sleep(0.1)
    store = app.components.store
    version = await store.create_version("restore", "第一稿")
    editor.text.clear()
    editor.append("第二稿：云涌。")
    await asyncio.sleep(0.2)
    state_before_restore = clocks(editor.doc)

    async with app.components.rooms.hold("restore") as room:
        target = await store.read_version("restore", version.id)
        changed = await room.change(lambda doc: apply_state(doc, target))
    assert changed
    await wait_until(lambda: str(editor.text) == "第一稿：风起。")
    assert clocks(editor.doc) != state_before_restore, "restore adds operations"

    assert len((await store.load("restore")).updates) >= 3, "history is appended, not rewritten"
    await editor.close()


async def test_rooms_compact_their_log_past_the_threshold(tmp_path: Path) -> None:
    async with running_app(settings_for(tmp_path, compact_after_updates=20)) as app:
        writer = await YClient(app.sync_url, "compact-me").connect()
        for index in range(50):
            writer.append(f"{index}。")
            await asyncio.sleep(0.005)
        await wait_until(lambda: app.components.metrics.compactions._value.get() >= 1)
        await asyncio.sleep(0.2)
        stored = await app.components.store.load("compact-me")
        assert stored.snapshot is not None
        assert len(stored.updates) < 50
        fresh = await YClient(app.sync_url, "compact-me").connect()
        assert str(fresh.text) == str(writer.text)
        await writer.close()
        await fresh.close()


async def test_a_large_chapter_first_sync_arrives_in_bounded_frames(tmp_path: Path) -> None:
    async with running_app(settings_for(tmp_path, sync_chunk_bytes=64 * 1024)) as app:
        writer = await YClient(app.sync_url, "长篇").connect()
        for index in range(400):  # 400 updates, 200,000 characters
            writer.append(f"{index:04d}" + "山不在高有仙则名水不在深有龙则灵" * 31)
        await writer.close()
        room = app.components.rooms.rooms["长篇"]
        await wait_until(lambda: clocks(room.doc) == clocks(writer.doc))
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
    async with app.components.rooms.hold("共享首同步") as room:
        await wait_until(lambda: "第一句" in str(room.doc.get("content", type=Text)))
        first = room._first_sync(b"\x00")
        assert room._first_sync(b"\x00") is first
        await room.change(lambda doc: doc.get("content", type=Text).insert(0, "序。"))
        after = room._first_sync(b"\x00")
        assert after is not first
        # A deletion leaves the state vector as it was; the shared answer must change anyway.
        await room.change(lambda doc: doc.get("content", type=Text).__delitem__(slice(0, 6)))
        assert room._first_sync(b"\x00") is not after
        reader = await YClient(app.sync_url, "共享首同步").connect()
        assert str(reader.text) == "第一句。"
        await reader.close()
