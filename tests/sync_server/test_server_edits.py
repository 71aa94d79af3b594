"""A server-side edit (`Room.change`: a REST save, an import) on behalf of a user writes as one
Yjs client id per user and room, as an editor's keystrokes do, and never loses an edit for it:
an edit holds the id while it runs, and one that fails or is cancelled retires it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from pycrdt import Doc, Text

from storage.docs.merge import merged_state, read_state
from storage.docs.schema import CONTENT
from sync_server.room import Room, RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.gated_store import GatedStore
from tests.support.waiting import eventually
from tests.support.ydocs import clocks

DOC = "存稿"


@pytest.fixture
async def room(gated_store: GatedStore) -> AsyncIterator[Room]:
    manager = RoomManager(gated_store, policy=RoomPolicy(), unload_grace_s=60)
    async with manager.hold(DOC) as held:
        yield held
    await manager.close()


def append(value: str) -> Callable[[Doc], None]:
    def edit(doc: Doc) -> None:
        text = doc.get(CONTENT, type=Text)
        text += value

    return edit


def prepend(value: str) -> Callable[[Doc], None]:
    return lambda doc: doc.get(CONTENT, type=Text).insert(0, value)


async def new_clients(
    room: Room, edit: Callable[[Doc], None], on_behalf_of: str | None
) -> set[int]:
    """The client ids that first appear in the room's document with `edit`."""
    before = clocks(room.doc)
    await room.change(edit, on_behalf_of=on_behalf_of)
    return clocks(room.doc).keys() - before.keys()


def text(room: Room) -> str:
    return str(room.doc.get(CONTENT, type=Text))


async def stored_text(store: GatedStore) -> str:
    return read_state(merged_state(await store.load(DOC)))[0]


async def test_a_users_edits_write_as_one_client_id_and_the_servers_each_as_a_new_one(
    room: Room,
) -> None:
    first = await new_clients(room, append("第一句。"), "7")
    assert len(first) == 1
    for sentence in ("第二句。", "第三句。"):
        assert await new_clients(room, append(sentence), "7") == set(), "the same id goes on"
    other = await new_clients(room, append("合著者的话。"), "8")
    assert len(other) == 1 and other != first, "another user writes as another client"
    server = [await new_clients(room, append(f"批注{i}。"), None) for i in range(2)]
    assert all(len(ids) == 1 for ids in server) and server[0] != server[1]
    assert len(clocks(room.doc)) == 4


async def test_concurrent_edits_of_one_user_both_survive(
    room: Room, gated_store: GatedStore
) -> None:
    await room.change(append("开头。"), on_behalf_of="7")
    gated_store.gate.clear()
    ending = asyncio.create_task(room.change(append("结尾。"), on_behalf_of="7"))
    await eventually(lambda: len(gated_store.calls) == 2, what="the ending's append under way")
    title = asyncio.create_task(room.change(prepend("标题\n"), on_behalf_of="7"))
    for _ in range(20):  # part of the test: the second edit gets every chance to go ahead
        await asyncio.sleep(0)
    gated_store.gate.set()
    await asyncio.gather(ending, title)
    assert text(room) == "标题\n开头。结尾。"
    assert await stored_text(gated_store) == "标题\n开头。结尾。"


async def test_a_failed_edit_retires_its_client_id(room: Room, gated_store: GatedStore) -> None:
    first = await new_clients(room, append("开头。"), "7")
    gated_store.fail_next = True
    with pytest.raises(ConnectionError):
        await room.change(append("丢了。"), on_behalf_of="7")
    after = await new_clients(room, append("重写。"), "7")
    assert len(after) == 1 and after != first, "a fresh id after a failure"
    assert text(room) == await stored_text(gated_store) == "开头。重写。"


async def test_a_cancelled_edit_retires_its_client_id_and_loses_nothing(
    room: Room, gated_store: GatedStore
) -> None:
    """A save whose request is cancelled may still be stored after the next save began: the
    next one must not claim the same clocks."""
    await room.change(append("开头。"), on_behalf_of="7")
    gated_store.gate.clear()
    cancelled = asyncio.create_task(room.change(append("取消的请求。"), on_behalf_of="7"))
    await eventually(
        lambda: len(gated_store.calls) == 2, what="the cancelled edit's append under way"
    )
    cancelled.cancel()
    next_save = asyncio.create_task(room.change(prepend("标题\n"), on_behalf_of="7"))
    for _ in range(20):  # part of the test: the next save is minted before the first is stored
        await asyncio.sleep(0)
    gated_store.gate.set()
    await next_save
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    await room.flushed()
    assert text(room) == "标题\n开头。取消的请求。"
    assert await stored_text(gated_store) == "标题\n开头。取消的请求。"
