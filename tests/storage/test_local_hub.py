"""The local hub that the processes of `inkweave serve --workers N` share without Redis: a bus
between them and one set of counters. Each worker is a `HubConnection` here, in one event loop,
so every step is observable; `tests/test_serve_workers.py` runs the real processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from storage.hub.client import HubBus, HubConnection, HubKeyValue, HubUnavailable
from storage.hub.server import LocalHub
from sync_server.fan_out import BusFanOut
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.room_peer import RoomPeer
from tests.support.waiting import eventually

DOC = "多进程"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SQLDocStore]:
    docs = SQLDocStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    await docs.start()
    yield docs
    await docs.close()


@pytest.fixture
async def hub(tmp_path: Path) -> AsyncIterator[LocalHub]:
    hub = LocalHub(tmp_path / "hub.sock")
    await hub.start()
    yield hub
    await hub.close()


async def worker_bus(hub: LocalHub) -> HubBus:
    bus = HubBus(HubConnection(hub.path))
    await bus.start()
    return bus


async def test_a_message_reaches_the_other_workers_and_not_its_sender(hub: LocalHub) -> None:
    first, second, third = [await worker_bus(hub) for _ in range(3)]
    got: dict[str, list[bytes]] = {"first": [], "second": [], "third": []}
    await first.subscribe("doc:甲", got["first"].append)
    await second.subscribe("doc:甲", got["second"].append)
    await third.subscribe("doc:乙", got["third"].append)
    # Subscribed means active: a message published right after is not missed.
    await first.publish("doc:甲", "第一条".encode())
    await eventually(lambda: got["second"] == ["第一条".encode()], what="delivered")
    await second.unsubscribe("doc:甲", got["second"].append)
    await first.publish("doc:甲", b"after")
    await first.publish("doc:乙", b"to third")
    # One hub connection keeps order: once "to third" arrived, "after" was already handled.
    await eventually(lambda: got["third"] == [b"to third"], what="third's channel")
    assert got["first"] == [] and got["second"] == ["第一条".encode()]
    for bus in (first, second, third):
        await bus.close()


async def test_a_failing_handler_does_not_stop_the_others(hub: LocalHub) -> None:
    sender, receiver = await worker_bus(hub), await worker_bus(hub)
    seen: list[bytes] = []

    def broken(_payload: bytes) -> None:
        raise RuntimeError("handler bug")

    await receiver.subscribe("c", broken)
    await receiver.subscribe("c", seen.append)
    await sender.publish("c", b"x")
    await sender.publish("c", b"y")
    await eventually(lambda: seen == [b"x", b"y"], what="both delivered")
    await sender.close()
    await receiver.close()


async def test_counters_are_one_set_across_workers(hub: LocalHub) -> None:
    """A login limit holds across processes: N attempts through any of them count N."""
    first, second = HubKeyValue(HubConnection(hub.path)), HubKeyValue(HubConnection(hub.path))
    results = await asyncio.gather(
        *(kv.hit("login:林黛玉", 60) for _ in range(25) for kv in (first, second))
    )
    assert sorted(count for count, _ in results) == list(range(1, 51))
    await first.set("revoked:jti", "1", 60)
    assert await second.get("revoked:jti") == "1"
    await first.close()
    await second.close()


async def test_a_worker_that_loses_the_hub_is_told(tmp_path: Path) -> None:
    hub = LocalHub(tmp_path / "hub.sock")
    await hub.start()
    lost = asyncio.Event()
    connection = HubConnection(hub.path, on_lost=lost.set)
    kv, bus = HubKeyValue(connection), HubBus(connection)
    await bus.start()
    assert await kv.get("nothing") is None
    await hub.close()
    await asyncio.wait_for(lost.wait(), 60)
    with pytest.raises(HubUnavailable):
        await kv.get("anything")
    with pytest.raises(HubUnavailable):
        await bus.publish("c", b"x")
    await kv.close()
    await bus.close()


async def test_rooms_in_two_workers_converge_through_the_hub(
    hub: LocalHub, store: SQLDocStore
) -> None:
    managers = []
    for _ in range(2):
        bus = await worker_bus(hub)
        managers.append(
            RoomManager(store, policy=RoomPolicy(), unload_grace_s=0, hooks=[BusFanOut(bus, store)])
        )
    room_a, room_b = managers[0].acquire(DOC), managers[1].acquire(DOC)
    await room_a.ready()
    await room_b.ready()
    alice, bob = RoomPeer(), RoomPeer()
    room_a.join(alice.conn)
    room_b.join(bob.conn)
    doc = Doc()
    doc.get(CONTENT, type=Text).insert(0, "甲进程写的字")
    await room_a.submit(doc.get_update(), origin=alice.conn)
    await eventually(lambda: bob.text == "甲进程写的字", what="relayed to the other worker")
    for manager in managers:
        await manager.close()
