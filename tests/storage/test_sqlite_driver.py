"""The embedded database's driver: one thread hand-off a statement (none for a short read),
results and errors as aiosqlite's own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.dialects import mysql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.sql import engine as engine_module
from storage.sql import sqlite_driver
from storage.sql.engine import apply_sqlite_pragmas, make_engine
from storage.sql.sqlite_driver import PREFETCH_ROWS, SHORT_READ, OneHopConnection, short_read
from tests.support.hand_offs import HandOffs

metadata = MetaData()
rows_table = Table(
    "rows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(50), nullable=False, unique=True),
)
MANY = PREFETCH_ROWS * 3 + 7  # a result that does not fit in the first hand-off


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'driver.sqlite3'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def fill(engine: AsyncEngine, count: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(rows_table), [{"name": f"第{n}行"} for n in range(count)])


async def test_a_statement_and_its_rows_take_one_hand_off(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(engine, 3)
    hand_offs = HandOffs(monkeypatch)
    async with engine.connect() as conn:
        before = hand_offs.count
        names = (await conn.execute(select(rows_table.c.name).order_by(rows_table.c.id))).all()
        assert hand_offs.count - before == 1  # aiosqlite's cursor took 4: open, run, fetch, close
    assert [name for (name,) in names] == ["第0行", "第1行", "第2行"]


async def test_a_long_result_comes_whole_and_in_order(engine: AsyncEngine) -> None:
    await fill(engine, MANY)
    async with engine.connect() as conn:
        names = (await conn.scalars(select(rows_table.c.name).order_by(rows_table.c.id))).all()
    assert names == [f"第{n}行" for n in range(MANY)]


async def test_a_streamed_result_is_fetched_in_pieces(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(engine, MANY)
    hand_offs = HandOffs(monkeypatch)
    async with engine.connect() as conn:
        result = await conn.stream(select(rows_table.c.name).order_by(rows_table.c.id))
        first = await result.fetchmany(10)
        after_first = hand_offs.count
        rest = [name async for (name,) in result]
        assert hand_offs.count > after_first  # the rest was read from the open cursor
        # Left unread and closed early: the connection goes on.
        partial = await conn.stream(select(rows_table.c.name))
        assert len(await partial.fetchmany(5)) == 5
        await partial.close()
        assert await conn.scalar(select(func.count()).select_from(rows_table)) == MANY
    assert [name for (name,) in first] + rest == [f"第{n}行" for n in range(MANY)]


async def test_writes_report_their_ids_and_counts(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        inserted = await conn.execute(insert(rows_table).values(name="甲"))
        assert inserted.inserted_primary_key == (1,)
        many = await conn.execute(insert(rows_table), [{"name": "乙"}, {"name": "丙"}])
        assert many.rowcount == 2
        changed = await conn.execute(text("UPDATE rows SET name = name || '!' WHERE id > 1"))
        assert changed.rowcount == 2


async def test_errors_are_sqlalchemys_and_the_connection_goes_on(engine: AsyncEngine) -> None:
    await fill(engine, 1)
    async with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            await conn.execute(insert(rows_table).values(name="第0行"))
        await conn.rollback()
        with pytest.raises(OperationalError, match="no such table"):
            await conn.execute(text("SELECT * FROM nowhere"))
        await conn.rollback()
        assert await conn.scalar(select(rows_table.c.name)) == "第0行"


async def test_a_write_returning_more_rows_than_the_first_hand_off_counts_them_all(
    engine: AsyncEngine,
) -> None:
    await fill(engine, MANY)
    async with engine.begin() as conn:
        result = await conn.execute(
            text("UPDATE rows SET name = name || '!' RETURNING id"),
        )
        assert len(result.all()) == MANY
        assert result.rowcount == MANY


async def test_a_read_only_unit_of_work_ends_without_a_hand_off(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(engine, 3)
    hand_offs = HandOffs(monkeypatch)
    async with engine.begin() as conn:  # committed at the end, then reset by the pool
        assert (await conn.scalar(select(func.count()).select_from(rows_table))) == 3
    assert hand_offs.count == 1  # the statement; no commit, no rollback


async def test_a_write_is_still_committed_and_rolled_back(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    hand_offs = HandOffs(monkeypatch)
    async with engine.begin() as conn:
        await conn.execute(insert(rows_table).values(name="留下"))
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(insert(rows_table).values(name="撤回"))
            raise RuntimeError("the unit of work fails")
    assert hand_offs.count >= 4  # each write and its commit or rollback
    other = make_engine(str(engine.url))
    try:
        async with other.connect() as conn:  # a connection of its own sees what was committed
            names = (await conn.scalars(select(rows_table.c.name))).all()
    finally:
        await other.dispose()
    assert names == ["留下"]


async def test_a_short_read_runs_on_the_loops_thread_in_the_callers_transaction(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(engine, 3)
    hand_offs = HandOffs(monkeypatch)
    by_name = short_read(select(rows_table.c.id).where(rows_table.c.name == bindparam("name")))
    async with engine.begin() as conn:
        assert (await conn.scalar(by_name, {"name": "第2行"})) == 3
        assert hand_offs.count == 0
        await conn.execute(insert(rows_table).values(name="新行"))
        # The same connection: the write not yet committed is seen.
        assert (await conn.scalar(by_name, {"name": "新行"})) == 4
    assert hand_offs.count == 2  # the write and its commit


async def test_a_short_read_waits_behind_a_call_its_caller_stopped_waiting_for(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cancelled caller leaves its call running in the connection's thread: a short read
    must not use the connection from the loop's thread meanwhile."""
    await fill(engine, 1)
    hand_offs = HandOffs(monkeypatch)
    release = threading.Event()
    async with engine.connect() as conn:
        driver = (await conn.get_raw_connection()).driver_connection
        assert isinstance(driver, OneHopConnection)
        left = asyncio.ensure_future(driver.run(lambda _sqlite: release.wait()))
        await asyncio.sleep(0)  # handed to the thread
        left.cancel()
        read = asyncio.ensure_future(conn.scalar(short_read(select(rows_table.c.name))))
        try:
            for _ in range(100):  # until the read is queued behind the call, or done (wrongly)
                if hand_offs.count == 2 or read.done():
                    break
                await asyncio.sleep(0)
            assert not read.done() and hand_offs.count == 2
        finally:
            release.set()
        assert await read == "第0行"


def test_short_read_marks_sqlite_alone() -> None:
    marked = short_read(select(rows_table.c.name))
    assert str(marked.compile(dialect=sqlite.dialect())).startswith(f"SELECT {SHORT_READ} ")
    assert SHORT_READ not in str(marked.compile(dialect=mysql.dialect()))


async def test_a_long_short_read_comes_whole_and_in_order(engine: AsyncEngine) -> None:
    await fill(engine, MANY)
    every = short_read(select(rows_table.c.name).order_by(rows_table.c.id))
    expected = [f"第{n}行" for n in range(MANY)]
    async with engine.connect() as conn:
        assert (await conn.scalars(every)).all() == expected
        streamed = await conn.stream(every)
        assert [name async for (name,) in streamed] == expected


async def test_a_connection_kept_to_its_thread_reads_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """sqlite3 refuses a connection opened in one thread to any other unless it was opened with
    `check_same_thread=False`, which SQLAlchemy sets for database files alone."""
    database = str(tmp_path / "kept.sqlite3")
    for options in ({}, {"check_same_thread": True}):
        connection = await sqlite_driver.connect(database, **options)
        try:
            await connection.run(apply_sqlite_pragmas)  # WAL mode
            hand_offs = HandOffs(monkeypatch)
            async with connection.cursor() as cursor:
                await cursor.execute(f"SELECT {SHORT_READ} 1 + 1")
                assert await cursor.fetchall() == [(2,)]
            assert hand_offs.count == 1
        finally:
            await connection.close()


async def test_an_in_memory_database_reads_in_the_connections_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine("sqlite+aiosqlite://")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await conn.execute(insert(rows_table).values(name="内存"))
        hand_offs = HandOffs(monkeypatch)
        async with engine.connect() as conn:
            assert await conn.scalar(short_read(select(rows_table.c.name))) == "内存"
        assert hand_offs.count == 1
    finally:
        await engine.dispose()


async def test_a_database_not_in_wal_mode_reads_in_the_connections_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A file system without shared memory leaves SQLite in its rollback journal, where a read
    waits for a writer. No such file system here: SQLite's answer is replaced (a mock)."""

    def refused_wal(dbapi_connection: Any) -> str:
        apply_sqlite_pragmas(dbapi_connection)
        return "delete"

    monkeypatch.setattr(engine_module, "apply_sqlite_pragmas", refused_wal)
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'journal.sqlite3'}")
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        hand_offs = HandOffs(monkeypatch)
        async with engine.connect() as conn:
            assert await conn.scalar(short_read(select(func.count()).select_from(rows_table))) == 0
        assert hand_offs.count == 1
    finally:
        await engine.dispose()
    assert "not in WAL mode" in caplog.text
