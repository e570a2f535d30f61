"""The Hamming index returns exactly the entries a brute-force scan returns, always."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow import _hamming
from winnow.errors import IndexFileError
from winnow.hashing.index import HammingIndex, choose_widths


def _brute(
    hashes: np.ndarray, keys: np.ndarray, q: np.ndarray, radius: int
) -> list[tuple[int, int]]:
    d = np.unpackbits(hashes ^ q, axis=1).sum(axis=1)
    return sorted((int(dd), int(k)) for dd, k in zip(d, keys, strict=True) if dd <= radius)


def _flip(rng: np.random.Generator, h: np.ndarray, bits: int) -> np.ndarray:
    out = h.copy()
    for b in rng.choice(256, size=bits, replace=False):
        out[b // 8] ^= 1 << (7 - b % 8)
    return out


def _clustered(rng: np.random.Generator, n: int, clusters: int) -> np.ndarray:
    """Near-duplicate clusters (each member within 0..40 bits of its centre) plus random rows."""
    centres = rng.integers(0, 256, size=(clusters, 32), dtype=np.uint8)
    rows = [
        _flip(rng, centres[rng.integers(clusters)], int(rng.integers(0, 41))) for _ in range(n // 2)
    ]
    rows += list(rng.integers(0, 256, size=(n - n // 2, 32), dtype=np.uint8))
    return np.stack(rows)


@pytest.mark.parametrize("widths", [(), (16,) * 16, (22,) * 4 + (21,) * 8, (8,) * 32])
@given(
    seed=st.integers(0, 2**32 - 1),
    radius=st.sampled_from([0, 1, 10, 31, 32, 47, 63, 64, 100]),
    clustered=st.booleans(),
)
@settings(max_examples=25, deadline=None)
def test_every_layout_equals_brute_force(
    widths: tuple[int, ...], seed: int, radius: int, clustered: bool
) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 3000))
    hashes = _clustered(rng, n, 20) if clustered else rng.integers(0, 256, (n, 32), dtype=np.uint8)
    keys = rng.permutation(n).astype(np.int64) * 7 + 3
    ix = _hamming.Index(n, widths)
    ix.build(hashes.tobytes(), keys.tobytes())
    queries = [_flip(rng, hashes[rng.integers(n)], int(rng.integers(0, 48))) for _ in range(10)]
    queries += list(rng.integers(0, 256, (3, 32), dtype=np.uint8))
    blob = b"".join(q.tobytes() for q in queries)
    counts, found, dists, over = ix.search(blob, radius, 10**6, 2)
    counts = np.frombuffer(counts, np.uint32)
    found = np.frombuffer(found, np.int64)
    dists = np.frombuffer(dists, np.uint8)
    pos = 0
    for q, c in zip(queries, counts, strict=True):
        got = sorted(zip(dists[pos : pos + c].tolist(), found[pos : pos + c].tolist(), strict=True))
        assert got == _brute(hashes, keys, q, radius)
        pos += c
    assert not np.frombuffer(over, np.int64).any()


def test_mutable_index_with_segments_delta_and_removals(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 30_000
    hashes = _clustered(rng, n, 50)
    keys = np.arange(n, dtype=np.int64)
    ix = HammingIndex.build(hashes.tobytes(), keys, max_rows=12_000)  # three segments
    assert len(ix._segments) == 3
    assert len(ix) == n
    extra = np.stack([_flip(rng, hashes[i], 3) for i in range(100)])
    ix.add([e.tobytes() for e in extra], list(range(n, n + 100)))
    removed = set(range(0, 2000, 3))
    ix.remove(removed)
    all_h = np.concatenate([hashes, extra])
    all_k = np.arange(n + 100)
    live = np.array([k not in removed for k in all_k])

    def check(index: HammingIndex) -> None:
        queries = [
            _flip(rng, all_h[rng.integers(n + 100)], int(rng.integers(0, 35))) for _ in range(30)
        ]
        for q, (matches, past) in zip(
            queries, index.search([q.tobytes() for q in queries], 31), strict=True
        ):
            assert past == 0
            assert sorted((m.distance, m.key) for m in matches) == _brute(
                all_h[live], all_k[live], q, 31
            )

    check(ix)
    # saved as it is, delta and removals pending: the file answers the same, nothing rebuilt
    ix.snapshot().save(tmp_path / "pending.idx", {"seq": 41})
    pending = HammingIndex.load(tmp_path / "pending.idx")
    assert (pending.meta, len(pending._segments), pending._removed) == ({"seq": 41}, 4, removed)
    check(pending)
    ix.compact()
    assert ix.delta_size == 0
    assert len(ix) == int(live.sum())
    check(ix)
    ix.save(tmp_path / "bank.idx", {"seq": 42})
    loaded = HammingIndex.load(tmp_path / "bank.idx")
    assert loaded.meta == {"seq": 42}
    assert len(loaded) == len(ix)
    check(loaded)


def test_limit_counts_what_it_does_not_return() -> None:
    h = np.zeros((500, 32), dtype=np.uint8)  # one hash, 500 times: a degenerate bank
    ix = HammingIndex.build(h.tobytes(), np.arange(500))
    [(matches, past)] = ix.search([h[0].tobytes()], 31, limit=100)
    assert len(matches) == 100
    assert past == 400


def test_damaged_index_files_are_refused(tmp_path: Path) -> None:
    ix = HammingIndex.build(np.ones((50_000, 32), np.uint8).tobytes(), np.arange(50_000))
    path = tmp_path / "x.idx"
    ix.save(path)
    data = path.read_bytes()
    (tmp_path / "cut.idx").write_bytes(data[: len(data) // 2])
    with pytest.raises(IndexFileError, match="truncated"):
        HammingIndex.load(tmp_path / "cut.idx")
    (tmp_path / "junk.idx").write_bytes(b"this is not an index at all, only some words")
    with pytest.raises(IndexFileError, match="not a Winnow hash index"):
        HammingIndex.load(tmp_path / "junk.idx")
    with pytest.raises(ValueError, match="32 bytes"):
        ix.search([b"short"], 31)


def test_layout_for_ten_million_rows_fits_the_memory_budget() -> None:
    widths = choose_widths(10_000_000)
    assert sum(widths) == 256
    assert len(widths) == 12
    table_bytes = sum(4 << w for w in widths) + 3 * 10_000_000 * len(widths)
    assert 40 * 10_000_000 + table_bytes < 1 << 30
    assert choose_widths(1000) == ()
