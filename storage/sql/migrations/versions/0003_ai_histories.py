"""ai histories

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 15:25:07.513990
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ai_histories",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("work_id", sa.BigInteger(), nullable=True),
        sa.Column("action_type", sa.String(length=20), nullable=False),
        sa.Column(
            "input",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column(
            "output",
            sa.Text()
            .with_variant(mysql.LONGTEXT(), "mariadb")
            .with_variant(mysql.LONGTEXT(), "mysql"),
            nullable=False,
        ),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("ai_histories", schema=None) as batch_op:
        batch_op.create_index("idx_ai_histories_user", ["user_id", "created_at"], unique=False)
        batch_op.create_index(
            "idx_ai_histories_work", ["user_id", "work_id", "created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("ai_histories", schema=None) as batch_op:
        batch_op.drop_index("idx_ai_histories_work")
        batch_op.drop_index("idx_ai_histories_user")

    op.drop_table("ai_histories")
