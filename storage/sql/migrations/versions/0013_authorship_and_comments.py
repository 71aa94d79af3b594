"""who wrote what (Yjs client ids per document), comments

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 15:30:00

`doc_authors` maps each Yjs client id that wrote into a document to its user or AI task (the
sync server records it before that client's first update is stored). Comments themselves live in
the chapter's Yjs document (`Y.Map "comments"`); `comment_policies` holds a work's settings.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "doc_authors",
        sa.Column("doc", sa.String(length=50), nullable=False),
        sa.Column("client_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("ai_task_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("doc", "client_id"),
    )
    op.create_table(
        "comment_policies",
        sa.Column("work_id", _ID, autoincrement=False, nullable=False),
        sa.Column("viewers_may_comment", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("work_id"),
    )


def downgrade() -> None:
    op.drop_table("comment_policies")
    op.drop_table("doc_authors")
