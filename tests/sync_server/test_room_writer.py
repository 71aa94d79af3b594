"""A room's writer: the updates that queue while a batch is being stored are the next batch,
appended in one call, in the order they arrived, and relayed only once stored; a peer that has
`max_in_flight` updates waiting is not read from until one is stored."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from pycrdt import Doc, Text

import sync_server.hooks
from storage.docs.schema import CONTENT
from sync_server import protocol
from sync_server.hooks import HookSet, RoomHooks, overriding
from sync_server.room import Room, RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.gated_store import GatedStore
from tests.support.room_peer import RoomPeer, recording_connection
from tests.support.waiting import eventually

DOC = "写手"


@pytest.fixture
def store(gated_store: GatedStore) -> GatedStore:
    return gated_store


@pytest.fixture
async def manager(store: GatedStore) -> AsyncIterator[RoomManager]:
    rooms = RoomManager(store, policy=RoomPolicy(), unload_grace_s=60)
    yield rooms
    await rooms.close()


async def loaded(manager: RoomManager) -> Room:
    room = manager.acquire(DOC)
    await room.ready()
    return room


class Typist:
    """A client's own document: each `type` is one update, as an editor sends it."""

    def __init__(self, client_id: int) -> None:
        self.doc: Doc = Doc(client_id=client_id)
        self.text = self.doc.get(CONTENT, type=Text)

    def type(self, value: str) -> bytes:
        before = self.doc.get_state()
        self.text += value
        return self.doc.get_update(before)


async def send(room: Room, peer: RoomPeer, update: bytes) -> None:
    await room.handle(peer.conn, protocol.SyncUpdate(update))


async def test_updates_that_queue_during_a_store_are_the_next_batch_in_arrival_order(
    manager: RoomManager, store: GatedStore
) -> None:
    room = await loaded(manager)
    alice, bob, reader = RoomPeer(), RoomPeer(), RoomPeer()
    for peer in (alice, bob, reader):
        room.join(peer.conn)
    a, b = Typist(1), Typist(2)
    first = a.type("甲一")
    store.gate.clear()
    await send(room, alice, first)
    await eventually(lambda: store.calls == [(first,)], what="the first append under way")
    queued = [a.type("甲二"), b.type("乙一"), a.type("甲三")]
    await send(room, alice, queued[0])
    await send(room, bob, queued[1])
    await send(room, alice, queued[2])
    for _ in range(20):  # part of the test: zero-time yields let the writer run as far as it can
        await asyncio.sleep(0)
    assert reader.text == "", "nothing is relayed before it is stored"
    assert store.calls == [(first,)], "the others wait for the batch being stored"

    store.gate.set()
    await room.flushed()
    assert store.calls == [(first,), tuple(queued)]
    assert (await store.load(DOC)).updates == [first, *queued]
    expected = {"甲一甲二甲三乙一", "乙一甲一甲二甲三"}  # the CRDT orders the two clients' runs
    await eventually(lambda: reader.text in expected, what="the reader has every update")
    assert str(room.doc.get(CONTENT, type=Text)) == reader.text


async def test_a_malformed_update_closes_its_sender_and_its_batch_neighbours_are_stored(
    manager: RoomManager, store: GatedStore
) -> None:
    room = await loaded(manager)
    closed: list[int] = []
    vandal = recording_connection([], closed, principal="9")
    writer, reader = RoomPeer(), RoomPeer()
    room.join(writer.conn)
    room.join(reader.conn)
    room.join(vandal)
    typist = Typist(3)
    store.gate.clear()
    await send(room, writer, typist.type("前"))
    await eventually(lambda: len(store.calls) == 1, what="the first append under way")
    await room.handle(vandal, protocol.SyncUpdate(b"\x01\x02garbage"))
    await send(room, writer, typist.type("后"))
    store.gate.set()
    await room.flushed()

    await eventually(lambda: closed == [1002], what="the vandal closed as malformed")
    assert not writer.conn.closing
    assert len(store.calls) == 2 and b"\x01\x02garbage" not in store.calls[1]
    await eventually(lambda: reader.text == "前后", what="the writer's updates relayed")


async def test_a_lone_update_is_not_echoed_to_its_sender_unless_it_integrated_more(
    manager: RoomManager,
) -> None:
    room = await loaded(manager)
    frames: list[bytes] = []
    sender = recording_connection(frames, principal="5")
    task = asyncio.create_task(sender.run_sender())
    reader = RoomPeer()
    room.join(sender)
    room.join(reader.conn)
    await eventually(lambda: frames, what="the room's sync step 1")
    frames.clear()
    typist = Typist(5)
    first, second, third = typist.type("一"), typist.type("二"), typist.type("三")

    await room.submit(first, origin=sender)
    await eventually(lambda: reader.text == "一", what="relayed to the reader")
    assert frames == [], "the sender has its own update"

    await room.submit(third, origin=sender)  # waits in the document for the second
    await room.submit(second, origin=sender)  # integrates the third as well
    await eventually(lambda: reader.text == "一二三", what="both relayed")
    await eventually(lambda: frames, what="the merged update echoed")
    echoed = Doc()
    echoed.apply_update(first)
    for frame in frames:
        message = protocol.parse_message(frame)
        assert isinstance(message, protocol.SyncUpdate)
        echoed.apply_update(message.update)
    assert str(echoed.get(CONTENT, type=Text)) == "一二三"
    task.cancel()


async def test_a_peer_with_max_in_flight_updates_waiting_is_not_read_until_one_is_stored(
    manager: RoomManager, store: GatedStore
) -> None:
    room = await loaded(manager)
    conn = recording_connection([], max_in_flight=2)
    typist = Typist(4)
    store.gate.clear()
    await room.handle(conn, protocol.SyncUpdate(typist.type("一")))
    await room.handle(conn, protocol.SyncUpdate(typist.type("二")))
    third = asyncio.create_task(room.handle(conn, protocol.SyncUpdate(typist.type("三"))))
    for _ in range(20):  # part of the test: zero-time yields let the handler run as far as it can
        await asyncio.sleep(0)
    assert not third.done(), "a third update waits for room"

    store.gate.set()
    await third
    await conn.drain()
    assert len((await store.load(DOC)).updates) == 3


async def test_a_node_decides_once_which_hooks_its_rooms_call(
    store: GatedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    decided: list[str] = []

    def counting(hooks: Sequence[RoomHooks], name: str) -> tuple[RoomHooks, ...]:
        decided.append(name)
        return overriding(hooks, name)

    monkeypatch.setattr(sync_server.hooks, "overriding", counting)

    class OnlyChanges(RoomHooks):
        def on_change(self, room: Room, principal: str | None) -> None:
            pass

    manager = RoomManager(store, policy=RoomPolicy(), unload_grace_s=60, hooks=[OnlyChanges()])
    once = list(decided)
    rooms = [manager.acquire(name) for name in ("一", "二", "三")]
    assert decided == once and len(once) == len(HookSet.__dataclass_fields__)
    for room in rooms:
        manager.release(room)
    await manager.close()
