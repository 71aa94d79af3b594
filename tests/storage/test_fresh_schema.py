"""An empty database built from the models (`storage/sql/fresh.py`) has the very schema that
Alembic's migrations build, on both engines, and is recorded at the newest revision, so the next
migration finds what it was written against. A database that already holds part of the schema is
left to Alembic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Connection, inspect, text

from storage.sql import fresh
from storage.sql.database import Database, alembic_config
from storage.sql.fresh import create_at_head
from storage.sql.revision import head_revision
from tests.support.mariadb import mariadb_database


def shape(connection: Connection) -> dict[str, Any]:
    """Everything the inspector tells about each table, in a form two databases can be compared
    in: table options (engine, character set), columns with their types, collations,
    nullability and defaults, keys, indexes, constraints (with their names: a migration drops a
    constraint by name). Not the columns' order, which nothing reads by (a column added later
    comes last)."""
    inspector = inspect(connection)
    tables: dict[str, Any] = {}
    for table in sorted(inspector.get_table_names()):
        columns = sorted(
            (
                c["name"],
                str(c["type"]),
                c["nullable"],
                c.get("default"),
                c.get("autoincrement"),
                str(getattr(c["type"], "collation", None)),
                c.get("comment"),
            )
            for c in inspector.get_columns(table)
        )
        foreign_keys = sorted(
            (
                fk["name"] or "",
                tuple(fk["constrained_columns"]),
                fk["referred_table"],
                tuple(fk["referred_columns"]),
                tuple(sorted(fk.get("options", {}).items())),
            )
            for fk in inspector.get_foreign_keys(table)
        )
        indexes = sorted(
            (index["name"] or "", tuple(map(str, index["column_names"])), bool(index["unique"]))
            for index in inspector.get_indexes(table)
        )
        uniques = sorted(
            (unique["name"] or "", tuple(unique["column_names"]))
            for unique in inspector.get_unique_constraints(table)
        )
        checks = sorted(
            (check["name"] or "", " ".join(str(check["sqltext"]).split()))
            for check in inspector.get_check_constraints(table)
        )
        primary = inspector.get_pk_constraint(table)
        tables[table] = {
            "options": sorted(inspector.get_table_options(table).items()),  # engine, charset…
            "columns": columns,
            "primary key": tuple(primary["constrained_columns"]),
            "foreign keys": foreign_keys,
            "indexes": indexes,
            "unique": uniques,
            "checks": checks,
        }
    return tables


def versions(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())


async def read(url: str) -> tuple[dict[str, Any], list[str]]:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            return await connection.run_sync(shape), await connection.run_sync(versions)
    finally:
        await database.close()


async def built_by_migrations(url: str) -> tuple[dict[str, Any], list[str]]:
    # In a thread: the migration environment runs its own event loop.
    await asyncio.to_thread(command.upgrade, alembic_config(url), "head")
    return await read(url)


async def built_from_models(url: str) -> tuple[dict[str, Any], list[str]]:
    database = Database(url)
    try:
        async with database.engine.begin() as connection:
            assert await connection.run_sync(create_at_head)
    finally:
        await database.close()
    return await read(url)


async def test_sqlite_from_models_is_what_the_migrations_build(tmp_path: Path) -> None:
    migrated = await built_by_migrations(f"sqlite+aiosqlite:///{tmp_path / 'migrated.sqlite3'}")
    created = await built_from_models(f"sqlite+aiosqlite:///{tmp_path / 'created.sqlite3'}")
    assert migrated[1] == [head_revision()]
    assert created == migrated


@pytest.mark.mariadb
async def test_mariadb_from_models_is_what_the_migrations_build() -> None:
    async with mariadb_database() as migrated_url, mariadb_database() as created_url:
        migrated = await built_by_migrations(migrated_url)
        created = await built_from_models(created_url)
    assert migrated[1] == [head_revision()]
    assert created == migrated


@pytest.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """A database on a new SQLite file, closed after the test."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'inkweave.sqlite3'}")
    yield database
    await database.close()


def table_names(connection: Connection) -> list[str]:
    return inspect(connection).get_table_names()


@pytest.mark.parametrize("table", ["users", "alembic_version"])
async def test_a_database_holding_part_of_the_schema_is_left_to_alembic(
    sqlite_database: Database, table: str
) -> None:
    async with sqlite_database.engine.begin() as connection:
        await connection.execute(text(f"CREATE TABLE {table} (id INTEGER PRIMARY KEY)"))
        assert not await connection.run_sync(create_at_head)
        assert await connection.run_sync(table_names) == [table]


async def test_a_database_holding_only_other_tables_is_built_from_the_models(
    sqlite_database: Database,
) -> None:
    async with sqlite_database.engine.begin() as connection:
        await connection.execute(text("CREATE TABLE someone_elses (id INTEGER PRIMARY KEY)"))
        assert await connection.run_sync(create_at_head)
        assert await connection.run_sync(versions) == [head_revision()]


async def test_a_first_start_that_fails_half_way_leaves_sqlite_empty(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    def stamping_fails(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the process dies before the version is stamped")

    monkeypatch.setattr(fresh._versions, "create", stamping_fails)
    with pytest.raises(RuntimeError):
        await sqlite_database.migrate()
    async with sqlite_database.engine.connect() as connection:
        assert await connection.run_sync(table_names) == []
    monkeypatch.undo()
    await sqlite_database.migrate()  # the next start builds it whole
    async with sqlite_database.engine.connect() as connection:
        assert await connection.run_sync(versions) == [head_revision()]


async def test_a_process_that_waited_for_the_lock_takes_the_schema_another_made(
    sqlite_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await built_from_models(sqlite_database.url)  # what the first process made meanwhile
    looks = iter([True, False])  # empty before the lock, built once it is taken
    monkeypatch.setattr(fresh, "_empty", lambda _connection: next(looks))
    async with sqlite_database.engine.begin() as connection:
        assert await connection.run_sync(create_at_head)
    async with sqlite_database.engine.connect() as connection:
        assert await connection.run_sync(versions) == [head_revision()]
