"""What only the MongoDB store has: chunked snapshots, and compaction with no transaction.

The shared contract runs in `test_docs_contract.py`; these tests stop a compaction between its
steps (as a node that dies would) and race two stores, each with its own client (two nodes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from functools import partial
from typing import Any

import pytest
from pycrdt import Doc, Text

from storage.docs.base import StoredDoc
from storage.docs.merge import merged_state
from storage.docs.mongo import MongoDocStore, SnapshotConflict
from storage.docs.schema import CONTENT
from tests.support.secantus import SecantusServer, mongo_database
from tests.support.waiting import eventually
from tests.support.ydocs import clocks

pytestmark = pytest.mark.mongo

CHUNK = 256  # bytes: every snapshot in these tests spans several chunks


Factory = Callable[..., MongoDocStore]


@pytest.fixture
async def mongo() -> AsyncIterator[tuple[str, str]]:
    async with mongo_database() as url_and_database:
        yield url_and_database


@pytest.fixture
def make_store(mongo: tuple[str, str]) -> Factory:
    """Stores on one database, each with its own client: the nodes of a cluster."""
    return partial(MongoDocStore, *mongo)


@pytest.fixture
async def store(make_store: Factory) -> AsyncIterator[MongoDocStore]:
    docs = make_store(snapshot_chunk_bytes=CHUNK)
    await docs.start()
    yield docs
    await docs.close()


class Writer:
    def __init__(self) -> None:
        self.doc: Doc = Doc()
        self.text = self.doc.get(CONTENT, type=Text)
        self.updates: list[bytes] = []
        self.doc.observe(lambda event: self.updates.append(event.update))

    def type(self, value: str) -> bytes:
        self.text += value
        return self.updates[-1]


def text_of(stored: StoredDoc) -> str:
    doc: Doc = Doc()
    doc.apply_update(merged_state(stored))
    return str(doc.get(CONTENT, type=Text))


async def fill(store: MongoDocStore, doc: str, writer: Writer, count: int, tag: str = "") -> None:
    for index in range(count):
        await store.append(doc, writer.type(f"{tag}第{index}句。"))


async def chunk_rows(store: MongoDocStore, **query: Any) -> list[dict[str, Any]]:
    return await store.database["ydoc_chunks"].find(query).to_list()


async def log_size(store: MongoDocStore, doc: str) -> int:
    return await store.database["ydoc_updates"].count_documents({"doc": doc})


async def test_writes_wait_for_a_durable_majority(store: MongoDocStore) -> None:
    assert store.database.write_concern.document == {"w": "majority", "j": True}
    await store.ping()


async def test_a_snapshot_larger_than_a_chunk_is_split_and_reloads(store: MongoDocStore) -> None:
    writer = Writer()
    await fill(store, "long", writer, 200)
    await store.compact("long")
    stored = await store.load("long")
    assert stored.updates == []
    assert stored.snapshot is not None and len(stored.snapshot) > 4 * CHUNK
    assert text_of(stored) == str(writer.text)

    head = await store.database["ydoc_snapshots"].find_one({"_id": "long"})
    assert head is not None and head["data"] is None
    chunks = await chunk_rows(store, doc="long")
    assert len(chunks) == head["chunks"] == -(-len(stored.snapshot) // CHUNK)
    assert {chunk["blob"] for chunk in chunks} == {head["blob"]}
    assert all(len(chunk["data"]) <= CHUNK for chunk in chunks)

    await fill(store, "long", writer, 20, tag="续")
    await store.compact("long")
    assert text_of(await store.load("long")) == str(writer.text)
    head = await store.database["ydoc_snapshots"].find_one({"_id": "long"})
    assert head is not None and head["generation"] == 2
    assert {chunk["blob"] for chunk in await chunk_rows(store, doc="long")} == {head["blob"]}


async def test_a_snapshot_that_shrinks_below_a_chunk_goes_back_inline(
    make_store: Factory,
) -> None:
    store = make_store(snapshot_chunk_bytes=CHUNK)
    await store.start()
    try:
        writer = Writer()
        await fill(store, "shrink", writer, 40)
        await store.compact("shrink")
        assert await chunk_rows(store, doc="shrink")
        writer.text.clear()
        await store.append("shrink", writer.updates[-1])
        await store.compact("shrink")
        head = await store.database["ydoc_snapshots"].find_one({"_id": "shrink"})
        assert head is not None and head["chunks"] == 0 and head["data"] is not None
        assert await chunk_rows(store, doc="shrink") == []
        assert text_of(await store.load("shrink")) == ""
    finally:
        await store.close()


async def test_a_large_version_is_chunked_and_outlives_compactions(store: MongoDocStore) -> None:
    writer = Writer()
    await fill(store, "draft", writer, 100)
    version = await store.create_version("draft", "一稿")
    assert version.size > CHUNK
    await fill(store, "draft", writer, 30, tag="改")
    for _ in range(2):
        await store.compact("draft")
        await fill(store, "draft", writer, 5, tag="再")
    assert [v.size for v in await store.list_versions("draft")] == [version.size]
    doc: Doc = Doc()
    doc.apply_update(await store.read_version("draft", version.id))
    assert str(doc.get(CONTENT, type=Text)) == "".join(f"第{i}句。" for i in range(100))


async def test_a_compaction_killed_after_its_swap_loads_complete_and_is_finished_later(
    store: MongoDocStore,
) -> None:
    writer = Writer()
    await fill(store, "half", writer, 30)
    plan = await store._plan("half")
    assert plan is not None
    await store._swap_snapshot(plan)  # the node dies here: merged entries are still in the log

    stored = await store.load("half")
    assert stored.snapshot is not None and len(stored.updates) == 30
    assert text_of(stored) == str(writer.text)

    await fill(store, "half", writer, 3, tag="后")
    result = await store.compact("half")
    assert result is not None and result.merged_updates == 33
    stored = await store.load("half")
    assert stored.updates == [] and await log_size(store, "half") == 0
    assert text_of(stored) == str(writer.text)


async def test_chunks_of_a_compaction_killed_before_its_swap_are_cleaned_up(
    store: MongoDocStore,
) -> None:
    writer = Writer()
    await fill(store, "orphan", writer, 30)
    await store.compact("orphan")
    await fill(store, "orphan", writer, 30, tag="乙")
    plan = await store._plan("orphan")
    assert plan is not None
    orphan = await store._put_blob("orphan", plan.merged, "snapshot")  # then the node dies
    assert text_of(await store.load("orphan")) == str(writer.text)

    await fill(store, "orphan", writer, 2, tag="丙")
    await store.compact("orphan")  # young orphans are left: they may be another node's swap
    assert await chunk_rows(store, blob=orphan["blob"])

    store._orphan_grace = timedelta(seconds=-2)  # ObjectIds hold whole seconds: all count as old
    await fill(store, "orphan", writer, 2, tag="丁")
    await store.compact("orphan")
    head = await store.database["ydoc_snapshots"].find_one({"_id": "orphan"})
    assert head is not None
    assert {chunk["blob"] for chunk in await chunk_rows(store, doc="orphan")} == {head["blob"]}
    assert text_of(await store.load("orphan")) == str(writer.text)


async def test_the_loser_of_a_swap_race_drops_its_chunks_and_retries(
    make_store: Factory,
) -> None:
    first, second = make_store(snapshot_chunk_bytes=CHUNK), make_store(snapshot_chunk_bytes=CHUNK)
    await first.start()
    await second.start()
    try:
        writer = Writer()
        for generation in (None, 1):  # racing the first snapshot (insert) and a later one (CAS)
            await fill(first, "race", writer, 20, tag=str(generation))
            plan = await first._plan("race")
            assert plan is not None and plan.generation == generation
            assert await second.compact("race") is not None
            with pytest.raises(SnapshotConflict):
                await first._swap_snapshot(plan)
            head = await second.database["ydoc_snapshots"].find_one({"_id": "race"})
            assert head is not None
            blobs = {chunk["blob"] for chunk in await chunk_rows(second, doc="race")}
            assert blobs == {head["blob"]}

        await fill(second, "race", writer, 5, tag="末")
        assert await first.compact("race") is not None
        for docs in (first, second):
            assert text_of(await docs.load("race")) == str(writer.text)
    finally:
        await first.close()
        await second.close()


async def test_two_nodes_compacting_while_both_write_keep_everything(
    make_store: Factory,
) -> None:
    nodes = [make_store(snapshot_chunk_bytes=CHUNK) for _ in range(2)]
    for node in nodes:
        await node.start()
    try:
        writers = [Writer() for _ in range(4)]
        stop = asyncio.Event()
        appended = [0]

        async def write(node: MongoDocStore, writer: Writer, tag: str) -> None:
            index = 0
            while not stop.is_set() or index < 20:
                await node.append("shared", writer.type(f"{tag}{index};"))
                appended[0] += 1
                index += 1

        async def compact(node: MongoDocStore) -> int:
            done = 0
            for _ in range(6):
                # Each round has appends of its own to merge, while the writers go on.
                mark = appended[0]
                await eventually(lambda mark=mark: appended[0] > mark, what="a new append")
                done += await node.compact("shared") is not None
            return done

        tasks = [
            asyncio.create_task(write(nodes[i % 2], writer, tag))
            for i, (writer, tag) in enumerate(zip(writers, "ABCD", strict=True))
        ]
        compactions = await asyncio.gather(*(compact(node) for node in nodes))
        stop.set()
        await asyncio.gather(*tasks)
        assert sum(compactions) >= 2

        expected: Doc = Doc()
        for writer in writers:
            expected.apply_update(writer.doc.get_update())
        for node in nodes:
            loaded: Doc = Doc()
            loaded.apply_update(merged_state(await node.load("shared")))
            assert str(loaded.get(CONTENT, type=Text)) == str(expected.get(CONTENT, type=Text))
            assert clocks(loaded) == clocks(expected)
    finally:
        for node in nodes:
            await node.close()


async def test_a_load_whose_snapshot_is_replaced_midway_reads_again(
    mongo: tuple[str, str], make_store: Factory
) -> None:
    other = make_store(snapshot_chunk_bytes=CHUNK)
    await other.start()

    class Interrupted(MongoDocStore):
        """Another node compacts (dropping the old chunks) while this one reads a snapshot."""

        interrupted = 0

        async def _blob(self, head: Any) -> bytes | None:
            if not self.interrupted and head.get("chunks"):
                self.interrupted += 1
                await fill(other, "moving", writer, 2, tag="插")
                assert await other.compact("moving") is not None
            return await super()._blob(head)

    reader = Interrupted(*mongo, snapshot_chunk_bytes=CHUNK)
    await reader.start()
    try:
        writer = Writer()
        await fill(other, "moving", writer, 30)
        await other.compact("moving")
        stored = await reader.load("moving")
        assert reader.interrupted == 1
        assert text_of(stored) == str(writer.text)
    finally:
        await reader.close()
        await other.close()


async def test_an_oversized_update_is_refused_without_failing_its_batch(
    store: MongoDocStore,
) -> None:
    writer = Writer()
    good = [writer.type(str(i)) for i in range(5)]
    results = await asyncio.gather(
        *(store.append("big", update) for update in good[:2]),
        store.append("big", b"\0" * (16 * 1024 * 1024)),
        *(store.append("big", update) for update in good[2:]),
        return_exceptions=True,
    )
    assert [type(r).__name__ for r in results] == ["NoneType"] * 2 + ["ValueError"] + [
        "NoneType"
    ] * 3
    assert (await store.load("big")).updates == good


async def test_a_snapshot_over_mongodbs_16_mib_limit_is_stored(make_store: Factory) -> None:
    store = make_store()  # the default chunk size
    await store.start()
    try:
        writer = Writer()
        for part in "甲乙":
            await store.append("epic", writer.type(part * (3 * 1024 * 1024)))  # 9 MiB of UTF-8
        await store.compact("epic")
        stored = await store.load("epic")
        assert stored.snapshot is not None and len(stored.snapshot) > 16 * 1024 * 1024
        assert len(await chunk_rows(store, doc="epic")) == 2
        assert text_of(stored) == str(writer.text)
    finally:
        await store.close()


async def test_acknowledged_appends_survive_a_kill_9_of_the_journaled_server() -> None:
    """Invariant 1 one level down: `append` returns only once the batch is in the journal, so a
    database server killed with -9 (no checkpoint, no clean close) recovers every one of them."""
    server = SecantusServer(journal=True).start()
    try:
        store = MongoDocStore(server.url, "durable", snapshot_chunk_bytes=CHUNK)
        await store.start()
        writer = Writer()
        await fill(store, "journal", writer, 40)
        await store.compact("journal")  # a snapshot, its chunks and an emptied log
        await asyncio.gather(*(store.append("journal", writer.type(f"并{i}")) for i in range(60)))
        await fill(store, "journal", writer, 5, tag="末")
        await store.close()

        server.kill()
        server.start()  # recovery replays the journal
        recovered = MongoDocStore(server.url, "durable", snapshot_chunk_bytes=CHUNK)
        await recovered.start()
        try:
            stored = await recovered.load("journal")
            assert stored.snapshot is not None
            assert text_of(stored) == str(writer.text)
            assert len(stored.updates) == 65
        finally:
            await recovered.close()
    finally:
        server.remove()
