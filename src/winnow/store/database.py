"""The store: every read and write the service and workers make, each one tenant-scoped.

SQLite is the embedded default: WAL journal, one writer at a time (write transactions start with
``BEGIN IMMEDIATE`` so concurrent writers queue on the lock instead of failing mid-transaction),
readers never blocked. PostgreSQL is used when the URL names it. The schema is created and
upgraded by Alembic (:meth:`Store.upgrade`).

Jobs are made idempotent here: :meth:`Store.claim_job` may hand the same job to two workers (a
redelivered message while the first is still alive), but :meth:`Store.finish_job` writes the
verdict, the audit entry and the webhook only when the job is not finished yet, in one transaction,
so a job's effects happen exactly once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Connection,
    Engine,
    RowMapping,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError, OperationalError

from winnow.errors import ConfigError, StorageError
from winnow.store.schema import (
    api_keys,
    audit_log,
    payloads,
    policies,
    scans,
    tenants,
    webhook_deliveries,
)

_MIGRATIONS = Path(__file__).with_name("migrations")
_TOKEN_PREFIX = "wn_"
_KEY_ID_LEN = len(_TOKEN_PREFIX) + 12  # wn_ and 12 hex digits; the token is "<key id>_<secret>"
UNFINISHED = ("queued", "running")


def _now() -> float:
    return time.time()


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class ApiKey:
    """An authenticated key: who is calling, for which tenant, with which defaults."""

    id: str
    tenant_id: str
    tenant: str
    name: str
    policy: str | None
    rate_limit: float | None
    burst: int | None


@dataclass(frozen=True, slots=True)
class Token:
    """A newly created key. ``token`` is shown once; only its secret's SHA-256 is stored."""

    key_id: str
    token: str
    tenant_id: str
    tenant: str
    webhook_secret: str
    new_tenant: bool


def normalise_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` use psycopg 3 (the driver Winnow installs)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_engine(url: str, immediate: bool) -> Engine:
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        pool_size=8,
        max_overflow=8,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        # 64 MiB of page cache (default 2 MiB): a large bank import inserts hashes at random
        # places in its indexes, and a small cache turns each into disk reads
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Store:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        try:
            if self.url.startswith("sqlite"):
                if self.url in ("sqlite://", "sqlite:///:memory:"):
                    raise ConfigError(
                        "WINNOW_DATABASE_URL: an in-memory SQLite database cannot be shared "
                        "between the API and its workers; name a file (sqlite:///winnow.db)"
                    )
                self._writer = _sqlite_engine(self.url, immediate=True)
                self._reader = _sqlite_engine(self.url, immediate=False)
            elif self.url.startswith("postgresql"):
                self._writer = self._reader = create_engine(
                    self.url, pool_size=10, max_overflow=10, pool_pre_ping=True
                )
            else:
                raise ConfigError(
                    f"WINNOW_DATABASE_URL must be sqlite:///… or postgresql://…, got {url!r}"
                )
        except ConfigError:
            raise
        except Exception as exc:  # bad URL syntax, missing driver
            raise ConfigError(f"WINNOW_DATABASE_URL {url!r} is not usable: {exc}") from None

    @property
    def dialect(self) -> str:
        return self._writer.dialect.name

    def dispose(self) -> None:
        self._writer.dispose()
        if self._reader is not self._writer:
            self._reader.dispose()

    # -- connections -----------------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._writer.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"the database refused a write: {exc.orig}") from None

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        try:
            with self._reader.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StorageError(f"the database could not be read: {exc.orig}") from None

    # -- schema ----------------------------------------------------------------------------------

    def _alembic(self, conn: Connection) -> Any:
        from alembic.config import Config

        cfg = Config()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        cfg.attributes["connection"] = conn
        return cfg

    def upgrade(self) -> None:
        """Create or upgrade the schema to the newest migration (safe to run every start)."""
        from alembic import command

        try:
            with self._writer.begin() as conn:
                command.upgrade(self._alembic(conn), "head")
        except OperationalError as exc:
            raise StorageError(f"cannot migrate the database at {self.url}: {exc.orig}") from None

    def revision(self) -> tuple[str | None, str | None]:
        """(the database's migration, the newest this Winnow knows)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self._read() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(self._alembic(conn)).get_current_head()
        return current, head

    def ping(self) -> None:
        with self._read() as conn:
            conn.exec_driver_sql("SELECT 1")

    # -- tenants and keys --------------------------------------------------------------------------

    def create_key(
        self,
        tenant: str,
        name: str = "default",
        *,
        policy: str | None = None,
        rate_limit: float | None = None,
        burst: int | None = None,
    ) -> Token:
        """A new key for ``tenant`` (created if it does not exist yet)."""
        key_id = _TOKEN_PREFIX + secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        now = _now()
        with self._write() as conn:
            tenant_id, webhook_secret, new = _tenant(conn, tenant)
            conn.execute(
                insert(api_keys).values(
                    id=key_id,
                    tenant_id=tenant_id,
                    name=name,
                    secret_sha256=hashlib.sha256(secret.encode()).hexdigest(),
                    policy=policy,
                    rate_limit=rate_limit,
                    burst=burst,
                    created_at=now,
                )
            )
            _audit(
                conn, tenant_id, "key.created", actor="cli", detail={"key": key_id, "name": name}
            )
        return Token(key_id, f"{key_id}_{secret}", tenant_id, tenant, webhook_secret, new)

    def tenant_id(self, tenant: str, *, create: bool = False) -> str | None:
        """The id of the tenant named ``tenant``; with ``create``, made if it does not exist."""
        if create:
            with self._write() as conn:
                return _tenant(conn, tenant)[0]
        with self._read() as conn:
            return conn.execute(select(tenants.c.id).where(tenants.c.name == tenant)).scalar()

    def authenticate(self, token: str) -> ApiKey | None:
        """The key a bearer token belongs to, or None (unknown, wrong secret, or revoked)."""
        key_id, sep, secret = (
            token[:_KEY_ID_LEN],
            token[_KEY_ID_LEN : _KEY_ID_LEN + 1],
            token[_KEY_ID_LEN + 1 :],
        )
        if sep != "_" or not key_id.startswith(_TOKEN_PREFIX) or not secret:
            return None
        with self._read() as conn:
            row = conn.execute(
                select(api_keys, tenants.c.name.label("tenant"))
                .join(tenants, tenants.c.id == api_keys.c.tenant_id)
                .where(api_keys.c.id == key_id)
            ).first()
        if row is None or row.revoked_at is not None:
            return None
        digest = hashlib.sha256(secret.encode()).hexdigest()
        if not hmac.compare_digest(digest, row.secret_sha256):
            return None
        return ApiKey(
            row.id, row.tenant_id, row.tenant, row.name, row.policy, row.rate_limit, row.burst
        )

    def list_keys(self, tenant: str | None = None) -> list[RowMapping]:
        q = (
            select(
                api_keys.c.id,
                tenants.c.name.label("tenant"),
                api_keys.c.name,
                api_keys.c.policy,
                api_keys.c.rate_limit,
                api_keys.c.burst,
                api_keys.c.created_at,
                api_keys.c.revoked_at,
            )
            .join(tenants, tenants.c.id == api_keys.c.tenant_id)
            .order_by(tenants.c.name, api_keys.c.created_at)
        )
        if tenant is not None:
            q = q.where(tenants.c.name == tenant)
        with self._read() as conn:
            return list(conn.execute(q).mappings())

    def revoke_key(self, key_id: str) -> bool:
        with self._write() as conn:
            row = conn.execute(
                select(api_keys.c.tenant_id).where(
                    api_keys.c.id == key_id, api_keys.c.revoked_at.is_(None)
                )
            ).first()
            if row is None:
                return False
            conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=_now()))
            _audit(conn, row[0], "key.revoked", actor="cli", detail={"key": key_id})
            return True

    def webhook_secret(self, tenant_id: str) -> str:
        with self._read() as conn:
            secret = conn.execute(
                select(tenants.c.webhook_secret).where(tenants.c.id == tenant_id)
            ).scalar_one()
        return str(secret)

    # -- policies ----------------------------------------------------------------------------------

    def put_policy(
        self, tenant_id: str, name: str, source: str, digest: str, actor: str
    ) -> tuple[int, bool]:
        """Store a validated policy as the next version of ``name``: (version, created).

        Uploading the same text as the newest version again creates nothing.
        """
        for _ in range(5):  # two uploads racing for the same version number: retry
            try:
                with self._write() as conn:
                    latest = conn.execute(
                        select(policies.c.version, policies.c.digest)
                        .where(policies.c.tenant_id == tenant_id, policies.c.name == name)
                        .order_by(policies.c.version.desc())
                        .limit(1)
                    ).first()
                    if latest is not None and latest.digest == digest:
                        return int(latest.version), False
                    version = 1 if latest is None else int(latest.version) + 1
                    conn.execute(
                        insert(policies).values(
                            tenant_id=tenant_id,
                            name=name,
                            version=version,
                            source=source,
                            digest=digest,
                            created_at=_now(),
                        )
                    )
                    _audit(
                        conn,
                        tenant_id,
                        "policy.uploaded",
                        actor=actor,
                        detail={"policy": name, "version": version, "digest": digest},
                    )
                    return version, True
            except IntegrityError:
                continue
        raise StorageError(f"could not store policy {name!r}: concurrent uploads kept colliding")

    def get_policy(self, tenant_id: str, name: str, version: int | None) -> RowMapping | None:
        q = select(policies).where(policies.c.tenant_id == tenant_id, policies.c.name == name)
        q = (
            q.where(policies.c.version == version)
            if version is not None
            else q.order_by(policies.c.version.desc()).limit(1)
        )
        with self._read() as conn:
            return conn.execute(q).mappings().first()

    def list_policies(self, tenant_id: str) -> list[RowMapping]:
        """The newest version of each of the tenant's policies, with how many versions it has."""
        latest = (
            select(
                policies.c.name,
                func.max(policies.c.version).label("version"),
                func.count().label("versions"),
            )
            .where(policies.c.tenant_id == tenant_id)
            .group_by(policies.c.name)
            .subquery()
        )
        q = (
            select(
                policies.c.name,
                policies.c.version,
                latest.c.versions,
                policies.c.digest,
                policies.c.created_at,
            )
            .join(
                latest,
                (latest.c.name == policies.c.name) & (latest.c.version == policies.c.version),
            )
            .where(policies.c.tenant_id == tenant_id)
            .order_by(policies.c.name)
        )
        with self._read() as conn:
            return list(conn.execute(q).mappings())

    # -- scans -------------------------------------------------------------------------------------

    def record_scans(
        self,
        rows: Sequence[Mapping[str, Any]],
        audits: Sequence[Mapping[str, Any]],
        retained: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        """Write finished synchronous scans, their audit entries (and retained content) at once."""
        with self._write() as conn:
            if rows:
                conn.execute(insert(scans), list(rows))
            if retained:
                conn.execute(insert(payloads), list(retained))
            if audits:
                conn.execute(insert(audit_log), list(audits))

    def create_jobs(self, jobs: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> None:
        """Queued scans with their content (a payload row), held until the job is done."""
        with self._write() as conn:
            conn.execute(insert(scans), [row for row, _ in jobs])
            conn.execute(insert(payloads), [payload for _, payload in jobs])
            conn.execute(
                insert(audit_log),
                [
                    audit_row(
                        row["tenant_id"],
                        "scan.queued",
                        actor=row["key_id"],
                        scan_id=row["id"],
                        detail={"bytes": row["size_bytes"], "name": row["name"]},
                        at=row["created_at"],
                    )
                    for row, _ in jobs
                ],
            )

    def claim_job(self, scan_id: str, worker: str) -> tuple[RowMapping, RowMapping | None] | None:
        """Mark a job running and return (scan, payload); None when it is already finished."""
        with self._write() as conn:
            claimed = conn.execute(
                update(scans)
                .where(scans.c.id == scan_id, scans.c.status.in_(UNFINISHED))
                .values(
                    status="running",
                    attempts=scans.c.attempts + 1,
                    worker=worker,
                    started_at=_now(),
                )
            ).rowcount
            if claimed != 1:
                return None
            scan = conn.execute(select(scans).where(scans.c.id == scan_id)).mappings().one()
            payload = (
                conn.execute(select(payloads).where(payloads.c.scan_id == scan_id))
                .mappings()
                .first()
            )
            return scan, payload

    def finish_job(self, scan_id: str, values: Mapping[str, Any], audit: Mapping[str, Any]) -> bool:
        """Record a job's outcome once: False (and nothing written) if it was already finished."""
        with self._write() as conn:
            row = conn.execute(
                select(scans.c.webhook_url, scans.c.tenant_id).where(scans.c.id == scan_id)
            ).first()
            if row is None:
                return False
            webhook: dict[str, Any] = {}
            if row.webhook_url:
                webhook = {"webhook_state": "pending", "webhook_next_at": _now()}
            done = conn.execute(
                update(scans)
                .where(scans.c.id == scan_id, scans.c.status.in_(UNFINISHED))
                .values(**values, **webhook, finished_at=_now())
            ).rowcount
            if done != 1:
                return False
            conn.execute(insert(audit_log).values(**audit))
            conn.execute(
                delete(payloads).where(
                    payloads.c.scan_id == scan_id, payloads.c.retained.is_(False)
                )
            )
            return True

    def unfinished_jobs(self, queued_before: float | None = None) -> list[str]:
        """Unfinished jobs: to resume after a restart, or to enqueue again if a broker lost them."""
        q = select(scans.c.id).where(scans.c.status.in_(UNFINISHED)).order_by(scans.c.created_at)
        if queued_before is not None:
            q = q.where(scans.c.status == "queued", scans.c.created_at < queued_before)
        with self._read() as conn:
            return [r[0] for r in conn.execute(q)]

    def queue_depth(self) -> dict[str, int]:
        q = (
            select(scans.c.status, func.count())
            .where(scans.c.status.in_(UNFINISHED))
            .group_by(scans.c.status)
        )
        with self._read() as conn:
            counts = {r[0]: int(r[1]) for r in conn.execute(q)}
        return {s: counts.get(s, 0) for s in UNFINISHED}

    def get_scan(self, tenant_id: str, scan_id: str) -> RowMapping | None:
        with self._read() as conn:
            return (
                conn.execute(
                    select(scans).where(scans.c.id == scan_id, scans.c.tenant_id == tenant_id)
                )
                .mappings()
                .first()
            )

    def list_scans(self, tenant_id: str, limit: int = 50) -> list[RowMapping]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(scans)
                    .where(scans.c.tenant_id == tenant_id)
                    .order_by(scans.c.created_at.desc())
                    .limit(limit)
                ).mappings()
            )

    # -- webhooks ----------------------------------------------------------------------------------

    def claim_webhook(self, lease: float) -> RowMapping | None:
        """One due webhook, leased for ``lease`` seconds so no other sender takes it meanwhile."""
        now = _now()
        with self._write() as conn:
            row = (
                conn.execute(
                    select(scans)
                    .where(scans.c.webhook_state == "pending", scans.c.webhook_next_at <= now)
                    .order_by(scans.c.webhook_next_at)
                    .limit(1)
                )
                .mappings()
                .first()
            )
            if row is None:
                return None
            conn.execute(
                update(scans)
                .where(scans.c.id == row["id"], scans.c.webhook_next_at == row["webhook_next_at"])
                .values(webhook_next_at=now + lease)
            )
            return row

    def record_delivery(
        self,
        row: Mapping[Any, Any],
        *,
        status_code: int | None,
        error: str | None,
        duration_ms: float,
        delivered: bool,
        retry_at: float | None,
    ) -> None:
        attempt = int(row["webhook_attempts"]) + 1
        state = "delivered" if delivered else ("pending" if retry_at is not None else "failed")
        with self._write() as conn:
            conn.execute(
                insert(webhook_deliveries).values(
                    scan_id=row["id"],
                    tenant_id=row["tenant_id"],
                    url=row["webhook_url"],
                    attempt=attempt,
                    status_code=status_code,
                    error=error,
                    duration_ms=duration_ms,
                    created_at=_now(),
                )
            )
            conn.execute(
                update(scans)
                .where(scans.c.id == row["id"])
                .values(webhook_state=state, webhook_attempts=attempt, webhook_next_at=retry_at)
            )
            if state != "pending":
                _audit(
                    conn,
                    row["tenant_id"],
                    f"webhook.{state}",
                    actor="winnow",
                    scan_id=row["id"],
                    detail={"url": row["webhook_url"], "attempts": attempt, "status": status_code},
                )

    def deliveries(self, tenant_id: str, scan_id: str) -> list[RowMapping]:
        with self._read() as conn:
            return list(
                conn.execute(
                    select(webhook_deliveries)
                    .where(
                        webhook_deliveries.c.tenant_id == tenant_id,
                        webhook_deliveries.c.scan_id == scan_id,
                    )
                    .order_by(webhook_deliveries.c.id)
                ).mappings()
            )

    # -- audit and retention -----------------------------------------------------------------------

    def audit_entries(
        self, tenant_id: str, scan_id: str | None = None, limit: int = 100
    ) -> list[RowMapping]:
        q = select(audit_log).where(audit_log.c.tenant_id == tenant_id)
        if scan_id is not None:
            q = q.where(audit_log.c.scan_id == scan_id)
        with self._read() as conn:
            return list(conn.execute(q.order_by(audit_log.c.id.desc()).limit(limit)).mappings())

    def purge_expired(self, now: float | None = None) -> int:
        """Delete retained content whose retention period has ended."""
        now = _now() if now is None else now
        with self._write() as conn:
            return int(
                conn.execute(
                    delete(payloads).where(
                        payloads.c.retained.is_(True), payloads.c.expires_at <= now
                    )
                ).rowcount
            )

    def retained(self, tenant_id: str, scan_id: str) -> RowMapping | None:
        with self._read() as conn:
            return (
                conn.execute(
                    select(payloads).where(
                        payloads.c.scan_id == scan_id,
                        payloads.c.tenant_id == tenant_id,
                        payloads.c.retained.is_(True),
                    )
                )
                .mappings()
                .first()
            )


def _tenant(conn: Connection, name: str) -> tuple[str, str, bool]:
    """(id, webhook secret, whether it was just made) of the tenant ``name``, made if needed."""
    row = conn.execute(
        select(tenants.c.id, tenants.c.webhook_secret).where(tenants.c.name == name)
    ).first()
    if row is not None:
        return row[0], row[1], False
    tenant_id = "tn_" + secrets.token_hex(8)
    webhook_secret = "whsec_" + secrets.token_urlsafe(32)
    conn.execute(
        insert(tenants).values(
            id=tenant_id, name=name, webhook_secret=webhook_secret, created_at=_now()
        )
    )
    return tenant_id, webhook_secret, True


def audit_row(
    tenant_id: str,
    event: str,
    *,
    actor: str,
    detail: Mapping[str, Any],
    scan_id: str | None = None,
    action: str | None = None,
    at: float | None = None,
) -> dict[str, Any]:
    return {
        "tenant_id": tenant_id,
        "event": event,
        "scan_id": scan_id,
        "action": action,
        "actor": actor,
        "detail": dumps(detail),
        "created_at": _now() if at is None else at,
    }


def _audit(
    conn: Connection,
    tenant_id: str,
    event: str,
    *,
    actor: str,
    detail: Mapping[str, Any],
    scan_id: str | None = None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            **audit_row(tenant_id, event, actor=actor, detail=detail, scan_id=scan_id)
        )
    )
