"""The one entry point the CLI, the API and workers share: scan one item, return its verdict.

The engine runs the policy's detectors over the content (text in overlapping chunks), turns a
detector that raises or runs past its time budget into a recorded failure, caps the findings one
detector may add to one item (and counts the rest), identifies the language, and asks the policy
for the action. It holds detector instances, built from the policy once; models load lazily on
the first scan.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from winnow.detectors.base import Detector, TextDetector
from winnow.errors import DetectorTimeoutError
from winnow.media.language import identify
from winnow.media.language import warm_up as warm_language
from winnow.media.normalize import warm_up as warm_normalisation
from winnow.media.text import TextLimits, TextSource
from winnow.plugins import Registry
from winnow.policy.evaluate import evaluate
from winnow.policy.loader import Policy, load_default_policy
from winnow.types import (
    Content,
    ContentInfo,
    DetectorFailure,
    Finding,
    Language,
    MediaKind,
    Span,
    Verdict,
)


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
    budget: Budget = field(default_factory=Budget)
    # Per detector and label; the strongest are kept, the rest counted (see _Strongest).
    max_findings_per_detector: int = 1000


class Engine:
    def __init__(
        self,
        policy: Policy | None = None,
        *,
        registry: Registry | None = None,
        settings: EngineSettings | None = None,
    ) -> None:
        self.policy = policy if policy is not None else load_default_policy(registry)
        self.settings = settings or EngineSettings()
        self.detectors: tuple[Detector, ...] = tuple(
            setup.cls(setup.config) for setup in self.policy.detectors
        )
        self._loaded = False
        self._load_lock = threading.Lock()

    def warm_up(self) -> None:
        """Load every model and table now (a server calls this before taking traffic)."""
        self._ensure_loaded()

    def _ensure_loaded(self) -> None:
        if self._loaded:
            return
        with self._load_lock:
            if not self._loaded:
                warm_normalisation()
                warm_language()
                for d in self.detectors:
                    d.load()
                self._loaded = True

    def scan(self, content: Content | str) -> Verdict:
        """Scan one item. Raises :class:`~winnow.errors.ContentError` for input it cannot scan."""
        if isinstance(content, str):
            content = Content.from_text(content)
        self._ensure_loaded()
        source = TextSource(content, self.settings.limits)
        return self._scan_text(source)

    def _scan_text(self, source: TextSource) -> Verdict:
        detectors = [d for d in self.detectors if isinstance(d, TextDetector)]
        budget = self.settings.budget.seconds(source.size)
        cap = self.settings.max_findings_per_detector
        found: dict[str, _Strongest] = {d.name: _Strongest(cap) for d in detectors}
        spent: dict[str, float] = dict.fromkeys(found, 0.0)
        failures: dict[str, DetectorFailure] = {}
        language: Language | None = None
        t_lang = 0.0
        for chunk in source.chunks():
            if chunk.offset == 0:
                t0 = time.perf_counter()
                language = identify(chunk.text[chunk.own_start : chunk.own_end])
                t_lang = time.perf_counter() - t0
            own_lo = chunk.offset + chunk.own_start
            own_hi = chunk.offset + (
                chunk.own_end if chunk.own_end is not None else len(chunk.text)
            )
            for d in detectors:
                if d.name in failures:
                    continue
                t0 = time.perf_counter()
                try:
                    new = [
                        f
                        for f in d.detect_text(chunk)
                        if not isinstance(f.location, Span) or own_lo <= f.location.start < own_hi
                    ]
                except DetectorTimeoutError as exc:
                    spent[d.name] += time.perf_counter() - t0
                    failures[d.name] = DetectorFailure(
                        d.name, "timeout", exc.message, _ms(spent[d.name])
                    )
                    continue
                except Exception as exc:
                    spent[d.name] += time.perf_counter() - t0
                    message = f"{type(exc).__name__}: {exc}"
                    failures[d.name] = DetectorFailure(d.name, "error", message, _ms(spent[d.name]))
                    continue
                spent[d.name] += time.perf_counter() - t0
                found[d.name].add(new)
                if spent[d.name] > budget:
                    failures[d.name] = DetectorFailure(
                        d.name,
                        "timeout",
                        f"{d.name} ran past its budget of {budget:.2f} s after "
                        f"{chunk.offset + len(chunk.text):,} characters; findings so far are kept",
                        _ms(spent[d.name]),
                    )
        findings = sorted(
            (f for kept in found.values() for f in kept.findings()),
            key=lambda f: (f.location.start if isinstance(f.location, Span) else -1, f.detector),
        )
        truncated = {name: kept.dropped for name, kept in found.items() if kept.dropped}
        failure_list = tuple(failures.values())
        result = evaluate(self.policy.model, findings, (), failure_list)
        notes: list[str] = []
        if source.replaced:
            notes.append(f"{source.replaced:,} undecodable byte sequence(s) replaced with U+FFFD")
        for name, n in truncated.items():
            notes.append(
                f"{name}: {n:,} weaker finding(s) past the cap of {cap:,} per label were counted,"
                " not kept"
            )
        timings = {name: _ms(s) for name, s in spent.items()}
        timings["language"] = _ms(t_lang)
        return Verdict(
            action=result.action,
            rule_hits=result.rule_hits,
            findings=tuple(findings),
            content=ContentInfo(
                kind=MediaKind.TEXT,
                bytes=source.bytes,
                chars=source.chars,
                name=source.content.name,
                sha256=source.sha256,
            ),
            policy=self.policy.ref,
            failures=failure_list,
            suppressed=result.suppressed,
            language=language,
            truncated=truncated,
            timings_ms=timings,
            notes=tuple(notes),
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


def _strength(f: Finding) -> tuple[float, int]:
    return -f.score, f.location.start if isinstance(f.location, Span) else -1


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
