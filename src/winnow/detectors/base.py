"""What a detector is: a name, a version, the labels it may emit, a validated config, examples.

Adding a detector touches one new file (a subclass of :class:`TextDetector`) and one line in the
hook that registers it (see :mod:`winnow.plugins`). Detectors return scores and evidence, never
decisions; thresholds and actions live in the policy.

Detectors must not load models or read files at import time. Heavy work goes in :meth:`load`,
which the engine calls once, before first use.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from winnow.media.normalize import MappedText, match_view, plain_view
from winnow.types import EvidenceValue, Finding, Location, MediaKind, Region, Span

if TYPE_CHECKING:
    from winnow.media.image import DecodedImage, ImageFrame


class DetectorConfig(BaseModel):
    """Base of every detector's config: unknown keys are errors, so typos are caught at load."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class Example:
    """An input with the labels a detector must emit for it (none: it must emit nothing).

    Contract tests run every registered detector over its examples.
    """

    text: str
    labels: frozenset[str] = frozenset()
    note: str = ""


@dataclass(eq=False)
class TextChunk:
    """A piece of a text handed to text detectors, with lazily built normalised views.

    ``offset`` is where ``text`` starts in the whole text, so spans are reported in whole-text
    coordinates. The engine keeps only findings that start inside ``[own_start, own_end)`` (chunk
    coordinates): the rest of the chunk is context shared with its neighbours.
    """

    text: str
    offset: int = 0
    own_start: int = 0
    own_end: int | None = None

    @cached_property
    def plain(self) -> MappedText:
        return plain_view(self.text)

    @cached_property
    def match(self) -> MappedText:
        return match_view(self.text)

    def span(self, start: int, end: int) -> Span:
        """A whole-text span from chunk-relative original offsets."""
        return Span(self.offset + start, self.offset + end)


class Detector(ABC):
    """Base of all detectors."""

    name: ClassVar[str]
    version: ClassVar[str]
    labels: ClassVar[frozenset[str]]
    media: ClassVar[frozenset[MediaKind]]
    Config: ClassVar[type[DetectorConfig]] = DetectorConfig
    examples: ClassVar[tuple[Example, ...]] = ()
    # Whether the detector runs when a policy does not mention it.
    enabled_by_default: ClassVar[bool] = True
    # Reads text out of media (OCR) for the text detectors, with no labels of its own.
    extracts_text: ClassVar[bool] = False

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config if config is not None else self.Config()

    def load(self) -> None:  # noqa: B027 - optional hook, empty by default
        """Load models or build indexes. Called once by the engine before the first scan."""

    def finding(
        self,
        label: str,
        score: float,
        explanation: str,
        *,
        location: Location | None = None,
        excerpt: str | None = None,
        **evidence: EvidenceValue,
    ) -> Finding:
        return Finding(
            label=label,
            score=score,
            detector=self.name,
            detector_version=self.version,
            explanation=explanation,
            location=location,
            excerpt=excerpt,
            evidence=evidence,
        )


class TextDetector(Detector):
    media: ClassVar[frozenset[MediaKind]] = frozenset({MediaKind.TEXT})

    @abstractmethod
    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        """Findings for one chunk; spans in whole-text coordinates (use ``chunk.span``)."""


@dataclass(frozen=True, slots=True)
class ExtractedText:
    """Text an image detector read from an image (a QR payload, an OCR line), and where.

    The engine runs the policy's text detectors over it; their findings keep ``region``.
    """

    text: str
    region: Region
    source: Literal["qrcode", "ocr"]
    confidence: float = 1.0


@dataclass(slots=True)
class ImageResult:
    """What an image detector returns for one frame: findings, text it read, and notes."""

    findings: list[Finding] = field(default_factory=list)
    texts: list[ExtractedText] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


class ImageDetector(Detector):
    """A detector of still images and sampled frames of animations (and, later, video)."""

    media: ClassVar[frozenset[MediaKind]] = frozenset({MediaKind.IMAGE})

    @abstractmethod
    def detect_image(self, frame: ImageFrame, image: DecodedImage) -> ImageResult:
        """Findings for one frame; regions in original image coordinates (``frame.region``)."""
