"""A sync step 1 is answered only after every update the same socket sent before it is stored:
a client (the AI peer, before it leaves) can use it as a barrier."""

from __future__ import annotations

import asyncio

from pycrdt import Doc, Text

from storage.docs.merge import load_content
from storage.docs.schema import CONTENT
from sync_server import protocol
from sync_server.room import RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.gated_store import GatedStore
from tests.support.room_peer import recording_connection
from tests.support.waiting import eventually


async def test_a_sync_step_1_is_answered_after_the_sockets_earlier_updates_are_stored(
    gated_store: GatedStore,
) -> None:
    store = gated_store
    manager = RoomManager(store, policy=RoomPolicy(), unload_grace_s=60)
    room = manager.acquire("barrier")
    store.gate.set()
    await room.ready()
    store.gate.clear()
    answers: list[bytes] = []
    conn = recording_connection(answers)
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
