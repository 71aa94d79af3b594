"""a trash for chapters; notifications as a message key and parameters

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-08 10:00:00

A deleted chapter's row moves from `chapters` to `chapter_trash` (same id, its position then);
restoring moves it back. `notifications.message_key` / `message_params` say what a notification
says, rendered in the reader's language; older rows keep their Chinese `title` and `body`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_LONG_TEXT = (
    sa.Text().with_variant(mysql.LONGTEXT(), "mariadb").with_variant(mysql.LONGTEXT(), "mysql")
)


def upgrade() -> None:
    op.create_table(
        "chapter_trash",
        sa.Column("id", _ID, autoincrement=False, nullable=False),
        sa.Column("work_id", _ID, nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("content_id", sa.String(length=50), nullable=False),
        sa.Column("word_count", sa.Integer(), nullable=False),
        sa.Column("text", _LONG_TEXT, nullable=False),
        sa.Column("text_updated_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(), nullable=False),
        sa.Column("deleted_by", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_id"),
    )
    with op.batch_alter_table("chapter_trash", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chapter_trash_work_id"), ["work_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_chapter_trash_deleted_at"), ["deleted_at"], unique=False
        )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_key", sa.String(length=50), nullable=True))
        batch_op.add_column(sa.Column("message_params", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_column("message_params")
        batch_op.drop_column("message_key")
    # The table's indexes go with it (MariaDB refuses to drop one a foreign key needs first).
    op.drop_table("chapter_trash")
