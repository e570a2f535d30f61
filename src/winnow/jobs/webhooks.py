"""Webhooks: a finished job's scan is POSTed to the caller's URL, signed, retried with backoff.

Each delivery carries ``Winnow-Signature: t=<unix seconds>,v1=<hex>``, where ``v1`` is
HMAC-SHA256 over ``"<t>.<body>"`` keyed with the tenant's webhook secret (printed by
``winnow key create``). A receiver checks it with :func:`verify_signature`, and refuses old
timestamps to stop replays. Any 2xx answer counts as delivered; anything else is retried after
``backoff``, doubling each time, up to ``max_attempts`` tries. Every attempt is stored, and
``GET /v1/scans/{id}/webhooks`` lists them.

Senders lease a due delivery before sending it, so several processes (the API, Celery workers) can
all run a sender without sending one delivery twice at the same time.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time

import httpx
import orjson

from winnow._version import __version__
from winnow.service.records import scan_body
from winnow.service.settings import Settings
from winnow.store import Store

log = logging.getLogger("winnow.webhooks")
SIGNATURE_HEADER = "Winnow-Signature"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: float = 300.0, now: float | None = None
) -> bool:
    """Whether ``header`` is a valid signature of ``body``, made within ``tolerance`` seconds."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    try:
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - t) > tolerance:
        return False
    expected = sign(secret, body, t).split(",v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


class WebhookSender:
    """A thread that delivers due webhooks until stopped."""

    def __init__(self, store: Store, *, max_attempts: int, timeout: float, backoff: float) -> None:
        self.store = store
        self.max_attempts = max_attempts
        self.timeout = timeout
        self.backoff = backoff
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._secrets: dict[str, str] = {}

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> WebhookSender:
        return cls(
            store,
            max_attempts=settings.webhook_max_attempts,
            timeout=settings.webhook_timeout,
            backoff=settings.webhook_backoff,
        )

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="winnow-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=self.timeout + 5)

    def wake(self) -> None:
        self._wake.set()

    def _loop(self) -> None:
        with httpx.Client(timeout=self.timeout, follow_redirects=False) as client:
            while not self._stop.is_set():
                try:
                    sent = self.deliver_one(client)
                except Exception:  # the database went away: keep trying, do not die
                    log.exception("webhook sender")
                    sent = False
                if not sent:
                    self._wake.wait(0.5)
                    self._wake.clear()

    def deliver_one(self, client: httpx.Client) -> bool:
        """Send one due delivery, if there is one. Returns whether one was attempted."""
        row = self.store.claim_webhook(lease=self.timeout + 30)
        if row is None:
            return False
        secret = self._secrets.get(row["tenant_id"])
        if secret is None:
            secret = self._secrets[row["tenant_id"]] = self.store.webhook_secret(row["tenant_id"])
        body = orjson.dumps({"event": f"scan.{row['status']}", "scan": scan_body(row)})
        headers = {
            "Content-Type": "application/json",
            "User-Agent": f"Winnow/{__version__}",
            SIGNATURE_HEADER: sign(secret, body),
            "Winnow-Scan": row["id"],
            "Winnow-Attempt": str(int(row["webhook_attempts"]) + 1),
        }
        t0 = time.perf_counter()
        status: int | None = None
        error: str | None = None
        try:
            response = client.post(row["webhook_url"], content=body, headers=headers)
            status = response.status_code
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - t0) * 1000
        attempt = int(row["webhook_attempts"]) + 1
        retry_at = None
        if error is not None and attempt < self.max_attempts:
            retry_at = time.time() + self.backoff * 2 ** (attempt - 1)
        self.store.record_delivery(
            row,
            status_code=status,
            error=error,
            duration_ms=elapsed,
            delivered=error is None,
            retry_at=retry_at,
        )
        return True
