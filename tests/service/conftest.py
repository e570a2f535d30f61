"""Fixtures for the service: databases (SQLite always; PostgreSQL and Redis when reachable), an
app under TestClient, and a live server on a real port for clients that need one."""

from __future__ import annotations

import os
import secrets
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from winnow.service.app import create_app
from winnow.service.settings import Settings
from winnow.store import Store

PG_URL = os.environ.get("WINNOW_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("WINNOW_TEST_REDIS", "redis://127.0.0.1:6379/0")


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_schema_url() -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards."""
    import psycopg

    if not _reachable("127.0.0.1", 5432):
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432 (CI starts it; see .ci/run)")
    schema = "winnow_test_" + secrets.token_hex(4)
    try:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
    except psycopg.Error as exc:
        pytest.skip(f"PostgreSQL at {PG_URL} refused a test schema: {exc}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'winnow.db'}"
    else:
        yield from postgres_schema_url()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    s.upgrade()
    yield s
    s.dispose()


@pytest.fixture
def redis_url() -> str:
    if not _reachable("127.0.0.1", 6379):
        pytest.skip("Redis is not reachable at 127.0.0.1:6379 (CI starts it; see .ci/run)")
    return REDIS_URL


def make_job(store: Store, token: Any, *, text: str, policy: str | None = None, **kw: Any) -> str:
    """A queued job written straight to the store, as the API writes one."""
    from winnow.service.records import new_scan_id
    from winnow.store.schema import scans

    row: dict[str, Any] = dict.fromkeys(c.name for c in scans.columns)
    row.update(
        id=new_scan_id(), tenant_id=token.tenant_id, key_id=token.key_id, status="queued",
        mode="async", policy=policy, size_bytes=len(text), attempts=0, webhook_attempts=0,
        created_at=time.time(), **kw,
    )  # fmt: skip
    payload = {"scan_id": row["id"], "tenant_id": token.tenant_id, "text": text, "data": None,
               "retained": False, "expires_at": None}  # fmt: skip
    store.create_jobs([(row, payload)])
    return str(row["id"])


def settings_for(tmp_path: Path, **changes: Any) -> Settings:
    base = Settings(
        database_url=f"sqlite:///{tmp_path / 'api.db'}",
        workers=2,
        rate_limit=10_000,
        rate_burst=10_000,
        webhook_backoff=0.05,
        webhook_timeout=2.0,
    )
    return replace(base, **changes)


class Api:
    """A TestClient with the service behind it and helpers for keys and jobs."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.service = client.app.state.service  # type: ignore[attr-defined]

    def key(self, tenant: str = "acme", **kw: Any) -> dict[str, str]:
        token = self.service.store.create_key(tenant, **kw)
        return {"Authorization": f"Bearer {token.token}"}

    def wait(self, scan_id: str, headers: dict[str, str], timeout: float = 60) -> dict[str, Any]:
        deadline = time.time() + timeout
        while time.time() < deadline:
            body: dict[str, Any] = self.client.get(f"/v1/scans/{scan_id}", headers=headers).json()
            if body["status"] in ("done", "failed"):
                return body
            time.sleep(0.05)
        raise AssertionError(f"scan {scan_id} did not finish in {timeout} s")


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    clients: list[TestClient] = []

    def make(**changes: Any) -> Api:
        client = TestClient(create_app(settings_for(tmp_path, **changes), warm_up=False))
        client.__enter__()
        clients.append(client)
        return Api(client)

    yield make
    for c in reversed(clients):
        c.__exit__(None, None, None)


@pytest.fixture
def api(make_api: Callable[..., Api]) -> Api:
    return make_api()


class LiveServer:
    def __init__(self, settings: Settings) -> None:
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.app = create_app(settings, warm_up=False)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = settings_for(tmp_path_factory.mktemp("live"))
    with LiveServer(settings) as server:
        yield server
