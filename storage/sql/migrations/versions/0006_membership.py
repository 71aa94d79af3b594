"""membership orders (brief §3.1.5) and processed payment notifications

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Exact decimals: DECIMAL(10,2) where the engine has it, the canonical text on SQLite.
MONEY = sa.Numeric(10, 2).with_variant(sa.String(20), "sqlite")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("order_no", sa.String(50), nullable=False),
        sa.Column("level", sa.String(10), nullable=False),
        sa.Column("plan_type", sa.String(10), nullable=False),
        sa.Column("amount", MONEY, nullable=False),
        sa.Column("currency", sa.String(3), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("payment_method", sa.String(50), nullable=False),
        sa.Column("provider_ref", sa.String(255), nullable=True),
        sa.Column("provider_payment_id", sa.String(255), nullable=True),
        sa.Column("payment_time", sa.DateTime(), nullable=True),
        sa.Column("expire_time", sa.DateTime(), nullable=True),
        sa.Column("prev_level", sa.String(10), nullable=True),
        sa.Column("prev_expire_at", sa.DateTime(), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.Column("cancel_reason", sa.String(20), nullable=True),
        sa.Column("late_paid_at", sa.DateTime(), nullable=True),
        sa.Column("refunded_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_no"),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index("ix_orders_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_orders_provider_payment_id", ["provider_payment_id"])
        batch_op.create_index("idx_orders_status", ["status", "created_at"], unique=False)

    op.create_table(
        "payment_events",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("event_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("order_no", sa.String(50), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("provider", "event_id", name="uq_payment_event"),
    )
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.create_index("ix_payment_events_order_no", ["order_no"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payment_events", schema=None) as batch_op:
        batch_op.drop_index("ix_payment_events_order_no")
    op.drop_table("payment_events")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("idx_orders_status")
        batch_op.drop_index("ix_orders_provider_payment_id")
        batch_op.drop_index("ix_orders_user_id")
    op.drop_table("orders")
