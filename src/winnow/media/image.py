"""Decode images safely: sniff, check every limit before decoding, orient, sample frames, hash.

The type comes from the bytes, never the name. Width, height and frame count are read from the
header and checked against :class:`ImageLimits` before a single pixel is decoded, so a
decompression bomb is refused at the cost of reading its header. Truncated or corrupt files raise
:class:`~winnow.errors.DecodeError`.

What detectors see is :class:`ImageFrame`: an upright (EXIF orientation applied) RGB copy no
larger than ``working_size`` on its longest side, with the scale back to the original. A still
image has one frame; an animation is sampled at up to ``sample_frames`` evenly spaced frames.

Hashes are computed here, once: MD5 and SHA-256 of the bytes, PDQ of the pixels. PDQ follows
python-threatexchange exactly (Pillow/libjpeg-turbo decode at full resolution, stored pixel order
without EXIF rotation, ``pdqhash``), so Winnow's hashes equal those other platforms share. Only a
JPEG over ``pdq_full_decode_max_pixels`` is hashed from a DCT-scaled decode (marked
``exact=False``; a few bits from the full-resolution hash), which is also the only case where a
JPEG is not decoded at full size. PDQ itself is computed by Winnow's compiled core
(``winnow._pdq``), bit-identical to ``pdqhash`` and about three times faster.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import math
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from winnow.errors import ContentError, DecodeError, LimitExceededError, UnsupportedMediaError
from winnow.media.sniff import open_file, sniff_binary
from winnow.types import Content, ContentHash, Region

if TYPE_CHECKING:
    from PIL import Image as PILImage

RGB = NDArray[np.uint8]  # height x width x 3

IMAGE_TYPES = frozenset({
    "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/tiff",
    "image/avif", "image/heic", "image/heif",
})  # fmt: skip
_PIL_FORMATS = {
    "image/jpeg": "JPEG", "image/png": "PNG", "image/gif": "GIF", "image/webp": "WEBP",
    "image/bmp": "BMP", "image/tiff": "TIFF", "image/avif": "AVIF", "image/heic": "HEIF",
    "image/heif": "HEIF",
}  # fmt: skip
_ORIENTATION = 0x0112


@dataclass(frozen=True, slots=True)
class ImageLimits:
    """Limits on image input. Every refusal names the limit it broke."""

    max_bytes: int = 64 << 20
    max_pixels: int = 64_000_000  # width x height of one frame, read from the header
    max_dimension: int = 20_000  # width or height
    max_frames: int = 1_000  # frames of an animation
    sample_frames: int = 8  # frames of an animation the detectors see, evenly spaced
    working_size: int = 1024  # longest side of the copy detectors see
    pdq_full_decode_max_pixels: int = 24_000_000  # larger JPEGs: PDQ from a DCT-scaled decode


@dataclass(frozen=True, slots=True, eq=False)
class ImageFrame:
    """One frame as detectors see it: upright RGB, at most ``working_size`` on its longest side."""

    index: int  # frame number in the file (0 for a still image)
    rgb: RGB
    scale: float  # working pixels per original pixel (<= 1)
    width: int  # original upright size
    height: int

    def region(self, x0: float, y0: float, x1: float, y1: float) -> Region:
        """A box in working coordinates as a :class:`Region` of the original image, clipped."""
        s = self.scale
        left = min(max((math.floor(x0 / s)), 0), self.width)
        top = min(max((math.floor(y0 / s)), 0), self.height)
        right = min(max((math.ceil(x1 / s)), left), self.width)
        bottom = min(max((math.ceil(y1 / s)), top), self.height)
        return Region(left, top, right - left, bottom - top, frame=self.index)

    @property
    def whole(self) -> Region:
        return Region(0, 0, self.width, self.height, frame=self.index)


@dataclass(frozen=True, slots=True, eq=False)
class DecodedImage:
    media_type: str
    bytes: int
    width: int  # upright
    height: int
    frame_count: int
    frames: tuple[ImageFrame, ...]
    hashes: tuple[ContentHash, ...]
    sha256: str
    # PDQ of the 8 dihedral transforms (as sent, rotated 90 ccw, 180, 90 cw, flipped top-bottom,
    # mirrored, transposed, anti-transposed), 8 * 32 bytes, by frame (None: a still image).
    pdq_dihedral: Mapping[int | None, builtins.bytes] = field(default_factory=dict)


def read_bytes(content: Content, max_bytes: int) -> bytes:
    """The content's bytes, refusing more than ``max_bytes`` without reading past the limit."""
    if content.data is not None:
        data = content.data
    elif content.path is not None:
        with open_file(content.path) as f:
            data = f.read(max_bytes + 1)
        if len(data) > max_bytes:
            size = content.path.stat().st_size
            raise LimitExceededError("max_image_bytes", size, max_bytes, "bytes")
    else:
        raise ContentError("an image must be sent as bytes or a file, not as text")
    if len(data) > max_bytes:
        raise LimitExceededError("max_image_bytes", len(data), max_bytes, "bytes")
    if not data:
        raise ContentError("empty input: there is nothing to scan (0 bytes)")
    return data


_plugins_lock = threading.Lock()
_plugins_ready = False


def _pil() -> Any:
    """Pillow with HEIF support registered, and its own bomb check off (Winnow checks first)."""
    global _plugins_ready
    from PIL import Image

    if not _plugins_ready:
        with _plugins_lock:
            if not _plugins_ready:
                import pillow_heif

                pillow_heif.register_heif_opener()
                Image.MAX_IMAGE_PIXELS = None
                _plugins_ready = True
    return Image


def decode_image(data: bytes, limits: ImageLimits, *, pdq: bool = True) -> DecodedImage:
    """Decode an image for detectors and hash it. Raises ContentError subclasses, never more."""
    media_type = sniff_binary(data[:64])
    if media_type not in IMAGE_TYPES:
        what = media_type or "not a recognised image format"
        raise UnsupportedMediaError(f"content is {what} (recognised from its bytes)")
    assert media_type is not None
    pil = _pil()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns on odd EXIF; the pixels are still good
            im = pil.open(io.BytesIO(data), formats=[_PIL_FORMATS[media_type]])
            stored_w, stored_h = im.size
            _check_size(stored_w, stored_h, limits)
            frame_count = int(getattr(im, "n_frames", 1))
            if frame_count > limits.max_frames:
                raise LimitExceededError(
                    "max_image_frames", frame_count, limits.max_frames, "frames"
                )
            orientation = _orientation(im)
            hashes = [
                ContentHash("md5", hashlib.md5(data, usedforsecurity=False).hexdigest()),
                ContentHash("sha256", hashlib.sha256(data).hexdigest()),
            ]
            if media_type == "image/jpeg" and im.mode in ("RGB", "L"):
                frames, pdq_hashes = _decode_jpeg(data, im, orientation, limits, pdq)
            else:
                frames, pdq_hashes = _decode_pil(im, frame_count, orientation, limits, pdq)
    except ContentError:
        raise
    except pil.UnidentifiedImageError:
        raise DecodeError(
            f"{media_type} does not decode: its header is damaged or cut short"
        ) from None
    except (OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError) as exc:
        raise DecodeError(f"{media_type} does not decode: {exc}") from None
    except pil.DecompressionBombError as exc:  # not reached: Winnow checks first
        raise LimitExceededError("max_image_pixels", 0, limits.max_pixels, "pixels") from exc
    width, height = (stored_h, stored_w) if orientation in (5, 6, 7, 8) else (stored_w, stored_h)
    return DecodedImage(
        media_type=media_type,
        bytes=len(data),
        width=width,
        height=height,
        frame_count=frame_count,
        frames=tuple(frames),
        hashes=(*hashes, *(h for h, _ in pdq_hashes)),
        pdq_dihedral={h.frame: v for h, v in pdq_hashes if v is not None},
        sha256=hashes[1].value,
    )


def _check_size(w: int, h: int, limits: ImageLimits) -> None:
    if w <= 0 or h <= 0:
        raise DecodeError(f"image header gives an empty size ({w} x {h})")
    if max(w, h) > limits.max_dimension:
        raise LimitExceededError("max_image_dimension", max(w, h), limits.max_dimension, "pixels")
    if w * h > limits.max_pixels:
        raise LimitExceededError("max_image_pixels", w * h, limits.max_pixels, "pixels")


def _orientation(im: PILImage.Image) -> int:
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # a broken EXIF block must not stop the scan; pixels stay as stored
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(rgb: RGB, orientation: int) -> RGB:
    """Apply an EXIF orientation (1..8) to stored pixels (as Pillow's ``exif_transpose``)."""
    if orientation == 2:
        return rgb[:, ::-1]
    if orientation == 3:
        return rgb[::-1, ::-1]
    if orientation == 4:
        return rgb[::-1]
    if orientation == 5:
        return rgb.transpose(1, 0, 2)
    if orientation == 6:
        return np.rot90(rgb, k=-1)
    if orientation == 7:
        return rgb[::-1, ::-1].transpose(1, 0, 2)
    if orientation == 8:
        return np.rot90(rgb, k=1)
    return rgb


def _working(
    rgb: RGB, index: int, orientation: int, limits: ImageLimits, scale0: float
) -> ImageFrame:
    """Upright working copy of decoded pixels; ``scale0`` is decoded pixels per original pixel."""
    import cv2

    up = _upright(rgb, orientation)
    h, w = up.shape[:2]
    width, height = round(w / scale0), round(h / scale0)
    longest = max(h, w)
    if longest > limits.working_size:
        f = limits.working_size / longest
        size = (max(1, round(w * f)), max(1, round(h * f)))
        up = np.asarray(cv2.resize(np.ascontiguousarray(up), size, interpolation=cv2.INTER_AREA))
        scale = scale0 * f
    else:
        up = np.ascontiguousarray(up)
        scale = scale0
    return ImageFrame(index, up, scale, width, height)


def _pdq(rgb: RGB, frame: int | None, exact: bool) -> list[tuple[ContentHash, bytes | None]]:
    """PDQ of the pixels with their 8 dihedral transforms (from the same DCT); and, when the
    picture sits inside uniform bars, the PDQ of what is inside them (``borders_removed``)."""
    from winnow import _pdq

    rgb = np.ascontiguousarray(rgb)
    variants, quality = _pdq.dihedral(rgb, rgb.shape[0], rgb.shape[1], 3)
    value = variants[:32]
    out: list[tuple[ContentHash, bytes | None]] = [
        (ContentHash("pdq", value.hex(), quality=quality, frame=frame, exact=exact), variants)
    ]
    box = content_box(rgb)
    if box is not None:
        y0, y1, x0, x1 = box
        inner = np.ascontiguousarray(rgb[y0:y1, x0:x1])
        trimmed, q = _pdq.dihedral(inner, inner.shape[0], inner.shape[1], 3)
        if q < 50:  # an extra chance to match, never an unreliable one
            return out
        h = ContentHash(
            "pdq", trimmed[:32].hex(), quality=q, frame=frame, exact=exact, variant=BORDERS_REMOVED
        )
        out.append((h, None))
    return out


BORDERS_REMOVED = "borders_removed"
_BAR_TOLERANCE = 24  # per channel: JPEG noise and ringing inside a flat bar
_BAR_UNIFORM = 0.98  # share of a line's pixels within tolerance of the bar's colour
_BAR_MIN = 0.02  # a bar narrower than this share of the side is not one
_INNER_MIN = 0.2  # what is left must keep this share of each side


def content_box(rgb: RGB) -> tuple[int, int, int, int] | None:
    """(top, bottom, left, right) of the picture inside uniform bars on any of its sides, or
    None when there are none worth cutting (under 2% of a side) or nothing much is left inside.

    A line belongs to a bar when 98% of its pixels are within 24 levels of the colour of that
    side's outermost line. Lines are read every ``step`` pixels (~256 a side) and only while
    they are uniform, so an image without bars costs four lines; the box is exact to the step,
    which PDQ (computed at 64 x 64) does not notice.
    """
    h, w = rgb.shape[:2]
    step = max(1, max(h, w) // 256)
    rows, cols = len(range(0, h, step)), len(range(0, w, step))
    if rows < 8 or cols < 8:
        return None
    by_row = rgb[::step, ::step]
    by_col = by_row.transpose(1, 0, 2)
    cuts = (
        _bar(by_row),
        _bar(by_row[::-1]),
        _bar(by_col),
        _bar(by_col[::-1]),
    )
    top, bottom, left, right = cuts
    sides = (rows, rows, cols, cols)
    if not any(c >= max(1, _BAR_MIN * n) for c, n in zip(cuts, sides, strict=True)):
        return None
    if rows - top - bottom < _INNER_MIN * rows or cols - left - right < _INNER_MIN * cols:
        return None  # a blank or nearly blank image: nothing to match inside
    return top * step, h - bottom * step, left * step, w - right * step


def _bar(lines: Any, chunk: int = 4) -> int:
    """How many leading lines (axis 0 of ``lines``: line, pixel, channel) form a uniform bar."""
    first = lines[0].astype(np.int16)
    ref = np.median(first, axis=0)
    n = len(lines)
    done = 0
    while done < n:
        block = lines[done : done + chunk].astype(np.int16)
        close = (np.abs(block - ref).max(axis=2) <= _BAR_TOLERANCE).mean(axis=1)
        off = np.flatnonzero(close < _BAR_UNIFORM)
        if len(off):
            return done + int(off[0])
        done += len(block)
        chunk = min(chunk * 2, 256)
    return n


def _decode_jpeg(
    data: bytes, im: PILImage.Image, orientation: int, limits: ImageLimits, pdq: bool
) -> tuple[list[ImageFrame], list[tuple[ContentHash, bytes | None]]]:
    """libjpeg-turbo through simplejpeg, at reduced size wherever full size is not needed.

    The detectors' copy is a DCT-scaled decode (libjpeg-turbo skips the high frequencies, so a
    half-size decode costs less than a full one and needs no resize). PDQ gets a full-size
    decode, as the reference does; only a JPEG over ``pdq_full_decode_max_pixels`` is hashed
    from a DCT-scaled decode that keeps at least 1024 px (``exact=False``).
    """
    import simplejpeg  # type: ignore[import-untyped]

    w, h = im.size
    try:
        working, scale0 = _jpeg_at_most(simplejpeg, data, w, h, limits.working_size)
        hashes: list[tuple[ContentHash, bytes | None]] = []
        if pdq:
            if w * h <= limits.pdq_full_decode_max_pixels:
                hashes.extend(_pdq(simplejpeg.decode_jpeg(data, "RGB"), None, exact=True))
            else:
                f = min(1.0, 1024 / min(w, h))
                big = simplejpeg.decode_jpeg(
                    data, "RGB", min_width=math.ceil(w * f), min_height=math.ceil(h * f)
                )
                hashes.extend(_pdq(big, None, exact=False))
    except ValueError as exc:
        raise DecodeError(f"image/jpeg does not decode: {exc}") from None
    return [_working(working, 0, orientation, limits, scale0)], hashes


# The DCT scaling factors libjpeg-turbo supports below full size, largest first.
_JPEG_SCALES = (7 / 8, 3 / 4, 5 / 8, 1 / 2, 3 / 8, 1 / 4, 1 / 8)


def _jpeg_at_most(simplejpeg: Any, data: bytes, w: int, h: int, side: int) -> tuple[RGB, float]:
    """The smallest-cost DCT-scaled decode whose longest side still reaches ``side`` or the
    largest scale that fits in it: a copy the working resize has little or nothing left to do."""
    longest = max(w, h)
    if longest <= side:
        return simplejpeg.decode_jpeg(data, "RGB"), 1.0
    fits = [s for s in _JPEG_SCALES if math.ceil(longest * s) <= side]
    s = fits[0] if fits else _JPEG_SCALES[-1]
    rgb = simplejpeg.decode_jpeg(
        data, "RGB", min_width=math.ceil(w * s), min_height=math.ceil(h * s)
    )
    return rgb, rgb.shape[1] / w


def _decode_pil(
    im: PILImage.Image, frame_count: int, orientation: int, limits: ImageLimits, pdq: bool
) -> tuple[list[ImageFrame], list[tuple[ContentHash, bytes | None]]]:
    frames: list[ImageFrame] = []
    hashes: list[tuple[ContentHash, bytes | None]] = []
    animated = frame_count > 1
    for index in _sample(frame_count, limits.sample_frames):
        if index:
            im.seek(index)
        rgb = _to_rgb(im)
        if pdq:
            hashes.extend(_pdq(rgb, index if animated else None, exact=True))
        frames.append(_working(rgb, index, orientation, limits, 1.0))
    return frames, hashes


def _to_rgb(im: PILImage.Image) -> RGB:
    """Pixels as RGB, as python-threatexchange converts them (transparency flattened on black)."""
    im.load()
    if im.mode != "RGB":
        im = im.convert("RGB")
    return np.asarray(im)


def _sample(count: int, n: int) -> Iterator[int]:
    """Up to ``n`` evenly spaced frame indexes of ``count``, first and last included, ascending."""
    if count <= n:
        yield from range(count)
        return
    seen = -1
    for i in range(n):
        index = round(i * (count - 1) / (n - 1)) if n > 1 else 0
        if index > seen:
            seen = index
            yield index
