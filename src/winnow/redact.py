"""Masked copies of texts: each finding's span replaced by a tag naming what was there."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from winnow import taxonomy
from winnow.types import Finding, Span


def redact_text(
    text: str, findings: Iterable[Finding], labels: Sequence[str] = ("privacy/pii",)
) -> str:
    """``text`` with the spans of findings under ``labels`` replaced by ``[ENTITY]`` tags.

    Overlapping spans are merged; the tag of the first finding in a merged span is used.
    """
    spans: list[tuple[int, int, str]] = []
    for f in findings:
        if not isinstance(f.location, Span) or not any(taxonomy.covers(p, f.label) for p in labels):
            continue
        tag = str(f.evidence.get("entity", f.label)).upper()
        spans.append((f.location.start, f.location.end, tag))
    spans.sort()
    merged: list[tuple[int, int, str]] = []
    for a, b, tag in spans:
        if merged and a < merged[-1][1]:
            pa, pb, ptag = merged[-1]
            merged[-1] = (pa, max(pb, b), ptag)
        else:
            merged.append((a, b, tag))
    out: list[str] = []
    pos = 0
    for a, b, tag in merged:
        out.append(text[pos:a])
        out.append(f"[{tag}]")
        pos = b
    out.append(text[pos:])
    return "".join(out)
