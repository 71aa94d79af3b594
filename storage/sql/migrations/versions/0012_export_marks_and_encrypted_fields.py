"""per-export watermark records, encrypted sensitive fields

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 15:30:00

The encrypted columns only grow here (a value is stored as `enc1:<key>:<base64>`); rows written
before keep their plaintext, readable as before, until `inkweave rotate-keys` encrypts them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ENCRYPTED_255 = 1420  # storage.crypto.fields.encrypted_length(255)


def upgrade() -> None:
    op.create_table(
        "export_marks",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("task_id", sa.String(36), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("account", sa.String(100), nullable=False),
        sa.Column("work_id", sa.BigInteger(), nullable=False),
        sa.Column("format", sa.String(10), nullable=False),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("export_marks", schema=None) as batch_op:
        batch_op.create_index("ix_export_marks_task_id", ["task_id"], unique=False)
        batch_op.create_index("ix_export_marks_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_export_marks_sha256", ["sha256"], unique=False)
    with op.batch_alter_table("oidc_identities", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(255), type_=sa.String(ENCRYPTED_255))
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column(
            "provider_ref", existing_type=sa.String(255), type_=sa.String(ENCRYPTED_255)
        )


def downgrade() -> None:
    # Encrypted values do not fit the old width: run with the keys and decrypt first if needed.
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.alter_column(
            "provider_ref", existing_type=sa.String(ENCRYPTED_255), type_=sa.String(255)
        )
    with op.batch_alter_table("oidc_identities", schema=None) as batch_op:
        batch_op.alter_column("email", existing_type=sa.String(ENCRYPTED_255), type_=sa.String(255))
    with op.batch_alter_table("export_marks", schema=None) as batch_op:
        batch_op.drop_index("ix_export_marks_sha256")
        batch_op.drop_index("ix_export_marks_user_id")
        batch_op.drop_index("ix_export_marks_task_id")
    op.drop_table("export_marks")
