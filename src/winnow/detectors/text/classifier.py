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
from winnow.media.normalize import fold_term, is_cjk_char
from winnow.types import Finding

BUCKETS = 1 << 19
MODEL_FILE = "text-classifier.npz"
FORMAT = "winnow-text-classifier/1"


PLACEHOLDER = "\u01c2"  # ǂ: a letter no text here uses, standing for any identity term
_ASCII_ALNUM = np.array([chr(i).isalnum() for i in range(128)])


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


def features(text: str, buckets: int = BUCKETS) -> tuple[npt.NDArray[np.uint32], Any, Any]:
    """(bucket ids, starts, ends) of every n-gram occurrence in ``text`` (a match view), spans in
    ``text``'s coordinates.

    Identity terms are read as one placeholder, and an n-gram made of placeholders alone is
    dropped: which group a text names is never a feature, and naming one adds nothing by itself;
    what is said around it (``<group> are vermin``) is what counts.
    """
    found = identity_mask().spans(text)
    if not found:
        plain = _features.ngrams(text, buckets)
        return (
            np.frombuffer(plain[0], np.uint32),
            np.frombuffer(plain[1], np.int32),
            np.frombuffer(plain[2], np.int32),
        )
    parts: list[str] = []
    at = 0
    for s, e in found:
        parts += (text[at:s], PLACEHOLDER)
        at = e
    parts.append(text[at:])
    masked = "".join(parts)
    raw_ids, raw_starts, raw_ends = _features.ngrams(masked, buckets)
    ids = np.frombuffer(raw_ids, np.uint32)
    starts = np.frombuffer(raw_starts, np.int32)
    ends = np.frombuffer(raw_ends, np.int32)
    codes = np.frombuffer(masked.encode("utf-32-le"), np.uint32)
    # characters of words other than the placeholder (non-ASCII counts as a letter: n-grams only
    # ever start and end on word characters, so punctuation inside a span is all this misreads)
    real = np.where(codes < 128, _ASCII_ALNUM[np.minimum(codes, 127)], codes != ord(PLACEHOLDER))
    count = np.concatenate([[0], np.cumsum(real)])
    keep = count[ends] - count[starts] > 0
    # masked position -> text position: each placeholder j sits at p[j] and stands for
    # text[s_j:e_j]; a position after k placeholders is shifted by the k terms' lengths - 1
    spans = np.asarray(found, np.int64)
    grown = np.concatenate([[0], np.cumsum(spans[:, 1] - spans[:, 0] - 1)])
    place = spans[:, 0] - grown[:-1]

    def to_text(q: Any, *, end: bool) -> Any:
        k = np.searchsorted(place, q, side="right")  # placeholders at or before q
        out = q + grown[k]
        on = (k > 0) & (place[np.maximum(k - 1, 0)] == q)  # q is a placeholder itself
        if end:  # q is the last character of a span: a placeholder ends where its term ends
            return np.where(on, spans[np.maximum(k - 1, 0), 1], out + 1)
        return np.where(on, spans[np.maximum(k - 1, 0), 0], out)

    s_keep, e_keep = starts[keep], ends[keep] - 1
    return ids[keep], to_text(s_keep, end=False), to_text(e_keep, end=True)


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
    weights: npt.NDArray[np.float32]
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
    matrix: npt.NDArray[np.float32]  # buckets x heads: every head's weights, scored in one pass
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
            # float16 on disk, heads x buckets; in memory buckets x heads (see margins)
            matrix = np.ascontiguousarray(z["weights"].T, np.float32)
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
            ids, starts, ends = features(text[a:b], model.buckets)
            cols, vals, first = _vector(ids)
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
                at = (starts[first] + a, ends[first] + a)
                contrib = model.matrix[cols, i] * vals
                out.append(self._finding(chunk, model, head, score, contrib, at, cue))
        return out

    def _finding(
        self,
        chunk: TextChunk,
        model: Model,
        head: Head,
        score: float,
        contrib: Any,
        at: tuple[Any, Any],
        cue: str | None = None,
    ) -> Finding:
        """The finding, explained by the n-grams that added most to the score (``contrib``, one
        per column; ``at``: each column's first span in the view), as spans of the original
        text (overlapping pieces of one word merged into it)."""
        cfg = self.config
        assert isinstance(cfg, ClassifierConfig)
        view = chunk.match
        pieces: list[tuple[int, int, float]] = []
        top = np.argsort(-contrib)[: cfg.explain * 4]
        for c, a, b in zip(
            contrib[top].tolist(), at[0][top].tolist(), at[1][top].tolist(), strict=True
        ):
            if c <= 0:
                break
            s, e = _whole_words(chunk.text, *view.span(a, b))
            if any(s < pe and ps < e for ps, pe, _ in pieces):
                continue
            pieces.append((s, e, c))
            if len(pieces) == cfg.explain:
                break
        words = [chunk.text[s:e] for s, e, _ in pieces]
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


def _whole_words(text: str, start: int, end: int) -> tuple[int, int]:
    """A span widened to the whole words it cuts (a piece like ``idi`` shows as ``idiot``);
    Chinese characters are words of their own."""
    while start > 0 and _wordish(text[start - 1]) and _wordish(text[start]):
        start -= 1
    while end < len(text) and _wordish(text[end]) and _wordish(text[end - 1]):
        end += 1
    return start, end


def _wordish(ch: str) -> bool:
    return ch.isalnum() and not is_cjk_char(ch)
