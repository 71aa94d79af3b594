"""Appends to the embedded document store: one thread, one connection, one hop per batch.

Through SQLAlchemy and aiosqlite a batch of appends costs a pool checkout, a thread hand-off for
each of begin, insert and commit, and a rollback at check-in: about 0.7 ms of CPU and 0.9 ms of
latency on the machine of `bench/README.md`, whatever the batch size. Here the whole transaction
runs in this store's own writer thread, on a connection opened there and set up like every
other (`apply_sqlite_pragmas`: WAL, `synchronous=FULL`), so a batch is durable at its commit as
before: 0.2 ms of CPU and 0.3 ms of latency. SQLite lets one writer in at a time anyway; the
compaction and the versions keep using the engine, and `busy_timeout` orders them.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor

from ..sql.engine import apply_sqlite_pragmas


class SQLiteAppender:
    def __init__(self, path: str, insert: str) -> None:
        """`insert` is the statement storing one row from the parameters (doc, data, size)."""
        self._path = path
        self._insert = insert
        self._thread: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def start(self) -> None:
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="doc-appends")
        await asyncio.get_running_loop().run_in_executor(self._thread, self._open)

    async def close(self) -> None:
        if self._thread is None:
            return
        await asyncio.get_running_loop().run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)
        self._thread = None

    async def append(self, batch: list[tuple[str, bytes]]) -> None:
        """Store `batch` in one transaction, in order; durable when this returns."""
        if self._thread is None:
            raise RuntimeError("the appender is not running")
        rows = [(doc, data, len(data)) for doc, data in batch]
        await asyncio.get_running_loop().run_in_executor(self._thread, self._write, rows)

    def _open(self) -> None:
        # Autocommit mode: the transaction is spelled out in `_write`.
        connection = sqlite3.connect(self._path, isolation_level=None)
        apply_sqlite_pragmas(connection)
        self._connection = connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _write(self, rows: list[tuple[str, bytes, int]]) -> None:
        connection = self._connection
        assert connection is not None
        # IMMEDIATE: take the write lock first, so that a busy database is waited for
        # (busy_timeout) instead of failing when a read transaction would upgrade.
        connection.execute("BEGIN IMMEDIATE")
        try:
            connection.executemany(self._insert, rows)
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
