"""tokens revoked in bulk: users.token_generation

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00

Every access and refresh token carries the generation of its account it was issued in; raising
the account's generation (password changed or reset, account disabled, "log out everywhere")
refuses every token issued before. Existing accounts start at 0, the generation that tokens
issued before this migration are read as, so nobody is signed out by the upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_generation", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("token_generation")
