"""A thread of the embedded document store's own, with its own connection to the SQLite file.

Through SQLAlchemy and aiosqlite a call costs a pool checkout, a thread hand-off for each step
(begin, statement, commit) and a rollback at check-in: on the machine of `bench/README.md` an
append batch took 0.7 ms of CPU and 0.9 ms of latency, a room's load 0.53 ms of CPU, whatever
the size. Here the whole call runs in one hand-off to a thread that owns its connection, set up
like every other (`apply_sqlite_pragmas`: WAL, `synchronous=FULL`, so a commit is as durable as
before): 0.2 ms and 0.3 ms for an append batch, 0.07 ms for a load. The store keeps one such
thread for appends and one for loads (a load does not wait behind an append's fsync); the rest
(compaction, versions) uses the engine, and `busy_timeout` orders the writers.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.exc import DBAPIError

from ..sql.engine import apply_sqlite_pragmas

R = TypeVar("R")


class SQLiteThread:
    def __init__(self, path: str, name: str) -> None:
        self._path = path
        self._name = name
        self._executor: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=self._name)
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(executor, self._close)
        executor.shutdown(wait=True)

    async def run(self, call: Callable[..., R], *args: object) -> R:
        """`call(connection, *args)` in this thread."""
        if self._executor is None:
            raise RuntimeError(f"{self._name} is not running")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, self._call, call, args
        )

    def _call(self, call: Callable[..., R], args: tuple[object, ...]) -> R:
        assert self._connection is not None
        try:
            return call(self._connection, *args)
        except sqlite3.Error as exc:
            # As SQLAlchemy would raise it: callers answer "database is locked" with a 503 and
            # retry a busy database by the exception types they know (`sqlalchemy.exc`).
            raise DBAPIError.instance(None, None, exc, sqlite3.Error) from exc

    def _open(self) -> None:
        # Autocommit mode: a call that writes spells its transaction out (`immediate`).
        connection = sqlite3.connect(self._path, isolation_level=None)
        apply_sqlite_pragmas(connection)
        self._connection = connection

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def immediate(
    connection: sqlite3.Connection, statement: str, rows: list[tuple[object, ...]]
) -> None:
    """`statement` for each of `rows`, in one transaction; committed when this returns."""
    # IMMEDIATE: take the write lock first, so that a busy database is waited for
    # (busy_timeout) instead of failing when a read transaction would upgrade.
    connection.execute("BEGIN IMMEDIATE")
    try:
        connection.executemany(statement, rows)
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
