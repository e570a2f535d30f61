"""The HTTP API through TestClient: scans, jobs, batches, uploads, policies, limits, errors."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest

from service.conftest import Api

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOXIC = "you are a fucking idiot"


def test_every_route_but_health_needs_a_key(api: Api) -> None:
    for method, path in [
        ("POST", "/v1/scans"),
        ("GET", "/v1/scans"),
        ("GET", "/v1/scans/scn_x"),
        ("GET", "/v1/scans/scn_x/webhooks"),
        ("GET", "/v1/policies"),
        ("GET", "/v1/policies/default"),
        ("PUT", "/v1/policies/strict"),
        ("GET", "/v1/audit"),
        ("POST", "/v1/moderations"),
        ("GET", "/v1/banks"),
        ("POST", "/v1/banks"),
        ("GET", "/v1/banks/b"),
        ("PATCH", "/v1/banks/b"),
        ("GET", "/v1/banks/b/entries"),
        ("POST", "/v1/banks/b/entries"),
        ("POST", "/v1/banks/b/import"),
        ("GET", "/v1/banks/b/export"),
        ("PATCH", "/v1/banks/b/entries/1"),
        ("DELETE", "/v1/banks/b/entries/1"),
    ]:
        r = api.client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "unauthorized"
        assert r.headers["WWW-Authenticate"] == "Bearer"
        wrong = api.client.request(method, path, headers={"Authorization": "Bearer wn_0_nope"})
        assert wrong.status_code == 401
        assert wrong.json()["error"]["code"] == "invalid_api_key"
    for path in ("/healthz", "/readyz", "/metrics"):
        assert api.client.get(path).status_code == 200, path


def test_revoked_key_is_refused(api: Api) -> None:
    token = api.service.store.create_key("acme")
    headers = {"Authorization": f"Bearer {token.token}"}
    assert api.client.get("/v1/scans", headers=headers).status_code == 200
    assert api.service.store.revoke_key(token.key_id)
    api.service.keys._cache.clear()  # the cache keeps a key for 10 s; skip the wait
    assert api.client.get("/v1/scans", headers=headers).status_code == 401


def test_text_scan_answers_with_the_verdict_and_stores_it(api: Api) -> None:
    h = api.key()
    r = api.client.post("/v1/scans", json={"text": TOXIC, "name": "comment-1"}, headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "done"
    assert body["name"] == "comment-1"
    assert body["verdict"]["action"] in ("review", "block")
    assert {f["label"] for f in body["verdict"]["findings"]} & {
        "harassment/insult",
        "harassment/profanity",
    }
    stored = api.client.get(f"/v1/scans/{body['id']}", headers=h).json()
    assert stored["verdict"] == body["verdict"]
    audit = api.client.get("/v1/audit", params={"scan_id": body["id"]}, headers=h).json()
    assert [e["event"] for e in audit["entries"]] == ["scan.decided"]
    assert audit["entries"][0]["action"] == body["verdict"]["action"]


def test_content_is_not_stored_unless_retention_is_on(make_api: Any) -> None:
    api = make_api()
    h = api.key()
    sid = api.client.post("/v1/scans", json={"text": "keep me"}, headers=h).json()["id"]
    assert (
        api.service.store.retained(
            api.service.store.authenticate(h["Authorization"][7:]).tenant_id, sid
        )
        is None
    )
    kept = make_api(retention_days=1.0, database_url=api.service.settings.database_url)
    h2 = kept.key("other")
    sid2 = kept.client.post("/v1/scans", json={"text": "keep me"}, headers=h2).json()["id"]
    tenant = kept.service.store.authenticate(h2["Authorization"][7:]).tenant_id
    row = kept.service.store.retained(tenant, sid2)
    assert row is not None
    assert row["text"] == "keep me"
    assert kept.service.store.purge_expired(now=time.time() + 2 * 86400) == 1
    assert kept.service.store.retained(tenant, sid2) is None


def test_async_scan_returns_a_job_that_finishes(api: Api) -> None:
    h = api.key()
    r = api.client.post("/v1/scans", json={"text": TOXIC, "async": True}, headers=h)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["status"] == "queued"
    assert r.headers["Location"] == f"/v1/scans/{job['id']}"
    done = api.wait(job["id"], h)
    assert done["status"] == "done"
    assert done["verdict"]["action"] in ("review", "block")
    events = [
        e["event"]
        for e in api.client.get("/v1/audit", params={"scan_id": job["id"]}, headers=h).json()[
            "entries"
        ]
    ]
    assert events == ["scan.decided", "scan.queued"]


def test_large_items_become_jobs(make_api: Any) -> None:
    api = make_api(sync_max_bytes=100)
    h = api.key()
    r = api.client.post("/v1/scans", json={"text": "a calm sentence. " * 20}, headers=h)
    assert r.status_code == 202
    assert api.wait(r.json()["id"], h)["verdict"]["action"] == "pass"


def test_batch_of_texts_answers_in_order(api: Api) -> None:
    h = api.key()
    items = [
        {"text": "hello friend", "id": "a"},
        {"text": TOXIC, "id": "b"},
        {"text": "nice photo", "id": "c"},
    ]
    r = api.client.post("/v1/scans", json={"items": items}, headers=h)
    assert r.status_code == 200, r.text
    results = r.json()["results"]
    assert [x["name"] for x in results] == ["a", "b", "c"]
    assert results[0]["verdict"]["action"] == "pass"
    assert results[1]["verdict"]["action"] != "pass"
    queued = api.client.post("/v1/scans", json={"items": items, "async": True}, headers=h)
    assert queued.status_code == 202
    ids = [x["id"] for x in queued.json()["results"]]
    assert [api.wait(i, h)["status"] for i in ids] == ["done"] * 3


def test_a_bad_item_in_a_batch_fails_alone_and_is_recorded(api: Api) -> None:
    """The batch's short texts are scanned together (Engine.scan_many); one that cannot be
    scanned gets its own error, and the others their verdicts, in order."""
    h = api.key()
    items = [{"text": TOXIC, "id": "a"}, {"text": "bad\u0000input", "id": "b"}, {"text": "ok"}]
    r = api.client.post("/v1/scans", json={"items": items}, headers=h)
    assert r.status_code == 200, r.text
    first, bad, last = r.json()["results"]
    assert first["verdict"]["action"] != "pass"
    assert "NUL" in bad["error"]["message"]
    assert last["verdict"]["action"] == "pass"
    scan = api.client.get(f"/v1/scans/{bad['id']}", headers=h).json()
    assert scan["status"] == "failed"


def test_multipart_upload_and_raw_bytes(api: Api) -> None:
    h = api.key()
    png = (EXAMPLES / "qr-advert.png").read_bytes()
    r = api.client.post("/v1/scans", files={"file": ("qr.png", png, "image/png")}, headers=h)
    assert r.status_code == 200, r.text
    v = r.json()["verdict"]
    assert v["content"]["kind"] == "image"
    assert r.json()["name"] == "qr.png"
    assert "spam/qrcode" in {f["label"] for f in v["findings"]}
    raw = api.client.post(
        "/v1/scans",
        content=(EXAMPLES / "03-threat.txt").read_bytes(),
        headers={**h, "Content-Type": "text/plain"},
        params={"name": "threat.txt"},
    )
    assert raw.status_code == 200
    assert raw.json()["verdict"]["action"] != "pass"
    two = api.client.post(
        "/v1/scans",
        files=[
            ("file", ("a.txt", b"hello", "text/plain")),
            ("file", ("b.txt", TOXIC.encode(), "text/plain")),
        ],
        headers=h,
    )
    assert [x["name"] for x in two.json()["results"]] == ["a.txt", "b.txt"]
    b64 = api.client.post(
        "/v1/scans", json={"data_base64": base64.b64encode(png).decode()}, headers=h
    )
    assert b64.json()["verdict"]["content"]["sha256"] == v["content"]["sha256"]


@pytest.mark.parametrize(
    ("kwargs", "status", "code", "says"),
    [
        (
            {"content": b"{bad json", "headers": {"Content-Type": "application/json"}},
            422,
            "invalid_request",
            "Invalid JSON",
        ),
        ({"json": {"txt": "typo"}}, 422, "invalid_request", "body.txt"),
        ({"json": {"text": 5}}, 422, "invalid_request", "body.text"),
        (
            {"json": {"text": "a", "items": [{"text": "b"}]}},
            422,
            "invalid_request",
            "exactly one of",
        ),
        ({"json": {"text": "a", "policy": "no spaces"}}, 422, "invalid_request", "body.policy"),
        ({"json": {"text": "a", "webhook_url": "ftp://x"}}, 422, "invalid_request", "webhook_url"),
        ({"json": {"data_base64": "@@@"}}, 422, "invalid_request", "base64"),
        ({"json": {"text": ""}}, 422, "invalid_request", "empty"),
        (
            {
                "content": b"%PDF-1.7\n" + b"\x00" * 64,
                "headers": {"Content-Type": "application/pdf"},
            },
            415,
            "unsupported_media",
            "",
        ),
        (
            {
                "content": b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
                "headers": {"Content-Type": "image/png"},
            },
            422,
            "decode_error",
            "",
        ),
        (
            {"json": {"text": "a", "policy": "missing"}},
            422,
            "invalid_policy",
            "no policy 'missing'",
        ),
        (
            {"data": {"txet": "x"}, "files": {"file": ("a.txt", b"x")}},
            422,
            "invalid_request",
            "unknown form field",
        ),
    ],
)
def test_bad_input_is_a_clear_4xx(
    api: Api, kwargs: dict[str, Any], status: int, code: str, says: str
) -> None:
    headers = {**api.key(), **kwargs.pop("headers", {})}
    r = api.client.post("/v1/scans", headers=headers, **kwargs)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["code"] == code
    assert says in err["message"]


def test_failed_content_is_recorded_not_lost(api: Api) -> None:
    h = api.key()
    r = api.client.post(
        "/v1/scans",
        content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 40,
        headers={**h, "Content-Type": "image/png"},
    )
    scan = api.client.get(f"/v1/scans/{r.json()['error']['scan_id']}", headers=h).json()
    assert scan["status"] == "failed"
    assert scan["error"]["code"] == "decode_error"


def test_size_and_batch_limits_name_the_limit(make_api: Any) -> None:
    api = make_api(max_request_bytes=4096, max_batch_items=3)
    h = api.key()
    r = api.client.post("/v1/scans", json={"text": "x" * 5000}, headers=h)
    assert r.status_code == 413
    assert "WINNOW_MAX_REQUEST_BYTES" in r.json()["error"]["message"]
    assert r.json()["error"]["limit"] == "max_request_bytes"

    def chunks() -> Any:  # no Content-Length: counted while read
        for _ in range(10):
            yield b"x" * 1000

    r = api.client.post("/v1/scans", content=chunks(), headers={**h, "Content-Type": "text/plain"})
    assert r.status_code == 413
    r = api.client.post("/v1/scans", json={"items": [{"text": "a"}] * 4}, headers=h)
    assert r.status_code == 413
    assert "WINNOW_MAX_BATCH_ITEMS" in r.json()["error"]["message"]


def test_image_limits_name_their_setting(api: Api) -> None:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("L", (25_000, 2)).save(buf, format="PNG")
    r = api.client.post(
        "/v1/scans", content=buf.getvalue(), headers={**api.key(), "Content-Type": "image/png"}
    )
    assert r.status_code == 413
    assert "max_image_dimension" in r.json()["error"]["message"]


def test_rate_limit_per_key(api: Api) -> None:
    slow = api.key("acme", name="slow", rate_limit=0.5, burst=2)
    other = api.key("acme", name="other")
    codes = [
        api.client.post("/v1/scans", json={"text": "hi"}, headers=slow).status_code
        for _ in range(3)
    ]
    assert codes == [200, 200, 429]
    r = api.client.post("/v1/scans", json={"text": "hi"}, headers=slow)
    assert r.status_code == 429
    assert int(r.headers["Retry-After"]) >= 1
    err = r.json()["error"]
    assert err["code"] == "rate_limited"
    assert "0.5 requests per second" in err["message"]
    assert api.client.post("/v1/scans", json={"text": "hi"}, headers=other).status_code == 200


STRICT = """\
name: strict
detectors:
  lexicon: {}
rules:
  - name: no-insults
    when: {label: harassment, min_score: 0.1}
    action: block
    reason: No insults here.
"""


def test_policies_upload_validate_and_choose(api: Api) -> None:
    h = api.key()
    bad = api.client.put(
        "/v1/policies/strict",
        content="name: strict\nrules:\n  - name: x\n    action: obliterate\n",
        headers={**h, "Content-Type": "application/yaml"},
    )
    assert bad.status_code == 422, bad.text
    problems = bad.json()["error"]["problems"]
    assert problems
    assert all(p["line"] for p in problems)
    r = api.client.put(
        "/v1/policies/strict", content=STRICT, headers={**h, "Content-Type": "application/yaml"}
    )
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    again = api.client.put(
        "/v1/policies/strict", content=STRICT, headers={**h, "Content-Type": "application/yaml"}
    )
    assert again.status_code == 200
    assert again.json() == {**r.json(), "created": False}
    names = {p["name"]: p for p in api.client.get("/v1/policies", headers=h).json()["policies"]}
    assert names["default"]["builtin"] is True
    assert names["strict"]["version"] == 1
    assert api.client.get("/v1/policies/strict", headers=h).json()["source"] == STRICT
    per_request = api.client.post(
        "/v1/scans", json={"text": "you idiot", "policy": "strict"}, headers=h
    ).json()
    assert per_request["verdict"]["action"] == "block"
    assert per_request["verdict"]["policy"].startswith("strict@")
    pinned = api.client.post(
        "/v1/scans", json={"text": "you idiot", "policy": "strict@1"}, headers=h
    ).json()
    assert pinned["verdict"]["action"] == "block"
    keyed = api.key("acme", name="strict-key", policy="strict")
    assert (
        api.client.post("/v1/scans", json={"text": "you idiot"}, headers=keyed)
        .json()["verdict"]["policy"]
        .startswith("strict@")
    )
    assert (
        api.client.post("/v1/scans", json={"text": "you idiot"}, headers=h)
        .json()["verdict"]["policy"]
        .startswith("default@")
    )


def test_tenants_never_see_each_other(api: Api) -> None:
    a, b = api.key("tenant-a"), api.key("tenant-b")
    sid = api.client.post("/v1/scans", json={"text": "secret of a"}, headers=a).json()["id"]
    job = api.client.post("/v1/scans", json={"text": "job of a", "async": True}, headers=a).json()[
        "id"
    ]
    api.wait(job, a)
    api.client.put(
        "/v1/policies/strict", content=STRICT, headers={**a, "Content-Type": "application/yaml"}
    )
    for path in (
        f"/v1/scans/{sid}",
        f"/v1/scans/{job}",
        f"/v1/scans/{job}/webhooks",
        "/v1/policies/strict",
    ):
        r = api.client.get(path, headers=b)
        assert r.status_code == 404, path
        assert api.client.get(path, headers=a).status_code == 200, path
    assert api.client.get("/v1/scans", headers=b).json()["scans"] == []
    assert api.client.get("/v1/audit", headers=b).json()["entries"] == [] or all(
        e["scan_id"] is None for e in api.client.get("/v1/audit", headers=b).json()["entries"]
    )
    assert [p["name"] for p in api.client.get("/v1/policies", headers=b).json()["policies"]] == [
        "default"
    ]
    r = api.client.post("/v1/scans", json={"text": "x", "policy": "strict"}, headers=b)
    assert r.status_code == 422
    assert len(api.client.get("/v1/scans", headers=a).json()["scans"]) == 2


def test_metrics_count_requests_verdicts_detectors_and_queue(api: Api) -> None:
    h = api.key()
    api.client.post("/v1/scans", json={"text": TOXIC}, headers=h)
    api.client.post("/v1/scans", json={"text": "fine"}, headers=h)
    text = api.client.get("/metrics").text
    assert 'winnow_http_requests_total{method="POST",route="/v1/scans",status="200"} 2.0' in text
    assert 'winnow_http_request_duration_seconds_count{kind="text",route="/v1/scans"} 2.0' in text
    assert 'winnow_verdicts_total{action="pass"} 1.0' in text
    assert 'winnow_detector_duration_seconds_count{detector="lexicon"} 2.0' in text
    assert 'winnow_queue_depth{status="queued"}' in text


def test_readyz_reports_each_check(api: Api) -> None:
    body = api.client.get("/readyz").json()
    assert body == {
        "status": "ready",
        "checks": {"database": "ok", "workers": "ok", "started": "ok"},
    }


def test_openapi_document_describes_the_routes(api: Api) -> None:
    doc = api.client.get("/openapi.json").json()
    assert {"/v1/scans", "/v1/scans/{scan_id}", "/v1/moderations", "/v1/policies/{name}"} <= set(
        doc["paths"]
    )
    content = doc["paths"]["/v1/scans"]["post"]["requestBody"]["content"]
    assert {"application/json", "multipart/form-data", "application/octet-stream"} <= set(content)
    assert "bearer" in str(doc["components"]["securitySchemes"]).lower()
