"""Hash-bank start-up: how long a new process takes before it can match a large PDQ bank.

Run: ``make bench-bank-startup`` (or ``python benchmarks/bench_bank_startup.py --rows N``).
Prints one table.

A bank of ``--rows`` random PDQ hashes is imported through :class:`BankStore` (the path ``winnow
bank import`` and ``POST /v1/banks/{bank}/import`` take), into a fresh SQLite file by default or
the PostgreSQL database given with ``--database-url``. Then, each in a fresh
:class:`BankMatcher`, as a restarted API process or worker would:

- the index read from the database (every enabled PDQ entry);
- the snapshot written (``WINNOW_INDEX_DIR``);
- the index loaded from the snapshot, after ``--changes`` more entries were added and a tenth as
  many removed since it was written (they are replayed from the change log);
- the first lookup's latency after each.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from bench_hashbank import rss_mib
from winnow.hashing.banks import BankMatcher
from winnow.store import Store
from winnow.store.banks import BankStore, NewEntry
from winnow.types import ContentHash


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--database-url", help="default: a new SQLite file in a temporary folder")
    args = ap.parse_args()
    rng = np.random.default_rng(11)
    hexes = [h.tobytes().hex() for h in rng.integers(0, 256, (args.rows, 32), np.uint8)]
    fresh = np.random.default_rng(time.time_ns()).integers(0, 256, (args.changes, 32), np.uint8)
    added = [h.tobytes().hex() for h in fresh]  # new on every run, also on a kept database
    removed = args.changes // 10
    with tempfile.TemporaryDirectory(prefix="winnow-bench-") as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        store = Store(url)
        t0 = time.perf_counter()
        store.upgrade()
        rows: list[tuple[str, float, str]] = [("schema upgrade", time.perf_counter() - t0, "")]
        banks = BankStore(store)
        tenant = store.tenant_id("bench", create=True)
        assert tenant is not None
        have = {b["name"]: b["entries"].get("enabled", 0) for b in banks.list_banks(tenant)}
        if have.get("big", 0) >= args.rows:  # a database kept from an earlier run
            rows.append(("import (kept database)", 0.0, f"{have['big']:,} entries there"))
        else:
            if "big" not in have:
                banks.create_bank(tenant, "big", "block")
            t0 = time.perf_counter()
            banks.add_entries(tenant, "big", (NewEntry("pdq", v) for v in hexes))
            t = time.perf_counter() - t0
            rows.append(("import through the store", t, f"{args.rows / t:,.0f} entries/s"))
        snap_dir = Path(tmp) / "index"

        def cold(label: str) -> BankMatcher:
            m = BankMatcher(banks, tenant, snapshot_dir=snap_dir)
            r0 = rss_mib()
            t0 = time.perf_counter()
            m.load()
            t = time.perf_counter() - t0
            detail = (
                f"{len(m.index):,} rows from the {m.loaded_from}, RSS +{rss_mib() - r0:,.0f} MiB"
            )
            rows.append((label, t, detail))
            t0 = time.perf_counter()
            found = m.match([ContentHash("pdq", added[-1])], record=False).matches
            t = time.perf_counter() - t0
            rows.append(("  first lookup after it", t, f"{len(found)} match"))
            return m

        first = cold("new process, index read from the database")
        t0 = time.perf_counter()
        while not (first.snapshot_path and first.snapshot_path.exists()):
            time.sleep(0.01)  # written in the background after the build
        first.close()
        size = first.snapshot_path.stat().st_size
        t = time.perf_counter() - t0
        rows.append(("snapshot written (background)", t, f"{size / 2**20:,.0f} MiB file"))
        del first

        t0 = time.perf_counter()
        banks.add_entries(tenant, "big", (NewEntry("pdq", v) for v in added))
        gone = [r["id"] for _, r in zip(range(removed), banks.entries(tenant, "big"), strict=False)]
        banks.remove_entries(tenant, "big", ids=gone)
        t = time.perf_counter() - t0
        rows.append((f"{args.changes:,} adds and {removed:,} removals", t, "through the store"))
        second = cold("new process, snapshot + those changes replayed")
        assert second.loaded_from == "snapshot"
        assert second.match([ContentHash("pdq", added[-1])], record=False).matches
        second.close()
        store.dispose()

    print(
        f"# bank start-up, {args.rows:,} PDQ entries, "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}"
    )
    print(
        f"# {platform.node()} {platform.machine()} {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    print()
    print("| step | seconds | detail |")
    print("|---|---:|---|")
    for label, t, detail in rows:
        print(f"| {label} | {t:.3f} | {detail} |")


if __name__ == "__main__":
    main()
