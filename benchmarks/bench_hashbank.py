"""Hash-bank lookup speed: 10 million PDQ hashes, radius 31, exact, against two references.

Run: ``make bench-hashbank`` (or ``python benchmarks/bench_hashbank.py``). Prints one table.

Data: ``--rows`` PDQ hashes, 90% uniformly random and 10% in near-duplicate clusters (centres are
real PDQ hashes from ../shared/data where present, each with 50 copies 0..30 bits away; real
banks hold many edits of one image). Queries: half are rows of the bank with 0..31 bits flipped
(each has at least one match), half random (almost never a match), in a fixed shuffled order.

Measured, all on the same data and queries:

- Winnow's :class:`~winnow.hashing.index.HammingIndex`: build, save, load, memory, lookups per
  second one query per call (the service's case) and in batches on 1 and 2 threads;
- faiss ``IndexBinaryFlat`` (exact brute force) ``range_search``, 2 threads;
- python-threatexchange's default PDQ index (``PDQIndex``: faiss ``IndexBinaryMultiHash``), one
  query per call as its API offers.

Each reference's results are compared with Winnow's: "recall" is the share of Winnow's (exact)
matches it returned; Winnow's own are checked against faiss's flat index, which is exact.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def flip_bits(rng: np.random.Generator, rows: np.ndarray, max_bits: int) -> np.ndarray:
    """Each row with 0..max_bits random bits flipped."""
    out = rows.copy()
    k = rng.integers(0, max_bits + 1, size=len(rows))
    for j in range(max_bits):
        sel = np.nonzero(k > j)[0]
        bit = rng.integers(0, 256, size=len(sel))
        out[sel, bit // 8] ^= (1 << (7 - bit % 8)).astype(np.uint8)
    return out


def real_centres() -> np.ndarray:
    hashes: list[bytes] = []
    for name in ("haystack.txt", "needles.txt", "long256.dat", "short256.dat", "order256.dat"):
        p = DATA / "pdq-reference-vectors" / "hash-lists" / name
        if p.exists():
            for line in p.read_text().splitlines():
                v = line.split(",")[0].strip()
                if len(v) == 64:
                    with contextlib.suppress(ValueError):
                        hashes.append(bytes.fromhex(v))
    return (
        np.frombuffer(b"".join(hashes), np.uint8).reshape(-1, 32)
        if hashes
        else np.empty((0, 32), np.uint8)
    )


def make_data(rows: int, queries: int, seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    clustered = rows // 10
    n_centres = clustered // 50
    real = real_centres()
    centres = rng.integers(0, 256, size=(n_centres, 32), dtype=np.uint8)
    centres[: min(len(real), n_centres)] = real[:n_centres]
    members = flip_bits(rng, np.repeat(centres, 50, axis=0)[:clustered], 30)
    data = np.concatenate(
        [rng.integers(0, 256, size=(rows - clustered, 32), dtype=np.uint8), members]
    )
    data = data[rng.permutation(rows)]
    near = flip_bits(rng, data[rng.integers(0, rows, size=queries // 2)], 31)
    far = rng.integers(0, 256, size=(queries - queries // 2, 32), dtype=np.uint8)
    q = np.concatenate([near, far])[rng.permutation(queries)]
    return data, q, len(real)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=20_000)
    ap.add_argument("--radius", type=int, default=31)
    ap.add_argument("--faiss-queries", type=int, default=400, help="faiss flat is slow: a subset")
    ap.add_argument("--tx-queries", type=int, default=2000)
    ap.add_argument("--no-threatexchange", action="store_true")
    args = ap.parse_args()
    os.environ["OMP_NUM_THREADS"] = "2"

    from winnow.hashing.index import HammingIndex

    t0 = time.perf_counter()
    data, queries, n_real = make_data(args.rows, args.queries, 20261123)
    print(
        f"data: {args.rows:,} PDQ hashes ({n_real} real cluster centres), {len(queries):,} "
        f"queries, radius {args.radius}; made in {time.perf_counter() - t0:.1f} s",
        file=sys.stderr,
    )
    keys = np.arange(args.rows, dtype=np.int64)
    qlist = [q.tobytes() for q in queries]
    rows: list[tuple[str, ...]] = []

    # ---------------------------------------------------------------- Winnow
    gc.collect()
    base = rss_mib()
    t0 = time.perf_counter()
    ix = HammingIndex.build(data.tobytes(), keys, threads=1)
    build_s = time.perf_counter() - t0
    mem_mib = ix.nbytes / 2**20
    rss_build = rss_mib() - base
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        path = Path(tmp) / "bank.idx"
        t0 = time.perf_counter()
        ix.save(path)
        save_s = time.perf_counter() - t0
        size_mib = path.stat().st_size / 2**20
        del ix
        gc.collect()
        t0 = time.perf_counter()
        ix = HammingIndex.load(path, threads=1)
        load_s = time.perf_counter() - t0
    ix.search(qlist[:100], args.radius)  # touch
    t0 = time.perf_counter()
    winnow_results = [ix.search_one(q, args.radius) for q in qlist]
    single = len(qlist) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    ix.search(qlist, args.radius)
    batch1 = len(qlist) / (time.perf_counter() - t0)
    ix.threads = 2
    t0 = time.perf_counter()
    ix.search(qlist, args.radius)
    batch2 = len(qlist) / (time.perf_counter() - t0)
    matched = sum(1 for r in winnow_results if r)
    total = sum(len(r) for r in winnow_results)
    exact = {i: {m.key for m in r} for i, r in enumerate(winnow_results)}
    rows.append(
        (
            "Winnow HammingIndex, 1 query per call, 1 thread",
            f"{single:,.0f}",
            "exact",
            f"{mem_mib:,.0f} (RSS +{rss_build:,.0f})",
            f"{build_s:.1f}",
            f"{load_s:.2f}",
        )
    )
    rows.append(
        ("Winnow HammingIndex, batches, 1 thread", f"{batch1:,.0f}", "exact", "same", "", "")
    )
    rows.append(
        ("Winnow HammingIndex, batches, 2 threads", f"{batch2:,.0f}", "exact", "same", "", "")
    )
    print(
        f"Winnow: saved {size_mib:,.0f} MiB in {save_s:.1f} s; {matched:,} of {len(qlist):,} "
        f"queries matched ({total:,} matches)",
        file=sys.stderr,
    )
    del ix
    gc.collect()

    # ---------------------------------------------------------------- faiss flat
    import faiss  # type: ignore[import-untyped]

    faiss.omp_set_num_threads(2)
    base = rss_mib()
    t0 = time.perf_counter()
    flat = faiss.IndexBinaryFlat(256)
    flat.add(data)
    fbuild = time.perf_counter() - t0
    fmem = rss_mib() - base
    nq = min(args.faiss_queries, len(queries))
    t0 = time.perf_counter()
    lims, _dist, labels = flat.range_search(queries[:nq], args.radius + 1)  # faiss: distance < r
    fq = nq / (time.perf_counter() - t0)
    agree = all(set(labels[lims[i] : lims[i + 1]].tolist()) == exact[i] for i in range(nq))
    rows.append(
        (
            "faiss IndexBinaryFlat range_search, batch, 2 threads",
            f"{fq:,.0f}",
            "exact" + ("" if agree else " (DISAGREES)"),
            f"RSS +{fmem:,.0f}",
            f"{fbuild:.1f}",
            "-",
        )
    )
    print(
        f"faiss flat over {nq} queries: Winnow's results {'equal' if agree else 'DIFFER from'} "
        "faiss's exact ones",
        file=sys.stderr,
    )
    del flat
    gc.collect()

    # ---------------------------------------------------------------- python-threatexchange
    if not args.no_threatexchange:
        from threatexchange.signal_type.pdq.pdq_index import PDQIndex  # type: ignore[import-untyped]

        base = rss_mib()
        t0 = time.perf_counter()
        hexes = [h.tobytes().hex() for h in data]
        tx = PDQIndex(zip(hexes, range(args.rows), strict=True))
        del hexes
        tbuild = time.perf_counter() - t0
        tmem = rss_mib() - base
        nq = min(args.tx_queries, len(queries))
        qhex = [q.tobytes().hex() for q in queries[:nq]]
        t0 = time.perf_counter()
        txres = [tx.query(q) for q in qhex]
        tq = nq / (time.perf_counter() - t0)
        want = sum(len(exact[i]) for i in range(nq))
        got = sum(len({m.metadata for m in txres[i]} & exact[i]) for i in range(nq))
        recall = got / want if want else 1.0
        rows.append(
            (
                "python-threatexchange PDQIndex (default), 1 query per call",
                f"{tq:,.0f}",
                f"recall {recall:.3f}",
                f"RSS +{tmem:,.0f}",
                f"{tbuild:.1f}",
                "-",
            )
        )

    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as f:
        cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    print(
        f"\n{args.rows:,} PDQ hashes, radius {args.radius}; {os.cpu_count()} cores ({cpu}); "
        f"Python {platform.python_version()}\n"
    )
    head = ("index", "lookups/s", "results", "memory MiB", "build s", "load s")
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
