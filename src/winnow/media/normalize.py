"""Text normalisation that defeats common evasion, with every character mapped back to the original.

Two views of a text are built, each a :class:`MappedText` whose ``starts``/``ends`` arrays give, for
every character of the view, the span of original characters it came from. A match in a view is
reported in the original text with :meth:`MappedText.span`.

``plain_view`` (PII, links): NFKC per character (full-width digits and letters become ASCII), and
invisible characters (zero-width, bidi controls, soft hyphens, variation selectors, tags) removed.
Case and punctuation are kept.

``match_view`` (lexicons, contact phrases) goes further, in this order:

1. fold each character: NFKC, accents and combining marks stripped (so Zalgo text collapses),
   lower case, homoglyphs of ASCII letters mapped to them (Cyrillic ``а`` → ``a``), all
   white space to one space, ``-`` and ``_`` to space;
2. join spaced-out letters: three or more single letters or digits separated by one or two
   separator characters (``f r e e``, ``f.u.c.k``) become one word; separators between CJK
   characters are dropped (``傻 逼``);
3. leetspeak inside words that contain a letter: ``v1agr@`` → ``viagra``; ``1``, ``l``, ``|`` and
   ``!`` all fold to ``i`` so the same term matches any of them; numbers on their own stay numbers;
4. squeeze runs of one character to a single character, keeping the run length so a term can
   demand at least as many repeats as it has (``fuuuuck`` matches ``fuck``, but ``as`` does not
   match ``ass``).

Everything is vectorised with numpy over code points: no Python loop runs per character. The
per-code-point tables are built once, lazily, on first use.
"""

from __future__ import annotations

import bisect
import functools
import json
import unicodedata
from dataclasses import dataclass
from importlib import resources

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
CodeArray = npt.NDArray[np.uint32]
BoolArray = npt.NDArray[np.bool_]

_N_CODEPOINTS = 0x110000
DELETE = np.uint32(0xFFFFFFFF)
EXPAND = np.uint32(0xFFFFFFFE)

_SPACE = ord(" ")
# Separators that may stand between spaced-out letters.
_SEPARATORS = " .-_*/\\~+,:;"
# Leet digits and symbols, folded to the letter they stand for (l and 1 and | and ! share 'i').
_LEET_DIGITS = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}
_LEET_SYMBOLS_ANYWHERE = {"@": "a", "$": "s", "€": "e", "£": "e", "¢": "c"}
_LEET_SYMBOLS_INNER = {"!": "i", "|": "i", "+": "t"}  # only when followed by more of the word


def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0xF900 <= cp <= 0xFAFF
        or 0x20000 <= cp <= 0x2FFFF
        or 0x3040 <= cp <= 0x30FF
    )


def _is_invisible(ch: str) -> bool:
    cat = unicodedata.category(ch)
    if cat == "Cf":  # zero-width, bidi controls, soft hyphen, tags, word joiner ...
        return True
    cp = ord(ch)
    return 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or cp in (0x034F, 0x115F, 0x1160)


def _codepoints_to_visit() -> list[int]:
    """Code points whose fold may differ from identity; CJK ideographs and Hangul are skipped."""
    visit = [cp for cp in range(0x80, 0x10000) if not (0xD800 <= cp <= 0xDFFF)]
    visit = [cp for cp in visit if not (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF)]
    visit = [cp for cp in visit if not (0xAC00 <= cp <= 0xD7A3)]
    extra = [
        range(0x1D400, 0x1D800),  # mathematical alphanumerics
        range(0x1F100, 0x1F200),  # enclosed alphanumerics supplement
        range(0xE0000, 0xE0080),  # tag characters
        range(0xE0100, 0xE01F0),  # variation selectors supplement
        range(0x2F800, 0x2FA20),  # CJK compatibility ideographs supplement
    ]
    for r in extra:
        visit.extend(r)
    return visit


@functools.cache
def _confusable_ascii() -> dict[str, str]:
    """Non-ASCII characters that look like one ASCII letter or digit, from Unicode's data."""
    path = resources.files("confusable_homoglyphs") / "confusables.json"
    data: dict[str, list[dict[str, str]]] = json.loads(path.read_text(encoding="utf-8"))
    out: dict[str, str] = {}
    for ch, glyphs in data.items():
        if len(ch) != 1 or ch.isascii() or _is_cjk(ord(ch)):
            continue
        for g in glyphs:
            c = g.get("c", "")
            if len(c) == 1 and c.isascii() and c.isalnum():
                out[ch] = c.lower()
                break
    return out


def _strip_marks(s: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", s) if not unicodedata.combining(c))


@dataclass(frozen=True, slots=True)
class _Tables:
    plain: CodeArray  # code point -> code point, DELETE or EXPAND
    plain_expand: dict[int, str]
    fold: CodeArray  # what a character looks like (skeleton)
    fold_expand: dict[int, str]
    match: CodeArray  # fold, plus l -> i and separators '-', '_' -> space (the match view)
    cls: npt.NDArray[np.uint8]  # character classes, bits below


WORD, LEET, SEP, CJK, LETTER, INNER = 1, 2, 4, 8, 16, 32


def _fold_one(ch: str, confusable: dict[str, str]) -> str:
    nfkc = unicodedata.normalize("NFKC", ch)
    folded = _strip_marks(nfkc).lower()
    if len(folded) == 1 and folded in confusable:
        folded = confusable[folded]
    elif len(folded) == 1 and ch in confusable and not folded.isascii():
        folded = confusable[ch]
    if folded.isspace():
        return " "
    if len(folded) > 1 and sum(c.isalnum() for c in folded) < 2:
        # "…" -> "...", "⁉" -> "!?": punctuation expansions gain nothing for matching; keep one
        # character so the slow expansion path is only taken for letters (ﬁ, ㎏, ½).
        stripped = folded.strip()
        return stripped[0] if stripped else " "
    return folded


@functools.cache
def _tables() -> _Tables:
    plain = np.arange(_N_CODEPOINTS, dtype=np.uint32)
    fold = np.arange(_N_CODEPOINTS, dtype=np.uint32)
    plain_expand: dict[int, str] = {}
    fold_expand: dict[int, str] = {}
    cls = np.zeros(_N_CODEPOINTS, dtype=np.uint8)
    for lo, hi in ((0x4E00, 0xA000), (0x3400, 0x4DC0), (0xF900, 0xFB00), (0x20000, 0x30000)):
        cls[lo:hi] = CJK
    cls[0x3040:0x3100] = CJK

    for cp in range(0x80):
        ch = chr(cp)
        if ch.isupper():
            fold[cp] = ord(ch.lower())
        elif ch.isspace() or cp < 0x20 or cp == 0x7F:
            fold[cp] = _SPACE
    confusable = _confusable_ascii()

    def put(table: CodeArray, expand: dict[int, str], cp: int, out: str) -> None:
        if out == "":
            table[cp] = DELETE
        elif len(out) == 1:
            table[cp] = ord(out)
        else:
            table[cp] = EXPAND
            expand[cp] = out

    for cp in _codepoints_to_visit():
        ch = chr(cp)
        if _is_invisible(ch):
            plain[cp] = DELETE
            fold[cp] = DELETE
            continue
        nfkc = unicodedata.normalize("NFKC", ch)
        if nfkc != ch:
            put(plain, plain_expand, cp, _fold_one(nfkc, {}) if len(nfkc) > 1 else nfkc)
        if unicodedata.combining(ch):
            fold[cp] = DELETE
            continue
        put(fold, fold_expand, cp, _fold_one(ch, confusable))

    # Classes of the characters that come out of the match table.
    ascii_cls = np.zeros(0x80, dtype=np.uint8)
    for cp in range(0x80):
        ch = chr(cp)
        if ch.isalpha():
            ascii_cls[cp] |= WORD | LETTER
        elif ch.isdigit():
            ascii_cls[cp] |= WORD | LEET
        if ch in _SEPARATORS:
            ascii_cls[cp] |= SEP
        if ch in _LEET_SYMBOLS_ANYWHERE:
            ascii_cls[cp] |= LEET
        if ch in _LEET_SYMBOLS_INNER:
            ascii_cls[cp] |= LEET | INNER
    cls[:0x80] = ascii_cls
    for cp in _codepoints_to_visit():
        if cp >= 0x30000 or cls[cp] & CJK:
            continue
        ch = chr(cp)
        if ch.isalpha():
            cls[cp] |= WORD | LETTER
        elif ch.isdigit():
            cls[cp] |= WORD
        if ch in _LEET_SYMBOLS_ANYWHERE:
            cls[cp] |= LEET
    match = fold.copy()
    match[ord("l")] = ord("i")  # l, 1, | and ! are one class for matching
    match[ord("L")] = ord("i")
    match[ord("-")] = _SPACE
    match[ord("_")] = _SPACE
    match[fold == ord("l")] = ord("i")
    return _Tables(plain, plain_expand, fold, fold_expand, match, cls)


def warm_up() -> None:
    """Build the lookup tables now rather than on the first scan."""
    _tables()
    _leet_table()


@dataclass(frozen=True, slots=True)
class _Stage:
    """View character i of this stage came from previous-stage characters [lo[i], hi[i]]."""

    lo_map: IntArray
    hi_map: IntArray

    def lo(self, i: IntArray) -> IntArray:
        return self.lo_map[i]

    def hi(self, i: IntArray) -> IntArray:
        return self.hi_map[i]

    def lo1(self, i: int) -> int:
        return int(self.lo_map[i])

    def hi1(self, i: int) -> int:
        return int(self.hi_map[i])


@dataclass(frozen=True, slots=True)
class _EditStage:
    """A few replacements, mapped by binary search instead of arrays as long as the text.

    ``new_start[k]``/``new_end[k]`` is where replacement k sits in this stage, ``old_start[k]``/
    ``old_end[k]`` what it replaced in the previous one.
    """

    new_start: IntArray
    new_end: IntArray
    old_start: IntArray
    old_end: IntArray

    def _map(self, i: IntArray, inside: IntArray) -> IntArray:
        k = np.searchsorted(self.new_start, i, side="right") - 1
        out = np.asarray(i, dtype=np.int64).copy()
        before = k >= 0
        kk = k[before]
        shift = self.old_end[kk] - self.new_end[kk]  # shift after replacement kk
        in_repl = i[before] < self.new_end[kk]
        mapped = i[before] + shift
        mapped[in_repl] = inside[kk[in_repl]]
        out[before] = mapped
        return out

    def lo(self, i: IntArray) -> IntArray:
        return self._map(np.asarray(i), self.old_start)

    def hi(self, i: IntArray) -> IntArray:
        return self._map(np.asarray(i), self.old_end - 1)

    def _map1(self, i: int, inside: IntArray) -> int:
        k = bisect.bisect_right(self.new_start.tolist(), i) - 1
        if k < 0:
            return i
        if i < int(self.new_end[k]):
            return int(inside[k])
        return i + int(self.old_end[k]) - int(self.new_end[k])

    def lo1(self, i: int) -> int:
        return self._map1(i, self.old_start)

    def hi1(self, i: int) -> int:
        return self._map1(i, self.old_end - 1)


class MappedText:
    """A view of a text that remembers where each of its characters came from.

    Spans are mapped back lazily through the stages that changed the text, so building a view
    costs nothing per character for stages that changed nothing. ``runs[i]`` is how many times
    view character ``i`` repeated before squeezing (match view only).
    """

    __slots__ = ("_byte_starts", "_utf8", "_word", "codes", "runs", "stages", "text")

    def __init__(
        self,
        text: str,
        codes: CodeArray | None = None,
        stages: tuple[_Stage | _EditStage, ...] = (),
        runs: IntArray | None = None,
    ) -> None:
        self.text = text
        self.codes = codes
        self.stages = stages
        self.runs = runs
        self._word: BoolArray | None = None
        self._byte_starts: IntArray | None = None
        self._utf8: bytes | None = None

    @property
    def utf8(self) -> bytes:
        """The view's text as UTF-8, encoded once and shared by the detectors that match bytes."""
        if self._utf8 is None:
            self._utf8 = self.text.encode("utf-8")
        return self._utf8

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of view characters ``[start, end)`` (``end > start``)."""
        first, last = start, end - 1
        for stage in reversed(self.stages):
            first, last = stage.lo1(first), stage.hi1(last)
        return first, last + 1

    def spans(self, start: IntArray, end: IntArray) -> tuple[IntArray, IntArray]:
        """:meth:`span` for many view spans at once (arrays of starts and exclusive ends)."""
        first, last = start, end - 1
        for stage in reversed(self.stages):
            first, last = stage.lo(first), stage.hi(last)
        return first, last + 1

    def char_offsets(self, byte_offsets: IntArray) -> IntArray:
        """Character offsets in ``text`` for offsets into its UTF-8 encoding."""
        if self._byte_starts is None:
            codes = self.codes if self.codes is not None else _codes(self.text)
            width = (codes >= 0x80).view(np.uint8) + (codes >= 0x800).view(np.uint8)
            width += (codes >= 0x10000).view(np.uint8)
            width += 1
            starts = np.zeros(len(codes) + 1, dtype=np.int32)  # int32: 5x faster cumsum
            np.cumsum(width, dtype=np.int32, out=starts[1:])
            self._byte_starts = starts.astype(np.int64, copy=False)
        offsets: IntArray = np.searchsorted(self._byte_starts, byte_offsets)
        return offsets

    def origin(self, i: int) -> tuple[int, int]:
        """The original span of view character ``i``."""
        return self.span(i, i + 1)

    @property
    def word(self) -> BoolArray:
        """For each view character: a word character (letter or digit outside CJK)?"""
        if self._word is None:
            codes = self.codes if self.codes is not None else _codes(self.text)
            self._word = (_tables().cls[codes] & WORD) != 0
        return self._word


def _codes(text: str) -> CodeArray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


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


def plain_view(text: str) -> MappedText:
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


@functools.cache
def _leet_table() -> CodeArray:
    table = np.arange(0x110000, dtype=np.uint32)
    for src, dst in (
        *_LEET_DIGITS.items(),
        *_LEET_SYMBOLS_ANYWHERE.items(),
        *_LEET_SYMBOLS_INNER.items(),
    ):
        table[ord(src)] = ord(dst)
    return table


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


def match_view(text: str) -> MappedText:
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


def fold_term(term: str) -> tuple[str, tuple[int, ...]]:
    """A lexicon term in the match view's form, with its run lengths (outer spaces trimmed)."""
    view = match_view(term)
    assert view.runs is not None
    lead = len(view.text) - len(view.text.lstrip(" "))
    folded = view.text.strip(" ")
    return folded, tuple(int(r) for r in view.runs[lead : lead + len(folded)])


def cjk_mask(text: str) -> BoolArray:
    mask: BoolArray = (_tables().cls[_codes(text)] & CJK) != 0
    return mask


def apply_edits(view: MappedText, edits: list[tuple[int, int, str]]) -> MappedText:
    """Replace view characters ``[start, end)`` with new text, keeping the map to the original.

    ``edits`` are sorted and do not overlap. Replacement characters map to the whole extent of
    what they replace. Meant for rare edits (defanged URLs), not per-character work.
    """
    if not edits:
        return view
    pieces: list[str] = []
    new_start, new_end, old_start, old_end = [], [], [], []
    pos = 0
    shift = 0
    for a, b, repl in edits:
        pieces.append(view.text[pos:a])
        pieces.append(repl)
        new_start.append(a + shift)
        new_end.append(a + shift + len(repl))
        old_start.append(a)
        old_end.append(b)
        shift += len(repl) - (b - a)
        pos = b
    pieces.append(view.text[pos:])
    stage = _EditStage(
        *(np.array(x, dtype=np.int64) for x in (new_start, new_end, old_start, old_end))
    )
    return MappedText("".join(pieces), None, (*view.stages, stage))


def skeleton(text: str) -> str:
    """Per-character fold only (NFKC, accents, case, homoglyphs): what a text looks like."""
    t = _tables()
    return _string(_apply_table(_codes(text), t.fold, t.fold_expand, []))
