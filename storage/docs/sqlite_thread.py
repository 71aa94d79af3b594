"""A thread of the embedded document store's own, with its own connection to the SQLite file.

Through SQLAlchemy and aiosqlite a call costs a pool checkout, a thread hand-off for each step
(begin, statement, commit) and a rollback at check-in. Here the whole call runs in one hand-off
to a thread that owns its connection, set up like every other (`apply_sqlite_pragmas`: WAL,
`synchronous=FULL`, so a commit is as durable as before). The store keeps one such thread for
appends and one for loads (a load does not wait behind an append's fsync); the rest
(compaction, versions) uses the engine, and `busy_timeout` orders the writers.

The hand-off is a queue the thread reads and a `call_soon_threadsafe` back: with
`run_in_executor` (futures chained across the threads, the executor's work items) an append
cost 166–207 µs of CPU and a load 65–99, with the queue 98–101 and 20–21 (bench/README.md,
"The document store's threads without an executor"). A call handed over runs even if its caller
stops waiting, as one the thread has begun would: an append may be stored whatever its caller
does (DESIGN, write-ahead).
"""

from __future__ import annotations

import asyncio
import queue
import sqlite3
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy.exc import DBAPIError

from ..sql.engine import apply_sqlite_pragmas

R = TypeVar("R")

_Call = tuple[asyncio.Future[Any], Callable[..., Any], tuple[object, ...]]


def _settle(future: asyncio.Future[Any], result: object, error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _answer(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: object,
    error: BaseException | None,
) -> bool:
    """False once the loop is closed: nobody is waiting any more."""
    try:
        loop.call_soon_threadsafe(_settle, future, result, error)
    except RuntimeError:
        return False
    return True


def _open(path: str) -> sqlite3.Connection:
    # Autocommit mode: a call that writes spells its transaction out (`immediate`).
    connection = sqlite3.connect(path, isolation_level=None)
    apply_sqlite_pragmas(connection)
    return connection


def _serve(
    path: str,
    calls: queue.SimpleQueue[_Call | None],
    loop: asyncio.AbstractEventLoop,
    opened: asyncio.Future[None],
) -> None:
    """The thread: open the connection, run the calls handed over until told to stop (or its
    `SQLiteThread` is gone), close the connection. It holds no reference to its `SQLiteThread`."""
    try:
        connection = _open(path)
    except BaseException as exc:
        _answer(loop, opened, None, exc)
        return
    try:
        if not _answer(loop, opened, None, None):
            return
        while (handed := calls.get()) is not None:
            future, call, args = handed
            result: object = None
            error: BaseException | None = None
            try:
                result = call(connection, *args)
            except sqlite3.Error as exc:
                # As SQLAlchemy would raise it: callers answer "database is locked" with a 503
                # and retry a busy database by the exception types they know (`sqlalchemy.exc`).
                error = DBAPIError.instance(None, None, exc, sqlite3.Error)
                error.__cause__ = exc
            except BaseException as exc:  # the caller's to handle, on the loop
                error = exc
            if not _answer(loop, future, result, error):
                return
    finally:
        connection.close()


class SQLiteThread:
    def __init__(self, path: str, name: str) -> None:
        self._path = path
        self._name = name
        self._started = False
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        """Once: a thread stopped (closed, or failed to open its file) is not started again."""
        if self._started:
            raise RuntimeError(f"{self._name} was started already")
        self._started = True
        self._loop = loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = loop.create_future()
        thread = threading.Thread(
            target=_serve, args=(self._path, self._calls, loop, opened), name=self._name
        )
        thread.daemon = True
        thread.start()
        # A store dropped without `close` still ends its thread (and closes the connection).
        weakref.finalize(self, self._calls.put, None)
        try:
            await opened
        except BaseException:  # it could not open, or the caller gave up: the thread ends
            self._calls.put(None)
            raise
        self._thread = thread

    async def close(self) -> None:
        """Close once every call handed over before has run."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._calls.put(None)
        await asyncio.to_thread(thread.join)

    async def run(self, call: Callable[..., R], *args: object) -> R:
        """`call(connection, *args)` in this thread."""
        if self._thread is None or self._loop is None:
            raise RuntimeError(f"{self._name} is not running")
        future: asyncio.Future[R] = self._loop.create_future()
        self._calls.put((future, call, args))
        return await future


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
