"""pending invitations of emails that have no account yet

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "work_invitations",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("work_id", ID, nullable=False),
        sa.Column("email", sa.String(100), nullable=False),
        sa.Column("role", sa.String(10), nullable=False),
        sa.Column("invited_by", ID, nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["work_id"], ["works.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("work_id", "email", name="uq_work_invitation"),
    )
    with op.batch_alter_table("work_invitations", schema=None) as batch_op:
        batch_op.create_index("ix_work_invitations_work_id", ["work_id"], unique=False)
        batch_op.create_index("ix_work_invitations_email", ["email"], unique=False)
        batch_op.create_index("ix_work_invitations_invited_by", ["invited_by"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("work_invitations", schema=None) as batch_op:
        batch_op.drop_index("ix_work_invitations_invited_by")
        batch_op.drop_index("ix_work_invitations_email")
        batch_op.drop_index("ix_work_invitations_work_id")
    op.drop_table("work_invitations")
