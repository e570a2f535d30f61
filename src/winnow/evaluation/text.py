"""Text moderation scored on labelled sets: precision, recall, F1 and macro-F1 per set, task and
language, with baselines, and the same scoring for any labelled file (``winnow eval FILE``).

A row counts as **predicted positive** when the verdict, under the policy in force, has a rule hit
on a label under one of the task's label prefixes (``hate`` covers ``hate/slur`` and
``hate/identity_attack``): what a platform acting on Winnow's verdicts would see.

Each set's labels map to one of three tasks; the mapping is written beside each set below.

- ``offensive``: ``harassment``, ``hate``, ``violence/threat``, ``sexual`` (OffensEval's OFF:
  profanity, insults, threats, identity attacks).
- ``hate``: ``hate`` (attacks on people for a protected characteristic).
- ``abuse``: ``hate``, ``violence/threat``, ``harassment/insult`` (for files whose "hateful"
  means any abuse of a protected group, threats included).
- ``spam``: ``spam``.
- ``threat``: ``violence/threat`` (HateCheck's threat functionalities against the rest).
- ``profanity``: ``harassment/profanity`` (swearing, whoever it is aimed at, or no one).

Sets that Winnow may train on (``TRAINABLE``) are scored on a development split carved from them
by a hash of the text (:func:`is_dev`, a fifth of the rows; HateCheck by a hash of the template,
so no template is on both sides); training scripts leave those rows out. HateCheck is reported
per functionality. ToxiCN (no-derivatives licence) is never trained on and is scored whole.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from winnow import taxonomy
from winnow.errors import ContentError

OFFENSIVE = ("harassment", "hate", "violence/threat", "sexual")
HATE = ("hate",)
SPAM = ("spam",)
ABUSE = ("hate", "violence/threat", "harassment/insult")
THREAT = ("violence/threat",)
PROFANITY = ("harassment/profanity",)
TASKS: dict[str, tuple[str, ...]] = {
    "offensive": OFFENSIVE,
    "hate": HATE,
    "abuse": ABUSE,
    "spam": SPAM,
    "threat": THREAT,
    "profanity": PROFANITY,
}
# HateCheck's functionalities (English and Mandarin) that are threats, and that are profanity
THREAT_FUNCTIONALITIES = frozenset({"threat_dir_h", "threat_norm_h"})
PROFANITY_FUNCTIONALITIES = frozenset({"profanity_h", "profanity_nh"})
MAX_FILE_BYTES = 512 << 20
MAX_TEXT_CHARS = 100_000
_TRUE = {"1", "true", "yes", "off", "pos", "positive", "hateful", "hate", "spam", "toxic"}
_FALSE = {"0", "false", "no", "not", "neg", "negative", "non-hateful", "nohate", "ham", "none"}


def is_dev(text: str) -> bool:
    """Whether a row of a trainable set belongs to its development split (a fifth of the rows,
    chosen by a hash of the text, so the same text is always on the same side)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()[0] % 5 == 0


@dataclass(frozen=True, slots=True)
class Row:
    text: str
    positive: bool
    group: str | None = None  # HateCheck: the functionality
    key: str | None = None  # what decides the row's split, when not its text (a template)

    @property
    def dev(self) -> bool:
        return is_dev(self.key if self.key is not None else self.text)


@dataclass(frozen=True, slots=True)
class TextSet:
    name: str
    language: str
    task: str
    folder: str
    mapping: str  # how the set's labels become positive / negative
    load: Callable[[Path], list[Row]]
    split: str  # "dev": the development split of a trainable set; "all": every row
    functional: bool = False  # scored per group too (HateCheck's functionalities)


@dataclass(slots=True)
class BinaryScore:
    n: int = 0
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    failed: int = 0  # rows the engine refused (counted as predicted negative)
    fp_labels: Counter[str] = field(default_factory=Counter)
    fn_examples: list[str] = field(default_factory=list)

    def add(self, gold: bool, predicted: bool, labels: Iterable[str] = ()) -> None:
        self.n += 1
        if gold and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.fp_labels.update(labels)
        elif gold:
            self.fn += 1
        else:
            self.tn += 1

    def merge(self, other: BinaryScore) -> None:
        """Pool another score's counts into this one (sets of one language and task)."""
        self.n += other.n
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn
        self.tn += other.tn
        self.failed += other.failed
        self.fp_labels.update(other.fp_labels)

    @property
    def accuracy(self) -> float:
        return (self.tp + self.tn) / self.n if self.n else 0.0

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def f1(self) -> float:
        return _f1(self.tp, self.fp, self.fn)

    @property
    def macro_f1(self) -> float:
        """The mean of the positive class's F1 and the negative class's (OffensEval's measure)."""
        return (_f1(self.tp, self.fp, self.fn) + _f1(self.tn, self.fn, self.fp)) / 2

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "accuracy": round(self.accuracy, 4),
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "macro_f1": round(self.macro_f1, 4),
        }


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


# -- predictors ------------------------------------------------------------------------------------

Predictor = Callable[[str], tuple[bool, tuple[str, ...]]]


def engine_predictor(engine: Any, prefixes: Sequence[str]) -> Predictor:
    """Positive when the verdict has a rule hit on a label under one of ``prefixes``; returns the
    labels of those hits (for the error summary)."""
    wanted = tuple(prefixes)

    def under(label: str) -> bool:
        bare = label.split(":", 1)[-1]
        return any(taxonomy.covers(p, bare) for p in wanted)

    def predict(text: str) -> tuple[bool, tuple[str, ...]]:
        verdict = engine.scan(text)
        labels = tuple(
            sorted({lab for hit in verdict.rule_hits for lab in hit.labels if under(lab)})
        )
        return bool(labels), labels

    return predict


def _predicted(predict: Predictor, text: str) -> tuple[bool, tuple[str, ...]] | None:
    """The prediction, or None for a row the engine refuses (an empty one, say)."""
    try:
        return predict(text)
    except ContentError:
        return None


def score(rows: Iterable[Row], predict: Predictor) -> BinaryScore:
    out = BinaryScore()
    for row in rows:
        got = _predicted(predict, row.text)
        if got is None:  # counted as predicted negative: nothing to flag
            out.failed += 1
        predicted, labels = got or (False, ())
        out.add(row.positive, predicted, labels)
        if row.positive and not predicted and len(out.fn_examples) < 5:
            out.fn_examples.append(row.text[:120])
    return out


def functional(rows: Iterable[Row], predict: Predictor) -> dict[str, BinaryScore]:
    """Scores per group (HateCheck's functionalities), and ``"all"``."""
    out: dict[str, BinaryScore] = {"all": BinaryScore()}
    for row in rows:
        predicted, labels = _predicted(predict, row.text) or (False, ())
        for key in ("all", row.group or "-"):
            out.setdefault(key, BinaryScore()).add(row.positive, predicted, labels)
    return out


# -- the shared sets -------------------------------------------------------------------------------


def _csv(path: Path, delimiter: str = ",", *, quoted: bool = True) -> list[dict[str, str]]:
    """Rows of a shared set's CSV/TSV (``quoted=False``: quote characters are text, as in OLID
    and the SMS collection)."""
    with path.open(encoding="utf-8-sig", newline="") as f:
        if quoted:
            return list(csv.DictReader(f, delimiter=delimiter))
        return list(csv.DictReader(f, delimiter=delimiter, quoting=csv.QUOTE_NONE))


def _tweet(text: str) -> str:
    """Davidson's raw tweets in OLID's form: handles as @USER, links as URL, entities decoded."""
    text = re.sub(r"@\w+", "@USER", text)
    text = re.sub(r"https?://\S+", "URL", text)
    return text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def _olid(data: Path) -> list[Row]:
    rows = _csv(data / "olid-training-v1.0.tsv", "\t", quoted=False)
    return [Row(r["tweet"], r["subtask_a"] == "OFF") for r in rows]


def davidson_classes(data: Path) -> list[tuple[str, str]]:
    """Davidson's tweets (in OLID's form) with their class: 0 hate, 1 offensive, 2 neither."""
    return [(_tweet(r["tweet"]), r["class"]) for r in _csv(data / "labeled_data.csv")]


def _davidson(task: str) -> Callable[[Path], list[Row]]:
    def load(data: Path) -> list[Row]:
        hit = {"offensive": ("0", "1"), "hate": ("0",)}[task]
        return [Row(text, cls in hit) for text, cls in davidson_classes(data)]

    return load


def _stormfront(data: Path) -> list[Row]:
    rows = _csv(data / "stormfront_sentences.csv")
    return [Row(r["text"], r["label"] == "hate") for r in rows if r["label"] in ("hate", "noHate")]


def _toxigen(data: Path) -> list[Row]:
    return [
        Row(r["text"], r["label"] == "hate") for r in _csv(data / "toxigen_seed_statements.csv")
    ]


def _hatecheck(data: Path) -> list[Row]:
    """HateCheck's cases, split by template: the seven cases of one template (one per target
    group) differ only in the group, so they must fall on the same side."""
    return list(_suite(data / "test_suite_cases.csv", "hc"))


def _mhc_mandarin(data: Path) -> list[Row]:
    """Multilingual HateCheck's Mandarin cases, split by template as HateCheck is (cases with
    no template, such as the slurs, by their own text)."""
    return list(_suite(data / "hatecheck_cases_final_mandarin.csv", "mhc-zh"))


@functools.lru_cache(maxsize=4)
def _suite(path: Path, prefix: str) -> tuple[Row, ...]:
    """A HateCheck suite's cases, read once per process: each suite is scored as three sets
    (hate, threats, profanity), which share its rows."""
    return tuple(
        Row(r["test_case"], r["label_gold"] == "hateful", r["functionality"],
            f"{prefix}{r['templ_id']}" if r["templ_id"] else None)
        for r in _csv(path)
    )  # fmt: skip


def _functionalities(
    load: Callable[[Path], list[Row]], positive: frozenset[str]
) -> Callable[[Path], list[Row]]:
    """A HateCheck loader read for another task: the cases of ``positive`` functionalities are
    the positives, every other case a negative (same rows, same split)."""

    def read(data: Path) -> list[Row]:
        return [Row(r.text, r.group in positive, r.group, r.key) for r in load(data)]

    return read


def _olid_untargeted(data: Path) -> list[Row]:
    """OLID's untargeted offence (subtask_b UNT: swearing aimed at no one) against its NOT
    tweets; targeted insults are left out (they may swear or not)."""
    rows = _csv(data / "olid-training-v1.0.tsv", "\t", quoted=False)
    return [Row(r["tweet"], r["subtask_a"] == "OFF") for r in rows
            if r["subtask_a"] == "NOT" or r["subtask_b"] == "UNT"]  # fmt: skip


def _cold(data: Path) -> list[Row]:
    return [Row(r["TEXT"], r["label"] == "1") for r in _csv(data / "dev.csv")]


def _swsr(data: Path) -> list[Row]:
    return [Row(r["comment_text"], r["label"] == "1") for r in _csv(data / "SexComment_labels.csv")]


def _toxicn(data: Path) -> list[Row]:
    return [Row(r["content"], r["toxic"] == "1") for r in _csv(data / "ToxiCN_1.0.csv")]


def _sms(data: Path) -> list[Row]:
    rows = _csv(data / "SMSSpamCollection.tsv", "\t", quoted=False)
    return [Row(r["SMS"], r["Label"] == "spam") for r in rows]


def _youtube(data: Path) -> list[Row]:
    return [
        Row(r["content"], r["class"] == "1") for r in _csv(data / "youtube_spam_psy_shakira.csv")
    ]


SETS: tuple[TextSet, ...] = (
    TextSet("OLID (OffensEval 2019) train, dev split", "en", "offensive",
            "text-en-olid-offenseval2019-train", "subtask_a OFF -> positive, NOT -> negative",
            _olid, "dev"),
    TextSet("Davidson, dev split", "en", "offensive", "text-en-davidson-hate-offensive",
            "class 0 (hate) and 1 (offensive) -> positive, 2 (neither) -> negative",
            _davidson("offensive"), "dev"),
    TextSet("Davidson hate, dev split", "en", "hate", "text-en-davidson-hate-offensive",
            "class 0 (hate) -> positive, 1 and 2 -> negative", _davidson("hate"), "dev"),
    TextSet("Stormfront, dev split", "en", "hate", "text-en-stormfront-hate-sentences",
            "hate -> positive, noHate -> negative; relation and idk/skip left out",
            _stormfront, "dev"),
    TextSet("ToxiGen seed statements, dev split", "en", "hate",
            "text-en-toxigen-seed-statements", "hate -> positive, neutral -> negative",
            _toxigen, "dev"),
    TextSet("HateCheck, dev templates", "en", "hate", "text-en-hatecheck",
            "label_gold hateful -> positive, non-hateful -> negative; split by template; "
            "per functionality", _hatecheck, "dev", functional=True),
    TextSet("HateCheck threats, dev templates", "en", "threat", "text-en-hatecheck",
            "functionalities threat_dir_h and threat_norm_h -> positive, every other case "
            "(hateful or not) -> negative", _functionalities(_hatecheck, THREAT_FUNCTIONALITIES),
            "dev"),
    TextSet("HateCheck profanity, dev templates", "en", "profanity", "text-en-hatecheck",
            "functionalities profanity_h and profanity_nh -> positive, every other case -> "
            "negative", _functionalities(_hatecheck, PROFANITY_FUNCTIONALITIES), "dev"),
    TextSet("OLID untargeted profanity, dev split", "en", "profanity",
            "text-en-olid-offenseval2019-train",
            "subtask_b UNT -> positive, subtask_a NOT -> negative, targeted insults left out",
            _olid_untargeted, "dev"),
    TextSet("SMS Spam Collection, dev split", "en", "spam", "text-en-sms-spam-collection",
            "spam -> positive, ham -> negative", _sms, "dev"),
    TextSet("YouTube comment spam, dev split", "en", "spam", "text-en-youtube-comment-spam",
            "class 1 -> positive, 0 -> negative", _youtube, "dev"),
    TextSet("COLD dev", "zh", "offensive", "text-zh-cold-train-dev",
            "label 1 (offensive) -> positive, 0 (safe) -> negative", _cold, "all"),
    TextSet("SWSR sexism, dev split", "zh", "hate", "text-zh-swsr-sexism",
            "label 1 (sexist) -> positive, 0 -> negative", _swsr, "dev"),
    TextSet("Multilingual HateCheck Mandarin, dev templates", "zh", "hate",
            "text-multilingual-hatecheck", "label_gold hateful -> positive, non-hateful -> "
            "negative; split by template; per functionality", _mhc_mandarin, "dev",
            functional=True),
    TextSet("Multilingual HateCheck Mandarin threats, dev templates", "zh", "threat",
            "text-multilingual-hatecheck", "functionalities threat_dir_h and threat_norm_h -> "
            "positive, every other case -> negative",
            _functionalities(_mhc_mandarin, THREAT_FUNCTIONALITIES), "dev"),
    TextSet("Multilingual HateCheck Mandarin profanity, dev templates", "zh", "profanity",
            "text-multilingual-hatecheck", "functionalities profanity_h and profanity_nh -> "
            "positive, every other case -> negative",
            _functionalities(_mhc_mandarin, PROFANITY_FUNCTIONALITIES), "dev"),
    TextSet("ToxiCN (evaluation only)", "zh", "offensive", "text-zh-toxicn",
            "toxic 1 -> positive, 0 -> negative", _toxicn, "all"),
)  # fmt: skip
TRAINABLE = frozenset(s.folder for s in SETS if s.split == "dev")


def rows_of(text_set: TextSet, data: Path) -> list[Row]:
    """The rows a set is scored on: its development split, or all of it."""
    rows = text_set.load(data / text_set.folder)
    return [r for r in rows if r.dev] if text_set.split == "dev" else rows


def available(data: Path) -> list[TextSet]:
    return [s for s in SETS if (data / s.folder).is_dir()]


# -- any labelled file -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LabelledFile:
    rows: list[Row]
    skipped: list[str]  # "line N: why" for rows that could not be used


def parse_label(value: Any) -> bool:
    """1/0, true/false, OFF/NOT and the like; ValueError naming the value otherwise."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    v = str(value).strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise ValueError(f"label {str(value)[:40]!r} is not 1/0, true/false or OFF/NOT")


def read_labelled(
    path: Path, text_column: str = "text", label_column: str = "label"
) -> LabelledFile:
    """Rows of a CSV, TSV or JSON Lines file (told apart by the name, else the first line).

    Raises ContentError for a file that cannot be read as a whole (missing, too large, not
    UTF-8, no such column); a row that cannot be used is listed in ``skipped`` with its line.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ContentError(f"{path}: {exc.strerror or exc}") from None
    if size > MAX_FILE_BYTES:
        raise ContentError(f"{path} is {size:,} bytes, over the limit of {MAX_FILE_BYTES:,}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ContentError(f"{path} is not UTF-8 (byte {exc.start})") from None
    first = text.lstrip()[:1]
    name = path.name.lower()
    if name.endswith((".jsonl", ".ndjson", ".json")) or first == "{":
        records = _jsonl(text, path)
    else:
        tsv = name.endswith(".tsv") or "\t" in text.split("\n", 1)[0]
        # TSV: a tab ends a field and quote characters are text (as in OLID and the SMS set)
        reader = (
            csv.DictReader(io.StringIO(text, newline=""), delimiter="\t", quoting=csv.QUOTE_NONE)
            if tsv
            else csv.DictReader(io.StringIO(text, newline=""))
        )
        header = reader.fieldnames or []
        for col in (text_column, label_column):
            if col not in header:
                raise ContentError(
                    f"{path} has no column {col!r} (its columns: {', '.join(header) or 'none'}); "
                    "name them with --text-column and --label-column"
                )
        records = ((reader.line_num, r) for r in reader)
    rows: list[Row] = []
    skipped: list[str] = []
    for line, rec in records:
        if isinstance(rec, str):
            skipped.append(f"line {line}: {rec}")
            continue
        if text_column not in rec or label_column not in rec:
            skipped.append(f"line {line}: no {text_column!r} or {label_column!r} field")
            continue
        value = rec[text_column]
        if not isinstance(value, str) or not value.strip():
            skipped.append(f"line {line}: the text is empty or not a string")
            continue
        if len(value) > MAX_TEXT_CHARS:
            skipped.append(f"line {line}: the text is over {MAX_TEXT_CHARS:,} characters")
            continue
        try:
            rows.append(Row(value, parse_label(rec[label_column])))
        except ValueError as exc:
            skipped.append(f"line {line}: {exc}")
    if not rows:
        raise ContentError(f"{path} has no usable rows" + (f" ({skipped[0]})" if skipped else ""))
    return LabelledFile(rows, skipped)


def _jsonl(text: str, path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            yield n, f"not JSON ({exc.msg})"
            continue
        yield n, rec if isinstance(rec, dict) else "not a JSON object"


def parse_prefixes(spec: str) -> tuple[str, ...]:
    """``harassment,hate,violence/threat`` -> the label prefixes; ValueError naming any that is
    not a label or category of the taxonomy."""
    out = tuple(p.strip() for p in spec.split(",") if p.strip())
    if not out:
        raise ValueError("give at least one label or category, e.g. harassment,hate")
    for p in out:
        if not taxonomy.is_label_pattern(p):
            close = taxonomy.suggest(p)
            hint = f" (did you mean {close!r}?)" if close else " (see `winnow labels`)"
            raise ValueError(f"{p!r} is not a label or category{hint}")
    return out
