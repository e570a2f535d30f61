"""The database schema: one SQLAlchemy Core table per record Winnow keeps.

Content itself is never a column of ``scans``: a job's content waits in ``payloads`` only until the
job is done, unless the operator turned retention on (then it stays until ``expires_at``).
``audit_log`` is append-only; the migration adds triggers that refuse UPDATE and DELETE on it.
Every tenant-owned table carries ``tenant_id``, and every query the store makes filters on it.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Timestamps are UTC seconds since the epoch (float): one type that SQLite and PostgreSQL agree on.
tenants = Table(
    "tenants",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("webhook_secret", String(100), nullable=False),
    Column("created_at", Float, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("secret_sha256", String(64), nullable=False),
    Column("policy", String(200)),  # the key's default policy, "name" or "name@version"
    Column("rate_limit", Float),  # requests per second; NULL: the server's default
    Column("burst", Integer),
    Column("created_at", Float, nullable=False),
    Column("revoked_at", Float),
)

policies = Table(
    "policies",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "name", "version", name="uq_policies_tenant_name_version"),
)

scans = Table(
    "scans",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("key_id", String(40), nullable=False),
    Column("status", String(16), nullable=False),  # queued | running | done | failed
    Column("mode", String(8), nullable=False),  # sync | async
    Column("policy", String(200)),  # as asked: "name" or "name@version"; NULL: key or default
    Column("policy_ref", String(200)),  # what ran: name@digest
    Column("name", String(500)),  # the caller's file name or item id
    Column("kind", String(16)),
    Column("media_type", String(100)),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64)),
    Column("md5", String(32)),
    Column("pdq", String(64)),
    Column("action", String(16)),
    Column("verdict", Text),  # the verdict as JSON (findings carry masked excerpts only)
    Column("error_code", String(64)),
    Column("error_message", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker", String(200)),
    Column("webhook_url", String(2000)),
    Column("webhook_state", String(16)),  # pending | delivered | failed
    Column("webhook_attempts", Integer, nullable=False, default=0),
    Column("webhook_next_at", Float),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    Index("ix_scans_tenant_created", "tenant_id", "created_at"),
    Index("ix_scans_status", "status"),
    Index("ix_scans_webhook", "webhook_state", "webhook_next_at"),
)

payloads = Table(
    "payloads",
    metadata,
    Column("scan_id", String(40), ForeignKey("scans.id"), primary_key=True),
    Column("tenant_id", String(40), nullable=False),
    Column("data", LargeBinary),
    Column("text", Text),
    Column("retained", Boolean, nullable=False, default=False),
    Column("expires_at", Float),
    Index("ix_payloads_expires", "expires_at"),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scan_id", String(40), ForeignKey("scans.id"), nullable=False, index=True),
    Column("tenant_id", String(40), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
    Column("created_at", Float, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(40), nullable=False),
    Column("event", String(64), nullable=False),
    Column("scan_id", String(40)),
    Column("action", String(16)),
    Column("actor", String(200), nullable=False),
    Column("detail", Text, nullable=False),  # JSON
    Column("created_at", Float, nullable=False),
    Index("ix_audit_tenant_created", "tenant_id", "created_at"),
    Index("ix_audit_scan", "scan_id"),
)

# Hash banks. A bank's ``kind`` is what a match means to the policy: block, review, allow (known
# good content, never flagged) or negative (suppresses matches of other banks). Entries are
# hashes of known content, never the content. ``state``: enabled | disabled | quarantined (matched
# far more than normal; set aside pending review).
banks = Table(
    "banks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tenant_id", String(40), ForeignKey("tenants.id"), nullable=False),
    Column("name", String(100), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("description", Text, nullable=False, default=""),
    Column("pdq_threshold", Integer, nullable=False),
    Column("pdq_min_quality", Integer, nullable=False),
    Column("flood_limit", Integer, nullable=False),  # matches per entry per hour before quarantine
    Column("suppresses", Text),  # negative banks: JSON list of bank names; NULL: every other bank
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_banks_tenant_name"),
)

bank_entries = Table(
    "bank_entries",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("bank_id", Integer, ForeignKey("banks.id"), nullable=False),
    Column("tenant_id", String(40), nullable=False),
    Column("algorithm", String(16), nullable=False),  # md5 | sha256 | pdq
    Column("value", String(64), nullable=False),  # lowercase hex
    Column("source", String(500), nullable=False, default=""),
    Column("labels", Text, nullable=False, default="[]"),  # JSON list
    Column("note", Text),
    Column("added_at", Float, nullable=False),
    Column("state", String(16), nullable=False),
    Column("state_reason", Text),
    Column("state_changed_at", Float),
    Column("matches", BigInteger, nullable=False, default=0),
    Column("last_matched_at", Float),
    Column("window_start", Float),
    Column("window_matches", Integer, nullable=False, default=0),
    UniqueConstraint("bank_id", "algorithm", "value", name="uq_bank_entries_bank_hash"),
    Index("ix_bank_entries_lookup", "tenant_id", "algorithm", "value"),
    Index("ix_bank_entries_scan", "tenant_id", "algorithm", "state", "id"),
    Index("ix_bank_entries_state", "bank_id", "state", "algorithm"),
    Index("ix_bank_entries_bank", "bank_id", "id"),
    Index("ix_bank_entries_busy", "bank_id", "matches", "last_matched_at"),
)

# Every change to banks or entries, in order: each process follows this log (polled at most once a
# second) to update its in-memory index without a rebuild.
bank_changes = Table(
    "bank_changes",
    metadata,
    Column(
        "seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("tenant_id", String(40), nullable=False),
    Column("bank_id", Integer, nullable=False),
    Column("entry_id", BigInteger),  # NULL: a change to the bank itself
    Column("op", String(16), nullable=False),  # add | remove | enable | disable | quarantine | bank
    Column("created_at", Float, nullable=False),
    Index("ix_bank_changes_tenant_seq", "tenant_id", "seq"),
)

# For retroactive matching: past scans' hashes are looked up by value.
Index("ix_scans_tenant_md5", scans.c.tenant_id, scans.c.md5)
Index("ix_scans_tenant_sha256", scans.c.tenant_id, scans.c.sha256)
