"""How well PDQ matching survives everyday edits, and how often distinct images collide.

For every benign photo in the shared data (COCO val sample and MDN CC0 images), each edit below
is applied with Pillow, the result is encoded (JPEG quality 90 unless the edit is the JPEG
quality itself) and goes through Winnow's own decode and hash path, exactly as an upload would.
An edited copy *matches* when any of its 8 dihedral PDQ hashes is within the threshold of the
original's hash (as a bank lookup does); the "as sent" column uses only the plain hash.

The false-match rate is over all pairs of distinct images: a pair matches when one image's hash
is within the threshold of any of the other's dihedral hashes. Images whose PDQ quality is under
the default minimum (50) are left out of both, as banks do not match them.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

SETS = ("images-benign-coco-val128/images", "media-benign-cc0-mdn/images")
THRESHOLD = 31
MIN_QUALITY = 50
Edit = Callable[[Any], Any]


def _jpeg(q: int) -> Edit:
    return lambda im: ("jpeg", q, im)


def _resize(f: float) -> Edit:
    return lambda im: im.resize((max(1, round(im.width * f)), max(1, round(im.height * f))))


def _crop(f: float) -> Edit:
    def crop(im: Any) -> Any:
        dx, dy = round(im.width * f / 2), round(im.height * f / 2)
        return im.crop((dx, dy, im.width - dx, im.height - dy))

    return crop


def _text(im: Any) -> Any:
    from PIL import ImageDraw, ImageFont

    out = im.copy()
    draw = ImageDraw.Draw(out)
    size = max(10, im.height // 14)
    font = ImageFont.load_default(size=size)
    draw.text(
        (im.width // 20, im.height - 2 * size),
        "@someone #repost",
        fill=(255, 255, 255),
        font=font,
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )
    return out


def _logo(im: Any) -> Any:
    from PIL import ImageDraw

    out = im.copy()
    draw = ImageDraw.Draw(out)
    side = max(8, min(im.width, im.height) // 8)
    x, y = im.width - side - side // 4, side // 4
    draw.ellipse((x, y, x + side, y + side), fill=(230, 40, 40), outline=(255, 255, 255), width=3)
    draw.rectangle(
        (x + side // 3, y + side // 3, x + 2 * side // 3, y + 2 * side // 3), fill=(255, 255, 255)
    )
    return out


def _pad(im: Any) -> Any:
    """Letterbox to 16:9 (or pillarbox) on black, as video platforms and reposts do."""
    from PIL import Image

    w, h = im.width, im.height
    if w / h < 16 / 9:
        nw, nh = round(h * 16 / 9), h
    else:
        nw, nh = w, round(w * 9 / 16) + 2
    out = Image.new("RGB", (nw, nh))
    out.paste(im, ((nw - w) // 2, (nh - h) // 2))
    return out


def edits() -> list[tuple[str, Edit]]:
    from PIL import Image, ImageOps

    return [
        ("JPEG quality 30", _jpeg(30)),
        ("JPEG quality 50", _jpeg(50)),
        ("JPEG quality 70", _jpeg(70)),
        ("JPEG quality 90", _jpeg(90)),
        ("resize 25%", _resize(0.25)),
        ("resize 50%", _resize(0.5)),
        ("resize 150%", _resize(1.5)),
        ("resize 200%", _resize(2.0)),
        ("grayscale", lambda im: ImageOps.grayscale(im).convert("RGB")),
        ("crop 2%", _crop(0.02)),
        ("crop 5%", _crop(0.05)),
        ("crop 10%", _crop(0.10)),
        ("overlay text", _text),
        ("overlay logo", _logo),
        ("mirror", ImageOps.mirror),
        ("rotate 90", lambda im: im.transpose(Image.Transpose.ROTATE_90)),
        ("rotate 180", lambda im: im.transpose(Image.Transpose.ROTATE_180)),
        ("padding / letterbox 16:9", _pad),
    ]


@dataclass(frozen=True, slots=True)
class EditScore:
    edit: str
    images: int
    matched: int  # with dihedral hashes, as a bank lookup does
    matched_as_sent: int  # with the plain hash only
    median_distance: float

    @property
    def rate(self) -> float:
        return self.matched / self.images if self.images else 0.0


@dataclass(frozen=True, slots=True)
class Robustness:
    scores: list[EditScore]
    images: int
    low_quality: list[str]
    pairs: int
    false_matches: list[tuple[str, str, int]]


def _images(data: Path) -> Iterator[Path]:
    for s in SETS:
        folder = data / s
        if folder.is_dir():
            yield from sorted(
                p
                for p in folder.iterdir()
                if p.suffix.lower() in (".jpg", ".jpeg", ".png", ".webp")
            )


def _hash(raw: bytes) -> tuple[NDArray[np.uint8], int]:
    """What a bank lookup tries, as bits (n x 256): the 8 dihedral PDQ hashes, then the PDQ with
    uniform borders removed when the image has them; and the quality, through Winnow's decode
    path."""
    from winnow.media.image import ImageLimits, decode_image

    image = decode_image(raw, ImageLimits())
    variants = next(iter(image.pdq_dihedral.values()))
    pdq = [h for h in image.hashes if h.algorithm == "pdq"]
    extra = b"".join(bytes.fromhex(h.value) for h in pdq if h.variant is not None)
    bits = np.unpackbits(np.frombuffer(variants + extra, np.uint8)).reshape(-1, 256)
    return bits, pdq[0].quality or 0


def _encode(im: Any, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def evaluate(data: Path, threshold: int = THRESHOLD) -> Robustness:
    from PIL import Image

    originals: dict[str, NDArray[np.uint8]] = {}
    raws: dict[str, bytes] = {}
    low: list[str] = []
    for path in _images(data):
        raw = path.read_bytes()
        bits, quality = _hash(raw)
        if quality < MIN_QUALITY:
            low.append(path.name)
            continue
        originals[path.name] = bits
        raws[path.name] = raw
    per_edit: dict[str, list[tuple[int, int]]] = {name: [] for name, _ in edits()}
    for name, orig in originals.items():
        with Image.open(io.BytesIO(raws[name])) as opened:
            im = opened.convert("RGB")
        for edit_name, edit in edits():
            out = edit(im)
            # a JPEG quality edit says its quality; the others are saved at 90
            raw = _encode(out[2], out[1]) if isinstance(out, tuple) else _encode(out)
            bits, _ = _hash(raw)
            d_all = int((bits != orig[0]).sum(axis=1).min())
            d_plain = int((bits[0] != orig[0]).sum())
            per_edit[edit_name].append((d_all, d_plain))
    scores = []
    for edit_name, ds in per_edit.items():
        d = np.array(ds) if ds else np.zeros((0, 2), int)
        scores.append(
            EditScore(
                edit_name,
                len(ds),
                int((d[:, 0] <= threshold).sum()),
                int((d[:, 1] <= threshold).sum()),
                float(np.median(d[:, 0])) if len(ds) else 0.0,
            )
        )
    names = sorted(originals)
    false: list[tuple[str, str, int]] = []
    pairs = 0
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            pairs += 1
            dist = int((originals[b] != originals[a][0]).sum(axis=1).min())
            if dist <= threshold:
                false.append((a, b, dist))
    return Robustness(scores, len(originals), low, pairs, false)
