"""A pure numpy reference of the match and plain views, kept as the test oracle for the C core.

``winnow._native`` walks the characters in C; these functions are the earlier numpy version of
the same rules (see the docstring of winnow.media.normalize). test_normalize.py checks that both
agree on the text, the run lengths and every character's original span, for generated text.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from winnow.media.normalize import (
    CJK,
    DELETE,
    EXPAND,
    INNER,
    LEET,
    LETTER,
    SEP,
    WORD,
    BoolArray,
    CodeArray,
    IntArray,
    MappedText,
    _codes,
    _leet_table,
    _Stage,
    _tables,
)


def _string(codes: CodeArray) -> str:
    return codes.astype("<u4", copy=False).tobytes().decode("utf-32-le")


def _select(keep: IntArray) -> _Stage:
    return _Stage(keep, keep)


def _apply_table(
    codes: CodeArray, table: CodeArray, expand: dict[int, str], stages: list[_Stage]
) -> CodeArray:
    """Map every code point through a table; deletions and (rare) expansions add a stage."""
    mapped = table[codes]
    deleted = mapped == DELETE
    if deleted.any():
        keep = np.flatnonzero(~deleted)
        stages.append(_select(keep))
        mapped, codes = mapped[keep], codes[keep]
    exp = mapped == EXPAND
    if exp.any():
        positions = np.flatnonzero(exp)
        pieces = [expand[int(codes[i])] for i in positions]
        reps = np.ones(len(mapped), dtype=np.int64)
        reps[positions] = [len(p) for p in pieces]
        src = np.repeat(np.arange(len(mapped)), reps)
        out = mapped[src]
        offsets = np.cumsum(reps) - reps
        for i, piece in zip(positions, pieces, strict=True):
            out[offsets[i] : offsets[i] + len(piece)] = _codes(piece)
        stages.append(_select(src))
        return out
    return mapped


def reference_plain_view(text: str) -> MappedText:
    """NFKC per character, invisible characters removed; case and punctuation kept."""
    if text.isascii():
        return MappedText(text)
    t = _tables()
    stages: list[_Stage] = []
    codes = _apply_table(_codes(text), t.plain, t.plain_expand, stages)
    return MappedText(_string(codes), codes, tuple(stages))


def _runs_of(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Start and end (exclusive) indexes of the runs of True in a boolean array."""
    padded = np.concatenate(([False], mask, [False])).astype(np.int8)
    d = np.diff(padded)
    return np.flatnonzero(d == 1), np.flatnonzero(d == -1)


def _fill(n: int, starts: IntArray, ends: IntArray) -> BoolArray:
    """A mask of length n, True inside every ``[starts[k], ends[k])`` (ranges may overlap)."""
    delta = np.zeros(n + 1, dtype=np.int64)
    np.add.at(delta, starts, 1)
    np.add.at(delta, ends, -1)
    return np.cumsum(delta[:n]) > 0


def _shift_right(mask: BoolArray) -> BoolArray:
    """out[i] = mask[i - 1]"""
    out = np.empty_like(mask)
    out[0] = False
    out[1:] = mask[:-1]
    return out


def _shift_left(mask: BoolArray) -> BoolArray:
    """out[i] = mask[i + 1]"""
    out = np.empty_like(mask)
    out[-1] = False
    out[:-1] = mask[1:]
    return out


def _join_spaced(cls: npt.NDArray[np.uint8]) -> BoolArray | None:
    """Separators to drop: inside spaced-out words and between CJK characters (None: none)."""
    n = len(cls)
    if n < 3:
        return None
    drop: BoolArray | None = None
    unit = (cls & (WORD | LEET)) != 0
    isolated = np.flatnonzero(unit & ~_shift_right(unit) & ~_shift_left(unit))
    if len(isolated) >= 3:
        a, b = isolated[:-1], isolated[1:]
        gap = b - a - 1
        close = np.flatnonzero((gap >= 1) & (gap <= 2))
        if len(close):
            a, b = a[close], b[close]
            between_ok = (cls[a + 1] & SEP) != 0
            two = (b - a) == 3
            between_ok[two] &= (cls[a[two] + 2] & SEP) != 0
            link = np.zeros(len(isolated) - 1, dtype=np.bool_)
            link[close[between_ok]] = True
            run_start, run_end = _runs_of(link)
            long_runs = (run_end - run_start) >= 2  # at least three letters in a row
            if long_runs.any():
                selected = _fill(len(link), run_start[long_runs], run_end[long_runs])
                drop = _fill(n, isolated[:-1][selected] + 1, isolated[1:][selected])
    cjk = (cls & CJK) != 0
    if cjk.any():
        sep = (cls & SEP) != 0
        prev_cjk = _shift_right(cjk)
        next_cjk = _shift_left(cjk)
        single = sep & prev_cjk & next_cjk
        first_of_two = sep & prev_cjk & _shift_left(sep) & _shift_left(next_cjk)
        second_of_two = sep & _shift_right(sep) & _shift_right(prev_cjk) & next_cjk
        cjk_drop = single | first_of_two | second_of_two
        if cjk_drop.any():
            drop = cjk_drop if drop is None else drop | cjk_drop
    return drop


def _leet(codes: CodeArray, cls: npt.NDArray[np.uint8]) -> CodeArray:
    """Undo leetspeak in words that contain a letter; numbers on their own stay numbers.

    Works on the leet characters only: each one's word is bounded by the nearest non-word
    characters, and a prefix count of letters says whether that word has a letter.
    """
    n = len(codes)
    cand = np.flatnonzero(cls & LEET)
    if len(cand) == 0:
        return codes
    letter = (cls & LETTER) != 0
    touching = (letter[np.maximum(cand - 1, 0)] & (cand > 0)) | (
        letter[np.minimum(cand + 1, n - 1)] & (cand < n - 1)
    )
    if not touching.any():
        return codes  # no leet character touches a letter: nothing to do
    in_word = (cls & (WORD | LEET)) != 0
    bounds = np.flatnonzero(~in_word)
    letters_before = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(letter, dtype=np.int32, out=letters_before[1:])
    if len(bounds):
        k = np.searchsorted(bounds, cand)
        lo = np.where(k > 0, bounds[np.maximum(k - 1, 0)] + 1, 0)
        hi = np.where(k < len(bounds), bounds[np.minimum(k, len(bounds) - 1)], n)
    else:
        lo, hi = np.zeros_like(cand), np.full_like(cand, n)
    has_letter = (letters_before[hi] - letters_before[lo]) > 0
    inner = (cls[cand] & INNER) != 0
    next_in_word = in_word[np.minimum(cand + 1, n - 1)] & (cand < n - 1)
    apply = cand[has_letter & (~inner | next_in_word)]
    if len(apply) == 0:
        return codes
    out = codes.copy()
    out[apply] = _leet_table()[codes[apply]]
    return out


def reference_match_view(text: str) -> MappedText:
    """The view lexicons match against: folded, spaced-out letters joined, leet undone, squeezed."""
    if not text:
        return MappedText("", np.zeros(0, dtype=np.uint32), (), np.zeros(0, dtype=np.int64))
    t = _tables()
    stages: list[_Stage] = []
    codes = _apply_table(_codes(text), t.match, t.fold_expand, stages)
    if len(codes) == 0:  # only invisible characters
        return MappedText("", codes, tuple(stages), np.zeros(0, dtype=np.int64))
    cls = t.cls[codes]
    drop = _join_spaced(cls)
    if drop is not None:
        keep = np.flatnonzero(~drop)
        stages.append(_select(keep))
        codes, cls = codes[keep], cls[keep]
    codes = _leet(codes, cls)
    # Squeeze runs of one character, remembering each run's length.
    first = np.empty(len(codes), dtype=np.bool_)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    idx = np.flatnonzero(first)
    runs = np.diff(idx, append=len(codes))
    stages.append(_Stage(idx, idx + runs - 1))
    out = codes[idx]
    return MappedText(_string(out), out, tuple(stages), runs)
