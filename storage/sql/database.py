"""The relational database: engine, sessions, and Alembic migrations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from .engine import DriverTimeouts, PoolLimits, make_engine
from .fresh import create_at_head
from .revision import at_head

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


@asynccontextmanager
async def migration_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection for Alembic, committed when the block ends. On SQLite it starts with no
    transaction open (the migrations turn its foreign keys off, `migrations/env.py`), and gets
    them back on before it returns to the pool (or is closed for good if it cannot)."""
    async with engine.connect() as connection:
        try:
            yield connection
            await connection.commit()
        finally:
            if engine.dialect.name == "sqlite":
                await _foreign_keys_back_on(connection)


async def _foreign_keys_back_on(connection: AsyncConnection) -> None:
    try:
        await connection.rollback()  # whatever a failed run left open
        await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        await connection.commit()
    except Exception:
        await connection.invalidate()


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic loads only where there is a migration to run

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# MySQL: too many connections, too many for this user, a lock not granted in time.
_BUSY_MYSQL_CODES = frozenset({1040, 1203, 1205})
_BUSY_SQLITE_TEXTS = ("database is locked", "database table is locked")

# The errors `overloaded` may say yes to, for an edge that registers a handler per class.
BUSY_ERRORS: tuple[type[Exception], ...] = (PoolTimeout, OperationalError)


def overloaded(exc: BaseException) -> bool:
    """Whether a database error means "too busy now, ask again shortly" rather than a fault: no
    pooled connection came free within the pool timeout, or the server or file was too busy."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, OperationalError):
        return False
    args = getattr(exc.orig, "args", ())
    if args and args[0] in _BUSY_MYSQL_CODES:
        return True
    return any(busy in str(exc.orig) for busy in _BUSY_SQLITE_TEXTS)


class Database:
    def __init__(
        self, url: str, pool: PoolLimits | None = None, timeouts: DriverTimeouts | None = None
    ) -> None:
        """`pool` sizes the connection pool (SQLAlchemy's defaults without it); `timeouts` bound
        each call to a database server (none without it)."""
        self.url = url
        self.engine: AsyncEngine = make_engine(url, pool, timeouts)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        async with self.sessions() as session, session.begin():
            yield session

    async def migrate(self) -> None:
        """Upgrade the schema to the newest migration (a schema already there costs one query,
        an empty database is built from the models)."""

        def newest(connection: Connection) -> bool:
            return at_head(connection) or create_at_head(connection)

        def upgrade(connection: Connection) -> None:
            from alembic import command

            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self.engine.begin() as connection:
            if await connection.run_sync(newest):
                return
        async with migration_connection(self.engine) as connection:
            await connection.run_sync(upgrade)

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    async def close(self) -> None:
        await self.engine.dispose()


def migrate_blocking(url: str) -> None:
    """`inkweave migrate`."""

    async def run() -> None:
        database = Database(url)
        try:
            await database.migrate()
        finally:
            await database.close()

    asyncio.run(run())
