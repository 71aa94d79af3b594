"""long works: chapters ordered per work, search terms with their counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-10 10:00:00

`idx_chapters_work_order (work_id, sort_order)` gives the next chapter's position and a keyset
page of a work's chapter list from the index, however many chapters the work has; the lone
`sort_order` index it replaces served no query. `search_terms.hits` counts each term's occurrences
in its text, and `idx_search_term` now ends with it, so search ranks a common word's thousands of
chapters from the index alone. Rows indexed before this migration count 1 until `inkweave
reproject` runs (a chapter's projection rewrites only the terms whose count changed) and their
material is next saved: until then they rank by recency among themselves, as before.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("chapters", schema=None) as batch_op:
        batch_op.create_index("idx_chapters_work_order", ["work_id", "sort_order"], unique=False)
        batch_op.drop_index("ix_chapters_sort_order")
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("hits", sa.Integer(), server_default="1", nullable=False))
        batch_op.drop_index("idx_search_term")
        batch_op.create_index(
            "idx_search_term", ["term", "owner_type", "owner_id", "hits"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("search_terms", schema=None) as batch_op:
        batch_op.drop_index("idx_search_term")
        batch_op.create_index("idx_search_term", ["term", "owner_type", "owner_id"], unique=False)
        batch_op.drop_column("hits")
    with op.batch_alter_table("chapters", schema=None) as batch_op:
        batch_op.create_index("ix_chapters_sort_order", ["sort_order"], unique=False)
        batch_op.drop_index("idx_chapters_work_order")
