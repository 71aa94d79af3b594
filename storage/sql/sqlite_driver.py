"""aiosqlite connections whose statements cost one thread hand-off each.

aiosqlite runs every call of a cursor in the connection's thread: SQLAlchemy's adapter creates a
cursor, executes, fetches the rows and closes the cursor, four hand-offs (each a wake-up of that
thread and then of the event loop) for one SELECT. On the embedded default a REST request makes
four to six statements, and those hand-offs were a fifth of a worker's CPU (kernel scheduling and
wake-ups, `bench/README.md`). Here a statement, its first rows and the cursor's close run in one
hand-off; a result longer than `PREFETCH_ROWS` keeps its cursor open and the rest is fetched as
before, so a streamed read (`AsyncConnection.stream`) still holds a bounded number of rows. A
commit or rollback with no transaction open costs no hand-off.

A statement marked by `short_read` costs none either: it runs on the event loop's thread. A
hand-off (the thread's wake-up, the event loop's, and the GIL passed twice) cost more CPU than
the lookup itself under load (bench/README.md). In WAL mode a read does not wait for a writer,
so such a statement holds the loop for its own run: fit for a few rows found through an index,
not for a read whose time grows with the data. Where the database is not in WAL mode (a file
system without shared memory: the engine warns) or the connection may not be used from another
thread, every statement goes to the connection's thread. One wait remains: the first reader
after a crash recovers the WAL, and others wait for it (busy timeout).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Generator, Sequence
from typing import Any, TypeVar

import aiosqlite
from sqlalchemy.sql.selectable import HasPrefixes

PREFETCH_ROWS = 256
SHORT_READ = "/* short read */"
_SHORT_READ_SQL = f"SELECT {SHORT_READ} "

_Statement = TypeVar("_Statement", bound=HasPrefixes)


def short_read(statement: _Statement) -> _Statement:
    """`statement` (a SELECT), run on the event loop's thread on SQLite, with no hand-off to the
    connection's: for a read of a few rows through an index, whose time does not grow with the
    data. Unchanged on another database."""
    return statement.prefix_with(SHORT_READ, dialect="sqlite")


_Ran = tuple[sqlite3.Cursor, Any, int, int | None, list[Any], bool]


def _run(connection: sqlite3.Connection, sql: str, parameters: Any, many: bool) -> _Ran:
    """In the connection's thread: the statement, its first rows, and the cursor's close if
    nothing more is to come."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(sql, parameters)
        elif parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchmany(PREFETCH_ROWS) if cursor.description else []
    except BaseException:
        cursor.close()
        raise
    exhausted = cursor.description is None or len(rows) < PREFETCH_ROWS
    if exhausted:
        cursor.close()
    return cursor, cursor.description, cursor.rowcount, cursor.lastrowid, rows, exhausted


def _rest(cursor: sqlite3.Cursor) -> tuple[list[Any], int]:
    """The rows left, the statement's row count (sqlite3 sets it once the statement is done: a
    write with RETURNING counts its rows as they are read), and the cursor closed."""
    rows = cursor.fetchall()
    rowcount = cursor.rowcount
    cursor.close()
    return rows, rowcount


def _more(cursor: sqlite3.Cursor) -> tuple[list[Any], int, bool]:
    """The next rows and the row count so far; the cursor closed when they were the last."""
    rows = cursor.fetchmany(PREFETCH_ROWS)
    rowcount = cursor.rowcount
    exhausted = len(rows) < PREFETCH_ROWS
    if exhausted:
        cursor.close()
    return rows, rowcount, exhausted


class OneHopCursor:
    """What SQLAlchemy's aiosqlite adapter uses of `aiosqlite.Cursor`, one hand-off a statement."""

    arraysize = 1

    def __init__(self, connection: OneHopConnection) -> None:
        self._connection = connection
        self._cursor: sqlite3.Cursor | None = None
        self._rows: list[Any] = []
        self._exhausted = True
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    async def __aenter__(self) -> OneHopCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def execute(self, sql: str, parameters: Any = None) -> OneHopCursor:
        if sql.startswith(_SHORT_READ_SQL) and self._connection.reads_here:
            ran = _run(self._connection.sqlite, sql, parameters, False)
        else:
            ran = await self._connection.run(_run, sql, parameters, False)
        await self._ran(ran)
        return self

    async def executemany(self, sql: str, parameters: Sequence[Any]) -> OneHopCursor:
        await self._ran(await self._connection.run(_run, sql, parameters, True))
        return self

    async def _ran(self, ran: _Ran) -> None:
        await self.close()  # a result this cursor left unread
        cursor, self.description, self.rowcount, self.lastrowid, self._rows, exhausted = ran
        self._cursor, self._exhausted = cursor, exhausted

    async def fetchall(self) -> list[Any]:
        rows, self._rows = self._rows, []
        if not self._exhausted:
            rest, self.rowcount = await self._from_cursor(_rest)
            rows += rest
            self._exhausted = True
        return rows

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        wanted = size or self.arraysize
        while len(self._rows) < wanted and not self._exhausted:
            more, self.rowcount, self._exhausted = await self._from_cursor(_more)
            self._rows += more
        rows, self._rows = self._rows[:wanted], self._rows[wanted:]
        return rows

    async def fetchone(self) -> Any:
        rows = await self.fetchmany(1)
        return rows[0] if rows else None

    async def close(self) -> None:
        if not self._exhausted and self._cursor is not None:
            self._exhausted = True
            await self._from_cursor(lambda cursor: cursor.close())
        self._cursor = None

    async def _from_cursor(self, call: Callable[[sqlite3.Cursor], Any]) -> Any:
        cursor = self._cursor
        assert cursor is not None
        return await self._connection.run(lambda _connection: call(cursor))


class _OpenedCursor:
    """`connection.cursor()` as aiosqlite answers it: awaitable, or an async context."""

    def __init__(self, cursor: OneHopCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, OneHopCursor]:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> OneHopCursor:
        return self._cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self._cursor.close()


class OneHopConnection(aiosqlite.Connection):
    def __init__(self, connector: Callable[[], sqlite3.Connection], *, shared: bool) -> None:
        super().__init__(connector, iter_chunk_size=64)
        # Calls handed to the connection's thread, and of them those it finished: each written
        # by one thread only. A caller that stopped waiting (cancelled) leaves its call running.
        self._handed = 0
        self._finished = 0
        # Whether the event loop's thread may run short reads: sqlite3 lets a thread other than
        # the one that opened the connection use it (`check_same_thread=False`), and the
        # database is in WAL mode, where a read does not wait for writers (`no_reads_here`).
        self._loop_reads = shared

    def cursor(self) -> _OpenedCursor:  # type: ignore[override]
        return _OpenedCursor(OneHopCursor(self))

    def no_reads_here(self) -> None:
        """Run every statement in the connection's thread (a database not in WAL mode: a read
        may wait for a writer's lock, up to the busy timeout)."""
        self._loop_reads = False

    @property
    def idle(self) -> bool:
        """Whether the connection's thread has no call of this connection to run (nor will: the
        connection is open)."""
        return self._running and self._connection is not None and self._finished == self._handed

    @property
    def reads_here(self) -> bool:
        """Whether a short read may run on the event loop's thread now."""
        return self._loop_reads and self.idle

    @property
    def sqlite(self) -> sqlite3.Connection:
        return self._conn

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self._handed += 1
        return await super()._execute(self._counted, fn, *args, **kwargs)

    def _counted(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        finally:
            self._finished += 1

    # sqlite3 begins a transaction only before a write, and its commit and rollback do nothing
    # outside one: a read-only unit of work's commit, and the pool's rollback when a connection
    # comes back, would each be a hand-off for nothing. `in_transaction` is read from this
    # thread only while no call of the connection is left running in its own.
    async def commit(self) -> None:
        if not self.idle or self._conn.in_transaction:
            await super().commit()

    async def rollback(self) -> None:
        if not self.idle or self._conn.in_transaction:
            await super().rollback()

    async def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """`call(sqlite3_connection, *args)` in the connection's thread."""
        return await self._execute(call, self._conn, *args)


async def connect(database: str, **options: Any) -> OneHopConnection:
    """Open `database` as `aiosqlite.connect` would (`options` go to `sqlite3.connect`)."""

    def connector() -> sqlite3.Connection:
        return sqlite3.connect(database, **options)

    shared = options.get("check_same_thread", True) is False
    connection = OneHopConnection(connector, shared=shared)
    connection._thread.daemon = True  # as SQLAlchemy sets aiosqlite's own
    return await connection
