"""Trained text classifiers: insults, profanity, identity attacks, threats and spam, English and
Chinese.

One linear model per label over hashed n-grams of the match view (the text with evasion undone:
lower case, leetspeak, homoglyphs and spaced-out letters folded), so ``f.u.c.k`` and ``ｆｕｃｋ``
weigh what ``fuck`` weighs. Features (``winnow._features``): words, word pairs, 3-5 character
pieces of words, and 1-3 character runs of Chinese; each occurrence's weight is
``1 + log(count)``, the vector L2-normalised. A label's score is its Platt-calibrated
probability, so 0.8 means about four in five such texts carry the label in the development data.

Every finding names the n-grams that pushed its score up most, with their spans in the original
text: the moderator sees *why*. The models are trained by ``scripts/train_text_classifier.py``
from the sets in ``../shared/data`` (see ``docs/models.md``) and shipped as one ``.npz`` of plain
arrays, read without pickle.
"""

from __future__ import annotations

import bisect
import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt
from pydantic import Field

from winnow import _features
from winnow.detectors.base import DetectorConfig, Example, TextChunk, TextDetector
from winnow.media.normalize import CJK_CLASS, fold_term, is_cjk_char
from winnow.types import Finding

BUCKETS = 1 << 19
MODEL_FILE = "text-classifier.npz"
FORMAT = "winnow-text-classifier/1"


PLACEHOLDER = "\u01c2"  # ǂ: a letter no text here uses, standing for any identity term


def _data_lines(name: str) -> list[str]:
    """The entries of a word list shipped in ``data/``: its lines stripped, without blank lines
    and ``#`` comments."""
    text = (resources.files("winnow") / "data" / name).read_text(encoding="utf-8")
    return [t.strip() for t in text.splitlines() if t.strip() and not t.startswith("#")]


def _bounded(text: str, start: int, end: int, *, prefix: bool = False) -> bool:
    """Whether ``text[start:end]`` begins a word and (unless ``prefix``) ends one."""
    if start > 0 and text[start - 1].isalnum():
        return False
    return prefix or end >= len(text) or not text[end].isalnum()


class IdentityMask:
    """Finds the identity terms of ``data/identity_terms.txt`` in a match view (whole words for
    Latin script, anywhere for Chinese) and replaces each by one placeholder letter."""

    def __init__(self, terms: list[str]) -> None:
        import ahocorasick_rs

        self.terms = terms
        self._ac = ahocorasick_rs.AhoCorasick(
            terms, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest
        )
        self._cjk = [any(is_cjk_char(ch) for ch in t) for t in terms]

    @classmethod
    def shipped(cls) -> IdentityMask:
        """The shipped list, each term folded as the match view folds text (``muslim`` reads
        ``musim`` there: ``l`` folds to ``i`` and runs are squeezed)."""
        return cls(sorted({fold_term(t)[0] for t in _data_lines("identity_terms.txt")}))

    def spans(self, text: str) -> list[tuple[int, int]]:
        return [
            (s, e)
            for k, s, e in self._ac.find_matches_as_indexes(text)
            if self._cjk[k] or _bounded(text, s, e)
        ]


class Cues:
    """Words of ``data/violence_cues.txt`` found in a lower-cased text: ``word*`` as the start of
    a word, other Latin-script entries as whole words, Chinese anywhere. ``!phrase`` entries are
    harmless idioms that contain a cue ("kill it", "笑死"): a cue inside one of them does not
    count."""

    def __init__(self, entries: list[str]) -> None:
        import ahocorasick_rs

        self._idiom = [e.startswith("!") for e in entries]
        self._prefix = [e.endswith("*") for e in entries]
        self.terms = [e.lstrip("!").rstrip("*") for e in entries]
        self._cjk = [any(is_cjk_char(ch) for ch in t) for t in self.terms]
        self._ac = ahocorasick_rs.AhoCorasick(self.terms)  # every match, overlapping ones too

    @classmethod
    def shipped(cls) -> Cues:
        return cls([t.lower() for t in _data_lines("violence_cues.txt")])

    def first(self, text: str) -> str | None:
        """The first cue in ``text`` (lower-cased) outside the idioms, or None."""
        found = [
            (k, s, e)
            for k, s, e in self._ac.find_matches_as_indexes(text, overlapping=True)
            if self._cjk[k] or _bounded(text, s, e, prefix=self._prefix[k])
        ]
        idioms = [(s, e) for k, s, e in found if self._idiom[k]]
        for k, s, e in sorted(found, key=lambda m: m[1]):
            if not self._idiom[k] and not any(a <= s and e <= b for a, b in idioms):
                return self.terms[k]
        return None


@functools.cache
def violence_cues() -> Cues:
    """The shipped violence cues, read once per process."""
    return Cues.shipped()


# a threat score is only reported where the text names the violence (kill, shoot, 杀, 砍…):
# without such a word, what raises it is phrasing alone ("I want…", "those…"), which short
# benign messages share
THREAT = "violence/threat"


@functools.cache
def identity_mask() -> IdentityMask:
    """The shipped identity terms, read once per process."""
    return IdentityMask.shipped()


class Grams:
    """The n-gram occurrences of one text (a match view): bucket ids, and spans in the text the
    n-grams were taken from (``starts``, ``ends``, end exclusive), where identity terms were read
    as one placeholder each. :meth:`place` turns those spans into the view's own, which only an
    explanation needs (most texts have none to give)."""

    __slots__ = ("_at", "_grown", "_terms", "ends", "ids", "starts")

    def __init__(self, text: str, buckets: int = BUCKETS) -> None:
        found = identity_mask().spans(text)
        self._terms = found
        if found:
            parts: list[str] = []
            at = 0
            for s, e in found:
                parts += (text[at:s], PLACEHOLDER)
                at = e
            parts.append(text[at:])
            text = "".join(parts)
            raw = _features.ngrams(text, buckets, ord(PLACEHOLDER))
        else:
            raw = _features.ngrams(text, buckets)
        self.ids = np.frombuffer(raw[0], np.uint32)
        self.starts = np.frombuffer(raw[1], np.int32)
        self.ends = np.frombuffer(raw[2], np.int32)
        # where each placeholder sits in the masked text, and how far the view runs ahead of
        # the masked text after it (the lengths of the terms so far, less one each)
        self._at: list[int] = []
        self._grown: list[int] = [0]
        for s, e in found:
            self._at.append(s - self._grown[-1])
            self._grown.append(self._grown[-1] + e - s - 1)

    def place(self, k: Any) -> tuple[list[int], list[int]]:
        """(starts, ends) in the view of occurrences ``k`` (indexes): a placeholder covers its
        term, and a position after it moves by the lengths of the terms before, less one each.
        Plain Python: an explanation asks for a dozen."""
        starts, ends = self.starts[k].tolist(), self.ends[k].tolist()
        if not self._terms:
            return starts, ends
        at, grown, terms = self._at, self._grown, self._terms
        out_s, out_e = [], []
        for q, r in zip(starts, ends, strict=True):
            j = bisect.bisect_right(at, q)  # placeholders at or before q
            out_s.append(terms[j - 1][0] if j and at[j - 1] == q else q + grown[j])
            r -= 1  # the last character
            j = bisect.bisect_right(at, r)
            out_e.append(terms[j - 1][1] if j and at[j - 1] == r else r + grown[j] + 1)
        return out_s, out_e


def features(text: str, buckets: int = BUCKETS) -> tuple[npt.NDArray[np.uint32], Any, Any]:
    """(bucket ids, starts, ends) of every n-gram occurrence in ``text`` (a match view), spans in
    ``text``'s coordinates.

    Identity terms are read as one placeholder, and an n-gram made of placeholders alone is
    dropped: which group a text names is never a feature, and naming one adds nothing by itself;
    what is said around it (``<group> are vermin``) is what counts.
    """
    grams = Grams(text, buckets)
    starts, ends = grams.place(np.arange(len(grams.ids)))
    return grams.ids, np.asarray(starts, np.int64), np.asarray(ends, np.int64)


def vectorize(
    ids: npt.NDArray[np.uint32],
) -> tuple[npt.NDArray[np.uint32], npt.NDArray[np.float32]]:
    """The sparse feature vector of a text's n-gram ids: (columns, values), values
    ``1 + log(count)`` normalised to unit length."""
    cols, vals, _ = _vector(ids)
    return cols, vals


def _vector(ids: npt.NDArray[np.uint32]) -> tuple[Any, Any, Any]:
    """(columns in order of first occurrence, values, the first occurrence of each column in
    ``ids``), computed in C (``winnow._features.vector``)."""
    cols, vals, first = _features.vector(np.ascontiguousarray(ids, np.uint32))
    return (
        np.frombuffer(cols, np.uint32),
        np.frombuffer(vals, np.float32),
        np.frombuffer(first, np.int32),
    )


@dataclass(frozen=True, slots=True)
class Head:
    """One label's model: weights per bucket (a column of the model's matrix), bias, Platt
    calibration ``sigmoid(a * m + b)``."""

    label: str
    weights: npt.NDArray[np.float16]
    bias: float
    platt_a: float
    platt_b: float

    def score(self, margin: float) -> float:
        z = self.platt_a * margin + self.platt_b
        return 1.0 / (1.0 + math.exp(-z)) if z > -50 else 0.0


@dataclass(frozen=True, slots=True)
class Model:
    version: str
    buckets: int
    heads: tuple[Head, ...]
    meta: dict[str, Any]
    matrix: npt.NDArray[np.float16]  # buckets x heads: every head's weights, scored in one pass
    biases: npt.NDArray[np.float64]

    @classmethod
    def load(cls, path: Path | None = None) -> Model:
        """The shipped model (or one at ``path``): plain arrays, never pickle."""
        if path is None:
            ref = resources.files("winnow") / "data" / "models" / MODEL_FILE
            with resources.as_file(ref) as p:
                return cls.load(Path(p))
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode("utf-8"))
            if meta.get("format") != FORMAT:
                raise ValueError(f"{path} is not a {FORMAT} model")
            # heads x buckets on disk; in memory buckets x heads (see margins), float16 both
            matrix = np.ascontiguousarray(z["weights"].T, np.float16)
            if not np.isfinite(matrix).all():
                raise ValueError(f"{path}: weights that are not finite numbers")
            bias, a, b = z["bias"], z["platt_a"], z["platt_b"]
        heads = tuple(
            Head(label, matrix[:, i], float(bias[i]), float(a[i]), float(b[i]))
            for i, label in enumerate(meta["labels"])
        )
        biases = np.ascontiguousarray(bias, np.float64)
        return cls(meta["version"], int(meta["buckets"]), heads, meta, matrix, biases)


class ClassifierConfig(DetectorConfig):
    # Findings below this are not reported. Scores are calibrated, so 0.5 reads "more likely
    # than not"; the policy's rules decide what a score does.
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    explain: int = 3  # how many n-grams each finding names


@functools.cache
def shipped_model() -> Model:
    """The packaged model, loaded once per process (about 0.1 s)."""
    return Model.load()


class ClassifierDetector(TextDetector):
    name: ClassVar[str] = "classifier"
    version: ClassVar[str] = "1.1.0"
    labels: ClassVar[frozenset[str]] = frozenset(
        {
            "harassment/insult",
            "harassment/profanity",
            "hate/identity_attack",
            "violence/threat",
            "spam/ad",
        }
    )
    Config: ClassVar[type[DetectorConfig]] = ClassifierConfig
    examples: ClassVar[tuple[Example, ...]] = (
        Example("have a lovely day, see you at the game tonight"),
        Example("you are such a pathetic loser", frozenset({"harassment/insult"})),
        Example("all women are worthless vermin", frozenset({"hate/identity_attack"})),
        Example("next time I see you I am going to stab you", frozenset({"violence/threat"})),
        Example("can you kill the lights before you leave"),
        Example(
            "WINNER!! You have won a free prize, call now to claim your cash reward",
            frozenset({"spam/ad"}),
        ),
    )

    def __init__(self, config: DetectorConfig | None = None) -> None:
        super().__init__(config)
        self.model: Model | None = None

    def load(self) -> None:
        self.model = shipped_model()

    def detect_text(self, chunk: TextChunk) -> list[Finding]:
        """Each window of the text (a message is one; a longer text is read sentence by
        sentence, see :func:`windows`) is scored on its own."""
        model = self.model or shipped_model()
        cfg = self.config
        assert isinstance(cfg, ClassifierConfig)
        text = chunk.match.text
        out: list[Finding] = []
        for a, b in windows(text):
            words: _Words | None = None  # the window's words, read at its first finding
            grams = Grams(text[a:b], model.buckets)
            cols, vals, first = _vector(grams.ids)
            if len(cols) == 0:
                continue
            margins = np.frombuffer(
                _features.margins(cols, vals, model.matrix, model.biases), np.float64
            )
            for i, head in enumerate(model.heads):
                score = head.score(float(margins[i]))
                if score < cfg.min_score:
                    continue
                cue = None
                if head.label == THREAT:
                    original = chunk.text[slice(*chunk.match.span(a, b))]
                    cue = violence_cues().first(original.lower())
                    if cue is None:
                        continue
                words = words or _Words(chunk.text, *chunk.match.span(a, b))
                contrib = model.matrix[cols, i] * vals
                top = np.argsort(-contrib)[: cfg.explain * 4]
                starts, ends = grams.place(first[top])
                spans = [(s + a, e + a) for s, e in zip(starts, ends, strict=True)]
                pieces = _explain(chunk, words, contrib[top].tolist(), spans, cfg.explain)
                out.append(self._finding(chunk, model, head, score, pieces, cue))
        return out

    def _finding(
        self,
        chunk: TextChunk,
        model: Model,
        head: Head,
        score: float,
        pieces: list[tuple[int, int]],
        cue: str | None = None,
    ) -> Finding:
        """The finding, explained by ``pieces``: the spans of the original text that weighed most
        (see :func:`_explain`)."""
        words = [chunk.text[s:e] for s, e in pieces]
        location = excerpt = None
        if pieces:
            start, end = min(p[0] for p in pieces), max(p[1] for p in pieces)
            location, excerpt = chunk.span(start, end), chunk.text[start:end][:200]
        because = ", ".join(repr(x) for x in words) if words else "the text as a whole"
        return self.finding(
            head.label,
            round(score, 4),
            f"trained classifier ({head.label}, model {model.version}): {score:.2f}; "
            f"most weight on {because}" + (f"; names {cue!r}" if cue else ""),
            location=location,
            excerpt=excerpt,
            evidence=", ".join(words),
        )


def _explain(
    chunk: TextChunk,
    words: _Words,
    weights: list[float],
    spans: list[tuple[int, int]],
    most: int,
) -> list[tuple[int, int]]:
    """Up to ``most`` spans of the original text that added most to a score: ``spans`` are the
    strongest n-grams' spans in the match view, ``weights`` what each added (strongest first);
    each is widened to the whole words it cuts, and a piece overlapping one already taken (another
    n-gram of the same word) is skipped."""
    pieces: list[tuple[int, int]] = []
    for weight, (a, b) in zip(weights, spans, strict=True):
        if weight <= 0:
            break
        s, e = words.widen(*chunk.match.span(a, b))
        if any(s < pe and ps < e for ps, pe in pieces):
            continue
        pieces.append((s, e))
        if len(pieces) == most:
            break
    return pieces


WINDOW = 300  # about a tweet: what the models were trained on; longer windows dilute
# a sentence ends at . ! ? ; before white space (not inside a link or a number), at Chinese
# sentence punctuation, or at a line break
_SENTENCE_END = re.compile(r"(?:[.!?;]+(?=\s|$)|[。！？；\n]+)\s*")


def windows(text: str, size: int = WINDOW) -> list[tuple[int, int]]:
    """[start, end) windows covering ``text``: a message of up to ``size`` characters is one
    window; a longer text is read sentence by sentence (an insult among benign sentences would
    be diluted in one vector), a sentence over ``size`` cut at white space."""
    n = len(text)
    if n <= size:
        return [(0, n)]
    out: list[tuple[int, int]] = []
    a = 0
    for m in _SENTENCE_END.finditer(text):
        if m.end() > a:
            out.extend(_cut(text, a, m.end(), size))
            a = m.end()
    if a < n:
        out.extend(_cut(text, a, n, size))
    return out


def _cut(text: str, a: int, end: int, size: int) -> list[tuple[int, int]]:
    """[a, end) in pieces of at most ``size``, each cut at its last white space where there is
    one in its last fifth."""
    out = []
    while a < end:
        b = min(end, a + size)
        if b < end:
            cut = max(text.rfind(" ", a + size * 4 // 5, b), text.rfind("\n", a + size * 4 // 5, b))
            if cut > a:
                b = cut + 1
        out.append((a, b))
        a = b
    return out


# a run of word characters of the original text: letters and digits outside Chinese and Japanese
# script (a Chinese character is a word of its own)
_WORD_RUN = re.compile(f"[^\\W_{CJK_CLASS}]+")


class _Words:
    """The word runs of ``text[lo:hi]`` (a window's part of the original text, taken out to the
    ends of the words it cuts), to widen a span inside it to the whole words it cuts (a piece like
    ``idi`` shows as ``idiot``)."""

    def __init__(self, text: str, lo: int = 0, hi: int | None = None) -> None:
        hi = len(text) if hi is None else hi
        while lo > 0 and _WORD_RUN.match(text, lo - 1, lo):
            lo -= 1
        while hi < len(text) and _WORD_RUN.match(text, hi, hi + 1):
            hi += 1
        self.starts: list[int] = []
        self.ends: list[int] = []
        for m in _WORD_RUN.finditer(text, lo, hi):
            self.starts.append(m.start())
            self.ends.append(m.end())

    def widen(self, start: int, end: int) -> tuple[int, int]:
        i = bisect.bisect_right(self.starts, start) - 1
        if i >= 0 and start < self.ends[i]:
            start = self.starts[i]
        i = bisect.bisect_right(self.starts, end - 1) - 1
        if i >= 0 and end - 1 < self.ends[i]:
            end = self.ends[i]
        return start, end
