"""Scale-out jobs: real ``winnow worker`` processes on real Redis. One is SIGKILLed in the middle of
a job; another finishes it, and no job is lost or has its effects twice."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.conftest import make_job
from winnow.jobs.celery_app import TASK, make_celery
from winnow.service.settings import Settings
from winnow.store import Store

HERE = Path(__file__).resolve().parent
WINNOW = Path(sys.executable).with_name("winnow")
SLOW_POLICY = """\
name: slow
detectors:
  test-slow: {seconds: 6}
  lexicon: {}
rules:
  - name: insults
    when: {label: harassment}
    action: review
    reason: Insults.
"""


@pytest.fixture
def broker(redis_url: str) -> Iterator[str]:
    import redis

    url = redis_url.rsplit("/", 1)[0] + "/13"  # a database of its own, emptied before and after
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


def _workers(
    env: dict[str, str], names: list[str], tmp_path: Path
) -> list[subprocess.Popen[bytes]]:
    procs = []
    for name in names:
        with open(tmp_path / f"{name}.log", "wb") as log:  # the child keeps its own copy
            cmd = [str(WINNOW), "worker", "--concurrency", "1", "--name", f"{name}@test"]
            procs.append(subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT))
    return procs


def test_a_worker_killed_mid_job_leaves_it_to_another(tmp_path: Path, broker: str) -> None:
    db = f"sqlite:///{tmp_path / 'jobs.db'}"
    env = {
        **os.environ,
        "WINNOW_DATABASE_URL": db,
        "WINNOW_BROKER_URL": broker,
        "WINNOW_JOB_VISIBILITY_TIMEOUT": "4",
        "WINNOW_PLUGINS": "slow_plugin",
        "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
    }
    store = Store(db)
    store.upgrade()
    token = store.create_key("acme")
    store.put_policy(
        token.tenant_id,
        "slow",
        SLOW_POLICY,
        hashlib.sha256(SLOW_POLICY.encode()).hexdigest(),
        "test",
    )
    procs = _workers(env, ["w1", "w2"], tmp_path)
    try:
        settings = Settings(database_url=db, broker_url=broker, job_visibility_timeout=4)
        celery = make_celery(settings)
        slow = make_job(store, token, text="you idiot", policy="slow")
        quick = [make_job(store, token, text=f"hello {i}") for i in range(6)]
        for sid in [slow, *quick]:
            celery.send_task(TASK, args=[sid])

        # wait until a worker is in the middle of the slow job, then SIGKILL that worker
        deadline = time.time() + 60
        row: Any = None
        while time.time() < deadline:
            row = store.get_scan(token.tenant_id, slow)
            if row["status"] == "running":
                break
            time.sleep(0.05)
        assert row is not None
        assert row["status"] == "running", [p.poll() for p in procs]
        victim_pid = int(row["worker"].rsplit(":", 1)[1])
        victim = next(p for p in procs if p.pid == victim_pid)
        time.sleep(0.5)
        os.kill(victim_pid, signal.SIGKILL)
        victim.wait(10)

        deadline = time.time() + 90
        while time.time() < deadline:
            statuses = {
                sid: store.get_scan(token.tenant_id, sid)["status"] for sid in [slow, *quick]
            }
            if set(statuses.values()) == {"done"}:
                break
            time.sleep(0.1)
        assert set(statuses.values()) == {"done"}, statuses
        finished = store.get_scan(token.tenant_id, slow)
        assert finished["attempts"] == 2
        assert int(finished["worker"].rsplit(":", 1)[1]) != victim_pid
        assert finished["action"] == "review"
        decided = [
            e["scan_id"]
            for e in store.audit_entries(token.tenant_id, limit=1000)
            if e["event"] == "scan.decided"
        ]
        assert sorted(decided) == sorted([slow, *quick])  # each job's effects exactly once
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        store.dispose()
