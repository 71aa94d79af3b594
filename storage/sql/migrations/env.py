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
        # Batch mode rebuilds a table by copying it and dropping the old one: with foreign keys
        # on, that DROP deletes every row referring to the table (0015 rebuilding `users` took
        # every work and chapter with it). The pragma only takes effect outside a transaction,
        # so the caller hands over a connection that has none open (`migration_connection`).
        before = foreign_key_violations(connection)
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
        if sqlite and foreign_key_violations(connection) > before:
            raise RuntimeError("the migrations left rows whose foreign keys point nowhere")


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
