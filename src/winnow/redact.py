"""Redacted copies: texts with each finding's span replaced by a tag naming what was there, and
images with the boxes of findings (faces, nudity, QR codes, personal data read by OCR) made
unreadable."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from winnow import taxonomy
from winnow.types import Finding, Region, Span, Verdict


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


_REDACTABLE_OUT = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def redact_image(
    data: bytes, verdict: Verdict, labels: Sequence[str] = ("privacy/face",)
) -> tuple[bytes, str, int]:
    """A copy of a still image with the boxes of findings under ``labels`` made unreadable.

    Each box is pixelated (blocks of about a twelfth of its shorter side, at least 8 px) and
    then blurred, so neither a face nor a QR code survives. The copy is upright (EXIF orientation
    applied) and carries no metadata (no EXIF, so no GPS position or camera serial). JPEG, PNG
    and WebP keep their format; other formats are written as PNG. Returns the bytes, their media
    type and how many boxes were redacted.
    """
    from PIL import Image, ImageFilter, ImageOps

    from winnow.errors import UnsupportedMediaError
    from winnow.media.image import _pil

    if verdict.content.frames is not None and verdict.content.frames > 1:
        raise UnsupportedMediaError(
            "redaction writes still images; this is an animation of "
            f"{verdict.content.frames} frames"
        )
    pil = _pil()
    with pil.open(io.BytesIO(data)) as src:
        im = ImageOps.exif_transpose(src).convert("RGB")
    boxes = [
        f.location
        for f in verdict.findings
        if isinstance(f.location, Region) and any(taxonomy.covers(p, f.label) for p in labels)
    ]
    for box in boxes:
        x0, y0 = max(box.x, 0), max(box.y, 0)
        x1, y1 = min(box.x + box.width, im.width), min(box.y + box.height, im.height)
        if x1 <= x0 or y1 <= y0:
            continue
        region = im.crop((x0, y0, x1, y1))
        block = max(8, min(region.width, region.height) // 12)
        small = region.resize(
            (max(1, region.width // block), max(1, region.height // block)), Image.Resampling.BOX
        )
        region = small.resize(region.size, Image.Resampling.NEAREST)
        region = region.filter(ImageFilter.GaussianBlur(radius=block / 2))
        im.paste(region, (x0, y0))
    media_type = verdict.content.media_type or "image/png"
    fmt = _REDACTABLE_OUT.get(media_type, "PNG")
    out = io.BytesIO()
    im.save(out, format=fmt, **({"quality": 90} if fmt in ("JPEG", "WEBP") else {}))
    return out.getvalue(), media_type if fmt != "PNG" else "image/png", len(boxes)
