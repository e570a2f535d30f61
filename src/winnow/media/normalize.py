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
_STAR = ord("*")
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
    fold: CodeArray
    fold_expand: dict[int, str]
    word: BoolArray  # letter or digit outside CJK: a word character for boundaries
    cjk: BoolArray


@functools.cache
def _tables() -> _Tables:
    plain = np.arange(_N_CODEPOINTS, dtype=np.uint32)
    fold = np.arange(_N_CODEPOINTS, dtype=np.uint32)
    plain_expand: dict[int, str] = {}
    fold_expand: dict[int, str] = {}
    word = np.zeros(_N_CODEPOINTS, dtype=np.bool_)
    cjk = np.zeros(_N_CODEPOINTS, dtype=np.bool_)
    for lo, hi in ((0x4E00, 0xA000), (0x3400, 0x4DC0), (0xF900, 0xFB00), (0x20000, 0x30000)):
        cjk[lo:hi] = True
    cjk[0x3040:0x3100] = True

    # ASCII: lower-case letters; white space to space; '-' and '_' to space in the fold.
    for cp in range(0x80):
        ch = chr(cp)
        if ch.isalnum():
            word[cp] = True
        if ch.isupper():
            fold[cp] = ord(ch.lower())
        elif ch in "\t\n\r\x0b\x0c-_" or cp < 0x20 or cp == 0x7F:
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
            put(plain, plain_expand, cp, nfkc)
        if unicodedata.combining(ch):
            fold[cp] = DELETE
            continue
        folded = _strip_marks(nfkc).lower()
        if len(folded) == 1 and folded in confusable:
            folded = confusable[folded]
        elif len(folded) == 1 and ch in confusable and not folded.isascii():
            folded = confusable[ch]
        if folded.isspace():
            folded = " "
        if len(folded) == 1 and folded in "-_":
            folded = " "
        put(fold, fold_expand, cp, folded)
        if len(folded) == 1:
            f = folded
            word[cp] = f.isalnum() and not _is_cjk(ord(f))
    return _Tables(plain, plain_expand, fold, fold_expand, word, cjk)


def warm_up() -> None:
    """Build the lookup tables now rather than on the first scan."""
    _tables()


@dataclass(frozen=True, slots=True)
class MappedText:
    """A view of a text; view character ``i`` came from original characters
    ``[starts[i], ends[i])``. ``runs[i]`` is how many times it repeated before squeezing."""

    text: str
    starts: IntArray
    ends: IntArray
    runs: IntArray | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of view characters ``[start, end)`` (``end > start``)."""
        return int(self.starts[start]), int(self.ends[end - 1])


def _codes(text: str) -> CodeArray:
    return np.frombuffer(text.encode("utf-32-le"), dtype="<u4").astype(np.uint32)


def _string(codes: CodeArray) -> str:
    return codes.astype("<u4").tobytes().decode("utf-32-le")


def _apply_table(
    codes: CodeArray, starts: IntArray, ends: IntArray, table: CodeArray, expand: dict[int, str]
) -> tuple[CodeArray, IntArray, IntArray]:
    mapped = table[codes]
    keep = mapped != DELETE
    if not keep.all():
        mapped, starts, ends, codes = mapped[keep], starts[keep], ends[keep], codes[keep]
    exp = mapped == EXPAND
    if exp.any():
        # Rare (ligatures, squared words): expand with a small Python pass over those positions.
        reps = np.ones(len(mapped), dtype=np.int64)
        pieces = {int(i): expand[int(codes[i])] for i in np.flatnonzero(exp)}
        for i, piece in pieces.items():
            reps[i] = len(piece)
        out = np.repeat(mapped, reps)
        new_starts = np.repeat(starts, reps)
        new_ends = np.repeat(ends, reps)
        offsets = np.cumsum(reps) - reps
        for i, piece in pieces.items():
            out[offsets[i] : offsets[i] + len(piece)] = _codes(piece)
        return out, new_starts, new_ends
    return mapped, starts, ends


def plain_view(text: str) -> MappedText:
    """NFKC per character, invisible characters removed; case and punctuation kept."""
    n = len(text)
    starts = np.arange(n, dtype=np.int64)
    if text.isascii():
        return MappedText(text, starts, starts + 1)
    t = _tables()
    codes, s, e = _apply_table(_codes(text), starts, starts + 1, t.plain, t.plain_expand)
    return MappedText(_string(codes), s, e)


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


def _join_spaced(codes: CodeArray, t: _Tables) -> BoolArray:
    """Mask of separator characters to drop: inside spaced-out words and between CJK chars."""
    n = len(codes)
    drop = np.zeros(n, dtype=np.bool_)
    if n < 3:
        return drop
    is_sep = np.isin(codes, _codes(_SEPARATORS))
    leet = np.isin(codes, _codes("".join(_LEET_SYMBOLS_ANYWHERE) + "!|"))
    unit = t.word[codes] | leet
    left = np.concatenate(([False], unit[:-1]))
    right = np.concatenate((unit[1:], [False]))
    isolated = np.flatnonzero(unit & ~left & ~right)
    if len(isolated) >= 3:
        non_sep = np.concatenate(([0], np.cumsum(~is_sep)))  # non-separators in [0, i)
        a, b = isolated[:-1], isolated[1:]
        gap = b - a - 1
        link = (gap >= 1) & (gap <= 2) & ((non_sep[b] - non_sep[a + 1]) == 0)
        run_start, run_end = _runs_of(link)
        long_runs = (run_end - run_start) >= 2  # at least three letters in a row
        if long_runs.any():
            selected = _fill(len(link), run_start[long_runs], run_end[long_runs])
            drop = _fill(n, a[selected] + 1, b[selected])
    # Separators between two CJK characters (at most two in a row).
    cjk = t.cjk[codes]
    if cjk.any():
        sep_any = is_sep
        prev_cjk = np.concatenate(([False], cjk[:-1]))
        prev2_cjk = np.concatenate(([False, False], cjk[:-2]))
        next_cjk = np.concatenate((cjk[1:], [False]))
        next2_cjk = np.concatenate((cjk[2:], [False, False]))
        next_sep = np.concatenate((sep_any[1:], [False]))
        prev_sep = np.concatenate(([False], sep_any[:-1]))
        single = sep_any & prev_cjk & next_cjk
        first_of_two = sep_any & prev_cjk & next_sep & next2_cjk
        second_of_two = sep_any & prev_sep & prev2_cjk & next_cjk
        drop |= single | first_of_two | second_of_two
    return drop


@functools.cache
def _leet_tables() -> tuple[CodeArray, BoolArray, BoolArray]:
    table = np.arange(0x110000, dtype=np.uint32)
    anywhere = np.zeros(0x110000, dtype=np.bool_)
    inner = np.zeros(0x110000, dtype=np.bool_)
    for src, dst in (*_LEET_DIGITS.items(), *_LEET_SYMBOLS_ANYWHERE.items()):
        table[ord(src)] = ord(dst)
        anywhere[ord(src)] = True
    for src, dst in _LEET_SYMBOLS_INNER.items():
        table[ord(src)] = ord(dst)
        inner[ord(src)] = True
    table[ord("l")] = ord("i")  # l, 1, | and ! are one class
    return table, anywhere, inner


def _leet(codes: CodeArray, t: _Tables) -> CodeArray:
    table, anywhere, inner = _leet_tables()
    is_leet = anywhere[codes] | inner[codes]
    letters = t.word[codes] & ~np.isin(codes, _codes("0123456789"))
    in_word = letters | is_leet | t.word[codes]
    rs, re_ = _runs_of(in_word)
    if len(rs) == 0:
        return codes
    letter_count = np.concatenate(([0], np.cumsum(letters)))
    has_letter = (letter_count[re_] - letter_count[rs]) > 0
    in_lettered = _fill(len(codes), rs[has_letter], re_[has_letter])
    next_in_word = np.concatenate((in_word[1:], [False]))
    apply = in_lettered & (anywhere[codes] | (inner[codes] & next_in_word))
    out = codes.copy()
    out[apply] = table[codes[apply]]
    # 'l' folds to 'i' everywhere so terms and text agree.
    out[out == ord("l")] = ord("i")
    return out


def match_view(text: str) -> MappedText:
    """The view lexicons match against: folded, spaced-out letters joined, leet undone, squeezed."""
    t = _tables()
    n = len(text)
    starts = np.arange(n, dtype=np.int64)
    codes, s, e = _apply_table(_codes(text), starts, starts + 1, t.fold, t.fold_expand)
    drop = _join_spaced(codes, t)
    if drop.any():
        keep = ~drop
        codes, s, e = codes[keep], s[keep], e[keep]
    codes = _leet(codes, t)
    # Squeeze runs of one character, remembering each run's length and original extent.
    if len(codes) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return MappedText("", empty, empty, empty)
    first = np.concatenate(([True], codes[1:] != codes[:-1]))
    idx = np.flatnonzero(first)
    last = np.concatenate((idx[1:], [len(codes)])) - 1
    runs = last - idx + 1
    return MappedText(_string(codes[idx]), s[idx], e[last], runs.astype(np.int64))


def fold_term(term: str) -> tuple[str, tuple[int, ...]]:
    """A lexicon term in the match view's form, with its run lengths (outer spaces trimmed)."""
    view = match_view(term)
    assert view.runs is not None
    lead = len(view.text) - len(view.text.lstrip(" "))
    folded = view.text.strip(" ")
    return folded, tuple(int(r) for r in view.runs[lead : lead + len(folded)])


def word_mask(text: str) -> BoolArray:
    """For each character of a view: is it a word character (letter or digit outside CJK)?"""
    return _tables().word[_codes(text)]


def cjk_mask(text: str) -> BoolArray:
    return _tables().cjk[_codes(text)]


def apply_edits(view: MappedText, edits: list[tuple[int, int, str]]) -> MappedText:
    """Replace view characters ``[start, end)`` with new text, keeping the map to the original.

    ``edits`` are sorted and do not overlap. Replacement characters map to the whole original
    extent of what they replace. Meant for rare edits (defanged URLs), not per-character work.
    """
    if not edits:
        return view
    pieces: list[str] = []
    starts: list[IntArray] = []
    ends: list[IntArray] = []
    pos = 0
    for a, b, repl in edits:
        pieces.append(view.text[pos:a])
        starts.append(view.starts[pos:a])
        ends.append(view.ends[pos:a])
        pieces.append(repl)
        starts.append(np.full(len(repl), view.starts[a], dtype=np.int64))
        ends.append(np.full(len(repl), view.ends[b - 1], dtype=np.int64))
        pos = b
    pieces.append(view.text[pos:])
    starts.append(view.starts[pos:])
    ends.append(view.ends[pos:])
    return MappedText("".join(pieces), np.concatenate(starts), np.concatenate(ends))


def skeleton(text: str) -> str:
    """Per-character fold only (NFKC, accents, case, homoglyphs): what a text looks like."""
    t = _tables()
    n = len(text)
    starts = np.arange(n, dtype=np.int64)
    codes, _, _ = _apply_table(_codes(text), starts, starts + 1, t.fold, t.fold_expand)
    return _string(codes)
