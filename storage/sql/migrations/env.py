"""Alembic environment: run with a connection handed in (`Database.migrate`) or from a URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection

from storage.sql.engine import make_engine
from storage.sql.models import Base

target_metadata = Base.metadata


def run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


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
