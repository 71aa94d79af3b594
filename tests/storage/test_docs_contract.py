"""The document store contract, run identically on every implementation."""

from __future__ import annotations

import asyncio
import random
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
from bson import Binary
from pycrdt import Doc, Text, merge_updates
from sqlalchemy import insert

from storage.docs import merge
from storage.docs.base import DocStore, StoredDoc, VersionNotFound
from storage.docs.merge import merged_state
from storage.docs.mongo import MongoDocStore
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore, snapshots_table
from tests.support.mariadb import mariadb_database
from tests.support.secantus import mongo_database
from tests.support.waiting import eventually
from tests.support.ydocs import clocks

BACKENDS = [
    "sqlite",
    pytest.param("mariadb", marks=pytest.mark.mariadb),
    pytest.param("mongo", marks=pytest.mark.mongo),
    # SecantusDB as production runs it, journal on and fsynced per commit (`SecantusServer`).
    pytest.param("mongo-journal", marks=pytest.mark.mongo),
]

StoreFactory = Callable[..., DocStore]


class Recorder:
    def __init__(self) -> None:
        self.batches: list[int] = []

    def __call__(self, size: int, _seconds: float) -> None:
        self.batches.append(size)


@pytest.fixture(params=BACKENDS)
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """Builds stores (not started) that all share one backend and database: nodes of a cluster."""
    if request.param == "sqlite":
        yield partial(SQLDocStore, f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
    elif request.param == "mariadb":
        async with mariadb_database() as url:
            yield partial(SQLDocStore, url)
    else:
        async with mongo_database(journal=request.param == "mongo-journal") as (url, database):
            yield partial(MongoDocStore, url, database)


@pytest.fixture
async def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
async def store(make_store: StoreFactory, recorder: Recorder) -> AsyncIterator[DocStore]:
    docs = make_store(on_append_batch=recorder)
    await docs.start()
    yield docs
    await docs.close()


async def put_snapshot(store: DocStore, doc: str, snapshot: bytes) -> None:
    """Write a first snapshot behind the store's back, as a compaction that died would."""
    if isinstance(store, SQLDocStore):
        async with store.engine.begin() as conn:
            await conn.execute(
                insert(snapshots_table).values(
                    doc=doc, data=snapshot, generation=1, updated_at=datetime.now(UTC)
                )
            )
    else:
        assert isinstance(store, MongoDocStore)
        await store.database["ydoc_snapshots"].insert_one(
            {
                "_id": doc,
                "generation": 1,
                "data": Binary(snapshot),
                "chunks": 0,
                "blob": None,
                "size": len(snapshot),
                "updated_at": datetime.now(UTC),
            }
        )


def text_of(stored: StoredDoc) -> str:
    doc: Doc = Doc()
    doc.apply_update(merged_state(stored))
    return str(doc.get(CONTENT, type=Text))


class Writer:
    """A client typing into its own pycrdt document, one update per edit."""

    def __init__(self) -> None:
        self.doc: Doc = Doc()
        self.text = self.doc.get(CONTENT, type=Text)
        self.updates: list[bytes] = []
        self.doc.observe(lambda event: self.updates.append(event.update))

    def type(self, value: str) -> bytes:
        self.text += value
        return self.updates[-1]


async def test_load_of_an_unknown_document_is_empty(store: DocStore) -> None:
    stored = await store.load("无此文档")
    assert stored.snapshot is None
    assert stored.updates == []


async def test_appended_updates_load_in_order(store: DocStore) -> None:
    writer = Writer()
    for word in ["天", "地", "玄", "黄"]:
        await store.append("第一章", writer.type(word))
    stored = await store.load("第一章")
    assert stored.updates == writer.updates
    assert text_of(stored) == "天地玄黄"


async def test_appends_survive_a_new_store_instance(make_store: StoreFactory) -> None:
    writer = Writer()
    first = make_store()
    await first.start()
    for index in range(20):
        await first.append("doc", writer.type(str(index)))
    await first.close()
    second = make_store()
    await second.start()
    try:
        assert text_of(await second.load("doc")) == str(writer.text)
    finally:
        await second.close()


async def test_updates_appended_together_are_stored_in_order_in_one_batch(
    store: DocStore, recorder: Recorder
) -> None:
    writer = Writer()
    seasons = [writer.type(word) for word in "春夏秋冬"]
    await store.append("四季", *seasons)
    assert (await store.load("四季")).updates == seasons
    assert recorder.batches == [4]


async def test_concurrent_appends_are_group_committed(store: DocStore, recorder: Recorder) -> None:
    writers = [Writer() for _ in range(50)]
    updates = [(f"doc-{i % 5}", w.type(f"w{i}")) for i, w in enumerate(writers)]
    await asyncio.gather(*(store.append(doc, update) for doc, update in updates))
    assert sum(recorder.batches) == 50
    assert max(recorder.batches) > 1, "concurrent appends should share transactions"
    for n in range(5):
        assert len((await store.load(f"doc-{n}")).updates) == 10


async def test_compaction_keeps_content_and_empties_the_log(store: DocStore) -> None:
    writer = Writer()
    for index in range(100):
        await store.append("doc", writer.type(f"字{index}"))
    before = text_of(await store.load("doc"))
    result = await store.compact("doc")
    assert result is not None and result.merged_updates == 100
    after = await store.load("doc")
    assert after.updates == []
    assert after.snapshot is not None
    assert text_of(after) == before == str(writer.text)
    assert await store.compact("doc") is None


async def test_compaction_merges_outside_the_event_loops_thread(
    store: DocStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Merging a long log takes hundreds of milliseconds of Rust that holds the GIL per call;
    done update by update in a worker thread, the loop runs between them (live rooms wait
    for no compaction)."""
    threads: list[threading.Thread] = []

    def recording(stored: StoredDoc, *, name: str = "") -> bytes:
        threads.append(threading.current_thread())
        return merged_state(stored, name=name)

    monkeypatch.setattr(merge, "merged_state", recording)
    writer = Writer()
    for index in range(20):
        await store.append("doc", writer.type(f"字{index}"))
    assert await store.compact("doc") is not None
    assert threads and threading.main_thread() not in threads
    assert text_of(await store.load("doc")) == str(writer.text)


async def test_compaction_while_writers_are_active_loses_nothing(store: DocStore) -> None:
    writers = [Writer() for _ in range(4)]
    stop = asyncio.Event()
    appended = [0]

    async def write(writer: Writer, tag: str) -> None:
        index = 0
        while not stop.is_set() or index < 30:
            await store.append("busy", writer.type(f"{tag}{index};"))
            appended[0] += 1
            index += 1

    async def compact_repeatedly() -> int:
        done = 0
        for _ in range(8):
            # Each compaction has appends of its own to merge, while the writers go on.
            mark = appended[0]
            await eventually(lambda mark=mark: appended[0] > mark, what="a new append")
            if await store.compact("busy") is not None:
                done += 1
        return done

    tasks = [asyncio.create_task(write(w, t)) for w, t in zip(writers, "ABCD", strict=True)]
    compactions = await compact_repeatedly()
    stop.set()
    await asyncio.gather(*tasks)
    assert compactions >= 2

    expected: Doc = Doc()
    for writer in writers:
        expected.apply_update(writer.doc.get_update())
    loaded: Doc = Doc()
    loaded.apply_update(merged_state(await store.load("busy")))
    assert str(loaded.get(CONTENT, type=Text)) == str(expected.get(CONTENT, type=Text))
    assert clocks(loaded) == clocks(expected)


async def test_concurrent_compactions_of_one_document_keep_everything(
    make_store: StoreFactory,
) -> None:
    stores = [make_store() for _ in range(2)]
    for docs in stores:
        await docs.start()
    try:
        writer = Writer()
        for index in range(200):
            await stores[index % 2].append("shared", writer.type(f"{index},"))
        await asyncio.gather(*(docs.compact("shared") for docs in stores))
        for docs in stores:
            assert text_of(await docs.load("shared")) == str(writer.text)
    finally:
        for docs in stores:
            await docs.close()


async def test_a_snapshot_overlapping_the_log_loads_correctly(store: DocStore) -> None:
    """A compaction that stopped after writing its snapshot leaves updates in both places."""
    writer = Writer()
    for index in range(10):
        await store.append("half", writer.type(f"{index}"))
    snapshot = merged_state(await store.load("half"))
    await put_snapshot(store, "half", snapshot)
    await store.append("half", writer.type("末"))
    assert text_of(await store.load("half")) == str(writer.text)
    await store.compact("half")
    assert text_of(await store.load("half")) == str(writer.text)


async def test_compacted_keystrokes_take_space_close_to_the_merged_update(
    store: DocStore,
) -> None:
    writer = Writer()
    rng = random.Random(7)
    alphabet = "春江潮水连海平海上明月共潮生滟滟随波千万里何处春江无月明"
    keystrokes = [writer.type(rng.choice(alphabet)) for _ in range(2000)]
    await asyncio.gather(*(store.append("keys", update) for update in keystrokes))
    await store.compact("keys")
    snapshot = (await store.load("keys")).snapshot
    assert snapshot is not None
    merged = merge_updates(*writer.updates)
    assert len(snapshot) <= 2 * len(merged)
    assert len(snapshot) <= 2 * len(str(writer.text).encode("utf-8")) + 200


async def test_compaction_candidates_follow_the_thresholds(store: DocStore) -> None:
    small, large = Writer(), Writer()
    for index in range(3):
        await store.append("small", small.type(str(index)))
    for index in range(12):
        await store.append("large", large.type(str(index)))
    assert await store.compaction_candidates(10, 10**9) == ["large"]
    assert sorted(await store.compaction_candidates(3, 10**9)) == ["large", "small"]
    assert await store.compaction_candidates(10**6, 1) != []


async def test_versions_are_named_states_that_later_edits_do_not_change(
    store: DocStore,
) -> None:
    writer = Writer()
    await store.append("novel", writer.type("初稿。"))
    first = await store.create_version("novel", "初稿", author="alice")
    await store.append("novel", writer.type("二稿。"))
    await store.compact("novel")
    second = await store.create_version("novel", "二稿")
    await store.append("novel", writer.type("三稿。"))

    listed = await store.list_versions("novel")
    assert [(v.id, v.name, v.author) for v in listed] == [
        (first.id, "初稿", "alice"),
        (second.id, "二稿", None),
    ]
    assert all(v.size > 0 for v in listed)
    for version, expected in ((first, "初稿。"), (second, "初稿。二稿。")):
        doc: Doc = Doc()
        doc.apply_update(await store.read_version("novel", version.id))
        assert str(doc.get(CONTENT, type=Text)) == expected


async def test_a_version_is_only_readable_through_its_own_document(store: DocStore) -> None:
    writer = Writer()
    await store.append("mine", writer.type("私密"))
    version = await store.create_version("mine", "v1")
    with pytest.raises(VersionNotFound):
        await store.read_version("theirs", version.id)
    assert await store.list_versions("theirs") == []
