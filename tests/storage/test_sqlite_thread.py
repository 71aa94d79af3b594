"""The embedded store's own threads: appends in one transaction per batch, loads beside them."""

from __future__ import annotations

import asyncio
import gc
import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError, OperationalError

from storage.docs.sql import SQLDocStore
from storage.docs.sqlite_thread import SQLiteThread, immediate

_INSERT = "INSERT INTO ydoc_updates (doc, data, size) VALUES (?, ?, ?)"


def _rows(path: Path) -> list[tuple[str, bytes, int]]:
    with closing(sqlite3.connect(path)) as connection:
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
    with closing(sqlite3.connect(path)) as connection:
        connection.execute(
            "CREATE TABLE ydoc_updates (id INTEGER PRIMARY KEY, doc TEXT NOT NULL,"
            " data BLOB NOT NULL CHECK (data != x'ff'), size INTEGER NOT NULL)"
        )
    thread = SQLiteThread(str(path), "test-appends")
    await thread.start()
    try:
        with pytest.raises(IntegrityError):  # as SQLAlchemy raises it: callers know that type
            rows = [("a", b"\x01", 1), ("a", b"\xff", 1), ("a", b"\x02", 1)]
            await thread.run(immediate, _INSERT, rows)
        assert _rows(path) == []  # the first row went back with the rest
        await thread.run(immediate, _INSERT, [("a", b"\x03", 1)])
        assert _rows(path) == [("a", b"\x03", 1)]
    finally:
        await thread.close()


async def test_a_locked_database_is_the_error_sqlalchemy_would_raise(tmp_path: Path) -> None:
    """The REST layer answers "database is locked" with a 503 and jobs retry it, by type."""
    thread = SQLiteThread(str(tmp_path / "docs.sqlite3"), "test-appends")
    await thread.start()

    def locked(_connection: sqlite3.Connection) -> None:
        raise sqlite3.OperationalError("database is locked")

    try:
        with pytest.raises(OperationalError, match="database is locked"):
            await thread.run(locked)
    finally:
        await thread.close()


async def test_the_threads_connection_is_set_up_like_the_engines(tmp_path: Path) -> None:
    """WAL and `synchronous=FULL`: a commit survives the machine, not just the process."""
    path = tmp_path / "docs.sqlite3"
    thread = SQLiteThread(str(path), "test-appends")
    await thread.start()
    try:

        def pragma(connection: sqlite3.Connection, name: str) -> object:
            return connection.execute(f"PRAGMA {name}").fetchone()[0]

        assert await thread.run(pragma, "journal_mode") == "wal"
        assert await thread.run(pragma, "synchronous") == 2  # FULL
        assert await thread.run(pragma, "busy_timeout") == 10000
    finally:
        await thread.close()


async def test_a_call_after_close_is_refused(tmp_path: Path) -> None:
    thread = SQLiteThread(str(tmp_path / "docs.sqlite3"), "test-appends")
    await thread.start()
    await thread.close()
    with pytest.raises(RuntimeError):
        await thread.run(immediate, _INSERT, [("a", b"\x01", 1)])


async def test_a_load_does_not_wait_behind_the_appends(tmp_path: Path) -> None:
    path = tmp_path / "docs.sqlite3"
    store = SQLDocStore(f"sqlite+aiosqlite:///{path}")
    await store.start()
    release = threading.Event()
    try:
        await store.append("doc", b"\x01")
        assert store._appends is not None
        blocked = asyncio.ensure_future(store._appends.run(lambda _c: release.wait()))
        appended = asyncio.ensure_future(store.append("doc", b"\x02"))  # queued behind it
        assert (await store.load("doc")).updates == [b"\x01"]
        assert not appended.done()
        release.set()
        await blocked
        await appended
        assert (await store.load("doc")).updates == [b"\x01", b"\x02"]
    finally:
        release.set()
        await store.close()


async def test_appends_submitted_before_close_are_committed(tmp_path: Path) -> None:
    path = tmp_path / "docs.sqlite3"
    store = SQLDocStore(f"sqlite+aiosqlite:///{path}")
    await store.start()
    pending = [asyncio.ensure_future(store.append("doc", bytes([n]))) for n in range(1, 21)]
    await asyncio.sleep(0)  # submitted: the group committer holds them
    await store.close()
    assert all(future.done() and future.exception() is None for future in pending)
    assert [data for _doc, data, _size in _rows(path)] == [bytes([n]) for n in range(1, 21)]


async def test_a_thread_that_cannot_open_its_file_is_gone_with_the_error(tmp_path: Path) -> None:
    thread = SQLiteThread(str(tmp_path / "missing" / "docs.sqlite3"), "test-unopened")
    with pytest.raises(sqlite3.OperationalError):
        await thread.start()
    named = [t for t in threading.enumerate() if t.name == "test-unopened"]
    await asyncio.to_thread(lambda: [t.join(5) for t in named])
    assert not any(t.is_alive() for t in named)
    with pytest.raises(RuntimeError):
        await thread.run(immediate, _INSERT, [("a", b"\x01", 1)])


async def test_a_caller_that_stops_waiting_leaves_the_thread_serving(tmp_path: Path) -> None:
    """Its call still runs (an append may be stored whatever its caller does); the next call
    is answered."""
    thread = SQLiteThread(str(tmp_path / "docs.sqlite3"), "test-appends")
    await thread.start()
    release = threading.Event()
    ran = threading.Event()

    def slow(_connection: sqlite3.Connection) -> str:
        release.wait(5)
        ran.set()
        return "slow"

    loop_errors: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(
        lambda _loop, context: loop_errors.append(context)
    )
    try:
        waiting = asyncio.ensure_future(thread.run(slow))
        await asyncio.sleep(0)
        waiting.cancel()
        release.set()
        assert await thread.run(lambda _c: "next") == "next"
        assert ran.is_set() and waiting.cancelled()
        assert loop_errors == []  # its answer found nobody waiting, and nothing broke
    finally:
        release.set()
        await thread.close()


async def test_a_start_given_up_leaves_no_thread_and_no_connection(tmp_path: Path) -> None:
    path = tmp_path / "docs.sqlite3"
    thread = SQLiteThread(str(path), "test-given-up")
    starting = asyncio.ensure_future(thread.start())
    await asyncio.sleep(0)
    starting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await starting
    named = [t for t in threading.enumerate() if t.name == "test-given-up"]
    await asyncio.to_thread(lambda: [t.join(5) for t in named])
    assert not any(t.is_alive() for t in named)
    # Its connection is closed: SQLite removes the write-ahead log with the last connection.
    assert not path.with_name(path.name + "-wal").exists()


async def test_a_thread_dropped_without_close_ends(tmp_path: Path) -> None:
    thread = SQLiteThread(str(tmp_path / "docs.sqlite3"), "test-dropped")
    await thread.start()
    assert await thread.run(lambda _c: 1) == 1
    named = [t for t in threading.enumerate() if t.name == "test-dropped"]
    assert named
    del thread
    gc.collect()
    await asyncio.to_thread(lambda: [t.join(5) for t in named])
    assert not any(t.is_alive() for t in named)


async def test_a_thread_is_started_once(tmp_path: Path) -> None:
    unopened = SQLiteThread(str(tmp_path / "missing" / "docs.sqlite3"), "test-once")
    with pytest.raises(sqlite3.OperationalError):
        await unopened.start()
    with pytest.raises(RuntimeError):
        await unopened.start()
    thread = SQLiteThread(str(tmp_path / "docs.sqlite3"), "test-once")
    await thread.start()
    try:
        with pytest.raises(RuntimeError):
            await thread.start()
        assert await thread.run(lambda _c: "still one") == "still one"
    finally:
        await thread.close()
