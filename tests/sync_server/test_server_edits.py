"""A server-side edit (`Room.change`: a REST save, an import) on behalf of a user: one user's
edits take turns, each against the document the one before left, and write as one Yjs client id
per user and room, as an editor's keystrokes do; an edit whose fate is unknown retires the id,
so that no two updates ever claim the same clocks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
from pycrdt import Doc, Text

from storage.bus.memory import MemoryBus, MemoryHub
from storage.docs.edits import updates_from
from storage.docs.merge import merged_state, read_state
from storage.docs.restore import set_content
from storage.docs.schema import CONTENT
from sync_server.fan_out import BusFanOut
from sync_server.hooks import RoomHooks
from sync_server.room import Room, RoomPolicy
from sync_server.rooms import RoomManager
from tests.support.gated_store import GatedStore
from tests.support.room_peer import RoomPeer
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


async def a_save_behind_another(
    room: Room, gated_store: GatedStore, first: str, second: str
) -> tuple[asyncio.Task[bool], asyncio.Task[bool]]:
    """User 7 saved "开头。"; now `first` is being stored (held back) when `second` comes."""
    await room.change(set_content("开头。"), on_behalf_of="7")
    gated_store.gate.clear()
    ahead = asyncio.create_task(room.change(set_content(first), on_behalf_of="7"))
    await eventually(lambda: len(gated_store.calls) == 2, what="the first save's append")
    behind = asyncio.create_task(room.change(set_content(second), on_behalf_of="7"))
    for _ in range(20):  # part of the test: the second save gets every chance to go ahead
        await asyncio.sleep(0)
    return ahead, behind


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


async def test_a_save_sent_twice_at_once_changes_the_text_once(
    room: Room, gated_store: GatedStore
) -> None:
    first, again = await a_save_behind_another(room, gated_store, "开头。结尾。", "开头。结尾。")
    gated_store.gate.set()
    assert await asyncio.gather(first, again) == [True, False]
    assert text(room) == await stored_text(gated_store) == "开头。结尾。"


@pytest.mark.parametrize("stored", [False, True], ids=["not stored", "stored"])
async def test_a_failed_edit_retires_its_client_id(
    room: Room, gated_store: GatedStore, stored: bool
) -> None:
    """Stored or not, the caller cannot tell: a next edit under the same id would claim the
    clocks the failed one may hold in the store, and one of the two would be lost on reload."""
    first = await new_clients(room, append("开头。"), "7")
    gated_store.fail_next, gated_store.fail_after_storing = not stored, stored
    with pytest.raises(ConnectionError):
        await room.change(append("也许存了。"), on_behalf_of="7")
    after = await new_clients(room, append("重写。"), "7")
    assert len(after) == 1 and after != first, "a fresh id after a failure"
    # Stored, the failed sentence is taken in before the rewrite is made (see below).
    expected = "开头。也许存了。重写。" if stored else "开头。重写。"
    assert text(room) == await stored_text(gated_store) == expected


@pytest.mark.parametrize("writer", ["7", None], ids=["a user's", "the server's"])
async def test_a_save_retried_after_a_failure_it_was_stored_in_changes_nothing(
    room: Room, gated_store: GatedStore, writer: str | None
) -> None:
    """The store held the save although its append failed: the room takes it in (and relays it)
    before the retry is made against the document, so the words go in once."""
    peer = RoomPeer()
    room.join(peer.conn)
    await room.change(set_content("开头。"), on_behalf_of=writer)
    gated_store.fail_after_storing = True
    with pytest.raises(ConnectionError):
        await room.change(set_content("开头。结尾。"), on_behalf_of=writer)
    assert text(room) == "开头。", "not applied: the caller heard of a failure"
    assert await room.change(set_content("开头。结尾。"), on_behalf_of=writer) is False
    assert text(room) == await stored_text(gated_store) == "开头。结尾。"
    await eventually(lambda: peer.text == "开头。结尾。", what="the peer gets it too")


async def test_edits_waiting_on_one_look_at_the_store_all_wait_for_it(
    room: Room, gated_store: GatedStore
) -> None:
    """Another edit started the look (and its caller gave up): the retry waits for the same
    look instead of going ahead against a document that still lacks the stored words."""
    await room.change(set_content("开头。"), on_behalf_of="7")
    gated_store.fail_after_storing = True
    with pytest.raises(ConnectionError):
        await room.change(set_content("开头。结尾。"), on_behalf_of="7")
    gated_store.load_gate.clear()
    server_edit = asyncio.create_task(room.change(lambda doc: None))
    for _ in range(20):  # part of the test: the server's edit starts the look at the store
        await asyncio.sleep(0)
    server_edit.cancel()
    retry = asyncio.create_task(room.change(set_content("开头。结尾。"), on_behalf_of="7"))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not retry.done(), "the retry waits for the look"
    gated_store.load_gate.set()
    assert await retry is False
    assert text(room) == await stored_text(gated_store) == "开头。结尾。"


class StoredUpdates(RoomHooks):
    """What a room announces to the other nodes: updates it stored, and those it took in."""

    def __init__(self) -> None:
        self.updates: list[bytes] = []
        self.principals: list[str | None] = []

    async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
        self.updates.append(update)

    async def on_taken_in(self, room: Room, update: bytes) -> None:
        self.updates.append(update)

    def on_change(self, room: Room, principal: str | None) -> None:
        self.principals.append(principal)


async def test_what_the_store_held_is_announced_to_the_other_nodes(
    gated_store: GatedStore,
) -> None:
    announced = StoredUpdates()
    manager = RoomManager(gated_store, policy=RoomPolicy(), unload_grace_s=60, hooks=[announced])
    async with manager.hold(DOC) as room:
        await room.change(set_content("开头。"), on_behalf_of="7")
        gated_store.fail_after_storing = True
        with pytest.raises(ConnectionError):
            await room.change(set_content("开头。结尾。"), on_behalf_of="7")
        await room.change(set_content("开头。结尾。"), on_behalf_of="7")
    await manager.close()
    other_node: Doc = Doc()
    for update in announced.updates:
        other_node.apply_update(update)
    assert str(other_node.get(CONTENT, type=Text)) == "开头。结尾。"


async def test_an_edit_the_room_could_not_apply_retires_its_client_id(
    room: Room, gated_store: GatedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = await new_clients(room, append("开头。"), "7")

    def refuse(update: bytes) -> None:
        raise ValueError("not applied")

    monkeypatch.setattr(room.doc, "apply_update", refuse)
    await room.change(append("存了没用上。"), on_behalf_of="7")  # stored; logged, not applied
    monkeypatch.undo()
    after = await new_clients(room, append("重写。"), "7")
    assert len(after) == 1 and after != first
    assert await stored_text(gated_store) in {
        "开头。存了没用上。重写。",
        "开头。重写。存了没用上。",
    }


async def test_a_save_given_up_while_waiting_for_its_turn_leaves_nothing(
    room: Room, gated_store: GatedStore
) -> None:
    first, given_up = await a_save_behind_another(room, gated_store, "开头。一。", "开头。二。")
    given_up.cancel()
    gated_store.gate.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await given_up
    await room.flushed()
    assert text(room) == await stored_text(gated_store) == "开头。一。"


async def test_a_cancelled_save_ends_its_turn_before_the_next_begins(
    room: Room, gated_store: GatedStore
) -> None:
    """A save whose request is cancelled may still be stored: the next save (the whole text, as
    the client last saw it) is made against the document with it, so nothing doubles."""
    await room.change(set_content("开头。"), on_behalf_of="7")
    gated_store.gate.clear()
    cancelled = asyncio.create_task(room.change(set_content("开头。续写。"), on_behalf_of="7"))
    await eventually(lambda: len(gated_store.calls) == 2, what="the cancelled save's append")
    cancelled.cancel()
    next_save = asyncio.create_task(room.change(set_content("开头。续写。完。"), on_behalf_of="7"))
    for _ in range(20):  # part of the test: the next save gets every chance to go ahead
        await asyncio.sleep(0)
    gated_store.gate.set()
    await next_save
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert text(room) == await stored_text(gated_store) == "开头。续写。完。"


# Several processes writing one store ---------------------------------------------------------


@pytest.fixture
async def two_nodes(gated_store: GatedStore) -> AsyncIterator[tuple[Room, Room]]:
    """The room of one document on two nodes that share a store, with no bus between them: an
    update one of them stores reaches the other only through the store (as one still on its
    way over the bus would)."""
    shared = RoomPolicy(shared_store=True)
    first = RoomManager(gated_store, policy=shared, unload_grace_s=60)
    second = RoomManager(gated_store, policy=shared, unload_grace_s=60)
    async with first.hold(DOC) as on_first, second.hold(DOC) as on_second:
        yield on_first, on_second
    await first.close()
    await second.close()


async def test_a_save_repeated_on_another_node_is_made_against_the_stored_text(
    two_nodes: tuple[Room, Room], gated_store: GatedStore
) -> None:
    """A REST save retried on another worker, or the same text saved from a second tab that
    landed there: its difference is taken against what the store holds, not the older copy."""
    first, second = two_nodes
    words = "他推开门，雨已经停了。"
    assert await first.change(set_content(words), on_behalf_of="7")
    assert text(second) == "", "the other node has not heard of it"
    assert not await second.change(set_content(words), on_behalf_of="7")
    assert text(second) == words
    assert await stored_text(gated_store) == words


async def test_the_next_save_on_another_node_changes_only_what_it_changes(
    two_nodes: tuple[Room, Room], gated_store: GatedStore
) -> None:
    first, second = two_nodes
    await first.change(set_content("第一章"), on_behalf_of="7")
    await second.change(set_content("第一章 风起"), on_behalf_of="8")
    assert text(second) == "第一章 风起"
    assert await stored_text(gated_store) == "第一章 风起"


async def test_an_edit_waits_for_a_look_at_the_store_begun_after_it_arrived(
    two_nodes: tuple[Room, Room], gated_store: GatedStore
) -> None:
    """A look that read the store before the edit arrived may have missed what was stored
    meanwhile: the edit waits for the next one."""
    _first, second = two_nodes
    words = "灯下，她写完了最后一行。"
    gated_store.read_gate.clear()
    earlier = asyncio.ensure_future(second.change(append(""), on_behalf_of="8"))
    await eventually(lambda: second._look is not None)  # reading before `words` are stored
    # Another node stores them meanwhile (its own look would wait at the gate too).
    await gated_store.append(DOC, *updates_from(second.doc.get_update(), set_content(words)))
    retried = asyncio.ensure_future(second.change(set_content(words), on_behalf_of="7"))
    await asyncio.sleep(0)
    gated_store.read_gate.set()
    assert not await earlier
    assert not await retried, "made against the look that missed the words: inserted twice"
    assert text(second) == words
    assert await stored_text(gated_store) == words


async def test_a_node_alone_with_its_store_does_not_look_at_it_before_an_edit(
    room: Room, gated_store: GatedStore
) -> None:
    gated_store.load_gate.clear()  # a look would wait here for ever
    assert await asyncio.wait_for(room.change(append("夜"), on_behalf_of="7"), 10)
    assert text(room) == "夜"


async def test_a_save_that_puts_back_words_another_node_deleted_is_kept(
    two_nodes: tuple[Room, Room], gated_store: GatedStore
) -> None:
    """The deletion still on its way is taken in too: the save that restores the words is
    then a change, not a no-op against an older copy that still had them."""
    first, second = two_nodes
    await first.change(set_content("他推开门。雨停了。"), on_behalf_of="7")
    await second.change(set_content("他推开门。雨停了。"), on_behalf_of="7")
    await first.change(set_content("他推开门。"), on_behalf_of="7")  # an entry that only deletes
    assert await second.change(set_content("他推开门。雨停了。"), on_behalf_of="7")
    assert text(second) == "他推开门。雨停了。"
    assert await stored_text(gated_store) == "他推开门。雨停了。"


async def test_a_failed_batch_that_inserted_and_deleted_is_taken_in_whole(
    room: Room, gated_store: GatedStore
) -> None:
    await room.change(set_content("开头。"), on_behalf_of="7")
    scratch: Doc = Doc()
    scratch.apply_update(room.doc.get_update())
    inserted = updates_from(scratch.get_update(), append("Z"))
    scratch.apply_update(inserted[0])
    deleted = updates_from(scratch.get_update(), set_content("开头。"))
    gated_store.fail_after_storing = True
    both = [asyncio.ensure_future(room.submit(u, None)) for u in (*inserted, *deleted)]
    results = await asyncio.gather(*both, return_exceptions=True)
    assert all(isinstance(result, ConnectionError) for result in results), "one batch, failed"
    await room.change(append("x"), on_behalf_of="7")
    assert text(room) == await stored_text(gated_store) == "开头。x"


async def test_an_append_failing_while_the_store_is_read_needs_a_later_look(
    room: Room, gated_store: GatedStore
) -> None:
    await room.change(set_content("开头。"), on_behalf_of="7")
    gated_store.fail_after_storing = True
    with pytest.raises(ConnectionError):
        await room.change(set_content("开头。甲。"), on_behalf_of="7")
    gated_store.read_gate.clear()
    looking = asyncio.ensure_future(room.change(append(""), on_behalf_of="8"))
    await eventually(lambda: room._look is not None)  # read the store, waits to take it in
    lost = updates_from(room.doc.get_update(), append("乙。"))
    gated_store.fail_after_storing = True
    with pytest.raises(ConnectionError):
        await room.submit(lost[0], None)  # stored after that read
    gated_store.read_gate.set()
    await looking
    stored = await stored_text(gated_store)
    assert "乙。" in stored
    assert not await room.change(set_content(stored), on_behalf_of="7"), "words put in twice"
    assert text(room) == await stored_text(gated_store) == stored


async def test_a_caller_that_gives_up_does_not_stop_a_look_others_wait_for(
    two_nodes: tuple[Room, Room], gated_store: GatedStore
) -> None:
    first, second = two_nodes
    words = "她合上了书。"
    await first.change(set_content(words), on_behalf_of="7")
    gated_store.read_gate.clear()
    given_up = asyncio.ensure_future(second.change(append(""), on_behalf_of="8"))
    await eventually(lambda: second._look is not None)
    waiting = asyncio.ensure_future(second.change(set_content(words), on_behalf_of="7"))
    await asyncio.sleep(0)
    given_up.cancel()
    gated_store.read_gate.set()
    assert not await waiting
    assert text(second) == words


async def test_a_look_leaves_the_batch_being_stored_to_its_writer(
    gated_store: GatedStore,
) -> None:
    """An update the room has stored but not yet relayed is the writer's to apply: it credits
    its writer (`on_change`) and announces it once."""
    held = asyncio.Event()
    heard = StoredUpdates()

    class Holding(RoomHooks):
        async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
            await held.wait()

    policy = RoomPolicy(shared_store=True)
    manager = RoomManager(gated_store, policy=policy, unload_grace_s=60, hooks=[heard, Holding()])
    async with manager.hold(DOC) as room:
        held.set()
        await room.change(set_content("开头。"), on_behalf_of="7")
        held.clear()
        saving = asyncio.ensure_future(room.change(append("甲。"), on_behalf_of="7"))
        await eventually(lambda: len(heard.updates) == 2)  # stored, its relay held back
        looking = asyncio.ensure_future(room.change(append(""), on_behalf_of="8"))
        await eventually(lambda: room._looks_finished == 3)
        held.set()
        await asyncio.gather(saving, looking)
        assert text(room) == "开头。甲。"
    await manager.close()
    assert len(heard.updates) == 2, "announced again"
    assert heard.principals == ["7", "7"]


async def test_a_batch_that_fails_after_a_look_left_it_to_its_writer_is_taken_in_later(
    gated_store: GatedStore,
) -> None:
    held, stored = asyncio.Event(), asyncio.Event()

    class FailingRelay(RoomHooks):
        async def on_stored(self, room: Room, update: bytes, append_seconds: float) -> None:
            stored.set()
            await held.wait()
            if text(room) == "开头。":
                raise ConnectionError("the bus went away")

    policy = RoomPolicy(shared_store=True)
    manager = RoomManager(gated_store, policy=policy, unload_grace_s=60, hooks=[FailingRelay()])
    async with manager.hold(DOC) as room:
        held.set()
        await room.change(set_content("开头。"), on_behalf_of="7")
        held.clear()
        stored.clear()
        saving = asyncio.ensure_future(room.change(append("甲。"), on_behalf_of="7"))
        await stored.wait()  # 甲 is in the store, its relay held back
        await room.change(append(""), on_behalf_of="8")  # its look leaves 甲 to the writer
        assert text(room) == "开头。" and "甲" in await stored_text(gated_store)
        held.set()
        with pytest.raises(ConnectionError):
            await saving
        assert not await room.change(set_content("开头。甲。"), on_behalf_of="7")
        assert text(room) == await stored_text(gated_store) == "开头。甲。"
    await manager.close()


async def test_what_a_look_took_in_reaches_the_other_nodes_over_the_bus(
    gated_store: GatedStore,
) -> None:
    """One of this node's appends failed after it was stored: nobody else has it. The look
    before the next edit announces it, and the other node's room gets it without reading."""
    hub = MemoryHub()
    buses = [MemoryBus(hub), MemoryBus(hub)]
    managers = []
    for bus in buses:
        await bus.start()
        hooks = [BusFanOut(bus, gated_store)]
        managers.append(
            RoomManager(gated_store, policy=RoomPolicy(), unload_grace_s=60, hooks=hooks)
        )
    async with managers[0].hold(DOC) as here, managers[1].hold(DOC) as there:
        await here.change(set_content("开头。"), on_behalf_of="7")
        assert text(there) == "开头。"
        gated_store.fail_after_storing = True
        with pytest.raises(ConnectionError):
            await here.change(set_content("开头。乙。"), on_behalf_of="7")
        assert text(there) == "开头。"
        await here.change(append(""), on_behalf_of="8")
        assert text(there) == "开头。乙。"
    for manager in managers:
        await manager.close()
    for bus in buses:
        await bus.close()


async def test_differences_that_cannot_be_merged_are_applied_one_by_one(
    two_nodes: tuple[Room, Room], gated_store: GatedStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = two_nodes
    await first.change(set_content("第一句。"), on_behalf_of="7")
    await first.change(set_content("第一句。第二句。"), on_behalf_of="7")
    monkeypatch.setattr("sync_server.room.merge_updates", lambda *updates: b"\xff")
    assert not await second.change(set_content("第一句。第二句。"), on_behalf_of="7")
    assert text(second) == await stored_text(gated_store) == "第一句。第二句。"
