"""The one entry point the CLI, the API and workers share: scan one item, return its verdict
(or several at once, :meth:`Engine.scan_many`: the same verdicts, read stage by stage).

The engine sniffs what it was given (from the bytes, never the name), runs the policy's detectors
over it (text in overlapping chunks; images frame by frame, with the text read from QR codes and by
OCR run through the text detectors), turns a detector that raises or runs past its time budget
into a recorded failure, caps the findings one detector may add to one item (and counts the
rest), identifies the language, and asks the policy for the action. It holds detector instances,
built from the policy once; each media kind's models load lazily on its first item.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

from winnow.detectors.base import (
    Detector,
    ExtractedText,
    ImageDetector,
    TextChunk,
    TextDetector,
)
from winnow.errors import (
    ContentError,
    DetectorError,
    DetectorTimeoutError,
    UnsupportedMediaError,
    WinnowError,
)
from winnow.media.image import IMAGE_TYPES, DecodedImage, ImageLimits, decode_image, read_bytes
from winnow.media.language import identify
from winnow.media.language import warm_up as warm_language
from winnow.media.normalize import warm_up as warm_normalisation
from winnow.media.sniff import sniff_binary
from winnow.media.text import TextLimits, TextSource
from winnow.plugins import Registry
from winnow.policy.evaluate import evaluate
from winnow.policy.loader import Policy, load_default_policy
from winnow.types import (
    Content,
    ContentHash,
    ContentInfo,
    DetectorFailure,
    Finding,
    HashMatch,
    Language,
    MediaKind,
    Region,
    Span,
    Verdict,
)

if TYPE_CHECKING:
    from winnow.hashing.banks import MatchResult

T = TypeVar("T")
# Engine.scan_many reads this many items stage by stage at a time: enough for each detector's
# tables to stay in the cache from item to item, few enough that the views held stay small
STAGED = 256


@dataclass(frozen=True, slots=True)
class Budget:
    """Each detector's time budget for one item: ``base`` seconds plus ``per_mib`` per MiB."""

    base: float = 2.0
    per_mib: float = 0.5

    def seconds(self, size_bytes: int) -> float:
        return self.base + self.per_mib * size_bytes / (1 << 20)


@dataclass(frozen=True, slots=True)
class EngineSettings:
    limits: TextLimits = field(default_factory=TextLimits)
    image: ImageLimits = field(default_factory=ImageLimits)
    budget: Budget = field(default_factory=Budget)
    # Per detector and label; the strongest are kept, the rest counted (see _Strongest).
    max_findings_per_detector: int = 1000


class Matcher(Protocol):
    """Looks content hashes up in hash banks (:class:`winnow.hashing.banks.BankMatcher`)."""

    def match(
        self, hashes: Sequence[ContentHash], dihedral: Mapping[int | None, bytes] | None = None
    ) -> MatchResult: ...

    def close(self) -> None: ...


class Engine:
    def __init__(
        self,
        policy: Policy | None = None,
        *,
        registry: Registry | None = None,
        settings: EngineSettings | None = None,
        matcher: Matcher | None = None,
    ) -> None:
        self.matcher = matcher
        self.policy = policy if policy is not None else load_default_policy(registry)
        self.settings = settings or EngineSettings()
        self.detectors: tuple[Detector, ...] = tuple(
            setup.cls(setup.config) for setup in self.policy.detectors
        )
        self._text_detectors = tuple(d for d in self.detectors if isinstance(d, TextDetector))
        self._loaded: set[MediaKind] = set()
        self._load_errors: dict[str, str] = {}
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load every model and table now (a server calls this before taking traffic)."""
        for kind in (MediaKind.TEXT, MediaKind.IMAGE):
            self._ensure_loaded(kind)

    def _ensure_loaded(self, kind: MediaKind) -> None:
        """Load the detectors of one media kind. One that cannot load fails on every item."""
        if kind in self._loaded:
            return
        with self._load_lock:
            if kind in self._loaded:
                return
            if kind is MediaKind.TEXT:
                warm_normalisation()
                warm_language()
            for d in self.detectors:
                if kind in d.media and d.name not in self._load_errors:
                    try:
                        d.load()
                    except Exception as exc:
                        why = exc.message if isinstance(exc, DetectorError) else repr(exc)
                        self._load_errors[d.name] = f"{d.name} could not load: {why}"
            self._loaded.add(kind)

    def scan(self, content: Content | str, *, matcher: Matcher | None = None) -> Verdict:
        """Scan one item. Raises :class:`~winnow.errors.ContentError` for input it cannot scan.

        ``matcher``: the hash banks to match (a tenant's), instead of the engine's own.
        """
        if isinstance(content, str):
            content = Content.from_text(content)
        banks = matcher if matcher is not None else self.matcher
        if content.text is None and sniff_binary(_head(content)) in IMAGE_TYPES:
            return self._scan_image(content, banks)
        self._ensure_loaded(MediaKind.TEXT)
        source = TextSource(content, self.settings.limits)
        return self._scan_text(source, banks)

    def _scan_image(self, content: Content, banks: Matcher | None) -> Verdict:
        limits = self.settings.image
        data = read_bytes(content, limits.max_bytes)
        t0 = time.perf_counter()
        try:
            image = decode_image(data, limits)
        except ImportError as exc:
            raise UnsupportedMediaError(
                f"content is an image, and this install cannot decode images ({exc}); "
                "install the image extra with `make install`"
            ) from None
        t_decode = time.perf_counter() - t0
        self._ensure_loaded(MediaKind.IMAGE)
        detectors = [d for d in self.detectors if isinstance(d, ImageDetector)]
        budget = self.settings.budget.seconds(len(data))
        cap = self.settings.max_findings_per_detector
        found: dict[str, _Strongest] = {d.name: _Strongest(cap) for d in detectors}
        spent: dict[str, float] = dict.fromkeys(found, 0.0)
        failures = self._load_failures(detectors)
        texts: list[ExtractedText] = []
        notes: list[str] = []
        for frame in image.frames:
            for d in detectors:
                if d.name in failures:
                    continue
                call = functools.partial(d.detect_image, frame, image)
                result = _run(d.name, call, spent, failures, budget, f"after frame {frame.index}")
                if result is not None:
                    found[d.name].add(result.findings)
                    texts.extend(result.texts)
                    notes.extend(result.notes)
        language: Language | None = None
        if texts:
            self._ensure_loaded(MediaKind.TEXT)
            self._scan_extracted(texts, found, spent, failures, budget)
            t0 = time.perf_counter()
            language = identify(" ".join(t.text for t in texts))
            spent["language"] = time.perf_counter() - t0
        timings = {"decode": _ms(t_decode)}
        timings.update((name, _ms(s)) for name, s in spent.items())
        return self._verdict(
            found,
            failures,
            ContentInfo(
                kind=MediaKind.IMAGE,
                bytes=image.bytes,
                name=content.name,
                sha256=image.sha256,
                media_type=image.media_type,
                width=image.width,
                height=image.height,
                frames=image.frame_count,
                hashes=image.hashes,
            ),
            language,
            timings,
            _image_notes(image, texts, notes),
            banks,
            image.pdq_dihedral,
        )

    def _scan_extracted(
        self,
        texts: list[ExtractedText],
        found: dict[str, _Strongest],
        spent: dict[str, float],
        failures: dict[str, DetectorFailure],
        budget: float,
    ) -> None:
        """Run the text detectors over text read from an image; findings take the text's box."""
        detectors = self._text_detectors
        failures.update(self._load_failures(detectors))
        for d in detectors:
            found.setdefault(d.name, _Strongest(self.settings.max_findings_per_detector))
            spent.setdefault(d.name, 0.0)
        for t in texts:
            chunk = TextChunk(t.text[: self.settings.limits.chunk_chars])
            for d in detectors:
                if d.name in failures:
                    continue
                call = functools.partial(_text_findings, d, chunk)
                new = _run(d.name, call, spent, failures, budget, "on text read from the image")
                if new is not None:
                    found[d.name].add([_placed(f, t) for f in new])

    def _load_failures(self, detectors: Sequence[Detector]) -> dict[str, DetectorFailure]:
        return {
            d.name: DetectorFailure(d.name, "error", self._load_errors[d.name], 0.0)
            for d in detectors
            if d.name in self._load_errors
        }

    def scan_many(
        self, contents: Sequence[Content | str], *, matcher: Matcher | None = None
    ) -> list[Verdict | ContentError]:
        """Scan several items: each one's verdict, or the :class:`~winnow.errors.ContentError`
        that :meth:`scan` would raise for it (one item that cannot be scanned does not stop the
        rest). The verdicts are those :meth:`scan` gives one by one; only the order of work
        differs: the texts that fit in one chunk are read stage by stage (every item's language,
        then each detector over every item), so that each detector's tables stay in the cache
        from one item to the next. Images and longer texts are scanned one by one. Items are
        taken ``STAGED`` at a time, so the views and findings held at once stay bounded."""
        banks = matcher if matcher is not None else self.matcher
        out: list[Verdict | ContentError] = []
        for at in range(0, len(contents), STAGED):
            out += self._scan_staged(contents[at : at + STAGED], banks)
        return out

    def _scan_staged(
        self, contents: Sequence[Content | str], banks: Matcher | None
    ) -> list[Verdict | ContentError]:
        out: list[Verdict | ContentError | None] = [None] * len(contents)
        batch: list[tuple[int, _TextScan, TextChunk]] = []
        for i, item in enumerate(contents):
            content = Content.from_text(item) if isinstance(item, str) else item
            try:
                if content.text is None or len(content.text) > self.settings.limits.chunk_chars:
                    out[i] = self.scan(content, matcher=banks)
                    continue
                self._ensure_loaded(MediaKind.TEXT)
                scan = _TextScan(self, TextSource(content, self.settings.limits))
                (chunk,) = scan.source.chunks()  # a text of up to chunk_chars is one chunk
                scan.identify(chunk)
                batch.append((i, scan, chunk))
            except ContentError as exc:
                out[i] = exc
        for d in self._text_detectors:
            for _, scan, chunk in batch:
                scan.run(d, chunk)
        for i, scan, _ in batch:
            out[i] = scan.verdict(banks)
        done = [v for v in out if v is not None]
        assert len(done) == len(contents)  # every item has its verdict or its error
        return done

    def _scan_text(self, source: TextSource, banks: Matcher | None) -> Verdict:
        scan = _TextScan(self, source)
        for chunk in source.chunks():
            if chunk.offset == 0:
                scan.identify(chunk)
            for d in self._text_detectors:
                scan.run(d, chunk)
        return scan.verdict(banks)

    def _verdict(
        self,
        found: dict[str, _Strongest],
        failures: dict[str, DetectorFailure],
        info: ContentInfo,
        language: Language | None,
        timings: dict[str, float],
        notes: list[str],
        banks: Matcher | None,
        dihedral: Mapping[int | None, bytes] | None = None,
    ) -> Verdict:
        findings = sorted((f for kept in found.values() for f in kept.findings()), key=_position)
        truncated = {name: kept.dropped for name, kept in found.items() if kept.dropped}
        hash_matches: tuple[HashMatch, ...] = ()
        if banks is not None:
            hashes = info.hashes or ((ContentHash("sha256", info.sha256),) if info.sha256 else ())
            t0 = time.perf_counter()
            try:
                matched = banks.match(hashes, dihedral)
                hash_matches = tuple(matched.matches)
                notes.extend(matched.notes)
            except Exception as exc:  # the banks' database, or a bug: recorded, decided by policy
                why = exc.message if isinstance(exc, WinnowError) else repr(exc)
                failures["hash-banks"] = DetectorFailure(
                    "hash-banks", "error", f"hash banks could not be searched: {why}", 0.0
                )
            timings["hash_banks"] = _ms(time.perf_counter() - t0)
        failure_list = tuple(failures.values())
        result = evaluate(self.policy.model, findings, hash_matches, failure_list)
        cap = self.settings.max_findings_per_detector
        for name, n in truncated.items():
            notes.append(
                f"{name}: {n:,} weaker finding(s) past the cap of {cap:,} per label were counted,"
                " not kept"
            )
        return Verdict(
            action=result.action,
            rule_hits=result.rule_hits,
            findings=tuple(findings),
            hash_matches=hash_matches,
            content=info,
            policy=self.policy.ref,
            failures=failure_list,
            suppressed=result.suppressed,
            language=language,
            truncated=truncated,
            timings_ms=timings,
            notes=tuple(notes),
        )


class _TextScan:
    """One text item being scanned: what each detector found in it, the time each spent, and
    which failed; filled chunk by chunk (:meth:`run`), then turned into the verdict."""

    def __init__(self, engine: Engine, source: TextSource) -> None:
        self.engine = engine
        self.source = source
        detectors = engine._text_detectors
        self.budget = engine.settings.budget.seconds(source.size)
        cap = engine.settings.max_findings_per_detector
        self.found: dict[str, _Strongest] = {d.name: _Strongest(cap) for d in detectors}
        self.spent: dict[str, float] = dict.fromkeys(self.found, 0.0)
        self.failures = engine._load_failures(detectors)
        self.language: Language | None = None
        self.t_lang = 0.0

    def identify(self, chunk: TextChunk) -> None:
        """The item's language, from its first chunk."""
        t0 = time.perf_counter()
        self.language = identify(chunk.text[chunk.own_start : chunk.own_end])
        self.t_lang = time.perf_counter() - t0

    def run(self, d: TextDetector, chunk: TextChunk) -> None:
        """One detector over one chunk; it keeps the findings that start in the chunk's own part
        (the rest is context shared with the neighbouring chunks)."""
        if d.name in self.failures:
            return
        call = functools.partial(_text_findings, d, chunk)
        where = f"after {chunk.offset + len(chunk.text):,} characters"
        new = _run(d.name, call, self.spent, self.failures, self.budget, where)
        if not new:
            return
        own_lo = chunk.offset + chunk.own_start
        own_hi = chunk.offset + (chunk.own_end if chunk.own_end is not None else len(chunk.text))
        self.found[d.name].add(
            [
                f
                for f in new
                if not isinstance(f.location, Span) or own_lo <= f.location.start < own_hi
            ]
        )

    def verdict(self, banks: Matcher | None) -> Verdict:
        source = self.source
        notes: list[str] = []
        if source.replaced:
            notes.append(f"{source.replaced:,} undecodable byte sequence(s) replaced with U+FFFD")
        timings = {name: _ms(s) for name, s in self.spent.items()}
        timings["language"] = _ms(self.t_lang)
        sha256 = source.sha256
        info = ContentInfo(
            kind=MediaKind.TEXT,
            bytes=source.bytes,
            chars=source.chars,
            name=source.content.name,
            sha256=sha256,
            hashes=(ContentHash("md5", source.md5), ContentHash("sha256", sha256)),
        )
        return self.engine._verdict(
            self.found, self.failures, info, self.language, timings, notes, banks
        )


class _Strongest:
    """The strongest ``cap`` findings of each label from one detector, and how many were dropped.

    Highest score first, then earliest: a flood of weak findings cannot push a strong one out of
    the verdict (padding a message with 1,000 harmless links does not hide a blocked domain).
    Memory stays bounded: a label's list is cut back to ``cap`` whenever it doubles.
    """

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.by_label: dict[str, list[Finding]] = {}
        self.dropped = 0

    def add(self, new: list[Finding]) -> None:
        for f in new:
            kept = self.by_label.setdefault(f.label, [])
            kept.append(f)
            if len(kept) >= 2 * self.cap + 1:
                self._cut(kept)

    def _cut(self, kept: list[Finding]) -> None:
        if len(kept) > self.cap:
            kept.sort(key=_strength)
            self.dropped += len(kept) - self.cap
            del kept[self.cap :]

    def findings(self) -> list[Finding]:
        for kept in self.by_label.values():
            self._cut(kept)
        return [f for kept in self.by_label.values() for f in kept]


def _run(
    name: str,
    call: Callable[[], T],
    spent: dict[str, float],
    failures: dict[str, DetectorFailure],
    budget: float,
    where: str,
) -> T | None:
    """One detector call, timed into ``spent``. A detector that raises becomes a failure (and
    None); one whose total time passes ``budget`` becomes a timeout after this call, whose
    findings are still returned, so nothing it found is lost."""
    t0 = time.perf_counter()
    try:
        result = call()
    except DetectorTimeoutError as exc:
        spent[name] += time.perf_counter() - t0
        failures[name] = DetectorFailure(name, "timeout", exc.message, _ms(spent[name]))
        return None
    except Exception as exc:
        spent[name] += time.perf_counter() - t0
        message = f"{type(exc).__name__}: {exc}"
        failures[name] = DetectorFailure(name, "error", message, _ms(spent[name]))
        return None
    spent[name] += time.perf_counter() - t0
    if spent[name] > budget:
        failures[name] = DetectorFailure(
            name,
            "timeout",
            f"{name} ran past its budget of {budget:.2f} s {where}; findings so far are kept",
            _ms(spent[name]),
        )
    return result


def _text_findings(d: TextDetector, chunk: TextChunk) -> list[Finding]:
    """A text detector's findings, drawn inside the engine's error handling (they may be lazy)."""
    return list(d.detect_text(chunk))


def _strength(f: Finding) -> tuple[float, int]:
    return -f.score, f.location.start if isinstance(f.location, Span) else -1


def _position(f: Finding) -> tuple[int, int, int, str]:
    """Reading order: text by offset; image regions by frame, then top to bottom, left to right."""
    loc = f.location
    if isinstance(loc, Span):
        return (loc.start, 0, 0, f.detector)
    if isinstance(loc, Region):
        return (loc.frame or 0, loc.y, loc.x, f.detector)
    return (-1, 0, 0, f.detector)


_READER = {"ocr": "OCR", "qrcode": "QR decoding"}


def _placed(f: Finding, t: ExtractedText) -> Finding:
    """A finding in text read from an image, moved to the box the text was read from."""
    evidence = dict(f.evidence)
    evidence["found_in"] = t.source
    if isinstance(f.location, Span):
        evidence["text_start"], evidence["text_end"] = f.location.start, f.location.end
        excerpt: str | None = f.excerpt
        if excerpt is None:
            excerpt = t.text[f.location.start : f.location.end]
    else:
        excerpt = f.excerpt
    if t.source == "ocr":
        evidence["ocr_confidence"] = t.confidence
    return Finding(
        label=f.label,
        score=f.score,
        detector=f.detector,
        detector_version=f.detector_version,
        explanation=f"{f.explanation} (in text read by {_READER[t.source]})",
        location=t.region,
        excerpt=excerpt,
        evidence=evidence,
    )


def _image_notes(image: DecodedImage, texts: list[ExtractedText], notes: list[str]) -> list[str]:
    out = []
    if image.frame_count > len(image.frames):
        sampled = ", ".join(str(f.index) for f in image.frames)
        out.append(f"animation of {image.frame_count:,} frames: frames {sampled} were scanned")
    out.extend(dict.fromkeys(notes))
    if texts:
        out.append(
            f"{len(texts)} piece(s) of text read from the image went through the text detectors"
        )
    return out


def _head(content: Content) -> bytes:
    """The first bytes of a file or byte string, for sniffing (b"" when unreadable: the text
    path then reports the problem)."""
    if content.data is not None:
        return content.data[:64]
    if content.path is not None:
        try:
            with content.path.open("rb") as f:
                return f.read(64)
        except OSError:
            return b""
    return b""


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
