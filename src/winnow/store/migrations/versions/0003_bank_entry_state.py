"""Bank entries by state: quarantined and disabled entries are counted and listed without a scan
of every entry (the service's metrics read them at each scrape)

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
    op.create_index("ix_bank_entries_state", "bank_entries", ["state", "bank_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_bank_entries_state", table_name="bank_entries")
