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

The per-code-point tables are built once, lazily, on first use, with Python's unicodedata and
Unicode's confusables; the per-character walk is C (``winnow._native``), and span mapping is
vectorised with numpy: no Python loop runs per character.
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

from winnow import _native

IntArray = npt.NDArray[np.int64]
# Offsets in the views: int32 where the C core writes them (a chunk is far below 2**31).
IndexArray = npt.NDArray[np.int32] | npt.NDArray[np.int64]
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


# Chinese and Japanese script (the match view's CJK class), as code point ranges
CJK_RANGES = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0xF900, 0xFAFF), (0x20000, 0x2FFFF),
              (0x3040, 0x30FF))  # fmt: skip
# the same, as the inside of a regular expression's character class
CJK_CLASS = "".join(f"{chr(a)}-{chr(b)}" for a, b in CJK_RANGES)


def _is_cjk(cp: int) -> bool:
    return any(a <= cp <= b for a, b in CJK_RANGES)


def is_cjk_char(ch: str) -> bool:
    """Whether one character is Chinese or Japanese script (the match view's CJK class)."""
    return _is_cjk(ord(ch))


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

    lo_map: IndexArray
    hi_map: IndexArray

    def lo(self, i: IntArray) -> IntArray:
        return self.lo_map[i].astype(np.int64, copy=False)

    def hi(self, i: IntArray) -> IntArray:
        return self.hi_map[i].astype(np.int64, copy=False)

    def lo1(self, i: int) -> int:
        return int(self.lo_map[i])

    def hi1(self, i: int) -> int:
        return int(self.hi_map[i])


class _EditStage:
    """A few replacements, mapped by binary search instead of arrays as long as the text.

    ``new_start[k]``/``new_end[k]`` is where replacement k sits in this stage, ``old_start[k]``/
    ``old_end[k]`` what it replaced in the previous one.
    """

    __slots__ = ("_last", "_lists", "new_end", "new_start", "old_end", "old_start")

    def __init__(
        self, new_start: list[int], new_end: list[int], old_start: list[int], old_end: list[int]
    ) -> None:
        self._lists = (new_start, new_end, old_start, old_end)  # for one-at-a-time lookups
        self._last = [end - 1 for end in old_end]  # the last character each one replaced
        self.new_start, self.new_end, self.old_start, self.old_end = (
            np.array(x, dtype=np.int64) for x in self._lists
        )

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

    def _map1(self, i: int, inside: list[int]) -> int:
        new_start, new_end, _, old_end = self._lists
        k = bisect.bisect_right(new_start, i) - 1
        if k < 0:
            return i
        if i < new_end[k]:
            return inside[k]
        return i + old_end[k] - new_end[k]

    def lo1(self, i: int) -> int:
        return self._map1(i, self._lists[2])

    def hi1(self, i: int) -> int:
        return self._map1(i, self._last)


class MappedText:
    """A view of a text that remembers where each of its characters came from.

    Spans are mapped back lazily through the stages that changed the text, so building a view
    costs nothing per character for stages that changed nothing. ``runs[i]`` is how many times
    view character ``i`` repeated before squeezing (match view only).
    """

    __slots__ = ("_byte_starts", "_utf8", "codes", "runs", "stages", "text")

    def __init__(
        self,
        text: str,
        codes: CodeArray | None = None,
        stages: tuple[_Stage | _EditStage, ...] = (),
        runs: IndexArray | None = None,
    ) -> None:
        self.text = text
        self.codes = codes
        self.stages = stages
        self.runs = runs
        self._byte_starts: npt.NDArray[np.int32] | None = None
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
            self._byte_starts = np.frombuffer(_native.byte_starts(self.text), dtype=np.int32)
        # Queries as int32 too: a mixed-type search would copy the whole table to int64.
        found = np.searchsorted(self._byte_starts, byte_offsets.astype(np.int32))
        offsets: IntArray = found.astype(np.int64, copy=False)
        return offsets

    def origin(self, i: int) -> tuple[int, int]:
        """The original span of view character ``i``."""
        return self.span(i, i + 1)

    def word_at(self, i: IntArray) -> BoolArray:
        """For view characters ``i``: word characters (letter or digit outside CJK)?"""
        codes = self.codes if self.codes is not None else _codes(self.text)
        at: BoolArray = (_tables().cls[codes[i]] & WORD) != 0
        return at


def _codes(text: str) -> CodeArray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4")


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


def _fold(text: str, table: CodeArray, expand: dict[int, str]) -> MappedText:
    """Every character mapped through a table (deleted, replaced or expanded), in one C pass."""
    out, codes, src = _native.fold(text, expand, table)
    stages: tuple[_Stage, ...] = ()
    if src is not None:
        origin = np.frombuffer(src, dtype=np.int64)
        stages = (_Stage(origin, origin),)
    return MappedText(out, np.frombuffer(codes, dtype=np.uint32), stages)


def plain_view(text: str) -> MappedText:
    """NFKC per character, invisible characters removed; case and punctuation kept."""
    if text.isascii():
        return MappedText(text)
    t = _tables()
    return _fold(text, t.plain, t.plain_expand)


def match_view(text: str) -> MappedText:
    """The view lexicons match against: folded, spaced-out letters joined, leet undone, squeezed.

    The steps of the module docstring run in one C function (``winnow._native.match``) that
    walks the characters a few times; the tables it uses are built here.
    """
    t = _tables()
    out, codes, lo, hi, runs = _native.match(text, t.fold_expand, t.match, t.cls, _leet_table())
    stage = _Stage(np.frombuffer(lo, dtype=np.int32), np.frombuffer(hi, dtype=np.int32))
    return MappedText(
        out,
        np.frombuffer(codes, dtype=np.uint32),
        (stage,),
        np.frombuffer(runs, dtype=np.int32),
    )


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
    stage = _EditStage(new_start, new_end, old_start, old_end)
    return MappedText("".join(pieces), None, (*view.stages, stage))


def skeleton(text: str) -> str:
    """Per-character fold only (NFKC, accents, case, homoglyphs): what a text looks like."""
    t = _tables()
    return _native.fold(text, t.fold_expand, t.fold)[0]
