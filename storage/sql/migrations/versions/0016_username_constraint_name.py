"""the unique constraint on users.username named alike on every engine

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-09 10:00:00

0001 left it unnamed: MariaDB named its index `username`, and 0015's batch mode on SQLite
named it `uq_users_username`. An empty database is now built from the models
(`storage/sql/fresh.py`), which name it `uq_users_username`; this gives MariaDB's the same name,
so that a later migration finds one name wherever the database was built. SQLite's is already so.
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def _rename(old: str, new: str) -> None:
    # One statement, so that usernames stay unique throughout; not RENAME INDEX, which MariaDB
    # has only since 10.5.2.
    if op.get_bind().dialect.name in ("mysql", "mariadb"):
        op.execute(
            f"ALTER TABLE users DROP INDEX `{old}`, ADD CONSTRAINT `{new}` UNIQUE (username)"
        )


def upgrade() -> None:
    _rename("username", "uq_users_username")


def downgrade() -> None:
    _rename("uq_users_username", "username")
