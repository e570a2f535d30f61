"""``/v1/banks`` through TestClient: create and configure banks, add hashes and uploaded images,
import exchange lists, export, page through entries, disable / enable / remove, tenant walls."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

from service.conftest import Api

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
A = "a" * 64
NEAR_A = "b" + "a" * 63


def _photo(seed: int = 1) -> bytes:
    """A photo-like image (smooth gradients and noise: PDQ quality well over 50)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:256, 0:256]
    base = np.stack([x, y, (x + y) // 2], axis=-1).astype(np.float64)
    blobs = rng.normal(0, 40, (8, 8, 3)).repeat(32, 0).repeat(32, 1)
    pixels = np.clip(base + blobs, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _scan(api: Api, data: bytes, key: dict[str, str]) -> dict[str, Any]:
    r = api.client.post("/v1/scans", content=data, headers=key)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _until(check: Any, timeout: float = 3.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_create_list_configure_and_refuse_bad_settings(api: Api) -> None:
    key = api.key()
    r = api.client.post(
        "/v1/banks", json={"name": "gifct", "kind": "block", "pdq_threshold": 20}, headers=key
    )
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("name", "kind", "pdq_threshold", "entries")} == {
        "name": "gifct",
        "kind": "block",
        "pdq_threshold": 20,
        "entries": {},
    }
    dup = api.client.post("/v1/banks", json={"name": "gifct", "kind": "review"}, headers=key)
    assert (dup.status_code, dup.json()["error"]["code"]) == (422, "invalid_bank_request")
    assert "already exists" in dup.json()["error"]["message"]
    for body, where in [
        ({"name": "Bad Name", "kind": "block"}, "body.name"),
        ({"name": "x", "kind": "delete"}, "body.kind"),
        ({"name": "x", "kind": "block", "pdq_threshold": 300}, "body.pdq_threshold"),
        ({"name": "x", "kind": "block", "colour": "red"}, "body.colour"),
    ]:
        bad = api.client.post("/v1/banks", json=body, headers=key)
        assert bad.status_code == 422, body
        assert bad.json()["error"]["problems"][0]["location"] == where
    sup = api.client.post(
        "/v1/banks", json={"name": "x", "kind": "block", "suppresses": ["gifct"]}, headers=key
    )
    assert sup.status_code == 422
    assert "only a negative bank" in sup.json()["error"]["message"]
    patched = api.client.patch(
        "/v1/banks/gifct", json={"kind": "review", "flood_limit": 7}, headers=key
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["kind"], patched.json()["flood_limit"]) == ("review", 7)
    assert patched.json()["pdq_threshold"] == 20  # untouched
    listed = api.client.get("/v1/banks", headers=key).json()["banks"]
    assert [(b["name"], b["kind"]) for b in listed] == [("gifct", "review")]
    missing = api.client.get("/v1/banks/nope", headers=key)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "bank_not_found")


def test_hashes_and_uploads_go_in_and_block_at_once(api: Api) -> None:
    key = api.key()
    api.client.post("/v1/banks", json={"name": "terror", "kind": "block"}, headers=key)
    photo = _photo()
    past = _scan(api, photo, key)  # scanned before the bank knew it
    assert past["verdict"]["action"] == "pass"
    files = [
        ("file", ("photo.jpg", photo, "image/jpeg")),
        ("file", ("empty.bin", b"", "application/octet-stream")),
        ("file", ("notes.txt", b"some document", "text/plain")),
    ]
    r = api.client.post(
        "/v1/banks/terror/entries",
        files=files,
        data={"label": ["tvec:1", "gifct"], "source": "case-19"},
        headers=key,
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["added"], body["duplicates"], body["malformed"]) == (4, 0, 1)  # pdq+md5, md5+sha
    assert body["problems"] == [
        {"line": None, "file": "empty.bin", "message": "empty file: nothing to hash"}
    ]
    assert body["retroactive"]["matches"] == 2  # the photo's PDQ and its MD5
    assert {s["scan_id"] for s in body["retroactive"]["scans"]} == {past["id"]}
    entries = api.client.get("/v1/banks/terror/entries", headers=key).json()["entries"]
    assert sorted(e["algorithm"] for e in entries) == ["md5", "md5", "pdq", "sha256"]
    assert {tuple(e["labels"]) for e in entries} == {("tvec:1", "gifct")}
    assert {e["source"] for e in entries} == {"case-19"}

    def matched() -> set[str]:  # MD5 is looked up in the database; PDQ follows within a second
        return {m["algorithm"] for m in _scan(api, photo, key)["verdict"]["hash_matches"]}

    assert _until(lambda: matched() == {"md5", "pdq"}), matched()
    assert _scan(api, photo, key)["verdict"]["action"] == "block"
    # JSON hashes: a duplicate is counted, never added twice
    j = api.client.post(
        "/v1/banks/terror/entries",
        json={"entries": [{"algorithm": "pdq", "value": A}, {"algorithm": "pdq", "value": A}]},
        headers=key,
    )
    assert j.status_code == 201, j.text
    assert (j.json()["added"], j.json()["duplicates"]) == (1, 1)
    bad = api.client.post(
        "/v1/banks/terror/entries",
        json={"entries": [{"algorithm": "pdq", "value": "xyz"}]},
        headers=key,
    )
    assert bad.status_code == 422
    assert "64 hex digits" in bad.json()["error"]["message"]
    wrong_type = api.client.post(
        "/v1/banks/terror/entries", content=b"aaaa", headers={**key, "Content-Type": "text/csv"}
    )
    assert wrong_type.status_code == 415
    assert "/import" in wrong_type.json()["error"]["message"]


def test_import_reports_bad_lines_and_export_round_trips(api: Api) -> None:
    key = api.key()
    api.client.post("/v1/banks", json={"name": "tx", "kind": "review"}, headers=key)
    signals = f"pdq {A} 'Sample' tag1\nvideo_md5 {'e' * 32}\nnot a signal\npdq 123\n"
    r = api.client.post(
        "/v1/banks/tx/import?source=threatexchange&label=imported",
        content=signals.encode(),
        headers={**key, "Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["format"], body["added"], body["malformed"]) == ("threatexchange", 2, 2)
    assert [p["line"] for p in body["problems"]] == [3, 4]
    not_utf8 = api.client.post("/v1/banks/tx/import", content=b"\xff\xfe\x00", headers=key)
    assert not_utf8.status_code == 422
    assert "not UTF-8" in not_utf8.json()["error"]["message"]
    exported = api.client.get("/v1/banks/tx/export?format=jsonl", headers=key)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in exported.text.splitlines()]
    assert {(x["algorithm"], x["value"], tuple(x["labels"])) for x in rows} == {
        ("pdq", A, ("tag1", "imported")),
        ("md5", "e" * 32, ("imported",)),
    }
    csv = api.client.get("/v1/banks/tx/export?format=csv", headers=key).text
    assert csv.splitlines()[0] == "hash_type,hash,labels"
    again = api.client.post(
        "/v1/banks/tx/import?format=csv",
        content=csv.encode(),
        headers={**key, "Content-Type": "text/csv"},
    ).json()
    assert (again["added"], again["duplicates"], again["malformed"]) == (0, 2, 0)


def test_paging_disable_enable_remove_and_the_audit(api: Api) -> None:
    key = api.key()
    api.client.post("/v1/banks", json={"name": "b", "kind": "block"}, headers=key)
    values = [f"{i:064x}" for i in range(1, 8)]
    ids = api.client.post(
        "/v1/banks/b/entries",
        json={"entries": [{"algorithm": "sha256", "value": v} for v in values]},
        headers=key,
    ).json()["ids"]
    seen: list[int] = []
    after = 0
    while True:
        page = api.client.get(f"/v1/banks/b/entries?limit=3&after={after}", headers=key).json()
        seen += [e["id"] for e in page["entries"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert seen == ids
    off = api.client.patch(
        f"/v1/banks/b/entries/{ids[0]}", json={"state": "disabled", "reason": "appeal"}, headers=key
    )
    assert (off.status_code, off.json()["state"], off.json()["state_reason"]) == (
        200,
        "disabled",
        "appeal",
    )
    disabled = api.client.get("/v1/banks/b/entries?state=disabled", headers=key).json()
    assert [e["id"] for e in disabled["entries"]] == [ids[0]]
    on = api.client.patch(f"/v1/banks/b/entries/{ids[0]}", json={"state": "enabled"}, headers=key)
    assert on.json()["state"] == "enabled"
    assert api.client.delete(f"/v1/banks/b/entries/{ids[1]}", headers=key).status_code == 204
    gone = api.client.delete(f"/v1/banks/b/entries/{ids[1]}", headers=key)
    assert (gone.status_code, gone.json()["error"]["code"]) == (404, "bank_not_found")
    stats = api.client.get("/v1/banks/b", headers=key).json()
    assert (stats["total_entries"], stats["bank"]["entries"]) == (6, {"enabled": 6})
    events = api.client.get("/v1/audit", headers=key).json()["entries"]
    bank_events = [
        (e["event"], e["actor"].startswith("key:")) for e in events if "bank" in e["event"]
    ]
    assert bank_events == [
        ("bank.entries_removed", True),
        ("bank.entries_enabled", True),
        ("bank.entries_disabled", True),
        ("bank.entries_added", True),
        ("bank.created", True),
    ]


def test_a_tenant_never_reaches_another_tenants_banks(api: Api) -> None:
    a, b = api.key("tenant-a"), api.key("tenant-b")
    api.client.post("/v1/banks", json={"name": "private", "kind": "block"}, headers=a)
    [entry] = api.client.post(
        "/v1/banks/private/entries",
        json={"entries": [{"algorithm": "md5", "value": "1" * 32}]},
        headers=a,
    ).json()["ids"]
    assert api.client.get("/v1/banks", headers=b).json()["banks"] == []
    for method, path, kw in [
        ("GET", "/v1/banks/private", {}),
        ("GET", "/v1/banks/private/entries", {}),
        ("GET", "/v1/banks/private/export", {}),
        ("PATCH", "/v1/banks/private", {"json": {"kind": "allow"}}),
        ("POST", "/v1/banks/private/entries", {"json": {"entries": [{"algorithm": "md5",
                                                                    "value": "2" * 32}]}}),
        ("POST", "/v1/banks/private/import", {"content": b"2" * 32}),
        ("PATCH", f"/v1/banks/private/entries/{entry}", {"json": {"state": "disabled"}}),
        ("DELETE", f"/v1/banks/private/entries/{entry}", {}),
    ]:  # fmt: skip
        r = api.client.request(method, path, headers=b, **kw)
        assert r.status_code == 404, (method, path, r.text)
    assert api.client.get("/v1/banks/private", headers=a).json()["bank"]["entries"] == {
        "enabled": 1
    }


def test_a_flooding_entry_is_quarantined_and_shows_in_metrics(api: Api) -> None:
    key = api.key()
    api.client.post(
        "/v1/banks", json={"name": "list", "kind": "block", "flood_limit": 2}, headers=key
    )
    data = b"the same file, uploaded again and again"
    api.client.post(
        "/v1/banks/list/entries", files=[("file", ("f.txt", data, "text/plain"))], headers=key
    )
    actions = [_scan(api, data, key)["verdict"]["action"] for _ in range(4)]
    assert actions == ["block", "block", "block", "pass"]  # the third match passed the limit
    stats = api.client.get("/v1/banks/list", headers=key).json()
    assert {q["algorithm"] for q in stats["quarantined"]} == {"md5", "sha256"}
    assert "flood limit of 2" in stats["quarantined"][0]["state_reason"]
    metrics = api.client.get("/metrics").text
    assert 'winnow_bank_entries_set_aside{state="quarantined"} 2.0' in metrics
    assert (
        'winnow_bank_matches_total{algorithm="md5",kind="block",suppressed="false"} 3.0' in metrics
    )
    lifted = api.client.patch(
        f"/v1/banks/list/entries/{stats['quarantined'][0]['id']}",
        json={"state": "enabled"},
        headers=key,
    )
    assert lifted.json()["state"] == "enabled"
