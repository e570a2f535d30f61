"""The small set of types every part of Winnow speaks.

A scan turns a :class:`Content` into :class:`Finding` s (from detectors) and :class:`HashMatch` es
(from hash banks); the policy turns those into a :class:`Verdict` whose :class:`Action` is the most
severe of its :class:`RuleHit` s. Detectors return scores and evidence, never decisions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Literal


class Action(IntEnum):
    """What the policy says to do. Ordered, so the most severe of several wins with ``max``."""

    PASS = 0
    REVIEW = 1
    BLOCK = 2

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Action:
        try:
            return cls[value.upper()]
        except KeyError:
            raise ValueError(f"unknown action {value!r}; expected pass, review or block") from None


class MediaKind(StrEnum):
    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``[start, end)`` of the original text (Unicode code points, not bytes)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if not 0 <= self.start <= self.end:
            raise ValueError(f"invalid span [{self.start}, {self.end})")


@dataclass(frozen=True, slots=True)
class Region:
    """A box in an image (pixels, origin top-left); ``frame`` for animated images and video."""

    x: int
    y: int
    width: int
    height: int
    frame: int | None = None


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Seconds ``[start, end)`` of a video or audio track."""

    start: float
    end: float


Location = Span | Region | TimeRange
EvidenceValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a detector found: a label with a score in 0..1, where it is, and why.

    ``label`` is a taxonomy label such as ``hate/slur``; ``qualified_label`` adds the detector
    (``lexicon:hate/slur``). ``excerpt`` is the matched text as the moderator should see it (masked
    for personal data). ``evidence`` holds the machine-readable reasons (term, pattern, checks).
    """

    label: str
    score: float
    detector: str
    detector_version: str
    explanation: str
    location: Location | None = None
    excerpt: str | None = None
    evidence: Mapping[str, EvidenceValue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (0.0 <= self.score <= 1.0) or math.isnan(self.score):
            raise ValueError(f"finding score must be in 0..1, got {self.score!r}")

    @property
    def qualified_label(self) -> str:
        return f"{self.detector}:{self.label}"


@dataclass(frozen=True, slots=True)
class HashMatch:
    """A hash of the content matched an entry in a hash bank.

    ``kind`` is the bank's: block, review, allow (known-good content) or negative (suppresses
    other banks' matches). ``transform`` names the rotation or mirror that, applied to the
    content, gives the image that matched, or ``borders_removed`` when the picture matched once
    uniform bars around it were cut away (PDQ only; None: the content as sent). A match that a
    negative bank set aside keeps the negative bank's name in ``suppressed_by``: it stays in the
    verdict and counts for nothing.
    """

    bank: str
    entry_id: str
    algorithm: str
    distance: int
    threshold: int
    labels: tuple[str, ...] = ()
    kind: str = "block"
    value: str = ""
    source: str = ""
    transform: str | None = None
    frame: int | None = None
    suppressed_by: str | None = None


@dataclass(frozen=True, slots=True)
class RuleHit:
    """A policy rule that fired: its action, its reason, and the evidence that made it fire.

    ``findings`` and ``hash_matches`` are indexes into the verdict's lists.
    """

    rule: str
    action: Action
    reason: str
    labels: tuple[str, ...] = ()
    findings: tuple[int, ...] = ()
    hash_matches: tuple[int, ...] = ()
    dsa_category: str | None = None


@dataclass(frozen=True, slots=True)
class DetectorFailure:
    """A detector raised or ran past its time budget. Recorded as data; the policy decides."""

    detector: str
    kind: Literal["error", "timeout"]
    message: str
    elapsed_ms: float


@dataclass(frozen=True, slots=True)
class Suppressed:
    """A finding the policy's allow-list set aside, kept so nothing disappears silently."""

    finding: int
    reason: str


@dataclass(frozen=True, slots=True)
class Language:
    """The language identified for a text (ISO 639-1 code) and the identifier's confidence."""

    code: str
    confidence: float


@dataclass(frozen=True, slots=True)
class ContentHash:
    """A hash of the content, for hash banks: ``md5``/``sha256`` of the bytes, ``pdq`` of pixels.

    ``value`` is lowercase hex. PDQ carries its ``quality`` (0..100; below 50 it is unreliable
    for matching) and, for animated images, the ``frame`` it was computed from. ``variant`` is
    None for the hash of the content as sent; ``"borders_removed"`` for the PDQ of the picture
    inside uniform bars (letterbox, pillarbox, padding), which a reposted copy often gains.
    """

    algorithm: str
    value: str
    quality: int | None = None
    frame: int | None = None
    exact: bool = True  # False: computed from a reduced decode of a very large image
    variant: str | None = None


@dataclass(frozen=True, slots=True)
class ContentInfo:
    """What was scanned, without the content itself."""

    kind: MediaKind
    bytes: int
    chars: int | None = None
    name: str | None = None
    sha256: str | None = None
    media_type: str | None = None
    width: int | None = None  # images: upright size in pixels (EXIF orientation applied)
    height: int | None = None
    frames: int | None = None  # images: frames in the file (1 for a still image)
    hashes: tuple[ContentHash, ...] = ()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one scan: the action, why (rule hits), and everything they rest on."""

    action: Action
    rule_hits: tuple[RuleHit, ...]
    findings: tuple[Finding, ...]
    content: ContentInfo
    policy: str
    hash_matches: tuple[HashMatch, ...] = ()
    failures: tuple[DetectorFailure, ...] = ()
    suppressed: tuple[Suppressed, ...] = ()
    language: Language | None = None
    # Findings a detector produced past the per-item cap: counted, never silently dropped.
    truncated: Mapping[str, int] = field(default_factory=dict)
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Content:
    """Something to scan: text, raw bytes, or a file path. Bytes and files are sniffed.

    Build one with :meth:`from_text`, :meth:`from_bytes` or :meth:`from_path`.
    """

    text: str | None = None
    data: bytes | None = None
    path: Path | None = None
    name: str | None = None
    encoding: str | None = None  # for bytes/files known to be text in a non-UTF-8 encoding

    def __post_init__(self) -> None:
        given = sum(x is not None for x in (self.text, self.data, self.path))
        if given != 1:
            raise ValueError("Content needs exactly one of text, data or path")

    @classmethod
    def from_text(cls, text: str, name: str | None = None) -> Content:
        return cls(text=text, name=name)

    @classmethod
    def from_bytes(
        cls, data: bytes, name: str | None = None, encoding: str | None = None
    ) -> Content:
        return cls(data=data, name=name, encoding=encoding)

    @classmethod
    def from_path(cls, path: str | Path, encoding: str | None = None) -> Content:
        p = Path(path)
        return cls(path=p, name=str(path), encoding=encoding)
