"""The Alembic migrations build exactly the schema the models describe, on both engines."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection

from storage.sql.database import Database, alembic_config
from storage.sql.models import Base
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
