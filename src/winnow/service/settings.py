"""The service's settings, read from ``WINNOW_*`` environment variables, each checked on start.

=================================  ==========================  =====================================
variable                           default                     meaning
=================================  ==========================  =====================================
``WINNOW_DATABASE_URL``            ``sqlite:///winnow.db``     SQLite file (WAL) or ``postgresql://``
``WINNOW_BROKER_URL``              unset: embedded workers     ``redis://…``: jobs go to Celery
``WINNOW_WORKERS``                 2                           embedded worker threads
``WINNOW_MAX_REQUEST_BYTES``       67,108,864 (64 MiB)         largest request body accepted
``WINNOW_SYNC_MAX_BYTES``          2,097,152 (2 MiB)           larger items are scanned as jobs
``WINNOW_MAX_BATCH_ITEMS``         256                         texts in one batch request
``WINNOW_RATE_LIMIT``              50                          requests per second per key
``WINNOW_RATE_BURST``              100                         requests a key may burst
``WINNOW_RETENTION_DAYS``          0 (content never stored)    keep scanned content this long
``WINNOW_WEBHOOK_MAX_ATTEMPTS``    8                           deliveries tried per job
``WINNOW_WEBHOOK_TIMEOUT``         5                           seconds per delivery attempt
``WINNOW_JOB_VISIBILITY_TIMEOUT``  300                         seconds before a job is retried
``WINNOW_INDEX_DIR``               see below                   hash-bank index snapshots; ``off``
=================================  ==========================  =====================================

``WINNOW_INDEX_DIR`` holds each tenant's PDQ index snapshot, so a restarted process loads a large
bank in a fraction of a second instead of reading every entry from the database. By default it is
``<file>.index/`` beside a SQLite database, and ``$XDG_CACHE_HOME/winnow/index`` (usually
``~/.cache/winnow/index``) for PostgreSQL: a machine's own disk, since each machine keeps its own.

A key's own rate limit (``winnow key create --rate-limit``) overrides the default for that key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from winnow.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = "sqlite:///winnow.db"
    broker_url: str | None = None
    workers: int = 2
    max_request_bytes: int = 64 << 20
    sync_max_bytes: int = 2 << 20
    max_batch_items: int = 256
    rate_limit: float = 50.0
    rate_burst: int = 100
    retention_days: float = 0.0
    webhook_max_attempts: int = 8
    webhook_timeout: float = 5.0
    webhook_backoff: float = 2.0  # seconds before the second attempt, doubling after
    job_visibility_timeout: float = 300.0
    index_dir: str | None = None  # None: the default for the database; "off": no snapshots

    @property
    def retention_seconds(self) -> float:
        return self.retention_days * 86400.0

    @property
    def snapshot_dir(self) -> Path | None:
        """Where hash-bank index snapshots go (None: not kept)."""
        if self.index_dir is not None:
            return None if self.index_dir.lower() == "off" else Path(self.index_dir)
        if self.database_url.startswith("sqlite:///"):
            db = self.database_url[len("sqlite:///") :].split("?", 1)[0]
            if db and db != ":memory:":
                return Path(db + ".index")
            return None
        cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(cache) / "winnow" / "index"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        d = cls()

        def text(name: str, default: str | None) -> str | None:
            value = env.get(f"WINNOW_{name}", "").strip()
            return value or default

        def number(name: str, default: float, minimum: float, integer: bool = False) -> float:
            raw = text(name, None)
            if raw is None:
                return default
            try:
                value = int(raw) if integer else float(raw)
            except ValueError:
                kind = "a whole number" if integer else "a number"
                raise ConfigError(f"WINNOW_{name} must be {kind}, got {raw!r}") from None
            if value < minimum:
                raise ConfigError(f"WINNOW_{name} must be at least {minimum}, got {raw!r}")
            return value

        return cls(
            database_url=text("DATABASE_URL", d.database_url) or d.database_url,
            broker_url=text("BROKER_URL", None),
            workers=int(number("WORKERS", d.workers, 1, integer=True)),
            max_request_bytes=int(
                number("MAX_REQUEST_BYTES", d.max_request_bytes, 1024, integer=True)
            ),
            sync_max_bytes=int(number("SYNC_MAX_BYTES", d.sync_max_bytes, 0, integer=True)),
            max_batch_items=int(number("MAX_BATCH_ITEMS", d.max_batch_items, 1, integer=True)),
            rate_limit=number("RATE_LIMIT", d.rate_limit, 0.001),
            rate_burst=int(number("RATE_BURST", d.rate_burst, 1, integer=True)),
            retention_days=number("RETENTION_DAYS", d.retention_days, 0),
            webhook_max_attempts=int(
                number("WEBHOOK_MAX_ATTEMPTS", d.webhook_max_attempts, 1, integer=True)
            ),
            webhook_timeout=number("WEBHOOK_TIMEOUT", d.webhook_timeout, 0.1),
            webhook_backoff=number("WEBHOOK_BACKOFF", d.webhook_backoff, 0.0),
            job_visibility_timeout=number("JOB_VISIBILITY_TIMEOUT", d.job_visibility_timeout, 1),
            index_dir=text("INDEX_DIR", None),
        )
