"""Bank entry indexes, each serving a paged read in order: a tenant's entries by algorithm and
state in id order (a process reads every enabled PDQ entry this way to build its index: without
it, SQLite sorted the whole tenant for each batch of 50,000), a bank's entries in id order
(export and listing), a bank's entries by state and algorithm (counts for listings, stats and
metrics from the index alone), and by match count (a bank's busiest entries, its total matches)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_bank_entries_scan",
        "bank_entries",
        ["tenant_id", "algorithm", "state", "id"],
        unique=False,
    )
    op.create_index(
        "ix_bank_entries_state", "bank_entries", ["bank_id", "state", "algorithm"], unique=False
    )
    op.create_index("ix_bank_entries_bank", "bank_entries", ["bank_id", "id"], unique=False)
    op.create_index(
        "ix_bank_entries_busy",
        "bank_entries",
        ["bank_id", "matches", "last_matched_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_bank_entries_busy", table_name="bank_entries")
    op.drop_index("ix_bank_entries_bank", table_name="bank_entries")
    op.drop_index("ix_bank_entries_state", table_name="bank_entries")
    op.drop_index("ix_bank_entries_scan", table_name="bank_entries")
