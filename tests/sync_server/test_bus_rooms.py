"""Rooms of one document on two nodes, joined by a bus (in-process, so each step is observable)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pycrdt import Doc, Text

from storage.bus.memory import MemoryBus, MemoryHub
from storage.docs.base import DocStore, StoredDoc
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from sync_server import protocol
from sync_server.fan_out import BusFanOut
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.room_peer import RoomPeer
from tests.support.waiting import eventually

DOC = "双节点"


def edit(text: str, base: Doc | None = None) -> bytes:
    doc: Doc = Doc()
    if base is not None:
        doc.apply_update(base.get_update())
    before = doc.get_state()
    doc.get(CONTENT, type=Text).insert(0, text)
    return doc.get_update(before)


@dataclass
class Node:
    rooms: RoomManager
    fan_out: BusFanOut


async def node(store: DocStore, hub: MemoryHub) -> Node:
    bus = MemoryBus(hub)
    await bus.start()
    fan_out = BusFanOut(bus, store)
    return Node(RoomManager(store, policy=RoomPolicy(), unload_grace_s=0, hooks=[fan_out]), fan_out)


async def nodes(store: SQLDocStore, hub: MemoryHub, count: int = 2) -> list[RoomManager]:
    return [(await node(store, hub)).rooms for _ in range(count)]


async def test_an_update_on_one_node_reaches_peers_on_the_other(store: SQLDocStore) -> None:
    first, second = await nodes(store, MemoryHub())
    room_a, room_b = first.acquire(DOC), second.acquire(DOC)
    await room_a.ready()
    await room_b.ready()
    alice, bob = RoomPeer(), RoomPeer()
    room_a.join(alice.conn)
    room_b.join(bob.conn)
    await room_a.submit(edit("来自甲节点"), origin=alice.conn)
    await eventually(lambda: bob.text == "来自甲节点", what="relayed across the bus")
    assert (await store.load(DOC)).updates, "stored once, by the node that received it"
    assert len((await store.load(DOC)).updates) == 1


async def test_a_node_subscribes_before_it_loads(store: SQLDocStore) -> None:
    """An update stored and published while the second node reads the store is not lost."""
    hub = MemoryHub()
    (first,) = await nodes(store, hub, 1)
    writer_room = first.acquire(DOC)
    await writer_room.ready()

    class SlowLoad(SQLDocStore):
        async def load(self, doc: str) -> StoredDoc:
            stored = await store.load(doc)  # read before the other node's write lands
            await writer_room.submit(edit("加载期间写入"), origin=None)
            return stored

    slow = SlowLoad(f"sqlite+aiosqlite:///{Path(store.engine.url.database or '')}")
    second = (await node(slow, hub)).rooms
    room = second.acquire(DOC)
    await room.ready()
    assert str(room.doc.get(CONTENT, type=Text)) == "加载期间写入"
    await slow.close()


async def test_awareness_crosses_nodes_and_departures_follow(store: SQLDocStore) -> None:
    first, second = await nodes(store, MemoryHub())
    room_a, room_b = first.acquire(DOC), second.acquire(DOC)
    await room_a.ready()
    await room_b.ready()
    alice, bob = RoomPeer(), RoomPeer()
    room_a.join(alice.conn)
    room_b.join(bob.conn)
    entry = protocol.AwarenessEntry(42, 1, '{"user":{"name":"阿丽"}}')
    await room_a.handle(alice.conn, protocol.AwarenessMessage(protocol.encode_awareness([entry])))
    await eventually(lambda: 42 in bob.awareness, what="Alice's presence crosses the bus")
    room_a.leave(alice.conn)
    await eventually(lambda: 42 not in bob.awareness, what="her departure follows")
    newcomer = RoomPeer()
    room_b.join(newcomer.conn)
    # Frames arrive in order: once the answer to this query is in, so is the join's snapshot.
    await room_b.handle(newcomer.conn, protocol.QueryAwareness())
    await eventually(lambda: newcomer.awareness_frames >= 1, what="the query's answer")
    assert 42 not in newcomer.awareness


async def test_a_node_resyncs_from_the_store_after_a_bus_outage(store: SQLDocStore) -> None:
    hub = MemoryHub()
    first, second = (await node(store, hub)).rooms, await node(store, hub)
    room_a, room_b = first.acquire(DOC), second.rooms.acquire(DOC)
    await room_a.ready()
    await room_b.ready()
    bob = RoomPeer()
    room_b.join(bob.conn)
    await store.append(DOC, edit("总线断开时写入"))  # stored by a node whose publish was lost
    assert str(room_b.doc.get(CONTENT, type=Text)) == "", "nothing told the room about it"
    await second.fan_out.resync_all()
    await eventually(lambda: bob.text == "总线断开时写入", what="the re-sync reaches Bob")


async def test_unloading_a_room_stops_listening(store: SQLDocStore) -> None:
    first, second = await nodes(store, MemoryHub())
    room_a = first.acquire(DOC)
    await room_a.ready()
    room_b = second.acquire(DOC)
    await room_b.ready()
    second.release(room_b)
    assert DOC not in second.rooms
    await room_b.wait_closed()
    listener = second.acquire(DOC)  # a new room of the same node: it listens, the old one not
    await listener.ready()
    await room_a.submit(edit("无人在听"), origin=None)  # the memory bus delivers before returning
    assert str(listener.doc.get(CONTENT, type=Text)) == "无人在听"
    assert room_b._early == []


async def test_a_writer_receives_peers_updates_its_own_update_unblocked(
    store: SQLDocStore,
) -> None:
    """Bob's update arrives first but builds on Alice's, so the room holds it as pending; Alice's
    update then integrates both, and Alice must be sent Bob's part (she has never seen it)."""
    (manager,) = await nodes(store, MemoryHub(), 1)
    room = manager.acquire(DOC)
    await room.ready()
    alice, bob = RoomPeer(), RoomPeer()
    room.join(alice.conn)
    room.join(bob.conn)
    alice_doc: Doc = Doc()
    alice_doc.get(CONTENT, type=Text).insert(0, "甲")
    alice_update = alice_doc.get_update()
    bob_doc: Doc = Doc()
    bob_doc.apply_update(alice_update)  # Bob saw Alice's text elsewhere (another node, offline)
    before = bob_doc.get_state()
    bob_doc.get(CONTENT, type=Text).insert(len("甲".encode()), "乙")
    await room.submit(bob_doc.get_update(before), origin=bob.conn)
    await room.submit(alice_update, origin=alice.conn)
    await eventually(lambda: alice.text == "甲乙" and bob.text == "甲乙", what="both get both")
