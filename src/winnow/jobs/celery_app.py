"""Scale-out jobs: Celery on Redis (``WINNOW_BROKER_URL``), run by ``winnow worker``.

Tasks are acknowledged late (after the job is recorded) and requeued when their worker dies, so a
worker killed mid-job (even by SIGKILL) leaves the job to another one: a dead worker's unacked
message returns to the queue after ``WINNOW_JOB_VISIBILITY_TIMEOUT`` seconds. The job runner makes
a second run harmless. The API also re-sends jobs still queued after that timeout, in case the
broker lost them (Redis without persistence, say): the database, not the broker, is the record.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from celery import Celery

from winnow.errors import StorageError
from winnow.jobs.runner import JobRunner, worker_name
from winnow.service.engines import Engines
from winnow.service.settings import Settings
from winnow.store import Store

log = logging.getLogger("winnow.jobs")
TASK = "winnow.scan"


def make_celery(settings: Settings) -> Celery:
    if not settings.broker_url:
        raise ValueError("make_celery needs settings.broker_url")
    app = Celery("winnow", broker=settings.broker_url, set_as_current=False)
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        broker_connection_retry_on_startup=True,
        broker_transport_options={
            "visibility_timeout": settings.job_visibility_timeout,
            # look for a dead worker's messages every quarter of the timeout (kombu's default,
            # 10 s x every 10th look, would leave them for 100 s whatever the timeout)
            "unacked_restore_interval": max(1.0, settings.job_visibility_timeout / 4),
            "unacked_restore_throttle": 1,
        },
        worker_hijack_root_logger=False,
        worker_cancel_long_running_tasks_on_connection_loss=False,
    )
    runner: list[JobRunner] = []
    lock = threading.Lock()

    def get_runner() -> JobRunner:
        with lock:  # built in the process that runs tasks (a prefork child), on first use
            if not runner:
                store = Store(settings.database_url)
                engines = Engines(store, snapshot_dir=settings.snapshot_dir)
                runner.append(JobRunner(store, engines, worker_name("celery")))
            return runner[0]

    @app.task(  # type: ignore[untyped-decorator]
        name=TASK,
        bind=True,
        autoretry_for=(StorageError,),
        retry_backoff=True,
        retry_backoff_max=60,
        max_retries=None,
    )
    def scan(self: Any, scan_id: str) -> str | None:
        return get_runner().run(scan_id)

    return app


class CeleryDispatcher:
    """What the API uses instead of the embedded pool when a broker is configured."""

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.app = make_celery(settings)
        self._stop = threading.Event()
        self._sweeper: threading.Thread | None = None

    def submit(self, scan_id: str) -> None:
        try:
            self.app.send_task(TASK, args=[scan_id])
        except Exception:  # the broker is down: the sweeper sends it once it is back
            log.exception("could not enqueue %s; it stays queued in the database", scan_id)

    def start(self) -> None:
        with self.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=3)
        self._sweeper = threading.Thread(target=self._sweep, name="winnow-sweeper", daemon=True)
        self._sweeper.start()

    def stop(self) -> None:
        self._stop.set()

    def alive(self) -> bool:
        try:
            with self.app.connection_for_write() as conn:
                conn.ensure_connection(max_retries=1)
            return True
        except Exception:
            return False

    def _sweep(self) -> None:
        period = max(1.0, self.settings.job_visibility_timeout / 2)
        while not self._stop.wait(period):
            try:
                cutoff = time.time() - self.settings.job_visibility_timeout
                for scan_id in self.store.unfinished_jobs(queued_before=cutoff):
                    self.submit(scan_id)
            except Exception:
                log.exception("re-sending queued jobs")
