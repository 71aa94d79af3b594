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
from .revision import VERSION_TABLE, head_revision

# Alembic's version table as its `MigrationContext` creates it.
_versions = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


def create_at_head(connection: Connection) -> bool:
    """Create the newest schema if the database holds none of it (neither a model's table nor a
    version table); False, touching nothing, when it does or the newest revision is not plain."""
    head = head_revision()
    if head is None:
        return False
    existing = set(inspect(connection).get_table_names())
    if VERSION_TABLE in existing or existing & set(Base.metadata.tables):
        return False
    Base.metadata.create_all(connection)
    _versions.create(connection)
    connection.execute(_versions.insert().values(version_num=head))
    return True
