"""Real clients against a real server: the official ``openai`` package, webhooks received over HTTP
and checked for their signature, restarts that resume jobs, and schemathesis over the OpenAPI
document (no request it generates may get a 5xx)."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.conftest import LiveServer, settings_for
from winnow.jobs.webhooks import SIGNATURE_HEADER, verify_signature
from winnow.service.app import create_app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture(scope="module")
def key(live: LiveServer) -> str:
    return str(live.app.state.service.store.create_key("openai-users").token)


def test_official_openai_client_text(live: LiveServer, key: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0)
    result = client.moderations.create(
        model="omni-moderation-latest", input="I will kill you, you fucking idiot"
    )
    assert result.model == "omni-moderation-latest"
    r = result.results[0]
    assert r.flagged is True
    assert r.categories.harassment is True
    assert r.category_scores.harassment > 0.5
    assert r.categories.sexual is False
    assert r.category_applied_input_types.harassment == ["text"]
    winnow = r.model_extra["winnow"]
    assert winnow["action"] in ("review", "block")
    assert winnow["scans"][0]["verdict"]["rule_hits"]
    many = client.moderations.create(input=["have a nice day", "you fucking idiot"])
    assert [x.flagged for x in many.results] == [False, True]


def test_official_openai_client_image(live: LiveServer, key: str) -> None:
    from openai import OpenAI

    client = OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0)
    png = base64.b64encode((EXAMPLES / "qr-advert.png").read_bytes()).decode()
    result = client.moderations.create(
        model="omni-moderation-latest",
        input=[
            {"type": "text", "text": "check out this offer"},
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{png}"}},
        ],
    )
    assert len(result.results) == 1
    r = result.results[0]
    assert r.category_applied_input_types.sexual == ["text", "image"]
    scans_ = r.model_extra["winnow"]["scans"]
    assert [s["type"] for s in scans_] == ["text", "image"]
    assert "spam/qrcode" in {f["label"] for f in scans_[1]["verdict"]["findings"]}
    assert r.flagged is True  # the default policy reviews QR codes


def test_openai_errors_are_clear(live: LiveServer, key: str) -> None:
    import openai

    client = openai.OpenAI(base_url=f"{live.url}/v1", api_key=key, max_retries=0)
    with pytest.raises(openai.UnprocessableEntityError, match="data: URL"):
        client.moderations.create(
            input=[{"type": "image_url", "image_url": {"url": "https://example.com/a.png"}}]
        )
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            base_url=f"{live.url}/v1", api_key="wn_000000000000_bad", max_retries=0
        ).moderations.create(input="x")


class _Receiver:
    """A webhook endpoint: fails the first ``failures`` deliveries, then records them."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.failures > 0:
                    outer.failures -= 1
                    self.send_response(503)
                else:
                    outer.received.append((dict(self.headers), body))
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    r = _Receiver(failures=2)
    yield r
    r.close()


def test_webhook_is_signed_retried_and_recorded(live: LiveServer, receiver: _Receiver) -> None:
    service = live.app.state.service
    token = service.store.create_key("hooks")
    h = {"Authorization": f"Bearer {token.token}"}
    r = httpx.post(
        f"{live.url}/v1/scans",
        json={"text": "you fucking idiot", "webhook_url": receiver.url},
        headers=h,
    )
    assert r.status_code == 202
    sid = r.json()["id"]
    deadline = time.time() + 30
    while not receiver.received and time.time() < deadline:
        time.sleep(0.05)
    assert len(receiver.received) == 1
    headers, body = receiver.received[0]
    assert verify_signature(token.webhook_secret, headers[SIGNATURE_HEADER], body)
    assert not verify_signature("whsec_wrong", headers[SIGNATURE_HEADER], body)
    assert not verify_signature(token.webhook_secret, headers[SIGNATURE_HEADER], body + b" ")
    assert not verify_signature(
        token.webhook_secret, headers[SIGNATURE_HEADER], body, now=time.time() + 3600
    )
    event = json.loads(body)
    assert event["event"] == "scan.done"
    assert event["scan"]["id"] == sid
    assert event["scan"]["verdict"]["action"] != "pass"
    history = httpx.get(f"{live.url}/v1/scans/{sid}/webhooks", headers=h).json()
    assert history["state"] == "delivered"
    assert [d["status_code"] for d in history["deliveries"]] == [503, 503, 204]
    assert [d["attempt"] for d in history["deliveries"]] == [1, 2, 3]


def test_jobs_survive_a_restart(tmp_path: Path) -> None:
    """Jobs queued while no worker ran (the process died) are done by the next start."""
    from fastapi.testclient import TestClient

    settings = settings_for(tmp_path)
    app = create_app(settings, warm_up=False)
    with TestClient(app) as first:
        store = app.state.service.store
        token = store.create_key("acme")
        app.state.service.jobs.stop()  # the workers are gone; the API still takes jobs
        h = {"Authorization": f"Bearer {token.token}"}
        ids = [
            first.post("/v1/scans", json={"text": f"job {i}", "async": True}, headers=h).json()[
                "id"
            ]
            for i in range(5)
        ]
        # one was taken by a worker that then died mid-job
        assert store.claim_job(ids[0], "dead-worker") is not None
        assert {store.get_scan(token.tenant_id, i)["status"] for i in ids} == {"queued", "running"}
    restarted = create_app(settings, warm_up=False)
    with TestClient(restarted) as client:
        deadline = time.time() + 30
        while time.time() < deadline:
            statuses = [client.get(f"/v1/scans/{i}", headers=h).json()["status"] for i in ids]
            if set(statuses) == {"done"}:
                break
            time.sleep(0.05)
        assert statuses == ["done"] * 5
        entries = client.get("/v1/audit", headers=h, params={"limit": 1000}).json()["entries"]
        assert sorted(e["scan_id"] for e in entries if e["event"] == "scan.decided") == sorted(ids)
