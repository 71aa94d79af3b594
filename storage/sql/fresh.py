"""An empty database gets the newest schema straight from the models, without Alembic.

Replaying every migration on a database that has no tables yet costs a first start more CPU and
memory than the rest of the start-up (Alembic's import, then fifteen migrations, SQLite's batch
mode copying tables). Alembic's own recipe for "an up to date database from scratch" is to
create the tables from the models and stamp the newest revision, which is what this does.
`tests/storage/test_fresh_schema.py` holds the two ways to the same schema on both engines.
"""

from __future__ import annotations

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, inspect

from .models import Base
from .revision import VERSION_TABLE, at_head, head_revision

# Alembic's version table as its `MigrationContext` creates it.
_versions = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_at_head(connection: Connection) -> bool:
    """Create the newest schema if the database holds none of it (neither a model's table nor a
    version table): True once it is at the newest revision. False when it holds some of it or
    the newest revision is not plain: Alembic's part. `connection` has no transaction open."""
    head = head_revision()
    if head is None or not _empty(connection):
        return False
    if connection.dialect.name == "sqlite":
        # sqlite3 commits each CREATE by itself unless a transaction is open: one, so that a
        # first start that dies half-way leaves an empty file, not a schema Alembic cannot
        # finish. IMMEDIATE: a process starting at the same moment waits here for the first,
        # then finds the schema made (`--workers N` migrates once, in the supervisor).
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        if not _empty(connection):
            return at_head(connection)
    Base.metadata.create_all(connection)
    _versions.create(connection)
    connection.execute(_versions.insert().values(version_num=head))
    return True


def _empty(connection: Connection) -> bool:
    existing = set(inspect(connection).get_table_names())
    return VERSION_TABLE not in existing and not existing & set(Base.metadata.tables)
