"""usernames unique regardless of case: users.username_key

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 10:00:00

Every existing account gets the key of its name (as `storage.sql.models.username_key` made it
when this was written: NFKC case folding). Where an
older database already holds two names that differ only in case (SQLite compared case), the
oldest account keeps the plain key and each later one gets `key#id`, a key no new name can take
(`#` is not allowed in usernames): both keep their names and sign-ins, and neither name can be
registered again in any case.
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def username_key(username: str) -> str:
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())[:255]


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username_key", sa.String(255), nullable=True))
    users = sa.table(
        "users",
        sa.column("id", ID),
        sa.column("username", sa.String(50)),
        sa.column("username_key", sa.String(255)),
    )
    bind = op.get_bind()
    for user_id, username in bind.execute(
        sa.select(users.c.id, users.c.username).order_by(users.c.id)
    ).all():
        key = username_key(username)
        # The database's own comparison decides what is taken (MariaDB's collation ignores case).
        if bind.execute(sa.select(users.c.id).where(users.c.username_key == key)).first():
            key = f"{key[:240]}#{user_id}"
        bind.execute(users.update().where(users.c.id == user_id).values(username_key=key))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column("username_key", existing_type=sa.String(255), nullable=False)
        batch_op.create_unique_constraint("uq_users_username_key", ["username_key"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_username_key", type_="unique")
        batch_op.drop_column("username_key")
