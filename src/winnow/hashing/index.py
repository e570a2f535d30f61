"""An exact Hamming-radius index of 256-bit hashes (PDQ) that takes changes while it serves.

:class:`HammingIndex` answers "every entry within distance r of this hash", always exactly: the
compiled core (``winnow._hamming``, multi-index hashing; see its header) never approximates.
Entries are identified by 64-bit keys chosen by the caller.

It is built for a bank that changes while lookups run:

- **segments**: immutable compiled indexes (at most 2^24 - 1 rows each);
- **delta**: entries added since the last compaction, scanned in full (a few thousand rows cost
  microseconds), rebuilt lazily on the first lookup after a change;
- **removed**: keys removed or disabled since, filtered out of results.

So an :meth:`add` or :meth:`remove` is visible to the next lookup, and :meth:`compact` (run in the
background when the delta grows) builds new segments from a snapshot while lookups go on against
the old ones, then swaps them in under a lock held only for the swap.

Saved in an explicit binary format (no pickle): a header, a JSON metadata block, each
segment's arrays as they lie in memory (the delta written as one more segment), then the removed
keys. Loading reads them straight into the index's buffers. Saving never rebuilds: a
:meth:`snapshot` taken under the lock is written while lookups and changes go on.
"""

from __future__ import annotations

import json
import math
import os
import struct
import sys
import tempfile
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
import numpy.typing as npt

from winnow import _hamming
from winnow.errors import IndexFileError

MAGIC = b"WNHAMIDX"
VERSION = 2  # 2: removed keys after the segments
HASH_BYTES = 32
#: Below this many rows, scanning every row is as fast as the tables and needs no memory.
SCAN_ONLY_BELOW = 20_000
#: The radius the tables are laid out for (PDQ's customary match threshold). Larger radii are
#: still exact, only slower.
DESIGN_RADIUS = 31
_HEADER = struct.Struct("<8sIIQ")  # magic, version, byte-order mark, metadata length
_SEGMENT = struct.Struct("<QI")  # rows, tables


@dataclass(frozen=True, slots=True)
class Match:
    key: int
    distance: int


def choose_widths(n: int, radius: int = DESIGN_RADIUS) -> tuple[int, ...]:
    """Table widths (bits, summing to 256) for ``n`` rows, or () to scan every row.

    Cost model: each table probes every value within ``radius // m`` bits of the query's chunk
    (one cache miss each) and checks every row in those buckets (one miss each). The offsets
    arrays (4 bytes per bucket) may use at most 16 bytes per row plus 16 MiB in all.
    """
    if n < SCAN_ONLY_BELOW:
        return ()
    best: tuple[float, tuple[int, ...]] | None = None
    for m in range(8, 65):
        s = radius // m
        if s > 3:
            continue
        widths = _split(256, m)
        if max(widths) > 24:
            continue
        if sum(4 << w for w in widths) > 16 * n + (16 << 20):
            continue
        cost = sum(_probes(w, s) * (1.0 + n / (1 << w)) for w in widths)
        if best is None or cost < best[0]:
            best = (cost, widths)
    return best[1] if best else ()


def _split(total: int, parts: int) -> tuple[int, ...]:
    q, r = divmod(total, parts)
    return tuple([q + 1] * r + [q] * (parts - r))


def _probes(width: int, s: int) -> int:
    return sum(math.comb(width, i) for i in range(s + 1))


def _segment(hashes: bytes, keys: npt.NDArray[np.int64]) -> Any:
    n = len(keys)
    ix = _hamming.Index(n, choose_widths(n))
    ix.build(hashes, np.ascontiguousarray(keys, dtype=np.int64).tobytes())
    return ix


class HammingIndex:
    """Exact radius search over 256-bit hashes, with adds and removals visible at once."""

    def __init__(self, threads: int = 1) -> None:
        self.threads = threads
        self._segments: list[Any] = []
        self._delta_hashes: list[bytes] = []
        self._delta_keys: list[int] = []
        self._delta_index: Any = None
        self._removed: set[int] = set()
        self._lock = threading.Lock()  # guards the fields above; held briefly, never for a build
        self._compacting = threading.Lock()
        self.meta: dict[str, Any] = {}

    # ------------------------------------------------------------------ building

    @classmethod
    def build(
        cls, hashes: bytes, keys: npt.ArrayLike, *, threads: int = 1, max_rows: int | None = None
    ) -> HammingIndex:
        """An index of ``len(keys)`` hashes (``hashes`` is 32 bytes each, in key order)."""
        k = np.ascontiguousarray(keys, dtype=np.int64)
        if len(hashes) != HASH_BYTES * len(k):
            raise ValueError(f"{len(k)} keys need {HASH_BYTES * len(k)} bytes of hashes")
        self = cls(threads)
        step = max_rows or _hamming.MAX_ROWS
        for lo in range(0, len(k), step):
            hi = min(len(k), lo + step)
            self._segments.append(_segment(hashes[lo * HASH_BYTES : hi * HASH_BYTES], k[lo:hi]))
        return self

    def add(self, hashes: Sequence[bytes], keys: Sequence[int]) -> None:
        """Add entries; the next lookup sees them."""
        for h in hashes:
            if len(h) != HASH_BYTES:
                raise ValueError(f"a hash is {HASH_BYTES} bytes, not {len(h)}")
        with self._lock:
            self._delta_hashes.extend(hashes)
            self._delta_keys.extend(int(k) for k in keys)
            self._removed.difference_update(int(k) for k in keys)
            self._delta_index = None

    def remove(self, keys: Iterable[int]) -> None:
        """Remove (or disable) entries; the next lookup no longer returns them."""
        with self._lock:
            self._removed.update(int(k) for k in keys)

    def snapshot(self) -> HammingIndex:
        """A frozen copy of what lookups see now, for saving: the immutable segments are shared,
        the delta and removals copied (cheap: both are small between compactions)."""
        copy = HammingIndex(self.threads)
        with self._lock:
            copy._segments = list(self._segments)
            copy._delta_hashes = list(self._delta_hashes)
            copy._delta_keys = list(self._delta_keys)
            copy._removed = set(self._removed)
        copy.meta = dict(self.meta)
        return copy

    @property
    def delta_size(self) -> int:
        return len(self._delta_keys)

    def __len__(self) -> int:
        """Rows held, including removed ones not yet compacted away."""
        return int(sum(s.n for s in self._segments)) + len(self._delta_keys)

    @property
    def nbytes(self) -> int:
        """Memory held by the compiled arrays (the delta's Python lists not counted)."""
        delta = self._delta_index.nbytes if self._delta_index is not None else 0
        return int(sum(s.nbytes for s in self._segments)) + int(delta)

    def compact(self) -> None:
        """Fold the delta and removals into new segments; lookups go on meanwhile."""
        with self._compacting:
            with self._lock:
                segments = list(self._segments)
                delta_h = list(self._delta_hashes)
                delta_k = list(self._delta_keys)
                removed = set(self._removed)
            if not delta_k and not removed:
                return
            gone = np.fromiter(removed, np.int64, len(removed))
            parts_h: list[bytes] = []
            parts_k: list[npt.NDArray[np.int64]] = []
            for seg in segments:
                keys = np.frombuffer(seg.buffers()[1], dtype=np.int64).copy()
                h = np.frombuffer(seg.hashes(), dtype=np.uint8).reshape(-1, HASH_BYTES)
                keep = ~np.isin(keys, gone)
                parts_h.append(h[keep].tobytes())
                parts_k.append(keys[keep])
            dk = np.asarray(delta_k, dtype=np.int64)
            dkeep = ~np.isin(dk, gone)
            parts_h.append(b"".join(h for h, ok in zip(delta_h, dkeep, strict=True) if ok))
            parts_k.append(dk[dkeep])
            fresh = HammingIndex.build(b"".join(parts_h), np.concatenate(parts_k))
            with self._lock:
                self._segments = fresh._segments
                # what arrived during the build stays pending
                self._delta_hashes = self._delta_hashes[len(delta_h) :]
                self._delta_keys = self._delta_keys[len(delta_k) :]
                self._delta_index = None
                self._removed -= removed

    # ------------------------------------------------------------------ lookups

    def search(
        self, queries: Sequence[bytes], radius: int, *, limit: int = 10_000
    ) -> list[tuple[list[Match], int]]:
        """Every entry within ``radius`` of each query: (matches, how many past ``limit``)."""
        for q in queries:
            if len(q) != HASH_BYTES:
                raise ValueError(f"a query hash is {HASH_BYTES} bytes, not {len(q)}")
        with self._lock:
            segments = list(self._segments)
            if self._delta_index is None and self._delta_keys:
                ix = _hamming.Index(len(self._delta_keys), ())
                ix.build(
                    b"".join(self._delta_hashes),
                    np.asarray(self._delta_keys, dtype=np.int64).tobytes(),
                )
                self._delta_index = ix
            if self._delta_index is not None:
                segments.append(self._delta_index)
            removed = frozenset(self._removed) if self._removed else frozenset()
        out: list[tuple[list[Match], int]] = [([], 0) for _ in queries]
        if not queries:
            return out
        blob = b"".join(queries)
        for seg in segments:
            counts_b, keys_b, dists_b, over_b = seg.search(blob, radius, limit, self.threads)
            counts = np.frombuffer(counts_b, dtype=np.uint32)
            keys = np.frombuffer(keys_b, dtype=np.int64)
            dists = np.frombuffer(dists_b, dtype=np.uint8)
            over = np.frombuffer(over_b, dtype=np.int64)
            pos = 0
            for i, c in enumerate(counts.tolist()):
                if c or over[i]:
                    found, past = out[i]
                    found.extend(
                        Match(int(k), int(d))
                        for k, d in zip(keys[pos : pos + c], dists[pos : pos + c], strict=True)
                        if int(k) not in removed
                    )
                    out[i] = (found, past + int(over[i]))
                pos += c
        for found, _ in out:
            found.sort(key=lambda m: (m.distance, m.key))
        return out

    def search_one(self, query: bytes, radius: int, *, limit: int = 10_000) -> list[Match]:
        return self.search([query], radius, limit=limit)[0][0]

    # ------------------------------------------------------------------ files

    def save(self, path: str | os.PathLike[str], meta: dict[str, Any] | None = None) -> None:
        """Write the index to ``path`` atomically (a temporary file renamed into place).

        Nothing is rebuilt: the segments are written as they are, the delta as one more
        segment, and the removed keys after them, so saving costs the write alone.
        """
        snap = self.snapshot()
        segments = snap._segments
        if snap._delta_keys:
            keys = np.asarray(snap._delta_keys, dtype=np.int64)
            segments.append(_segment(b"".join(snap._delta_hashes), keys))
        removed = np.fromiter(sorted(snap._removed), np.int64, len(snap._removed))
        self.meta = dict(meta if meta is not None else self.meta)
        path = Path(path)
        blob = json.dumps(self.meta, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                bom = 1 if sys.byteorder == "little" else 2
                f.write(_HEADER.pack(MAGIC, VERSION, bom, len(blob)))
                f.write(blob)
                f.write(struct.pack("<I", len(segments)))
                for seg in segments:
                    widths = seg.widths
                    f.write(_SEGMENT.pack(seg.n, len(widths)))
                    f.write(bytes(widths))
                    for buf in seg.buffers():
                        f.write(buf)
                f.write(struct.pack("<Q", len(removed)))
                f.write(removed.tobytes())
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, threads: int = 1) -> HammingIndex:
        self = cls(threads)
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            head = _read(f, _HEADER.size, path)
            magic, version, bom, meta_len = _HEADER.unpack(head)
            if magic != MAGIC:
                raise IndexFileError(f"{path} is not a Winnow hash index")
            if version != VERSION:
                raise IndexFileError(
                    f"{path} is index format {version}; this Winnow reads {VERSION}: rebuild it"
                )
            if bom != (1 if sys.byteorder == "little" else 2):
                raise IndexFileError(f"{path} was written on a machine of another byte order")
            self.meta = json.loads(_read(f, meta_len, path))
            (count,) = struct.unpack("<I", _read(f, 4, path))
            for _ in range(count):
                n, m = _SEGMENT.unpack(_read(f, _SEGMENT.size, path))
                widths = tuple(_read(f, m, path))
                seg = _hamming.Index(n, widths)
                for buf in seg.buffers():
                    if f.readinto(buf) != len(buf):
                        raise IndexFileError(f"{path} is truncated")
                seg.mark_built()
                self._segments.append(seg)
            (removed,) = struct.unpack("<Q", _read(f, 8, path))
            if removed > (size - f.tell()) // 8:
                raise IndexFileError(f"{path} is truncated")
            keys = np.frombuffer(_read(f, 8 * removed, path), dtype=np.int64)
            self._removed = set(keys.tolist())
            if f.tell() != size:
                raise IndexFileError(f"{path} has {size - f.tell()} unexpected trailing bytes")
        return self


def _read(f: BinaryIO, n: int, path: str | os.PathLike[str]) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise IndexFileError(f"{path} is truncated")
    return data
