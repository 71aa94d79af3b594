"""user reports, moderation verdicts, the runtime word list

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 15:30:00

`reports`: one row per (reporter, target), so a user's repeated report counts once.
`moderation_words`: administrators' additions to (and removals from) the shipped word list.
`ai_histories.moderation`: the moderation verdict on a call's output.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("reporter_id", _ID, nullable=False),
        sa.Column("target_kind", sa.String(length=16), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("resolution", sa.String(length=500), nullable=True),
        sa.Column("resolved_by", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reporter_id", "target_kind", "target_id", name="uq_report_once"),
    )
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.create_index("ix_reports_reporter_id", ["reporter_id"], unique=False)
        batch_op.create_index(
            "idx_reports_queue", ["status", "target_kind", "target_id"], unique=False
        )
    op.create_table(
        "moderation_words",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("word", sa.String(length=100), nullable=False),
        sa.Column("word_key", sa.String(length=100), nullable=False),
        sa.Column("blocked", sa.SmallInteger(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("word_key", name="uq_moderation_word_key"),
    )
    with op.batch_alter_table("ai_histories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("moderation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ai_histories", schema=None) as batch_op:
        batch_op.drop_column("moderation")
    op.drop_table("moderation_words")
    with op.batch_alter_table("reports", schema=None) as batch_op:
        batch_op.drop_index("idx_reports_queue")
        batch_op.drop_index("ix_reports_reporter_id")
    op.drop_table("reports")
