"""Reading and writing hash lists in the formats hash-sharing exchanges use.

- ``jsonl``: Winnow's own, one JSON object per line:
  ``{"algorithm": "pdq", "value": "<hex>", "labels": [...], "source": "...", "added_at": "...",
  "state": "enabled", "note": "..."}`` (export adds ``id``, ``bank`` and match counts).
- ``threatexchange``: python-threatexchange's signal files. Its ``dataset -P`` text output
  (``<signal_type> <signal> ['<collab>'] <metadata>``), its ``--csv`` output (header
  ``signal_type,signal_str,collab,category,tags``), and its ``simple.<type>.te`` dataset files
  (CSV rows ``<id>,<signal>,...``: the type comes from the file name or ``--algorithm``).
  Signal types: ``pdq``, ``video_md5`` and ``md5`` (MD5), ``sha256``.
- ``csv``: GIFCT-style CSV: hash type, hash, labels. A header row naming the columns is used when
  present (``hash_type``/``type``/``signal_type``, ``hash``/``value``/``signal_str``,
  ``labels``/``tags``/``category``); without one, the columns are taken in that order. Labels are
  separated by ``;``, ``|`` or spaces.
- ``hex``: plain lists, one hex hash per line (extra comma-separated fields ignored); 32 digits
  are MD5, 64 digits need ``--algorithm`` (pdq or sha256).

A malformed row never stops an import: it is reported with its line number and the rest load.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from winnow.errors import BankError
from winnow.store.banks import NewEntry, check_hash

FORMATS = ("jsonl", "threatexchange", "csv", "hex")
_TX_TYPES = {"pdq": "pdq", "video_md5": "md5", "md5": "md5", "sha256": "sha256", "photo_md5": "md5"}
_TX_OUT = {"pdq": "pdq", "md5": "video_md5", "sha256": "sha256"}
_SPLIT_LABELS = re.compile(r"[;|\s]+")


@dataclass(frozen=True, slots=True)
class RowProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(slots=True)
class Parsed:
    entries: list[NewEntry] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)


def detect_format(name: str, head: str) -> str:
    """A best guess from the file name and its first line, for ``--format auto``."""
    lower = name.lower()
    first = head.strip().splitlines()[0] if head.strip() else ""
    if lower.endswith((".jsonl", ".ndjson")) or first.startswith("{"):
        return "jsonl"
    if lower.endswith(".te") or first.lower().startswith("signal_type,"):
        return "threatexchange"
    if re.match(r"^(pdq|video_md5|md5|sha256|photo_md5) [0-9a-fA-F]+", first):
        return "threatexchange"
    if "," in first and not re.match(r"^[0-9a-fA-F]{32,64}\s*(,|$)", first):
        return "csv"
    return "hex"


def parse(
    text: TextIO,
    fmt: str,
    *,
    algorithm: str | None = None,
    source: str = "",
    extra_labels: Iterable[str] = (),
    name: str = "",
) -> Parsed:
    """Entries and per-line problems from a hash list."""
    if fmt not in FORMATS:
        raise BankError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    out = Parsed()
    extra = tuple(extra_labels)
    rows = {"jsonl": _jsonl, "threatexchange": _tx, "csv": _csv, "hex": _hex}[fmt]
    for line, item in rows(text, algorithm, name):
        if isinstance(item, str):
            out.problems.append(RowProblem(line, item))
            continue
        alg, value, labels, meta = item
        try:
            alg, value = check_hash(alg, value)
        except BankError as exc:
            out.problems.append(RowProblem(line, exc.message))
            continue
        out.entries.append(
            NewEntry(
                alg,
                value,
                labels=tuple(dict.fromkeys((*labels, *extra))),
                source=str(meta.get("source") or source),
                note=meta.get("note"),
                added_at=meta.get("added_at"),
                enabled=meta.get("enabled", True),
            )
        )
    return out


_Row = Iterator[tuple[int, "tuple[str, str, tuple[str, ...], dict[str, Any]] | str"]]


def _lines(text: TextIO) -> Iterator[tuple[int, str]]:
    for n, raw in enumerate(text, 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield n, line


def _jsonl(text: TextIO, algorithm: str | None, name: str) -> _Row:
    for n, line in _lines(text):
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, f"not JSON: {exc.msg} at column {exc.colno}"
            continue
        if not isinstance(obj, dict):
            yield n, "each line must be a JSON object"
            continue
        alg = obj.get("algorithm") or algorithm
        value = obj.get("value")
        if not isinstance(alg, str) or not isinstance(value, str):
            yield n, "needs string fields 'algorithm' and 'value'"
            continue
        labels = obj.get("labels", [])
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            yield n, "'labels' must be a list of strings"
            continue
        meta: dict[str, Any] = {}
        if isinstance(obj.get("source"), str):
            meta["source"] = obj["source"]
        if isinstance(obj.get("note"), str):
            meta["note"] = obj["note"]
        if obj.get("added_at") is not None:
            try:
                meta["added_at"] = _timestamp(obj["added_at"])
            except ValueError:
                yield n, f"'added_at' {obj['added_at']!r} is not an ISO 8601 time"
                continue
        if obj.get("state") is not None:
            if obj["state"] not in ("enabled", "disabled", "quarantined"):
                yield n, f"'state' {obj['state']!r} is not enabled, disabled or quarantined"
                continue
            meta["enabled"] = obj["state"] == "enabled"
        yield n, (alg, value, tuple(labels), meta)


def _tx(text: TextIO, algorithm: str | None, name: str) -> _Row:
    file_type = None
    m = re.search(r"simple\.([a-z0-9_]+)\.te$", name)
    if m:
        file_type = m.group(1)
    lines = list(_lines(text))
    if lines and lines[0][1].lower().startswith("signal_type,"):
        yield from _tx_csv(lines)
        return
    for n, line in lines:
        first = line.split(" ", 1)[0]
        if first in _TX_TYPES:  # `threatexchange dataset -P` output
            parts = line.split(" ", 2)
            if len(parts) < 2:
                yield n, "expected '<signal_type> <signal>'"
                continue
            labels = _tx_labels(parts[2]) if len(parts) > 2 else ()
            yield n, (_TX_TYPES[first], parts[1], labels, {})
            continue
        row = next(csv.reader([line]))  # a simple.<type>.te row: id, signal, metadata...
        kind = file_type or algorithm
        if len(row) < 2 or kind is None:
            yield n, "expected '<signal_type> <signal>' or a simple.<type>.te row '<id>,<signal>'"
            continue
        alg = _TX_TYPES.get(kind, kind)
        yield n, (alg, row[1], tuple(x for x in row[2:] if x and not x.isdigit()), {})


def _tx_csv(lines: list[tuple[int, str]]) -> _Row:
    reader = csv.DictReader(io.StringIO("\n".join(line for _, line in lines)))
    for (n, _), row in zip(lines[1:], reader, strict=False):
        kind = (row.get("signal_type") or "").strip()
        if kind not in _TX_TYPES:
            yield n, f"signal_type {kind!r} is not one Winnow matches ({', '.join(_TX_TYPES)})"
            continue
        labels = [x for x in _SPLIT_LABELS.split(row.get("tags") or "") if x]
        if row.get("category"):
            labels.insert(0, row["category"].strip())
        meta = {"source": row["collab"]} if row.get("collab") else {}
        yield n, (_TX_TYPES[kind], row.get("signal_str") or "", tuple(labels), meta)


def _tx_labels(rest: str) -> tuple[str, ...]:
    """Tags from the metadata part of a ``dataset -P`` line (a collab name in quotes first)."""
    rest = re.sub(r"^'[^']*'\s*", "", rest.strip())
    return tuple(t for t in re.findall(r"[A-Za-z0-9_\-]+", rest)[:20])


_HEADER_NAMES = {
    "algorithm": ("hash_type", "type", "signal_type", "algorithm", "hash type"),
    "value": ("hash", "value", "signal_str", "hash_value", "signal"),
    "labels": ("labels", "tags", "category", "label", "categories"),
}


def _csv(text: TextIO, algorithm: str | None, name: str) -> _Row:
    lines = list(_lines(text))
    if not lines:
        return
    first = next(csv.reader([lines[0][1]]))
    lowered = [c.strip().lower() for c in first]
    cols: dict[str, int] = {}
    for key, names in _HEADER_NAMES.items():
        for i, c in enumerate(lowered):
            if c in names and key not in cols:
                cols[key] = i
    body = lines[1:] if "value" in cols else lines
    if "value" not in cols:
        cols = {"algorithm": 0, "value": 1, "labels": 2}
    for n, line in body:
        row = next(csv.reader([line]))
        if len(row) <= cols["value"]:
            yield n, f"expected at least {cols['value'] + 1} columns, got {len(row)}"
            continue
        alg = (
            row[cols["algorithm"]].strip()
            if "algorithm" in cols and cols["algorithm"] < len(row)
            else algorithm
        )
        if not alg:
            yield n, "no hash type in this row (pass --algorithm)"
            continue
        alg = _TX_TYPES.get(alg.strip().lower(), alg)
        labels_raw = row[cols["labels"]] if "labels" in cols and cols["labels"] < len(row) else ""
        labels = tuple(x for x in _SPLIT_LABELS.split(labels_raw) if x)
        yield n, (alg, row[cols["value"]], labels, {})


def _hex(text: TextIO, algorithm: str | None, name: str) -> _Row:
    for n, line in _lines(text):
        value = line.split(",", 1)[0].strip()
        alg = algorithm
        if alg is None:
            if len(value) == 32:
                alg = "md5"
            else:
                yield (
                    n,
                    (
                        f"a {len(value)}-digit hash is ambiguous: pass --algorithm (pdq or sha256)"
                        if len(value) == 64
                        else f"{value[:80]!r} is not a 32- or 64-digit hex hash"
                    ),
                )
                continue
        yield n, (alg, value, (), {})


def _timestamp(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.timestamp()


def _iso(ts: float | None) -> str | None:
    return (
        None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")
    )


def write(rows: Iterable[Any], fmt: str, out: TextIO, bank: str, *, header: bool = True) -> int:
    """Write entries (bank_entries rows) in ``fmt``; returns how many were written. ``header``:
    the CSV formats' first line (off for the later parts of a file written piece by piece)."""
    if fmt not in FORMATS:
        raise BankError(f"format {fmt!r} is not one of {', '.join(FORMATS)}")
    n = 0
    writer = csv.writer(out, lineterminator="\n")
    if header and fmt == "csv":
        writer.writerow(["hash_type", "hash", "labels"])
    elif header and fmt == "threatexchange":
        writer.writerow(["signal_type", "signal_str", "collab", "category", "tags"])
    for r in rows:
        labels = json.loads(r["labels"])
        if fmt == "jsonl":
            out.write(
                json.dumps(
                    {
                        "id": r["id"],
                        "bank": bank,
                        "algorithm": r["algorithm"],
                        "value": r["value"],
                        "labels": labels,
                        "source": r["source"],
                        "note": r["note"],
                        "added_at": _iso(r["added_at"]),
                        "state": r["state"],
                        "state_reason": r["state_reason"],
                        "matches": r["matches"],
                        "last_matched_at": _iso(r["last_matched_at"]),
                    },
                    ensure_ascii=False,
                )
                + "\n"
            )
        elif fmt == "csv":
            writer.writerow([r["algorithm"], r["value"], ";".join(labels)])
        elif fmt == "threatexchange":
            writer.writerow(
                [_TX_OUT[r["algorithm"]], r["value"], r["source"] or bank, "", " ".join(labels)]
            )
        else:
            out.write(r["value"] + "\n")
        n += 1
    return n
