"""The relational rows: every table of the models, dumped in one consistent read and loaded
into a database migrated to the archive's schema revision.

The AI call records are not dumped here, whichever engine holds them: `run` archives them through
their store, so that they move between the SQL table and MongoDB like the documents do. The SQL
document store's own tables (`ydoc_*`, when it shares the database) are left to `run` likewise.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

from sqlalchemy import Connection, MetaData, Table, column, insert, inspect, literal, select
from sqlalchemy import table as table_named
from sqlalchemy.ext.asyncio import AsyncConnection

from ..crypto.lookup import plain_before_hashes, with_hashes
from ..docs.sql import metadata as docs_metadata
from ..sql.database import Database, alembic_config
from ..sql.models import Base
from ..sql.revision import VERSION_TABLE, at_head, head_revision
from .archive import ArchiveError

STORED_ELSEWHERE = frozenset({"ai_histories", VERSION_TABLE, *docs_metadata.tables})
_BATCH = 500


class SchemaMismatch(Exception):
    """The database's schema and the archive's (or this code's) do not go together."""


def model_tables() -> list[Table]:
    """Every table of the models, parents before children."""
    return [table for table in Base.metadata.sorted_tables if table.name not in STORED_ELSEWHERE]


async def source_revision(database: Database) -> str:
    """The schema revision of a database about to be backed up: this code's newest."""
    async with database.engine.connect() as conn:
        current = await conn.run_sync(at_head)
    head = head_revision()
    if not current or head is None:
        raise SchemaMismatch(
            "the database schema is not at this inkweave's newest revision: run `inkweave migrate`"
        )
    return head


async def consistent_reads(conn: AsyncConnection) -> None:
    """Make the reads that follow on `conn` one snapshot of the whole database."""
    if conn.dialect.name == "sqlite":
        # pysqlite begins no transaction for a SELECT; in WAL mode an explicit one is a snapshot.
        await conn.exec_driver_sql("BEGIN")
    else:
        # InnoDB's REPEATABLE READ: every read of the transaction sees its first read's snapshot.
        await conn.execution_options(isolation_level="REPEATABLE READ")
        await conn.exec_driver_sql("START TRANSACTION WITH CONSISTENT SNAPSHOT")


async def stream_rows(conn: AsyncConnection, table: Table) -> AsyncIterator[dict[str, Any]]:
    """The table's rows in primary key order, with the models' Python types."""
    result = await conn.stream(select(table).order_by(*table.primary_key.columns))
    async for row in result.mappings():
        yield dict(row)


# -- restore -----------------------------------------------------------------------------------


def prepare_target(connection: Connection, archive_revision: str) -> list[str]:
    """Migrate the target database to the archive's revision and return the names of its tables
    that already hold rows (a restore goes into an empty database only)."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    config = alembic_config(connection.engine.url.render_as_string(hide_password=False))
    script = ScriptDirectory.from_config(config)
    order = [revision.revision for revision in script.walk_revisions()]  # newest first
    if archive_revision not in order:
        raise ArchiveError(
            f"the archive's schema revision {archive_revision!r} is newer than this inkweave "
            "knows: restore it with the inkweave release that wrote it (or a newer one)"
        )
    current = _current_revision(connection)
    if current is not None and order.index(current) < order.index(archive_revision):
        raise SchemaMismatch(
            f"the target database is at schema revision {current}, newer than the archive's "
            f"{archive_revision}: restore into a new, empty database"
        )
    config.attributes["connection"] = connection
    try:
        command.upgrade(config, archive_revision)
    except CommandError as exc:
        raise SchemaMismatch(f"cannot migrate the target database: {exc}") from exc
    names = inspect(connection).get_table_names()
    return [
        name
        for name in sorted(names)
        if name not in {VERSION_TABLE, *docs_metadata.tables}
        and connection.execute(select(literal(1)).select_from(table_named(name)).limit(1)).first()
    ]


def upgrade_to_head(connection: Connection) -> None:
    from alembic import command

    config = alembic_config(connection.engine.url.render_as_string(hide_password=False))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    version = select(column("version_num")).select_from(table_named(VERSION_TABLE))
    return connection.execute(version).scalar()


def target_table(connection: Connection, name: str) -> Table:
    """The table as the target database has it, with the models' column types where the models
    know the column (so datetimes, money and JSON are written as the application writes them)."""
    table = Table(name, MetaData(), autoload_with=connection)
    model = Base.metadata.tables.get(name)
    if model is not None:
        for column in table.columns:
            if column.name in model.columns:
                column.type = model.columns[column.name].type
        plain_before_hashes(table)
    return table


def load_rows(
    connection: Connection,
    tables: Iterable[tuple[str, Iterable[dict[str, Any]]]],
    on_table: Callable[[str, int], None],
) -> None:
    """Insert every table's rows in one transaction, foreign keys checked at its end (SQLite) or
    not at all (MySQL: the rows were consistent where they came from)."""
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("BEGIN")
        connection.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    else:
        connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=0")
    try:
        for name, rows in tables:
            table = target_table(connection, name)
            known = set(table.columns.keys())
            batch: list[dict[str, Any]] = []
            count = 0
            for row in rows:
                missing = set(row) - known
                if missing:
                    raise SchemaMismatch(f"{name} has no column {sorted(missing)[0]!r}")
                # The lookup hashes are made again under this database's keys.
                batch.append(with_hashes(table, row))
                if len(batch) == _BATCH:
                    connection.execute(insert(table), batch)
                    count += len(batch)
                    batch = []
            if batch:
                connection.execute(insert(table), batch)
                count += len(batch)
            on_table(name, count)
        connection.commit()
    finally:
        if not sqlite:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS=1")
