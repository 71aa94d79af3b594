"""What backups ask of every store: list all documents, AI calls and blobs; put a version back
as it was. Run on SQLite and a MongoDB-wire server (SecantusDB)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pycrdt import Doc, Text

from storage.ai_histories.base import AiCall, AiHistories
from storage.ai_histories.mongo import MongoAiHistories
from storage.ai_histories.sql import SQLAiHistories
from storage.blobs.local import LocalBlobStore
from storage.docs.base import DocStore, VersionInfo
from storage.docs.mongo import MongoDocStore
from storage.docs.sql import SQLDocStore
from storage.sql.database import Database
from tests.support.secantus import mongo_database

BACKENDS = ["sqlite", pytest.param("mongo", marks=pytest.mark.mongo)]
WHEN = datetime(2024, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)


@pytest.fixture(params=BACKENDS)
async def docs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DocStore]:
    if request.param == "sqlite":
        store: DocStore = SQLDocStore(f"sqlite+aiosqlite:///{tmp_path / 'docs.sqlite3'}")
        await store.start()
        yield store
        await store.close()
        return
    async with mongo_database() as (url, name):
        store = MongoDocStore(url, name, snapshot_chunk_bytes=16)  # chunked versions too
        await store.start()
        yield store
        await store.close()


@pytest.fixture(params=BACKENDS)
async def histories(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AiHistories]:
    if request.param == "sqlite":
        database = Database(f"sqlite+aiosqlite:///{tmp_path / 'ai.sqlite3'}")
        await database.migrate()
        yield SQLAiHistories(database)
        await database.close()
        return
    async with mongo_database() as (url, name):
        store = MongoAiHistories(url, name)
        await store.start()
        yield store
        await store.close()


def update(text: str) -> bytes:
    doc = Doc()
    doc.get("content", type=Text).insert(0, text)
    return doc.get_update()


async def test_documents_lists_every_document_once(docs: DocStore) -> None:
    assert await docs.documents() == []
    await docs.append("第二章", update("风起"))
    await docs.append("chapter-a", update("a"), update("b"))
    await docs.compact("chapter-a")  # snapshot only, no log
    await docs.append("第二章", update("云涌"))
    await docs.put_version(VersionInfo(4, "only-a-version", "v", None, WHEN, 0), update("x"))
    assert await docs.documents() == sorted(["chapter-a", "only-a-version", "第二章"])


async def test_put_version_keeps_id_name_author_and_time(docs: DocStore) -> None:
    state = update("满纸荒唐言" * 10)
    await docs.put_version(VersionInfo(41, "第一回", "初稿", "林黛玉", WHEN, 0), state)
    [info] = await docs.list_versions("第一回")
    assert (info.id, info.name, info.author, info.size) == (41, "初稿", "林黛玉", len(state))
    assert info.created_at == WHEN.replace(microsecond=250000)
    assert await docs.read_version("第一回", 41) == state
    await docs.append("第一回", update("new"))
    assert (await docs.create_version("第一回", "next")).id == 42


async def test_scan_pages_through_every_users_calls_in_order(histories: AiHistories) -> None:
    ids = []
    for user in (1, 2, 1):
        call = AiCall(user, None, "continue", "续写", "好", "m", "p", 3, created_at=WHEN)
        ids.append(await histories.record(call))
    assert await histories.scan(after=None, limit=10) == (await histories.scan(limit=10))
    pages, after = [], None
    while page := await histories.scan(after=after, limit=2):
        pages.append(page)
        after = page[-1].id
    assert [len(page) for page in pages] == [2, 1]
    found = [stored for page in pages for stored in page]
    assert [stored.id for stored in found] == ids
    assert [stored.call.user_id for stored in found] == [1, 2, 1]
    assert found[0].call.input == "续写" and found[0].call.created_at == WHEN.replace(
        microsecond=250000
    )


async def test_local_blob_keys_are_every_blob_without_its_type_file(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path / "blobs")
    assert await blobs.keys() == []
    await blobs.put("exports/风起.txt", b"x", "text/plain")
    await blobs.put("avatars/7", b"y", "image/png")
    await blobs.put("notes.meta", b"z", "text/plain")  # a key that looks like a type file
    assert await blobs.keys() == ["avatars/7", "exports/风起.txt", "notes.meta"]
    assert await blobs.keys("exports/") == ["exports/风起.txt"]
