"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import closing
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from storage.backup.tables import upgrade_to_head
from storage.sql.database import Database, alembic_config, migration_connection
from storage.sql.models import Base
from storage.sql.revision import head_revision
from tests.support.mariadb import mariadb_database


def differences(connection: Connection) -> list[object]:
    return compare_metadata(MigrationContext.configure(connection), Base.metadata)


async def check(url: str) -> None:
    # Alembic itself (`Database.migrate` builds an empty database from the models instead), in a
    # thread: the migration environment runs its own event loop.
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    database = Database(url)
    try:
        await database.migrate()  # nothing left to do
        async with database.engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await database.close()


async def test_sqlite_schema_matches_the_models(tmp_path: Path) -> None:
    await check(f"sqlite+aiosqlite:///{tmp_path / 'schema.sqlite3'}")


@pytest.mark.mariadb
async def test_mariadb_schema_matches_the_models() -> None:
    async with mariadb_database() as url:
        await check(url)


async def _sqlite_at(tmp_path: Path, revision: str) -> tuple[Path, str]:
    """A SQLite file that Alembic brought to `revision`: its path and URL."""
    path = tmp_path / "inkweave.sqlite3"
    url = f"sqlite+aiosqlite:///{path}"
    # In a thread: the migration environment runs its own event loop.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)
    return path, url


def _recorded(connection: sqlite3.Connection) -> list[tuple[str]]:
    return connection.execute("SELECT version_num FROM alembic_version").fetchall()


def _insert(connection: sqlite3.Connection, table: str, values: dict[str, object]) -> None:
    """A row of `table` as its schema stands: `values`, and a plain value for every other
    column that needs one."""
    row = dict(values)
    for _cid, name, declared, not_null, default, primary in connection.execute(
        f"PRAGMA table_info({table})"
    ):
        if name in row or primary or not not_null or default is not None:
            continue
        kind = declared.upper()
        row[name] = (
            "2026-12-07 00:00:00"
            if "DATE" in kind
            else 0
            if any(word in kind for word in ("INT", "NUMERIC", "BOOL"))
            else "x"
        )
    names = ", ".join(row)
    marks = ", ".join("?" for _ in row)
    connection.execute(f"INSERT INTO {table} ({names}) VALUES ({marks})", list(row.values()))


async def _upgrade_with_restore(database: Database) -> None:
    async with migration_connection(database.engine) as connection:
        await connection.run_sync(upgrade_to_head)


async def _upgrade_at_start(database: Database) -> None:
    await database.migrate()


@pytest.mark.parametrize("upgrade", [_upgrade_at_start, _upgrade_with_restore])
async def test_upgrading_sqlite_keeps_the_rows_of_tables_a_migration_rebuilds(
    tmp_path: Path, upgrade: Callable[[Database], Awaitable[None]]
) -> None:
    """0015 rebuilds `users` in batch mode (copy, drop, rename): with foreign keys on, the drop
    deleted every work and chapter. The upgrade at start and the restore's both keep them."""
    path, url = await _sqlite_at(tmp_path, "0014")
    with closing(sqlite3.connect(path)) as connection, connection:
        _insert(connection, "users", {"id": 1, "username": "林黛玉", "email": "a@example.com"})
        _insert(connection, "works", {"id": 1, "user_id": 1, "title": "红楼新梦"})
        _insert(connection, "chapters", {"id": 1, "work_id": 1, "title": "第一回"})
        _insert(connection, "work_members", {"work_id": 1, "user_id": 1, "role": "owner"})
    database = Database(url)
    try:
        await upgrade(database)
        with closing(sqlite3.connect(path)) as connection:
            counts = {
                table: connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("users", "works", "chapters", "work_members")
            }
            versions = _recorded(connection)
        assert versions == [(head_revision(),)]
        assert counts == {"users": 1, "works": 1, "chapters": 1, "work_members": 1}
        # The engine's connections enforce foreign keys again, the pool's first one included.
        with pytest.raises(IntegrityError):
            async with database.engine.begin() as connection:
                await connection.execute(text("UPDATE chapters SET work_id = 999 WHERE id = 1"))
    finally:
        await database.close()


async def test_rows_already_pointing_nowhere_do_not_stop_an_upgrade(tmp_path: Path) -> None:
    """The upgrade refuses only violations the migrations made, not ones it found."""
    path, url = await _sqlite_at(tmp_path, "0014")
    with closing(sqlite3.connect(path)) as connection, connection:  # foreign keys off here
        _insert(connection, "chapters", {"id": 1, "work_id": 404, "title": "无主之章"})
    database = Database(url)
    try:
        await database.migrate()
    finally:
        await database.close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT title FROM chapters").fetchall() == [("无主之章",)]
        assert _recorded(connection) == [(head_revision(),)]


async def test_a_run_of_migrations_that_fails_leaves_sqlite_as_it_was(tmp_path: Path) -> None:
    path, url = await _sqlite_at(tmp_path, "0014")
    with closing(sqlite3.connect(path)) as connection, connection:
        _insert(connection, "users", {"id": 1, "username": "林黛玉", "email": "a@example.com"})
        # Fails the run once 0015 has rebuilt its tables, when Alembic records the revision.
        connection.execute(
            "CREATE TRIGGER stop BEFORE UPDATE ON alembic_version "
            "BEGIN SELECT RAISE(ABORT, 'the run stops here'); END"
        )
    database = Database(url)
    try:
        with pytest.raises(IntegrityError, match="the run stops here"):
            await database.migrate()
        with closing(sqlite3.connect(path)) as connection, connection:
            columns = [row[1] for row in connection.execute("PRAGMA table_info(users)")]
            leftovers = connection.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE '_alembic_tmp%'"
            ).fetchall()
            version = _recorded(connection)
            connection.execute("DROP TRIGGER stop")
        assert (version, leftovers, "email_hash" in columns) == ([("0014",)], [], False)
        await database.migrate()  # and the next start upgrades it
    finally:
        await database.close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT username FROM users").fetchall() == [("林黛玉",)]
        assert _recorded(connection) == [(head_revision(),)]


async def test_migrations_refuse_a_sqlite_connection_with_a_transaction_open(
    tmp_path: Path,
) -> None:
    """Foreign keys cannot be turned off inside a transaction: the run would cascade."""
    path, url = await _sqlite_at(tmp_path, "0014")
    with closing(sqlite3.connect(path)) as connection, connection:
        _insert(connection, "users", {"id": 1, "username": "林黛玉", "email": "a@example.com"})
        _insert(connection, "works", {"id": 1, "user_id": 1, "title": "红楼新梦"})
    database = Database(url)
    try:
        with pytest.raises(RuntimeError, match="no transaction open"):
            async with database.engine.begin() as connection:
                await connection.execute(text("UPDATE works SET title = '红楼新梦（二）'"))
                await connection.run_sync(upgrade_to_head)
    finally:
        await database.close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("SELECT title FROM works").fetchall() == [("红楼新梦",)]
