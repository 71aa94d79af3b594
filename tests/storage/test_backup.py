"""`storage.backup`: an archive of every store round trips between engines with every row,
every document's state vector and text, its versions, the AI calls and the blobs unchanged; a
backup taken while a writer appends holds whole updates only."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import zipfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pycrdt import Doc, Text
from sqlalchemy import insert, select

from storage.ai_histories.base import AiCall
from storage.ai_histories.mongo import MongoAiHistories
from storage.ai_histories.sql import SQLAiHistories
from storage.backup.archive import ArchiveError
from storage.backup.run import Stores, TargetNotEmpty, backup, restore
from storage.backup.tables import model_tables
from storage.blobs.local import LocalBlobStore
from storage.crypto.fields import Keyring, parse_key, use_keyring
from storage.crypto.lookup import lookup_hash
from storage.docs.merge import merged_state
from storage.docs.mongo import MongoDocStore
from storage.docs.schema import CONTENT
from storage.docs.sql import SQLDocStore
from storage.sql.database import Database
from storage.sql.models import Chapter, Order, Task, User, Work
from tests.support.mariadb import mariadb_database
from tests.support.secantus import mongo_database
from tests.support.ydocs import clocks

T0 = datetime(2024, 5, 1, 8, 30, 15, 123000, tzinfo=UTC)
# The key of the encrypted columns on both ends (`inkweave` subprocesses get it as
# INKWEAVE_FIELD_KEYS): each side's lookup hashes are then the same.
FIELD_KEY = "bk:" + "QmFja3VwIHRlc3Qga2V5OiAzMiBieXRlcyBsb25nISE="


@asynccontextmanager
async def sqlite_stores(folder: Path) -> AsyncIterator[Stores]:
    folder.mkdir(parents=True, exist_ok=True)
    database = Database(f"sqlite+aiosqlite:///{folder / 'inkweave.sqlite3'}")
    docs = SQLDocStore(f"sqlite+aiosqlite:///{folder / 'docs.sqlite3'}")
    await docs.start()
    try:
        yield Stores(database, docs, SQLAiHistories(database), LocalBlobStore(folder / "blobs"))
    finally:
        await docs.close()
        await database.close()


@asynccontextmanager
async def production_stores(folder: Path) -> AsyncIterator[Stores]:
    """MariaDB for the rows, a MongoDB-wire server (SecantusDB) for documents and AI calls."""
    async with mariadb_database() as url, mongo_database() as (mongo_url, name):
        database = Database(url)
        docs = MongoDocStore(mongo_url, name)
        histories = MongoAiHistories(mongo_url, name)
        await docs.start()
        await histories.start()
        try:
            yield Stores(database, docs, histories, LocalBlobStore(folder / "blobs"))
        finally:
            await histories.close()
            await docs.close()
            await database.close()


def edit(doc: Doc, text: str) -> bytes:
    """Append `text` to the document's content; the update that made it."""
    before = doc.get_state()
    content = doc.get(CONTENT, type=Text)
    content.insert(len(content), text)
    return doc.get_update(before)


async def fill(stores: Stores) -> None:
    use_keyring(Keyring([parse_key(FIELD_KEY)]))
    await stores.database.migrate()
    async with stores.database.session() as session:
        await session.execute(
            insert(User).values(
                id=7,
                username="林黛玉",
                username_key="林黛玉",
                email="daiyu@example.com",
                email_hash=lookup_hash(User.email, "daiyu@example.com"),
                password_hash="x",
                member_expire_at=T0 + timedelta(days=30),
                created_at=T0,
                updated_at=T0,
            )
        )
        await session.execute(
            insert(Work).values(
                id=3, user_id=7, title="红楼梦 第二部", type="novel", created_at=T0, updated_at=T0
            )
        )
        await session.execute(
            insert(Chapter).values(
                id=11,
                work_id=3,
                chapter_number=1,
                title="第一回",
                content_id="chapter-a",
                text="满纸荒唐言，一把辛酸泪。",
                created_at=T0,
                updated_at=T0,
            )
        )
        await session.execute(
            insert(Task).values(
                id="task-1",
                user_id=7,
                kind="export",
                type="txt",
                params={"格式": "txt", "chapters": [11], "nested": {"$t": "not a tag"}},
                result={"blob_key": "exports/task-1.txt"},
                created_at=T0,
                updated_at=T0,
            )
        )
        await session.execute(
            insert(Order).values(
                id=5,
                user_id=7,
                order_no="ORD-1",
                level="premium",
                plan_type="monthly",
                amount=Decimal("39.90"),
                currency="CNY",
                payment_method="alipay",
                created_at=T0,
                updated_at=T0,
            )
        )
    a, b = Doc(), Doc()
    await stores.docs.append("chapter-a", edit(a, "满纸荒唐言，"), edit(a, "一把辛酸泪。"))
    await stores.docs.create_version("chapter-a", "初稿", author="林黛玉")
    await stores.docs.compact("chapter-a")
    await stores.docs.append("chapter-a", edit(a, "都云作者痴，"))
    await stores.docs.create_version("chapter-a", "second", author=None)
    await stores.docs.append("chapter-b", edit(b, "INT. 大观园 - DAY"))
    for minutes, action in ((1, "continue"), (2, "polish")):
        await stores.ai_histories.record(
            AiCall(
                user_id=7,
                work_id=3,
                action_type=action,
                input="续写：黛玉葬花",
                output="花谢花飞花满天",
                model="m",
                provider="p",
                tokens=42,
                created_at=T0 + timedelta(minutes=minutes),
            )
        )
    await stores.blobs.put("avatars/7", b"\x89PNG\r\n\x00\xff", "image/png")
    await stores.blobs.put("exports/task-1.txt", "红楼梦".encode(), "text/plain; charset=utf-8")


async def everything(stores: Stores) -> dict[str, Any]:
    """All that a round trip must keep, comparable with `==`."""
    rows: dict[str, list[dict[str, Any]]] = {}
    async with stores.database.engine.connect() as conn:
        for table in model_tables():
            query = select(table).order_by(*table.primary_key.columns)
            rows[table.name] = [dict(row) for row in (await conn.execute(query)).mappings()]
    documents = {}
    for name in await stores.docs.documents():
        doc = Doc()
        doc.apply_update(merged_state(await stores.docs.load(name), name=name))
        versions = []
        for info in await stores.docs.list_versions(name):
            version = Doc()
            version.apply_update(await stores.docs.read_version(name, info.id))
            versions.append(
                (
                    info.id,
                    info.name,
                    info.author,
                    info.created_at,
                    info.size,
                    clocks(version),
                    str(version.get(CONTENT, type=Text)),
                )
            )
        documents[name] = (clocks(doc), str(doc.get(CONTENT, type=Text)), versions)
    calls, after = [], None
    while page := await stores.ai_histories.scan(after=after, limit=1):
        calls += [dataclasses.asdict(stored.call) for stored in page]
        after = page[-1].id
    blobs = {key: await stores.blobs.get(key) for key in await stores.blobs.keys()}
    return {"rows": rows, "documents": documents, "ai": calls, "blobs": blobs}


def coarse(value: Any, unit: timedelta) -> Any:
    """`value` with every datetime in it cut down to a whole `unit`."""
    if isinstance(value, datetime):
        return value - (value - datetime.min.replace(tzinfo=value.tzinfo)) % unit
    if isinstance(value, dict):
        return {key: coarse(item, unit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(coarse(item, unit) for item in value)
    return value


async def test_sqlite_round_trip_keeps_everything(tmp_path: Path) -> None:
    archive = tmp_path / "备份.zip"
    async with sqlite_stores(tmp_path / "source") as source:
        await fill(source)
        expected = await everything(source)
        seen: list[float] = []
        summary = await backup(source, archive, progress=seen.append)
    assert seen[-1] == 1.0 and seen == sorted(seen)
    assert summary.documents == 2 and summary.versions == 2 and summary.ai_calls == 2
    assert summary.tables["users"] == 1 and summary.blobs == 2
    assert expected["documents"]["chapter-a"][1] == "满纸荒唐言，一把辛酸泪。都云作者痴，"
    assert expected["rows"]["orders"][0]["amount"] == Decimal("39.90")

    async with sqlite_stores(tmp_path / "target") as target:
        restored = await restore(target, archive)
        assert restored.tables == summary.tables
        assert await everything(target) == expected
        # New ids follow the restored ones.
        version = await target.docs.create_version("chapter-a", "third")
        assert version.id == 3
        # A second restore would mix two histories: refused, nothing written.
        before = await everything(target)
        with pytest.raises(TargetNotEmpty, match="users"):
            await restore(target, archive)
        assert await everything(target) == before


async def test_restore_refuses_a_damaged_or_newer_archive(tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    async with sqlite_stores(tmp_path / "source") as source:
        await fill(source)
        await backup(source, archive)
    with zipfile.ZipFile(archive) as old:
        entries = {info.filename: old.read(info) for info in old.infolist()}

    def rewrite(path: Path, name: str, data: bytes) -> Path:
        with zipfile.ZipFile(path, "w") as new:
            for entry, body in entries.items():
                new.writestr(entry, data if entry == name else body)
        return path

    damaged = rewrite(tmp_path / "damaged.zip", "tables/users.jsonl", b"{}\n")
    manifest = json.loads(entries["manifest.json"])
    manifest["schema_revision"] = "9999_from_the_future"
    newer = rewrite(tmp_path / "newer.zip", "manifest.json", json.dumps(manifest).encode())
    async with sqlite_stores(tmp_path / "target") as target:
        with pytest.raises(ArchiveError, match=r"tables/users\.jsonl"):
            await restore(target, damaged)
        with pytest.raises(ArchiveError, match="newer"):
            await restore(target, newer)
        assert await target.docs.documents() == []


@pytest.mark.mariadb
@pytest.mark.mongo
async def test_round_trip_through_mariadb_and_mongodb(tmp_path: Path) -> None:
    async with sqlite_stores(tmp_path / "source") as source:
        await fill(source)
        expected = await everything(source)
        await backup(source, tmp_path / "one.zip")
    async with production_stores(tmp_path / "production") as production:
        await restore(production, tmp_path / "one.zip")
        moved = await everything(production)
        await backup(production, tmp_path / "two.zip")
    # What the engines keep of a time: MariaDB's DATETIME whole seconds, MongoDB milliseconds.
    assert moved["rows"] == coarse(expected["rows"], timedelta(seconds=1))
    assert {**moved, "rows": {}} == coarse({**expected, "rows": {}}, timedelta(milliseconds=1))
    async with sqlite_stores(tmp_path / "back") as back:
        await restore(back, tmp_path / "two.zip")
        assert await everything(back) == moved


async def test_backup_while_a_writer_appends_holds_whole_updates(tmp_path: Path) -> None:
    """Each append is two updates of one edit; the archive has a prefix of the appends."""
    archive = tmp_path / "live.zip"
    writer, texts = Doc(), [""]
    async with sqlite_stores(tmp_path / "source") as source:
        await fill(source)
        first = asyncio.Event()
        done = asyncio.Event()

        async def write() -> None:
            for n in range(1000):
                if done.is_set():
                    return
                await source.docs.append(
                    "chapter-live", edit(writer, f"第{n}句"), edit(writer, "。")
                )
                texts.append(str(writer.get(CONTENT, type=Text)))
                first.set()
            raise AssertionError("the backup never finished")

        async def take_backup() -> None:
            await first.wait()
            try:
                await backup(source, archive)
            finally:
                done.set()

        await asyncio.gather(write(), take_backup())
        appended = len(texts) - 1
    async with sqlite_stores(tmp_path / "target") as target:
        await restore(target, archive)
        doc = Doc()
        doc.apply_update(merged_state(await target.docs.load("chapter-live"), name="live"))
    text = str(doc.get(CONTENT, type=Text))
    assert text in texts and text.endswith("。")
    assert 0 < texts.index(text) <= appended
