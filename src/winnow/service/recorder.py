"""Group commit: synchronous scans are written in batches by one thread, each request awaiting its
batch's commit, so a verdict is in the database (and the audit log) before the caller sees it, and
a thousand requests a second cost tens of transactions, not a thousand.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from winnow.store import Store

log = logging.getLogger("winnow.store")
_MAX_BATCH = 500

_Rows = Sequence[Mapping[str, Any]]
_Item = tuple[_Rows, _Rows, _Rows, asyncio.Future[None]]


class Recorder:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="winnow-recorder", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread is not None:
            self._thread.join(timeout=30)

    async def record(self, rows: _Rows, audits: _Rows, retained: _Rows = ()) -> None:
        """Write scans, audit entries and retained content; returns once they are committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.put((rows, audits, retained, future))
        await future

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
            error: BaseException | None = None
            try:
                self.store.record_scans(
                    [r for rows, _, _, _ in batch for r in rows],
                    [a for _, audits, _, _ in batch for a in audits],
                    [p for _, _, retained, _ in batch for p in retained],
                )
            except BaseException as exc:  # every waiter hears why; the thread lives on
                log.exception("recording %d scans", len(batch))
                error = exc
            by_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] = {}
            for _, _, _, future in batch:
                by_loop.setdefault(future.get_loop(), []).append(future)
            for loop, futures in by_loop.items():
                loop.call_soon_threadsafe(_settle, futures, error)
            if stop:
                return


def _settle(futures: list[asyncio.Future[None]], error: BaseException | None) -> None:
    for future in futures:
        if future.done():
            continue
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
