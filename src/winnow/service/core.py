"""The service's moving parts in one object: store, engines, recorder, jobs, limits, metrics.

Routes call :meth:`Service.scan_now` and :meth:`Service.enqueue`, and never the store directly
for scans, so every scan, however it arrives (native route, batch, OpenAI-compatible route), is
recorded, audited, counted and limited the same way.
"""

from __future__ import annotations

import functools
import gc
import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from starlette.concurrency import run_in_threadpool

from winnow.engine import Engine
from winnow.errors import ContentError, WinnowError
from winnow.jobs.embedded import EmbeddedPool
from winnow.jobs.runner import JobRunner, worker_name
from winnow.jobs.webhooks import WebhookSender
from winnow.serialize import verdict_to_dict
from winnow.service.engines import Engines
from winnow.service.limits import KeyCache, RateLimiter
from winnow.service.metrics import Metrics
from winnow.service.recorder import Recorder
from winnow.service.records import error_fields, new_scan_id, verdict_fields
from winnow.service.settings import Settings
from winnow.store import ApiKey, Store
from winnow.store.banks import BankStore
from winnow.store.database import audit_row
from winnow.store.schema import scans
from winnow.types import Content, Verdict

log = logging.getLogger("winnow.service")

# Texts up to this many characters are scanned on the event loop (well under a millisecond);
# anything larger, and every file, in a thread, so one big item never stalls the others.
_INLINE_CHARS = 16_384

_COLUMNS = tuple(c.name for c in scans.columns)


class Dispatcher(Protocol):
    def submit(self, scan_id: str) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def alive(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Item:
    """One thing to scan, as it arrived."""

    text: str | None = None
    data: bytes | None = None
    name: str | None = None

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        text = self.text or ""
        return len(text) if len(text) < 1 << 16 and text.isascii() else len(text.encode())

    def content(self) -> Content:
        if self.text is not None:
            return Content.from_text(self.text, name=self.name)
        return Content.from_bytes(self.data or b"", name=self.name)

    @property
    def inline(self) -> bool:
        return self.text is not None and len(self.text) <= _INLINE_CHARS


@dataclass(frozen=True, slots=True)
class Outcome:
    """A finished synchronous scan: its id and the verdict (as JSON bytes), or the error."""

    id: str
    name: str | None
    verdict: Verdict | None
    verdict_json: bytes | None
    error: WinnowError | None


class Service:
    def __init__(self, settings: Settings, *, warm_up: bool = True) -> None:
        self.settings = settings
        self.warm = warm_up
        self.store = Store(settings.database_url)
        self.engines = Engines(self.store, snapshot_dir=settings.snapshot_dir)
        self.recorder = Recorder(self.store)
        self.keys = KeyCache(self.store)
        self.limiter = RateLimiter(settings.rate_limit, settings.rate_burst)
        self.metrics = Metrics(
            self.store.queue_depth, BankStore(self.store).set_aside, self.engines.index_entries
        )
        self.sender = WebhookSender.from_settings(self.store, settings)
        self.jobs: Dispatcher = self._dispatcher()
        self.ready = False
        self._stop = threading.Event()
        self._janitor: threading.Thread | None = None

    def _dispatcher(self) -> Dispatcher:
        if self.settings.broker_url:
            from winnow.jobs.celery_app import CeleryDispatcher

            return CeleryDispatcher(self.settings, self.store)
        runner = JobRunner(self.store, self.engines, worker_name("embedded"), self._job_finished)
        return EmbeddedPool(runner, self.settings.workers)

    def _job_finished(self, scan_id: str, outcome: str, verdict: Verdict | None) -> None:
        if verdict is not None:
            self.metrics.observe_verdict(verdict)
        else:
            self.metrics.verdicts.labels(outcome).inc()
        self.sender.wake()

    # -- life cycle --------------------------------------------------------------------------------

    def start(self) -> None:
        self.store.upgrade()
        if self.warm:
            self.engines.default_engine().warm_up()
        # Models, term lists and dictionaries are millions of long-lived objects: move them out
        # of the cyclic collector's reach, or every full collection stalls requests for ~0.1 s.
        gc.collect()
        gc.freeze()
        self.recorder.start()
        self.jobs.start()
        self.sender.start()
        self._janitor = threading.Thread(
            target=self._purge_loop, name="winnow-janitor", daemon=True
        )
        self._janitor.start()
        self.ready = True

    def stop(self) -> None:
        self.ready = False
        self._stop.set()
        self.jobs.stop()
        self.sender.stop()
        self.recorder.stop()
        self.engines.close()
        self.store.dispose()

    def _purge_loop(self) -> None:
        while not self._stop.wait(60.0):
            try:
                purged = self.store.purge_expired()
                if purged:
                    log.info("retention: purged the content of %d scans", purged)
            except Exception:
                log.exception("retention purge")

    # -- scanning ----------------------------------------------------------------------------------

    def engine(self, key: ApiKey, policy: str | None) -> Engine:
        return self.engines.for_request(key.tenant_id, policy or key.policy)

    def base_row(
        self, key: ApiKey, item: Item, *, policy: str | None, mode: str, status: str
    ) -> dict[str, Any]:
        now = time.time()
        row: dict[str, Any] = dict.fromkeys(_COLUMNS)
        row.update(
            id=new_scan_id(),
            tenant_id=key.tenant_id,
            key_id=key.id,
            status=status,
            mode=mode,
            policy=policy or key.policy,
            name=item.name,
            size_bytes=item.size,
            attempts=0,
            webhook_attempts=0,
            created_at=now,
        )
        return row

    async def scan_now(self, key: ApiKey, items: list[Item], policy: str | None) -> list[Outcome]:
        """Scan items while the caller waits; every outcome is committed before this returns."""
        engine = self.engine(key, policy)
        rows: list[dict[str, Any]] = []
        audits: list[dict[str, Any]] = []
        payloads: list[dict[str, Any]] = []
        outcomes: list[Outcome] = []
        banks = self.engines.matcher(key.tenant_id)
        # the short texts in one call, read stage by stage (Engine.scan_many: same verdicts)
        short = [i for i, item in enumerate(items) if item.inline]
        scanned = engine.scan_many([items[i].content() for i in short], matcher=banks)
        early = dict(zip(short, scanned, strict=True))
        for k, item in enumerate(items):
            row = self.base_row(key, item, policy=policy, mode="sync", status="done")
            row["started_at"] = row["created_at"]
            try:
                if k in early:
                    done = early[k]
                    if isinstance(done, ContentError):
                        raise done
                    verdict = done
                else:
                    verdict = await run_in_threadpool(
                        functools.partial(engine.scan, matcher=banks), item.content()
                    )
            except ContentError as exc:
                row.update(error_fields(exc))
                outcome = Outcome(row["id"], item.name, None, None, exc)
                audits.append(self._audit(key, row, "scan.failed", {"error": exc.message}))
                self.metrics.verdicts.labels("failed").inc()
            else:
                verdict_json = orjson.dumps(verdict_to_dict(verdict))
                row.update(verdict_fields(verdict, verdict_json.decode()))
                outcome = Outcome(row["id"], item.name, verdict, verdict_json, None)
                audits.append(
                    self._audit(
                        key,
                        row,
                        "scan.decided",
                        {"policy": verdict.policy, "rules": [h.rule for h in verdict.rule_hits]},
                    )
                )
                self.metrics.observe_verdict(verdict)
            row["finished_at"] = time.time()
            rows.append(row)
            outcomes.append(outcome)
            if self.settings.retention_seconds > 0:
                payloads.append(self._payload(row, item))
        await self.recorder.record(rows, audits, payloads)
        return outcomes

    def _audit(
        self, key: ApiKey, row: dict[str, Any], event: str, detail: dict[str, Any]
    ) -> dict[str, Any]:
        return audit_row(
            key.tenant_id,
            event,
            actor=key.id,
            scan_id=row["id"],
            action=row["action"],
            detail={**detail, "sha256": row["sha256"]},
            at=row["created_at"],
        )

    def _payload(self, row: dict[str, Any], item: Item) -> dict[str, Any]:
        retained = self.settings.retention_seconds > 0
        return {
            "scan_id": row["id"],
            "tenant_id": row["tenant_id"],
            "text": item.text,
            "data": item.data,
            "retained": retained,
            "expires_at": row["created_at"] + self.settings.retention_seconds if retained else None,
        }

    async def enqueue(
        self, key: ApiKey, items: list[Item], policy: str | None, webhook_url: str | None
    ) -> list[dict[str, Any]]:
        """Store items as jobs and hand them to the workers; returns the queued rows."""
        self.engine(key, policy)  # an unknown policy is refused now, not when the job runs
        jobs = []
        for item in items:
            row = self.base_row(key, item, policy=policy, mode="async", status="queued")
            row["webhook_url"] = webhook_url
            jobs.append((row, self._payload(row, item)))
        await run_in_threadpool(self.store.create_jobs, jobs)
        rows = [row for row, _ in jobs]
        await run_in_threadpool(self._submit, rows)
        return rows

    def _submit(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:  # a broker publish is network I/O: all of them in one thread hop
            self.jobs.submit(row["id"])

    def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            current, head = self.store.revision()
            checks["database"] = "ok" if current == head else f"schema at {current}, need {head}"
        except WinnowError as exc:
            checks["database"] = exc.message
        checks["workers"] = "ok" if self.jobs.alive() else "not running"
        checks["started"] = "ok" if self.ready else "starting"
        return checks
