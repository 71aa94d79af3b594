"""Async engines for SQLite (embedded) and MySQL/MariaDB (asyncmy), set up alike everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


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


def _pool_options(url: str, pool: PoolLimits | None) -> dict[str, Any]:
    parsed = make_url(url)
    in_memory = parsed.get_backend_name() == "sqlite" and (
        parsed.database in (None, "", ":memory:") or parsed.query.get("mode") == "memory"
    )
    if pool is None or in_memory:  # one shared connection (StaticPool): nothing to size
        return {}
    return {"pool_size": pool.size, "max_overflow": pool.overflow, "pool_timeout": pool.timeout_s}


def make_engine(url: str, pool: PoolLimits | None = None) -> AsyncEngine:
    options = _pool_options(url, pool)
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **options)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")  # durable at commit, not just at checkpoint
            cursor.execute("PRAGMA busy_timeout=10000")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_async_engine(url, pool_pre_ping=True, pool_recycle=3600, **options)
