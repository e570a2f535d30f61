"""Hash banks: banks, their entries, the change log that processes follow; scan hash indexes

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "banks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("pdq_threshold", sa.Integer(), nullable=False),
        sa.Column("pdq_min_quality", sa.Integer(), nullable=False),
        sa.Column("flood_limit", sa.Integer(), nullable=False),
        sa.Column("suppresses", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["tenant_id"], ["tenants.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("tenant_id", "name", name="uq_banks_tenant_name"),
    )
    op.create_table(
        "bank_entries",
        sa.Column("id", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("algorithm", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("labels", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("added_at", sa.Float(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("state_reason", sa.Text(), nullable=True),
        sa.Column("state_changed_at", sa.Float(), nullable=True),
        sa.Column("matches", sa.BigInteger(), nullable=False),
        sa.Column("last_matched_at", sa.Float(), nullable=True),
        sa.Column("window_start", sa.Float(), nullable=True),
        sa.Column("window_matches", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["bank_id"], ["banks.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("bank_id", "algorithm", "value", name="uq_bank_entries_bank_hash"),
    )
    op.create_index(
        "ix_bank_entries_lookup", "bank_entries", ["tenant_id", "algorithm", "value"], unique=False
    )
    op.create_table(
        "bank_changes",
        sa.Column("seq", _BIG_ID, autoincrement=True, nullable=False),
        sa.Column("tenant_id", sa.String(length=40), nullable=False),
        sa.Column("bank_id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.BigInteger(), nullable=True),
        sa.Column("op", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(
        "ix_bank_changes_tenant_seq", "bank_changes", ["tenant_id", "seq"], unique=False
    )
    op.create_index("ix_scans_tenant_md5", "scans", ["tenant_id", "md5"], unique=False)
    op.create_index("ix_scans_tenant_sha256", "scans", ["tenant_id", "sha256"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_scans_tenant_sha256", table_name="scans")
    op.drop_index("ix_scans_tenant_md5", table_name="scans")
    op.drop_index("ix_bank_changes_tenant_seq", table_name="bank_changes")
    op.drop_table("bank_changes")
    op.drop_index("ix_bank_entries_lookup", table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_table("banks")
