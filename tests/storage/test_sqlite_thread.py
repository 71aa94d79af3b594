"""The embedded store's own threads: appends in one transaction per batch, loads beside them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.docs.sql import SQLDocStore
from storage.docs.sqlite_thread import SQLiteThread, immediate

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
        # Another connection sees it at once: committed, not waiting in the store's thread.
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
    thread = SQLiteThread(str(path), "test-appends")
    await thread.start()
    try:
        with pytest.raises(sqlite3.IntegrityError):
            rows = [("a", b"\x01", 1), ("a", b"\xff", 1), ("a", b"\x02", 1)]
            await thread.run(immediate, _INSERT, rows)
        assert _rows(path) == []  # the first row went back with the rest
        await thread.run(immediate, _INSERT, [("a", b"\x03", 1)])
        assert _rows(path) == [("a", b"\x03", 1)]
    finally:
        await thread.close()


async def test_the_threads_connection_is_durable_at_commit(tmp_path: Path) -> None:
    """`synchronous=FULL` in WAL mode: a commit survives the machine, not just the process."""
    path = tmp_path / "docs.sqlite3"
    sqlite3.connect(path).close()
    thread = SQLiteThread(str(path), "test-appends")
    await thread.start()
    try:

        def pragma(connection: sqlite3.Connection, name: str) -> object:
            return connection.execute(f"PRAGMA {name}").fetchone()[0]

        assert await thread.run(pragma, "journal_mode") == "wal"
        assert await thread.run(pragma, "synchronous") == 2  # FULL
    finally:
        await thread.close()


async def test_a_call_after_close_is_refused(tmp_path: Path) -> None:
    thread = SQLiteThread(str(tmp_path / "docs.sqlite3"), "test-appends")
    await thread.start()
    await thread.close()
    with pytest.raises(RuntimeError):
        await thread.run(immediate, _INSERT, [("a", b"\x01", 1)])


async def test_a_load_does_not_wait_for_a_write_in_progress(tmp_path: Path) -> None:
    path = tmp_path / "docs.sqlite3"
    store = SQLDocStore(f"sqlite+aiosqlite:///{path}")
    await store.start()
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        await store.append("doc", b"\x01")
        writer.execute("BEGIN IMMEDIATE")  # another writer holds the lock, uncommitted
        writer.execute("INSERT INTO ydoc_updates (doc, data, size) VALUES ('doc', x'02', 1)")
        assert (await store.load("doc")).updates == [b"\x01"]
        writer.execute("COMMIT")
        assert (await store.load("doc")).updates == [b"\x01", b"\x02"]
    finally:
        writer.close()
        await store.close()
