"""The embedded store's appender: its own thread and connection, one transaction per batch."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from storage.docs.sql import SQLDocStore
from storage.docs.sqlite_appends import SQLiteAppender

_INSERT = "INSERT INTO ydoc_updates (doc, data, size) VALUES (?, ?, ?)"


def _rows(path: Path) -> list[tuple[str, bytes, int]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT doc, data, size FROM ydoc_updates ORDER BY id").fetchall()


async def test_a_batch_is_committed_when_append_returns_and_read_back_in_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "docs.sqlite3"
    store = SQLDocStore(f"sqlite+aiosqlite:///{path}")
    await store.start()
    try:
        await store.append("第一章", b"\x01\x02", b"\x03")
        # Another connection sees it at once: committed, not waiting in the appender's thread.
        assert _rows(path) == [("第一章", b"\x01\x02", 2), ("第一章", b"\x03", 1)]
        assert (await store.load("第一章")).updates == [b"\x01\x02", b"\x03"]
    finally:
        await store.close()


async def test_a_batch_that_fails_stores_none_of_it_and_the_next_one_goes_in(
    tmp_path: Path,
) -> None:
    path = tmp_path / "docs.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute(
            "CREATE TABLE ydoc_updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL,"
            " data BLOB NOT NULL CHECK (data != x'ff'), size INTEGER NOT NULL)"
        )
    appender = SQLiteAppender(str(path), _INSERT)
    await appender.start()
    try:
        with pytest.raises(sqlite3.IntegrityError):
            await appender.append([("a", b"\x01"), ("a", b"\xff"), ("a", b"\x02")])
        assert _rows(path) == []  # the first row went back with the rest
        await appender.append([("a", b"\x03")])
        assert _rows(path) == [("a", b"\x03", 1)]
    finally:
        await appender.close()


async def test_the_appenders_connection_is_durable_at_commit(tmp_path: Path) -> None:
    """`synchronous=FULL` in WAL mode: a commit survives the machine, not just the process."""
    path = tmp_path / "docs.sqlite3"
    sqlite3.connect(path).close()
    appender = SQLiteAppender(str(path), _INSERT)
    await appender.start()
    try:
        connection = appender._connection
        assert connection is not None
        loop = asyncio.get_running_loop()
        thread = appender._thread

        def pragma(name: str) -> object:
            return connection.execute(f"PRAGMA {name}").fetchone()[0]

        assert await loop.run_in_executor(thread, pragma, "journal_mode") == "wal"
        assert await loop.run_in_executor(thread, pragma, "synchronous") == 2  # FULL
    finally:
        await appender.close()


async def test_appending_after_close_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "docs.sqlite3"
    appender = SQLiteAppender(str(path), _INSERT)
    await appender.start()
    await appender.close()
    with pytest.raises(RuntimeError):
        await appender.append([("a", b"\x01")])
