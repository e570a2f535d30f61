"""Guards in front of every route: the request-size limit, API keys, per-key rate limits."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from typing import Any

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from winnow.service.records import error_body
from winnow.store import ApiKey, Store


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message", …}}`` with its HTTP status."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.extra = extra


class BodyTooLargeError(ApiError):
    def __init__(self, limit: int) -> None:
        super().__init__(
            413,
            "request_too_large",
            f"the request body is over the limit of {limit:,} bytes "
            "(setting: WINNOW_MAX_REQUEST_BYTES)",
            limit="max_request_bytes",
            maximum=limit,
        )


class BodyLimit:
    """Refuse bodies over ``max_bytes``: from Content-Length before reading, else while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = -1
                if declared > self.max_bytes:
                    await _answer(send, BodyTooLargeError(self.max_bytes))
                    return
                break
        seen = 0
        limit = self.max_bytes

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLargeError(limit)
            return message

        await self.app(scope, counted, send)


async def _answer(send: Send, error: ApiError) -> None:
    body = orjson.dumps(error_body(error.code, error.message, **error.extra))
    await send(
        {
            "type": "http.response.start",
            "status": error.status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class KeyCache:
    """Authenticated keys, remembered for ``ttl`` seconds (a revoked key stops within that)."""

    def __init__(self, store: Store, ttl: float = 10.0, max_entries: int = 10_000) -> None:
        self.store = store
        self.ttl = ttl
        self.max_entries = max_entries
        self._cache: dict[bytes, tuple[float, ApiKey]] = {}

    def authenticate(self, token: str) -> ApiKey | None:
        digest = hashlib.sha256(token.encode()).digest()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        key = self.store.authenticate(token)
        if key is not None:
            if len(self._cache) >= self.max_entries:
                self._cache.clear()
            self._cache[digest] = (now, key)
        return key


class RateLimiter:
    """A token bucket per key: ``rate`` requests per second, bursts of up to ``burst``.

    Limits are kept per API process: with several processes behind a balancer, each allows the
    key's rate.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._buckets: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: ApiKey) -> None:
        rate = key.rate_limit or self.rate
        burst = key.burst or (self.burst if key.rate_limit is None else max(1, math.ceil(rate)))
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get(key.id)
            if bucket is None:
                bucket = self._buckets[key.id] = [float(burst), now]
            tokens = min(float(burst), bucket[0] + (now - bucket[1]) * rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return
            bucket[0] = tokens
        wait = (1.0 - tokens) / rate
        raise ApiError(
            429,
            "rate_limited",
            f"key {key.id} is over its rate limit of {rate:g} requests per second "
            f"(burst {burst}); retry after {wait:.3f} s",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
            limit="rate_limit",
            rate=rate,
            burst=burst,
            retry_after=round(wait, 3),
        )
