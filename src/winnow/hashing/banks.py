"""Matching content hashes against a tenant's banks, following bank changes within a second.

:class:`BankMatcher` holds one tenant's PDQ entries in a :class:`HammingIndex` and looks MD5 and
SHA-256 up in the database (an indexed equality lookup: always current). It follows the
database's bank change log, polled at most once per ``refresh_interval`` seconds on the lookup
path: an added entry goes to the index's delta, a removed or disabled one to its removal set, so
a change reaches lookups within about a second and no lookup ever waits for a rebuild. When the
delta grows past ``compact_at`` entries, a background thread folds it into new segments.

A PDQ lookup tries the content's hash and its seven dihedral transforms (rotations and mirrors)
in one batch, at the largest threshold of any bank, then applies each bank's own threshold and
minimum quality. Then:

- a *negative* bank's match suppresses the matches of the banks it names (all other banks if it
  names none); suppressed matches stay in the verdict with the negative bank's name;
- every matched entry's count goes up; one matching more than its bank's ``flood_limit`` items
  within an hour is quarantined (disabled pending review, audited, listed by ``winnow bank
  stats``) — a wrongly listed common image cannot block a platform's uploads for long.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from winnow.errors import IndexFileError
from winnow.hashing.index import HammingIndex
from winnow.store.banks import BankStore
from winnow.types import ContentHash, HashMatch

#: PDQ's dihedral hashes, in the order ``_pdq.dihedral`` returns them: the transform that,
#: applied to the content, gives the image that matched.
TRANSFORMS: tuple[str | None, ...] = (
    None,
    "rotate_90_ccw",
    "rotate_180",
    "rotate_90_cw",
    "flip_top_bottom",
    "mirror",
    "transpose",
    "transverse",
)
_ENTRY_BITS = 40  # index keys are bank id << 40 | entry id
SNAPSHOT_FORMAT = "winnow-bank-index/1"
log = logging.getLogger("winnow.banks")


def index_key(bank_id: int, entry_id: int) -> int:
    return (bank_id << _ENTRY_BITS) | entry_id


def split_key(key: int) -> tuple[int, int]:
    return key >> _ENTRY_BITS, key & ((1 << _ENTRY_BITS) - 1)


@dataclass(frozen=True, slots=True)
class Bank:
    id: int
    name: str
    kind: str
    pdq_threshold: int
    pdq_min_quality: int
    suppresses: frozenset[str] | None

    @classmethod
    def from_row(cls, row: Any) -> Bank:
        sup = row["suppresses"]
        return cls(
            row["id"],
            row["name"],
            row["kind"],
            row["pdq_threshold"],
            row["pdq_min_quality"],
            frozenset(orjson.loads(sup)) if sup else None,
        )


@dataclass(slots=True)
class MatchResult:
    matches: list[HashMatch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class BankMatcher:
    """One tenant's banks, ready for lookups; safe to share between threads.

    With ``snapshot_dir``, the PDQ index is kept on disk as ``<tenant id>.wnidx`` together with
    the change-log position it reflects: a new process loads it (a quarter of a second at ten
    million entries, against tens of seconds to read them from the database) and replays only
    the changes made since. A snapshot is written in the background after the index is first
    built, after each compaction, and by :meth:`close`; one that does not belong to this
    database (its recorded change is not in the log) is ignored and rebuilt.
    """

    def __init__(
        self,
        banks: BankStore,
        tenant_id: str,
        *,
        refresh_interval: float = 1.0,
        compact_at: int = 50_000,
        threads: int = 1,
        snapshot_dir: Path | None = None,
        snapshot_min_entries: int = 10_000,
    ) -> None:
        self.store = banks
        self.tenant_id = tenant_id
        self.refresh_interval = refresh_interval
        self.compact_at = compact_at
        self.index = HammingIndex(threads)
        self.banks: dict[int, Bank] = {}
        self.seq = 0
        self.snapshot_dir = snapshot_dir
        self.snapshot_min_entries = snapshot_min_entries
        self.loaded_from: str | None = None  # "snapshot" or "database", once the index is read
        self._saved_seq: int | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._saving = threading.Lock()
        self._upkeep: list[threading.Thread] = []
        self._loaded = False
        self._banks_read = False

    @property
    def snapshot_path(self) -> Path | None:
        if self.snapshot_dir is None:
            return None
        return self.snapshot_dir / f"{self.tenant_id}.wnidx"

    # ------------------------------------------------------------------ following the database

    def load(self) -> None:
        """Read the PDQ index (once; later changes follow): from the snapshot if there is a good
        one, then the changes since; else every enabled PDQ entry from the database."""
        with self._lock:
            if self._loaded:
                return
            snap = self._read_snapshot()
            if snap is not None:
                self.index = snap
                self.seq = int(snap.meta["seq"])
                self._saved_seq = self.seq
                self.banks = self._read_banks()
                self._loaded = True
                self.loaded_from = "snapshot"
                self._follow()
            else:
                self.seq = self.store.last_change(self.tenant_id)  # before the read: none missed
                self.banks = self._read_banks()
                hashes: list[bytes] = []
                keys: list[int] = []
                for batch in self.store.pdq_entries(self.tenant_id):
                    for entry_id, bank_id, value in batch:
                        hashes.append(bytes.fromhex(value))
                        keys.append(index_key(bank_id, entry_id))
                self.index = HammingIndex.build(b"".join(hashes), keys, threads=self.index.threads)
                self._loaded = True
                self.loaded_from = "database"
            self._checked = time.monotonic()
        if snap is None:
            self._in_background(self.save_snapshot)

    def refresh(self, *, force: bool = False, pdq: bool = True) -> None:
        """Apply the bank changes committed since the last look (at most once a second).

        The PDQ index is read on the first lookup that needs it (``pdq``); until then only the
        banks themselves are followed, so text-only traffic never waits for a large bank to load.
        """
        if not self._loaded:
            if pdq:
                self.load()
                return
            if not self._banks_read:
                with self._lock:
                    self.seq = self.store.last_change(self.tenant_id)
                    self.banks = self._read_banks()
                    self._checked = time.monotonic()
                    self._banks_read = True
                return
        now = time.monotonic()
        if not force and now - self._checked < self.refresh_interval:
            return
        with self._lock:
            if not force and now - self._checked < self.refresh_interval:
                return
            self._checked = now
            self._follow()
        if self.index.delta_size >= self.compact_at:
            self._in_background(self._compact_and_save)

    def _follow(self) -> None:
        """Apply every change after ``seq`` (the caller holds the lock)."""
        changes = self.store.changes_since(self.tenant_id, self.seq)
        while changes:
            self._apply(changes)
            self.seq = changes[-1]["seq"]
            changes = self.store.changes_since(self.tenant_id, self.seq)

    # ------------------------------------------------------------------ snapshots

    def save_snapshot(self) -> bool:
        """Write the index and the change it reflects to ``snapshot_path`` (atomically); False
        when there is nothing to write: no directory set, a small index, or no change since."""
        path = self.snapshot_path
        if path is None or not self._loaded:
            return False
        with self._saving:
            with self._lock:  # the index as of exactly self.seq
                seq = self.seq
                snap = self.index.snapshot()
            if seq == self._saved_seq or len(snap) < self.snapshot_min_entries:
                return False
            meta = {
                "format": SNAPSHOT_FORMAT,
                "tenant_id": self.tenant_id,
                "seq": seq,
                "seq_at": self.store.change_time(self.tenant_id, seq),
            }
            path.parent.mkdir(parents=True, exist_ok=True)
            snap.save(path, meta)
            self._saved_seq = seq
            return True

    def _read_snapshot(self) -> HammingIndex | None:
        path = self.snapshot_path
        if path is None or not path.exists():
            return None
        try:
            snap = HammingIndex.load(path, threads=self.index.threads)
        except (IndexFileError, OSError, ValueError) as exc:
            log.warning("bank index snapshot %s is unusable (%s): rebuilding it", path, exc)
            return None
        meta = snap.meta
        if (
            meta.get("format") != SNAPSHOT_FORMAT
            or meta.get("tenant_id") != self.tenant_id
            or not isinstance(meta.get("seq"), int)
            or self.store.change_time(self.tenant_id, meta["seq"]) != meta.get("seq_at")
        ):
            log.warning(
                "bank index snapshot %s belongs to another database or tenant: rebuilding it", path
            )
            return None
        return snap

    def _compact_and_save(self) -> None:
        self.index.compact()
        self.save_snapshot()

    def _in_background(self, work: Callable[[], object]) -> None:
        def run() -> None:
            try:
                work()
            except Exception:  # a full disk must not take lookups down; the log says why
                log.exception("bank index upkeep failed for tenant %s", self.tenant_id)

        thread = threading.Thread(target=run, name="bank-index-upkeep", daemon=True)
        with self._lock:
            self._upkeep = [t for t in self._upkeep if t.is_alive()] + [thread]
        thread.start()

    def close(self) -> None:
        """Wait for background upkeep, then save a snapshot if the index moved since the last
        one (on a clean shutdown)."""
        with self._lock:
            upkeep = list(self._upkeep)
        for t in upkeep:
            t.join()
        try:
            self.save_snapshot()
        except Exception:
            log.exception("could not save the bank index snapshot for tenant %s", self.tenant_id)

    def _read_banks(self) -> dict[int, Bank]:
        return {i: Bank.from_row(r) for i, r in self.store.banks_by_id(self.tenant_id).items()}

    def _apply(self, changes: Sequence[Any]) -> None:
        if any(c["entry_id"] is None for c in changes):
            self.banks = self._read_banks()
        if not self._loaded:  # load() will read the entries as they are then
            return
        gone = [
            index_key(c["bank_id"], c["entry_id"])
            for c in changes
            if c["op"] in ("remove", "disable") and c["entry_id"] is not None
        ]
        came = [c["entry_id"] for c in changes if c["op"] in ("add", "enable")]
        self.index.remove(gone)
        if came:
            rows = self.store.entries_by_id(self.tenant_id, came)
            fresh = [
                r for r in rows.values() if r["algorithm"] == "pdq" and r["state"] == "enabled"
            ]
            self.index.add(
                [bytes.fromhex(r["value"]) for r in fresh],
                [index_key(r["bank_id"], r["id"]) for r in fresh],
            )

    # ------------------------------------------------------------------ lookups

    def match(
        self,
        hashes: Sequence[ContentHash],
        dihedral: Mapping[int | None, bytes] | None = None,
        *,
        record: bool = True,
    ) -> MatchResult:
        """Every bank entry the content matches, with suppressions applied; counts the matches
        (and quarantines flooding entries) unless ``record`` is False."""
        self.refresh(pdq=any(h.algorithm == "pdq" for h in hashes))
        result = MatchResult()
        banks = self.banks
        if not banks:
            return result
        found: dict[int, HashMatch] = {}  # entry id -> closest match
        exact = [(h.algorithm, h.value) for h in hashes if h.algorithm in ("md5", "sha256")]
        for row in self.store.lookup_exact(self.tenant_id, exact):
            bank = banks.get(row["bank_id"])
            if bank is not None:
                found[row["id"]] = _hash_match(bank, row["id"], row["algorithm"], 0, 0)
        radius = max(b.pdq_threshold for b in banks.values())
        for h in hashes:
            if h.algorithm != "pdq":
                continue
            quality = h.quality if h.quality is not None else 100
            variants = (dihedral or {}).get(h.frame) if h.variant is None else None
            queries = (
                [variants[i : i + 32] for i in range(0, len(variants), 32)]
                if variants
                else [bytes.fromhex(h.value)]
            )
            skipped: dict[str, Bank] = {}
            for t, (near, past) in enumerate(self.index.search(queries, radius)):
                if past:
                    result.notes.append(
                        f"PDQ lookup: {past:,} more bank entries matched past the per-lookup cap"
                    )
                for m in near:
                    bank_id, entry_id = split_key(m.key)
                    bank = banks.get(bank_id)
                    if bank is None or m.distance > bank.pdq_threshold:
                        continue
                    if quality < bank.pdq_min_quality:
                        skipped[bank.name] = bank
                        continue
                    old = found.get(entry_id)
                    if old is None or m.distance < old.distance:
                        found[entry_id] = _hash_match(
                            bank,
                            entry_id,
                            "pdq",
                            m.distance,
                            bank.pdq_threshold,
                            TRANSFORMS[t] if variants else h.variant,
                            h.frame,
                        )
            for name, bank in sorted(skipped.items()):
                result.notes.append(
                    f"PDQ quality {quality} is under bank {name!r}'s minimum of "
                    f"{bank.pdq_min_quality}: its near matches were not used"
                )
        if not found:
            return result
        rows = self.store.entries_by_id(self.tenant_id, list(found))
        matches: list[HashMatch] = []
        for entry_id, hm in found.items():
            entry = rows.get(entry_id)
            if entry is None or entry["state"] != "enabled":  # changed since the index looked
                continue
            matches.append(
                dataclasses.replace(
                    hm,
                    labels=tuple(orjson.loads(entry["labels"])),
                    value=entry["value"],
                    source=entry["source"],
                )
            )
        matches = _suppress(matches, banks)
        matches.sort(key=lambda m: (m.suppressed_by is not None, m.distance, m.bank, m.entry_id))
        result.matches = matches
        if record and matches:
            for row in self.store.record_matches(
                self.tenant_id, [int(m.entry_id) for m in matches]
            ):
                result.notes.append(
                    f"bank {row['bank']!r} entry {row['id']} was quarantined: it matched "
                    f"{row['window_matches']} items within an hour (flood limit "
                    f"{row['flood_limit']}); it is set aside until someone reviews it"
                )
        return result


def _hash_match(
    bank: Bank,
    entry_id: int,
    algorithm: str,
    distance: int,
    threshold: int,
    transform: str | None = None,
    frame: int | None = None,
) -> HashMatch:
    return HashMatch(
        bank=bank.name,
        entry_id=str(entry_id),
        algorithm=algorithm,
        distance=distance,
        threshold=threshold,
        kind=bank.kind,
        transform=transform,
        frame=frame,
    )


def _suppress(matches: list[HashMatch], banks: Mapping[int, Bank]) -> list[HashMatch]:
    """Set aside the matches a negative bank's match cancels (never another negative bank's)."""
    by_name = {b.name: b for b in banks.values()}
    negatives = [m for m in matches if m.kind == "negative"]
    if not negatives:
        return matches
    out = []
    for m in matches:
        if m.kind != "negative":
            for n in negatives:
                sup = by_name[n.bank].suppresses
                if sup is None or m.bank in sup:
                    m = dataclasses.replace(m, suppressed_by=n.bank)
                    break
        out.append(m)
    return out
