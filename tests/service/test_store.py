"""The store against SQLite and PostgreSQL (skipped with a reason where PostgreSQL is absent)."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from winnow.service.records import new_scan_id
from winnow.store import Store
from winnow.store.database import audit_row
from winnow.store.schema import metadata, scans


def _job(store: Store, tenant_id: str, key_id: str, **kw: Any) -> str:
    row: dict[str, Any] = dict.fromkeys(c.name for c in scans.columns)
    row.update(
        id=new_scan_id(), tenant_id=tenant_id, key_id=key_id, status="queued", mode="async",
        size_bytes=5, attempts=0, webhook_attempts=0, created_at=time.time(), **kw,
    )  # fmt: skip
    payload = {"scan_id": row["id"], "tenant_id": tenant_id, "text": "hello", "data": None,
               "retained": False, "expires_at": None}  # fmt: skip
    store.create_jobs([(row, payload)])
    return str(row["id"])


def test_migrations_match_the_schema(store: Store) -> None:
    current, head = store.revision()
    assert current == head == "0003"
    with store._writer.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []
    store.upgrade()  # running it again is a no-op


def test_keys_are_stored_hashed_and_checked(store: Store) -> None:
    token = store.create_key("acme", "ci", rate_limit=5.0)
    key = store.authenticate(token.token)
    assert key is not None
    assert (key.tenant, key.name, key.rate_limit) == ("acme", "ci", 5.0)
    assert store.authenticate(token.token[:-1] + ("A" if token.token[-1] != "A" else "B")) is None
    assert store.authenticate("wn_000000000000_x") is None
    assert store.authenticate("garbage") is None
    with store._reader.connect() as conn:
        stored = conn.execute(text("SELECT secret_sha256 FROM api_keys")).scalar_one()
    assert token.token.split("_", 2)[2] not in stored
    second = store.create_key("acme", "other")
    assert second.tenant_id == token.tenant_id
    assert not second.new_tenant
    assert store.revoke_key(token.key_id)
    assert store.authenticate(token.token) is None
    assert not store.revoke_key(token.key_id)


def test_policy_versions(store: Store) -> None:
    t = store.create_key("acme").tenant_id
    assert store.put_policy(t, "p", "a: 1", "d1", "k") == (1, True)
    assert store.put_policy(t, "p", "a: 1", "d1", "k") == (1, False)
    assert store.put_policy(t, "p", "a: 2", "d2", "k") == (2, True)
    assert store.get_policy(t, "p", None)["version"] == 2
    assert store.get_policy(t, "p", 1)["source"] == "a: 1"
    assert [(p["name"], p["version"], p["versions"]) for p in store.list_policies(t)] == [
        ("p", 2, 2)
    ]
    other = store.create_key("other").tenant_id
    assert store.get_policy(other, "p", None) is None
    assert store.list_policies(other) == []


def test_jobs_finish_once_whoever_runs_them(store: Store) -> None:
    tok = store.create_key("acme")
    sid = _job(store, tok.tenant_id, tok.key_id, webhook_url="http://127.0.0.1:9/h")
    first = store.claim_job(sid, "w1")
    second = store.claim_job(sid, "w2")  # a redelivery while w1 still runs
    assert first is not None
    assert second is not None
    assert first[1]["text"] == "hello"

    def audit() -> dict[str, Any]:
        return audit_row(
            tok.tenant_id, "scan.decided", actor=tok.key_id, scan_id=sid, action="pass", detail={}
        )

    done = {"status": "done", "action": "pass", "verdict": "{}"}
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(store.finish_job(sid, done, audit())))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, False, False, True]
    assert store.claim_job(sid, "w3") is None
    events = [e["event"] for e in store.audit_entries(tok.tenant_id, sid)]
    assert events.count("scan.decided") == 1
    row = store.get_scan(tok.tenant_id, sid)
    assert row["webhook_state"] == "pending"
    with store._reader.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM payloads")).scalar_one() == 0  # content gone


def test_audit_log_is_append_only(store: Store) -> None:
    store.create_key("acme")
    for statement in ("UPDATE audit_log SET actor = 'x'", "DELETE FROM audit_log"):
        with pytest.raises(DatabaseError, match="append-only"), store._writer.begin() as conn:
            conn.execute(text(statement))
    with store._reader.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_log")).scalar_one() == 1


def test_tenant_scoping_of_reads(store: Store) -> None:
    a, b = store.create_key("a"), store.create_key("b")
    sid = _job(store, a.tenant_id, a.key_id)
    assert store.get_scan(a.tenant_id, sid) is not None
    assert store.get_scan(b.tenant_id, sid) is None
    assert store.list_scans(b.tenant_id) == []
    assert store.audit_entries(b.tenant_id, sid) == []
    assert store.deliveries(b.tenant_id, sid) == []


def test_unfinished_jobs_and_queue_depth(store: Store) -> None:
    tok = store.create_key("acme")
    ids = [_job(store, tok.tenant_id, tok.key_id) for _ in range(3)]
    store.claim_job(ids[0], "w")
    assert store.unfinished_jobs() == ids
    assert store.queue_depth() == {"queued": 2, "running": 1}
    assert store.unfinished_jobs(queued_before=time.time() + 1) == ids[1:]
    assert store.unfinished_jobs(queued_before=0) == []


def test_webhook_deliveries_are_leased_and_recorded(store: Store) -> None:
    tok = store.create_key("acme")
    sid = _job(store, tok.tenant_id, tok.key_id, webhook_url="http://127.0.0.1:9/h")
    store.claim_job(sid, "w")
    audit = audit_row(tok.tenant_id, "scan.decided", actor="k", scan_id=sid, detail={})
    store.finish_job(sid, {"status": "done", "verdict": "{}"}, audit)
    row = store.claim_webhook(lease=60)
    assert row is not None
    assert store.claim_webhook(lease=60) is None  # leased: no second sender takes it
    store.record_delivery(
        row,
        status_code=500,
        error="HTTP 500",
        duration_ms=1.0,
        delivered=False,
        retry_at=time.time(),
    )
    row = store.claim_webhook(lease=60)
    store.record_delivery(
        row, status_code=204, error=None, duration_ms=1.0, delivered=True, retry_at=None
    )
    assert [d["status_code"] for d in store.deliveries(tok.tenant_id, sid)] == [500, 204]
    assert store.get_scan(tok.tenant_id, sid)["webhook_state"] == "delivered"
