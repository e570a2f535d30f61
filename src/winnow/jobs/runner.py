"""Run one job, whoever calls: the embedded pool or a Celery worker. Safe to run twice.

The runner claims the job, scans its content with the job's policy, and hands the outcome to
:meth:`Store.finish_job`, which records it only if no other run has: a job redelivered after its
worker died, or run twice by two workers, changes the stored verdict, the audit log and the
webhook exactly once.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from typing import Any

from sqlalchemy import RowMapping

from winnow.errors import ContentError, PolicyError, StorageError, WinnowError
from winnow.service.engines import Engines
from winnow.service.records import error_fields, verdict_fields
from winnow.store import Store
from winnow.store.database import audit_row
from winnow.types import Content, Verdict

log = logging.getLogger("winnow.jobs")


def worker_name(kind: str) -> str:
    return f"{kind}:{socket.gethostname()}:{os.getpid()}"


class JobRunner:
    def __init__(
        self,
        store: Store,
        engines: Engines,
        worker: str,
        on_finished: Callable[[str, str, Verdict | None], None] | None = None,
    ) -> None:
        self.store = store
        self.engines = engines
        self.worker = worker
        self._on_finished = on_finished  # (scan id, outcome, verdict): metrics, wake-ups

    def run(self, scan_id: str) -> str | None:
        """Run a job; returns its outcome ("pass", "failed"…), or None if it was already finished.

        Raises StorageError when the database is unreachable: the job stays queued for a retry.
        """
        claimed = self.store.claim_job(scan_id, self.worker)
        if claimed is None:
            return None
        scan, payload = claimed
        try:
            if payload is None:
                raise ContentError("the job's content is gone (retention purged it before it ran)")
            if payload["text"] is not None:
                content = Content.from_text(payload["text"], name=scan["name"])
            else:
                content = Content.from_bytes(payload["data"] or b"", name=scan["name"])
            engine = self.engines.for_request(scan["tenant_id"], scan["policy"])
            verdict = engine.scan(content, matcher=self.engines.matcher(scan["tenant_id"]))
        except StorageError:
            raise
        except (ContentError, PolicyError) as exc:
            return self._finish(scan, error_fields(exc), {"error": exc.message})
        except Exception as exc:  # a bug: record it on the job instead of retrying forever
            log.exception("job %s failed", scan_id)
            error = WinnowError(f"internal error while scanning: {type(exc).__name__}")
            return self._finish(scan, error_fields(error), {"error": error.message})
        fields = verdict_fields(verdict)
        detail = {
            "policy": verdict.policy,
            "rules": [h.rule for h in verdict.rule_hits],
            "sha256": verdict.content.sha256,
        }
        return self._finish(scan, fields, detail, verdict)

    def _finish(
        self,
        scan: RowMapping,
        fields: dict[str, Any],
        detail: dict[str, Any],
        verdict: Verdict | None = None,
    ) -> str | None:
        done = fields["status"] == "done"
        audit = audit_row(
            scan["tenant_id"],
            "scan.decided" if done else "scan.failed",
            actor=scan["key_id"],
            scan_id=scan["id"],
            action=fields.get("action"),
            detail=detail,
        )
        if not self.store.finish_job(scan["id"], fields, audit):
            return None
        outcome = str(fields["action"]) if done else "failed"
        if self._on_finished is not None:
            self._on_finished(scan["id"], outcome, verdict)
        return outcome
