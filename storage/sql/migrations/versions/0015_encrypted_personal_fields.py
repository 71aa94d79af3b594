"""encrypted personal columns: account email and phone, invitation and code emails, payment ids

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08 16:00:00

`users.email`, `users.phone`, `work_invitations.email`, `verification_codes.email` and
`orders.provider_payment_id` grow to hold AES-256-GCM values (`enc1:<key>:<base64>`), and each
gets a keyed lookup-hash column (`<column>_hash`, `storage.crypto.lookup`) that takes over its
uniqueness and its index: the account's email and phone are unique on the hash, an invitation
per (work, email hash).

A migration has no keys (they are settings, and `alembic` may run without them), so the hash
columns start empty: rows written before keep their plaintext and are found by it (a lookup
compares the plaintext of a row without a hash) until `inkweave rotate-keys` encrypts and hashes
them. Run it once after this upgrade.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from alembic.operations import BatchOperations

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

HASH = sa.String(64)
# storage.crypto.fields.encrypted_length(n) for the plain widths 100, 20 and 255
ENCRYPTED_100, ENCRYPTED_20, ENCRYPTED_255 = 593, 166, 1420
# 0001 made users.email and users.phone unique without a name: SQLite's batch mode reflects
# them under this convention's names; MariaDB named their indexes after the columns.
_UNNAMED = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _old_unique(column: str) -> str:
    return f"uq_users_{column}" if op.get_bind().dialect.name == "sqlite" else column


def _widen_email(batch_op: BatchOperations) -> None:
    batch_op.alter_column(
        "email",
        existing_type=sa.String(100),
        type_=sa.String(ENCRYPTED_100),
        existing_nullable=False,
    )


def _narrow_email(batch_op: BatchOperations) -> None:
    batch_op.alter_column(
        "email",
        existing_type=sa.String(ENCRYPTED_100),
        type_=sa.String(100),
        existing_nullable=False,
    )


def upgrade() -> None:
    with op.batch_alter_table("users", naming_convention=_UNNAMED) as batch_op:
        batch_op.drop_constraint(_old_unique("email"), type_="unique")
        batch_op.drop_constraint(_old_unique("phone"), type_="unique")
        _widen_email(batch_op)
        batch_op.alter_column("phone", existing_type=sa.String(20), type_=sa.String(ENCRYPTED_20))
        batch_op.add_column(sa.Column("email_hash", HASH, nullable=True))
        batch_op.add_column(sa.Column("phone_hash", HASH, nullable=True))
        batch_op.create_unique_constraint("uq_users_email_hash", ["email_hash"])
        batch_op.create_unique_constraint("uq_users_phone_hash", ["phone_hash"])
    with op.batch_alter_table("work_invitations") as batch_op:
        batch_op.drop_constraint("uq_work_invitation", type_="unique")
        batch_op.drop_index("ix_work_invitations_email")
        _widen_email(batch_op)
        batch_op.add_column(sa.Column("email_hash", HASH, nullable=True))
        batch_op.create_index("ix_work_invitations_email_hash", ["email_hash"], unique=False)
        batch_op.create_unique_constraint("uq_work_invitation", ["work_id", "email_hash"])
    with op.batch_alter_table("verification_codes") as batch_op:
        batch_op.drop_index("ix_verification_codes_email")
        _widen_email(batch_op)
        batch_op.add_column(sa.Column("email_hash", HASH, nullable=True))
        batch_op.create_index("ix_verification_codes_email_hash", ["email_hash"], unique=False)
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index("ix_orders_provider_payment_id")
        batch_op.alter_column(
            "provider_payment_id", existing_type=sa.String(255), type_=sa.String(ENCRYPTED_255)
        )
        batch_op.add_column(sa.Column("provider_payment_id_hash", HASH, nullable=True))
        batch_op.create_index(
            "ix_orders_provider_payment_id_hash", ["provider_payment_id_hash"], unique=False
        )


def downgrade() -> None:
    # Encrypted values do not fit the old widths: decrypt them first (with the keys) if needed.
    with op.batch_alter_table("orders") as batch_op:
        batch_op.drop_index("ix_orders_provider_payment_id_hash")
        batch_op.drop_column("provider_payment_id_hash")
        batch_op.alter_column(
            "provider_payment_id", existing_type=sa.String(ENCRYPTED_255), type_=sa.String(255)
        )
        batch_op.create_index("ix_orders_provider_payment_id", ["provider_payment_id"])
    with op.batch_alter_table("verification_codes") as batch_op:
        batch_op.drop_index("ix_verification_codes_email_hash")
        batch_op.drop_column("email_hash")
        _narrow_email(batch_op)
        batch_op.create_index("ix_verification_codes_email", ["email"])
    with op.batch_alter_table("work_invitations") as batch_op:
        batch_op.drop_constraint("uq_work_invitation", type_="unique")
        batch_op.drop_index("ix_work_invitations_email_hash")
        batch_op.drop_column("email_hash")
        _narrow_email(batch_op)
        batch_op.create_index("ix_work_invitations_email", ["email"])
        batch_op.create_unique_constraint("uq_work_invitation", ["work_id", "email"])
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_constraint("uq_users_phone_hash", type_="unique")
        batch_op.drop_constraint("uq_users_email_hash", type_="unique")
        batch_op.drop_column("phone_hash")
        batch_op.drop_column("email_hash")
        batch_op.alter_column("phone", existing_type=sa.String(ENCRYPTED_20), type_=sa.String(20))
        _narrow_email(batch_op)
        batch_op.create_unique_constraint(_old_unique("email"), ["email"])
        batch_op.create_unique_constraint(_old_unique("phone"), ["phone"])
