"""Hash banks in the database: banks, entries, the change log, match counts and quarantine.

Every write here appends to ``bank_changes`` in the same transaction, so a process that follows
the log (:class:`winnow.hashing.banks.BankMatcher`) sees exactly the committed changes, in order.
Every change of substance also writes an audit entry. All queries filter on the tenant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Connection,
    RowMapping,
    and_,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from winnow.errors import BankError, BankNotFoundError
from winnow.store.database import Store, _audit, _now, dumps
from winnow.store.schema import bank_changes, bank_entries, banks, scans

KINDS = ("block", "review", "allow", "negative")
ALGORITHMS = {"md5": 32, "sha256": 64, "pdq": 64}
STATES = ("enabled", "disabled", "quarantined")
DEFAULT_PDQ_THRESHOLD = 31
DEFAULT_PDQ_MIN_QUALITY = 50
DEFAULT_FLOOD_LIMIT = 100  # matches of one entry within an hour
MAX_FLOOD_LIMIT = 1_000_000_000
FLOOD_WINDOW = 3600.0
BANK_NAME = r"^[a-z0-9][a-z0-9_.\-]{0,63}$"
_BATCH = 2000
_ID_CHUNK = 10_000
_HEX = re.compile(r"[0-9a-f]+")


@dataclass(frozen=True, slots=True)
class NewEntry:
    """A hash to add to a bank. ``value`` is checked and lowercased by :func:`check_hash`."""

    algorithm: str
    value: str
    labels: tuple[str, ...] = ()
    source: str = ""
    note: str | None = None
    added_at: float | None = None
    enabled: bool = True


@dataclass(slots=True)
class AddResult:
    added: int = 0
    duplicates: int = 0
    ids: list[int] = field(default_factory=list)


def check_hash(algorithm: str, value: str) -> tuple[str, str]:
    """(algorithm, lowercase hex value), or a BankError naming what is wrong."""
    alg = algorithm.strip().lower()
    if alg not in ALGORITHMS:
        raise BankError(f"hash algorithm {algorithm!r} is not one of {', '.join(ALGORITHMS)}")
    v = value.strip().lower()
    if len(v) != ALGORITHMS[alg] or not _HEX.fullmatch(v):
        raise BankError(f"{alg} hashes are {ALGORITHMS[alg]} hex digits, got {value[:80]!r}")
    return alg, v


class BankStore:
    """Banks of one database; every method takes the tenant's id."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ banks

    def create_bank(
        self,
        tenant_id: str,
        name: str,
        kind: str,
        *,
        description: str = "",
        pdq_threshold: int = DEFAULT_PDQ_THRESHOLD,
        pdq_min_quality: int = DEFAULT_PDQ_MIN_QUALITY,
        flood_limit: int = DEFAULT_FLOOD_LIMIT,
        suppresses: Sequence[str] | None = None,
        actor: str = "cli",
    ) -> RowMapping:
        if not re.match(BANK_NAME, name):
            raise BankError(
                f"bank name {name!r}: use 1-64 lowercase letters, digits, '_', '.' or '-'"
            )
        values = _check_settings(kind, pdq_threshold, pdq_min_quality, flood_limit, suppresses)
        now = _now()
        with self.store._write() as conn:
            if _bank_row(conn, tenant_id, name) is not None:
                raise BankError(f"bank {name!r} already exists")
            bank_id = conn.execute(
                insert(banks)
                .values(
                    tenant_id=tenant_id,
                    name=name,
                    description=description,
                    created_at=now,
                    updated_at=now,
                    **values,
                )
                .returning(banks.c.id)
            ).scalar_one()
            _changes(conn, tenant_id, bank_id, [None], "bank")
            _audit(conn, tenant_id, "bank.created", actor=actor, detail={"bank": name, **values})
            row = _bank_row(conn, tenant_id, name)
        assert row is not None
        return row

    def configure_bank(
        self, tenant_id: str, name: str, *, actor: str = "cli", **changes: Any
    ) -> RowMapping:
        """Change a bank's kind, threshold, minimum quality, flood limit, suppression list."""
        with self.store._write() as conn:
            row = self._require(conn, tenant_id, name)
            merged = {
                k: changes[k] if changes.get(k) is not None else row[k]
                for k in ("kind", "pdq_threshold", "pdq_min_quality", "flood_limit")
            }
            sup = changes.get("suppresses")
            old_sup = orjson.loads(row["suppresses"]) if row["suppresses"] else None
            values = _check_settings(
                merged["kind"],
                merged["pdq_threshold"],
                merged["pdq_min_quality"],
                merged["flood_limit"],
                sup if sup is not None else old_sup,
            )
            if changes.get("description") is not None:
                values["description"] = changes["description"]
            conn.execute(
                update(banks).where(banks.c.id == row["id"]).values(updated_at=_now(), **values)
            )
            _changes(conn, tenant_id, row["id"], [None], "bank")
            _audit(conn, tenant_id, "bank.configured", actor=actor, detail={"bank": name, **values})
            new = _bank_row(conn, tenant_id, name)
        assert new is not None
        return new

    def get_bank(self, tenant_id: str, name: str) -> RowMapping:
        with self.store._read() as conn:
            return self._require(conn, tenant_id, name)

    def list_banks(self, tenant_id: str) -> list[dict[str, Any]]:
        """Every bank with its entry counts by state (counted on the (bank, state) index)."""
        with self.store._read() as conn:
            rows = list(
                conn.execute(
                    select(banks).where(banks.c.tenant_id == tenant_id).order_by(banks.c.name)
                ).mappings()
            )
            counts = (
                conn.execute(
                    select(bank_entries.c.bank_id, bank_entries.c.state, func.count())
                    .where(bank_entries.c.bank_id.in_([r["id"] for r in rows]))
                    .group_by(bank_entries.c.bank_id, bank_entries.c.state)
                ).all()
                if rows
                else []
            )
        by_bank: dict[int, dict[str, int]] = {}
        for bank_id, state, n in counts:
            by_bank.setdefault(bank_id, {})[state] = n
        return [{**row, "entries": by_bank.get(row["id"], {})} for row in rows]

    def banks_by_id(self, tenant_id: str) -> dict[int, RowMapping]:
        with self.store._read() as conn:
            return {
                r["id"]: r
                for r in conn.execute(
                    select(banks).where(banks.c.tenant_id == tenant_id)
                ).mappings()
            }

    def _require(self, conn: Connection, tenant_id: str, name: str) -> RowMapping:
        row = _bank_row(conn, tenant_id, name)
        if row is None:
            raise BankNotFoundError(f"no bank named {name!r} (create it with `winnow bank create`)")
        return row

    # ------------------------------------------------------------------ entries

    def add_entries(
        self, tenant_id: str, bank: str, entries: Iterable[NewEntry], *, actor: str = "cli"
    ) -> AddResult:
        """Add entries in batches; a hash already in the bank is counted as a duplicate."""
        result = AddResult()
        with self.store._read() as conn:
            bank_id = self._require(conn, tenant_id, bank)["id"]
        batch: list[dict[str, Any]] = []

        def flush() -> None:
            if not batch:
                return
            with self.store._write() as conn:
                # executemany: compiled once and cached (a multi-row VALUES clause would be
                # compiled anew for every batch, most of an import's time)
                ins = self._insert_ignore().returning(bank_entries.c.id)
                ids = [r[0] for r in conn.execute(ins, batch)]
                if ids:
                    _changes(conn, tenant_id, bank_id, ids, "add")
                    _audit(
                        conn,
                        tenant_id,
                        "bank.entries_added",
                        actor=actor,
                        detail={"bank": bank, "count": len(ids), "first": ids[0], "last": ids[-1]},
                    )
            result.added += len(ids)
            result.duplicates += len(batch) - len(ids)
            result.ids.extend(ids)
            batch.clear()

        seen: set[tuple[str, str]] = set()
        for e in entries:
            alg, value = check_hash(e.algorithm, e.value)
            if (alg, value) in seen:  # twice in one batch: the database cannot tell us
                result.duplicates += 1
                continue
            seen.add((alg, value))
            now = _now()
            batch.append(
                {
                    "bank_id": bank_id,
                    "tenant_id": tenant_id,
                    "algorithm": alg,
                    "value": value,
                    "source": e.source[:500],
                    "labels": dumps(list(e.labels)),
                    "note": e.note,
                    "added_at": e.added_at if e.added_at is not None else now,
                    "state": "enabled" if e.enabled else "disabled",
                    "state_reason": None if e.enabled else "imported disabled",
                    "state_changed_at": now,
                    "matches": 0,
                    "window_matches": 0,
                }
            )
            if len(batch) >= _BATCH:
                flush()
                seen.clear()
        flush()
        return result

    def _insert_ignore(self) -> Any:
        if self.store.dialect == "postgresql":
            return postgresql.insert(bank_entries).on_conflict_do_nothing(
                constraint="uq_bank_entries_bank_hash"
            )
        return sqlite.insert(bank_entries).on_conflict_do_nothing()

    def remove_entries(
        self,
        tenant_id: str,
        bank: str,
        *,
        ids: Sequence[int] = (),
        hashes: Sequence[tuple[str, str]] = (),
        actor: str = "cli",
    ) -> int:
        """Delete entries by id or by (algorithm, value); returns how many were removed."""
        with self.store._write() as conn:
            bank_id = self._require(conn, tenant_id, bank)["id"]
            conds: list[ColumnElement[bool]] = []
            if ids:
                conds.append(bank_entries.c.id.in_(list(ids)))
            for alg, value in hashes:
                a, v = check_hash(alg, value)
                conds.append(and_(bank_entries.c.algorithm == a, bank_entries.c.value == v))
            if not conds:
                return 0
            found = _entry_ids(conn, tenant_id, bank_id, or_(*conds))
            if not found:
                return 0
            conn.execute(delete(bank_entries).where(bank_entries.c.id.in_(found)))
            _changes(conn, tenant_id, bank_id, found, "remove")
            _audit(
                conn,
                tenant_id,
                "bank.entries_removed",
                actor=actor,
                detail={"bank": bank, "count": len(found), "ids": found[:100]},
            )
        return len(found)

    def set_state(
        self,
        tenant_id: str,
        bank: str,
        ids: Sequence[int],
        state: str,
        reason: str | None = None,
        *,
        actor: str = "cli",
    ) -> int:
        """Enable, disable or quarantine entries (a quarantine lifted by enabling again)."""
        if state not in STATES:
            raise BankError(f"entry state {state!r} is not one of {', '.join(STATES)}")
        with self.store._write() as conn:
            bank_id = self._require(conn, tenant_id, bank)["id"]
            found = _entry_ids(conn, tenant_id, bank_id, bank_entries.c.id.in_(list(ids)))
            if not found:
                return 0
            _set_state(conn, tenant_id, bank_id, found, state, reason)
            _audit(
                conn,
                tenant_id,
                f"bank.entries_{state}",
                actor=actor,
                detail={"bank": bank, "ids": found[:100], "count": len(found), "reason": reason},
            )
        return len(found)

    def entries(
        self,
        tenant_id: str,
        bank: str,
        *,
        state: str | None = None,
        batch: int = 5000,
        after: int = -1,
    ) -> Iterator[RowMapping]:
        """Every entry of a bank with an id above ``after``, in id order, read in batches (for
        export and listing)."""
        with self.store._read() as conn:
            bank_id = self._require(conn, tenant_id, bank)["id"]
        while True:
            q = (
                select(bank_entries)
                .where(
                    bank_entries.c.tenant_id == tenant_id,
                    bank_entries.c.bank_id == bank_id,
                    bank_entries.c.id > after,
                )
                .order_by(bank_entries.c.id)
                .limit(batch)
            )
            if state is not None:
                q = q.where(bank_entries.c.state == state)
            with self.store._read() as conn:
                rows = list(conn.execute(q).mappings())
            yield from rows
            if len(rows) < batch:
                return
            after = rows[-1]["id"]

    def entries_by_id(self, tenant_id: str, ids: Sequence[int]) -> dict[int, RowMapping]:
        """The entries with these ids, read 10,000 at a time (a replay after a large import asks
        for 100,000 at once; one query a bind parameter each would pass PostgreSQL's 65,535)."""
        out: dict[int, RowMapping] = {}
        ids = list(ids)
        for lo in range(0, len(ids), _ID_CHUNK):
            with self.store._read() as conn:
                out.update(
                    (r["id"], r)
                    for r in conn.execute(
                        select(bank_entries).where(
                            bank_entries.c.tenant_id == tenant_id,
                            bank_entries.c.id.in_(ids[lo : lo + _ID_CHUNK]),
                        )
                    ).mappings()
                )
        return out

    def lookup_exact(self, tenant_id: str, hashes: Sequence[tuple[str, str]]) -> list[RowMapping]:
        """Enabled entries equal to any of the (algorithm, value) pairs."""
        if not hashes:
            return []
        conds = [and_(bank_entries.c.algorithm == a, bank_entries.c.value == v) for a, v in hashes]
        with self.store._read() as conn:
            return list(
                conn.execute(
                    select(bank_entries).where(
                        bank_entries.c.tenant_id == tenant_id,
                        bank_entries.c.state == "enabled",
                        or_(*conds),
                    )
                ).mappings()
            )

    def pdq_entries(
        self, tenant_id: str, batch: int = 50_000
    ) -> Iterator[list[tuple[int, int, str]]]:
        """(entry id, bank id, hex) of every enabled PDQ entry, in batches."""
        after = -1
        while True:
            with self.store._read() as conn:
                rows = conn.execute(
                    select(bank_entries.c.id, bank_entries.c.bank_id, bank_entries.c.value)
                    .where(
                        bank_entries.c.tenant_id == tenant_id,
                        bank_entries.c.algorithm == "pdq",
                        bank_entries.c.state == "enabled",
                        bank_entries.c.id > after,
                    )
                    .order_by(bank_entries.c.id)
                    .limit(batch)
                ).all()
            if rows:
                yield [(r[0], r[1], r[2]) for r in rows]
            if len(rows) < batch:
                return
            after = rows[-1][0]

    def set_aside(self) -> dict[str, int]:
        """Entries of every tenant that are not matched: quarantined (pending review) and
        disabled (for the service's metrics; index seeks per bank and state, no scan)."""
        with self.store._read() as conn:
            ids = [r[0] for r in conn.execute(select(banks.c.id))]
            rows = (
                conn.execute(
                    select(bank_entries.c.state, func.count())
                    .where(
                        bank_entries.c.bank_id.in_(ids),
                        bank_entries.c.state.in_(["quarantined", "disabled"]),
                    )
                    .group_by(bank_entries.c.state)
                ).all()
                if ids
                else []
            )
        counts = {r[0]: int(r[1]) for r in rows}
        return {s: counts.get(s, 0) for s in ("quarantined", "disabled")}

    # ------------------------------------------------------------------ the change log

    def last_change(self, tenant_id: str) -> int:
        with self.store._read() as conn:
            return int(
                conn.execute(
                    select(func.max(bank_changes.c.seq)).where(
                        bank_changes.c.tenant_id == tenant_id
                    )
                ).scalar()
                or 0
            )

    def change_time(self, tenant_id: str, seq: int) -> float | None:
        """When change ``seq`` was made, or None if the log has no such change (a snapshot taken
        at ``seq`` belongs to this database only if this answers what the snapshot recorded)."""
        with self.store._read() as conn:
            value = conn.execute(
                select(bank_changes.c.created_at).where(
                    bank_changes.c.tenant_id == tenant_id, bank_changes.c.seq == seq
                )
            ).scalar()
        return None if value is None else float(value)

    def changes_since(self, tenant_id: str, seq: int, limit: int = 100_000) -> list[RowMapping]:
        with self.store._read() as conn:
            return list(
                conn.execute(
                    select(bank_changes)
                    .where(bank_changes.c.tenant_id == tenant_id, bank_changes.c.seq > seq)
                    .order_by(bank_changes.c.seq)
                    .limit(limit)
                ).mappings()
            )

    # ------------------------------------------------------------------ matches and floods

    def record_matches(self, tenant_id: str, entry_ids: Sequence[int]) -> list[RowMapping]:
        """Count one match for each entry; quarantine those past their bank's hourly flood limit.

        Returns the entries quarantined by this call (each with its bank's name).
        """
        if not entry_ids:
            return []
        now = _now()
        fresh = or_(
            bank_entries.c.window_start.is_(None),
            bank_entries.c.window_start < now - FLOOD_WINDOW,
        )
        ids = sorted(set(entry_ids))
        with self.store._write() as conn:
            conn.execute(
                update(bank_entries)
                .where(bank_entries.c.tenant_id == tenant_id, bank_entries.c.id.in_(ids))
                .values(
                    matches=bank_entries.c.matches + 1,
                    last_matched_at=now,
                    window_matches=case((fresh, 1), else_=bank_entries.c.window_matches + 1),
                    window_start=case((fresh, now), else_=bank_entries.c.window_start),
                )
            )
            flooded = list(
                conn.execute(
                    select(bank_entries, banks.c.name.label("bank"), banks.c.flood_limit)
                    .join(banks, banks.c.id == bank_entries.c.bank_id)
                    .where(
                        bank_entries.c.tenant_id == tenant_id,
                        bank_entries.c.id.in_(ids),
                        bank_entries.c.state == "enabled",
                        bank_entries.c.window_matches > banks.c.flood_limit,
                    )
                ).mappings()
            )
            for row in flooded:
                reason = (
                    f"matched {row['window_matches']} items within an hour, over the bank's "
                    f"flood limit of {row['flood_limit']}: set aside pending review"
                )
                _set_state(conn, tenant_id, row["bank_id"], [row["id"]], "quarantined", reason)
                _audit(
                    conn,
                    tenant_id,
                    "bank.entry_quarantined",
                    actor="winnow",
                    detail={
                        "bank": row["bank"],
                        "entry": row["id"],
                        "algorithm": row["algorithm"],
                        "value": row["value"],
                        "reason": reason,
                    },
                )
        return flooded

    def stats(self, tenant_id: str, bank: str, top: int = 10) -> dict[str, Any]:
        with self.store._read() as conn:
            row = self._require(conn, tenant_id, bank)
            by = conn.execute(
                select(bank_entries.c.algorithm, bank_entries.c.state, func.count())
                .where(bank_entries.c.bank_id == row["id"])
                .group_by(bank_entries.c.algorithm, bank_entries.c.state)
            ).all()
            # each read below is served by an index of its own (migration 0003), so stats of a
            # bank of ten million entries never read the entries themselves
            totals = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(bank_entries.c.matches), 0),
                    func.max(bank_entries.c.last_matched_at),
                ).where(bank_entries.c.bank_id == row["id"])
            ).one()
            newest = conn.execute(
                select(bank_entries.c.added_at)
                .where(bank_entries.c.bank_id == row["id"])
                .order_by(bank_entries.c.id.desc())
                .limit(1)
            ).scalar()
            busiest = list(
                conn.execute(
                    select(bank_entries)
                    .where(bank_entries.c.bank_id == row["id"], bank_entries.c.matches > 0)
                    .order_by(bank_entries.c.matches.desc(), bank_entries.c.id)
                    .limit(top)
                ).mappings()
            )
            quarantined = list(
                conn.execute(
                    select(bank_entries)
                    .where(
                        bank_entries.c.bank_id == row["id"], bank_entries.c.state == "quarantined"
                    )
                    .order_by(bank_entries.c.state_changed_at.desc())
                    .limit(100)
                ).mappings()
            )
        counts: dict[str, dict[str, int]] = {}
        for alg, state, n in by:
            counts.setdefault(alg, {})[state] = n
        return {
            "bank": dict(row),
            "entries": totals[0],
            "by_algorithm": counts,
            "matches": int(totals[1]),
            "last_added_at": newest,  # the newest entry's (as its source dated it)
            "last_matched_at": totals[2],
            "busiest": busiest,
            "quarantined": quarantined,
        }

    # ------------------------------------------------------------------ retroactive matching

    def past_scans_exact(
        self, tenant_id: str, algorithm: str, values: Sequence[str]
    ) -> list[RowMapping]:
        col = {"md5": scans.c.md5, "sha256": scans.c.sha256}[algorithm]
        out: list[RowMapping] = []
        for lo in range(0, len(values), 500):
            with self.store._read() as conn:
                out.extend(
                    conn.execute(
                        select(
                            scans.c.id,
                            scans.c.name,
                            scans.c.action,
                            scans.c.created_at,
                            col.label("value"),
                        ).where(
                            scans.c.tenant_id == tenant_id, col.in_(list(values[lo : lo + 500]))
                        )
                    ).mappings()
                )
        return out

    def past_pdq(self, tenant_id: str, batch: int = 50_000) -> Iterator[list[RowMapping]]:
        """(id, name, action, created_at, pdq) of every past scan with a PDQ hash, in batches,
        oldest first: keyset pages on (created_at, id), which the (tenant, created_at) index
        serves in order however many scans there are."""
        after: tuple[float, str] | None = None
        while True:
            q = (
                select(scans.c.id, scans.c.name, scans.c.action, scans.c.created_at, scans.c.pdq)
                .where(scans.c.tenant_id == tenant_id, scans.c.pdq.is_not(None))
                .order_by(scans.c.created_at, scans.c.id)
                .limit(batch)
            )
            if after is not None:
                q = q.where(
                    or_(
                        scans.c.created_at > after[0],
                        and_(scans.c.created_at == after[0], scans.c.id > after[1]),
                    )
                )
            with self.store._read() as conn:
                rows = list(conn.execute(q).mappings())
            if rows:
                yield rows
            if len(rows) < batch:
                return
            after = (rows[-1]["created_at"], rows[-1]["id"])


def _check_settings(
    kind: str,
    pdq_threshold: int,
    pdq_min_quality: int,
    flood_limit: int,
    suppresses: Sequence[str] | None,
) -> dict[str, Any]:
    if kind not in KINDS:
        raise BankError(f"bank kind {kind!r} is not one of {', '.join(KINDS)}")
    if not 0 <= pdq_threshold <= 128:
        raise BankError(f"pdq_threshold is {pdq_threshold}; it must be 0..128 bits (default 31)")
    if not 0 <= pdq_min_quality <= 100:
        raise BankError(f"pdq_min_quality is {pdq_min_quality}; it must be 0..100 (default 50)")
    if not 1 <= flood_limit <= MAX_FLOOD_LIMIT:
        raise BankError(
            f"flood_limit is {flood_limit}; it must be 1..{MAX_FLOOD_LIMIT:,} matches per hour"
        )
    if suppresses is not None and kind != "negative":
        raise BankError("only a negative bank suppresses other banks")
    return {
        "kind": kind,
        "pdq_threshold": pdq_threshold,
        "pdq_min_quality": pdq_min_quality,
        "flood_limit": flood_limit,
        "suppresses": dumps(sorted(suppresses)) if suppresses is not None else None,
    }


def _bank_row(conn: Connection, tenant_id: str, name: str) -> RowMapping | None:
    return (
        conn.execute(select(banks).where(banks.c.tenant_id == tenant_id, banks.c.name == name))
        .mappings()
        .first()
    )


def _entry_ids(
    conn: Connection, tenant_id: str, bank_id: int, cond: ColumnElement[bool]
) -> list[int]:
    """Ids of one bank's entries that meet ``cond``."""
    q = select(bank_entries.c.id).where(
        bank_entries.c.tenant_id == tenant_id, bank_entries.c.bank_id == bank_id, cond
    )
    return [r[0] for r in conn.execute(q)]


def _changes(
    conn: Connection,
    tenant_id: str,
    bank_id: int,
    entry_ids: Sequence[int | None],
    op: str,
) -> None:
    """Append to the change log that every process follows (entry None: the bank itself).

    On PostgreSQL, writers of the log take turns until they commit: sequence numbers are handed
    out at insert time, so two transactions could otherwise commit out of order, and a follower
    that had read the later one would never see the earlier. Reads are not blocked.
    """
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE bank_changes IN EXCLUSIVE MODE"))
    now = _now()
    conn.execute(
        insert(bank_changes),
        [
            {"tenant_id": tenant_id, "bank_id": bank_id, "entry_id": i, "op": op, "created_at": now}
            for i in entry_ids
        ],
    )


def _set_state(
    conn: Connection,
    tenant_id: str,
    bank_id: int,
    ids: Sequence[int],
    state: str,
    reason: str | None,
) -> None:
    now = _now()
    values: dict[str, Any] = {"state": state, "state_reason": reason, "state_changed_at": now}
    if state == "enabled":  # a fresh start for the flood window
        values.update(window_start=None, window_matches=0)
    conn.execute(
        update(bank_entries)
        .where(bank_entries.c.tenant_id == tenant_id, bank_entries.c.id.in_(list(ids)))
        .values(**values)
    )
    _changes(conn, tenant_id, bank_id, ids, "enable" if state == "enabled" else "disable")
