"""Alembic environment: run with a connection handed in (`Database.migrate`) or from a URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from storage.sql.engine import make_engine
from storage.sql.models import Base

target_metadata = Base.metadata


def foreign_key_violations(connection: Connection) -> int:
    """Rows of the SQLite database that refer to a row that is not there."""
    return len(connection.exec_driver_sql("PRAGMA foreign_key_check").all())


def run(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        before = _without_foreign_keys(connection)
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite and foreign_key_violations(connection) > before:
            raise RuntimeError("the migrations left rows whose foreign keys point nowhere")


def _without_foreign_keys(connection: Connection) -> int:
    """Make a SQLite connection ready for a run of migrations; the dangling rows it holds.

    Batch mode rebuilds a table by copying it and dropping the old one: with foreign keys on,
    that DROP deletes every row referring to the table (0015 rebuilding `users` took every work
    and chapter with it). The pragma works only outside a transaction: the caller hands over a
    connection with none open (`storage.sql.database.migration_connection`), which this checks.
    Then one transaction for the whole run, so that a run that fails leaves the database as it
    was (sqlite3 would commit each CREATE or ALTER before the first write by itself)."""
    before = foreign_key_violations(connection)
    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    if connection.exec_driver_sql("PRAGMA foreign_keys").scalar() != 0:
        raise RuntimeError("migrations need a SQLite connection with no transaction open")
    connection.exec_driver_sql("BEGIN IMMEDIATE")
    return before


def run_from_url(url: str) -> None:
    async def go() -> None:
        engine = make_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(run)
        await engine.dispose()

    asyncio.run(go())


connection = context.config.attributes.get("connection")
if connection is not None:
    run(connection)
else:
    run_from_url(context.config.get_main_option("sqlalchemy.url") or "")
