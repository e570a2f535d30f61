"""The embedded job pool: worker threads in the API process, fed from the database.

Jobs are rows before they are anything else, so a restart loses none: on start, the pool takes up
every unfinished job (a job that was running when the process died runs again; the runner makes
that safe). Only one embedded pool should serve a database; to run jobs on several machines, use
Celery (``WINNOW_BROKER_URL`` and ``winnow worker``).
"""

from __future__ import annotations

import logging
import queue
import threading

from winnow.errors import StorageError
from winnow.jobs.runner import JobRunner

log = logging.getLogger("winnow.jobs")


class EmbeddedPool:
    def __init__(self, runner: JobRunner, threads: int) -> None:
        self.runner = runner
        self.threads = threads
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for id_ in self.runner.store.unfinished_jobs():
            self._queue.put(id_)
        for i in range(self.threads):
            t = threading.Thread(target=self._work, name=f"winnow-job-{i}", daemon=True)
            t.start()
            self._workers.append(t)

    def submit(self, scan_id: str) -> None:
        self._queue.put(scan_id)

    def alive(self) -> bool:
        return bool(self._workers) and all(t.is_alive() for t in self._workers)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; a job still running is resumed by the next start."""
        for _ in self._workers:
            self._queue.put(None)
        for t in self._workers:
            t.join(timeout)
        self._workers.clear()

    def _work(self) -> None:
        while True:
            scan_id = self._queue.get()
            if scan_id is None:
                return
            try:
                self.runner.run(scan_id)
            except StorageError:
                log.exception("job %s: database unavailable; it stays queued", scan_id)
            except Exception:
                log.exception("job %s", scan_id)
