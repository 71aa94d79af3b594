"""Async engines for SQLite (embedded) and MySQL/MariaDB (asyncmy), set up alike everywhere."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from . import sqlite_driver

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PoolLimits:
    """Connections kept open, extra ones opened under load, and how long a caller waits for one
    before `sqlalchemy.exc.TimeoutError` (SQLAlchemy's own defaults: 5, 10, 30 s)."""

    size: int = 5
    overflow: int = 10
    timeout_s: float = 30.0

    @property
    def connections(self) -> int:
        return self.size + self.overflow


@dataclass(frozen=True, slots=True)
class DriverTimeouts:
    """How long a database server may take to accept a connection, and to send the next bytes
    of an answer, before the call fails. A stopped (not dead) server leaves connections open and
    silent: without these, a call waits for it however long it is gone."""

    connect_s: float = 5.0
    read_s: float = 10.0


# MySQL client errors that mean the server is not there: cannot connect (2002 socket, 2003 TCP),
# gone away (2006), lost during a query (2013, read timeouts too), or the socket broke (2055).
_UNREACHABLE_MYSQL_CODES = frozenset({2002, 2003, 2006, 2013, 2055})


def unreachable(exc: BaseException) -> bool:
    """Whether a database error means the server could not be reached (down, stopped, or cut
    off) rather than a fault of the statement: worth answering "unavailable, try again"."""
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated:
        return True
    args = getattr(exc.orig, "args", ())
    return bool(args) and args[0] in _UNREACHABLE_MYSQL_CODES


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
    )


def sqlite_file(url: str) -> str | None:
    """The file of a plain SQLite file URL; None for another database, an in-memory one, or a
    URL with options (`?uri=true`, `mode=`…) that only the engine's driver would read right."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.query:
        return None
    return None if parsed.database in (None, "", ":memory:") else parsed.database


def apply_sqlite_pragmas(dbapi_connection: Any) -> str:
    """What every connection to the embedded database is set up with (SQLAlchemy's, and those
    of the document store's own threads). Returns the journal mode SQLite settled on: `wal`,
    unless the file system cannot share memory between processes (or the database is in
    memory)."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")  # first: switching to WAL may wait for a lock
    cursor.execute("PRAGMA journal_mode=WAL")
    (mode,) = cursor.fetchone()
    cursor.execute("PRAGMA synchronous=FULL")  # durable at commit, not just at checkpoint
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    return str(mode).lower()


def _pool_options(url: str, pool: PoolLimits | None) -> dict[str, Any]:
    if pool is None or _in_memory(url):  # one shared connection (StaticPool): nothing to size
        return {}
    return {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout_s}


def _one_hop_connector(url: str) -> Callable[[], Awaitable[Any]]:
    """Connections as the URL's dialect would open them, each statement one thread hand-off
    (`sqlite_driver`)."""
    parsed = make_url(url)
    (database, *_), options = parsed.get_dialect()().create_connect_args(parsed)
    return partial(sqlite_driver.connect, database, **options)


def make_engine(
    url: str, pool: PoolLimits | None = None, timeouts: DriverTimeouts | None = None
) -> AsyncEngine:
    """`timeouts` apply to a database server (MySQL/MariaDB); SQLite is a file."""
    options = _pool_options(url, pool)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, async_creator=_one_hop_connector(url), **options)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            mode = apply_sqlite_pragmas(dbapi_connection)
            if mode != "wal":  # a read may wait for a writer: none on the event loop's thread
                dbapi_connection.driver_connection.no_reads_here()
                if not _in_memory(url):
                    log.warning(
                        "SQLite is not in WAL mode; readers wait for writers",
                        extra={"journal_mode": mode},
                    )

        return engine
    if timeouts is not None and make_url(url).get_driver_name() == "asyncmy":
        options["connect_args"] = {
            "connect_timeout": timeouts.connect_s,
            "read_timeout": timeouts.read_s,
        }
    # pool_pre_ping: a pooled connection the server dropped (a restart, a kill -9) is replaced
    # at checkout instead of failing the request that drew it.
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=3600, **options)
