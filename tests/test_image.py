"""Image moderation: safe decoding, hashes, the detectors, and the line Winnow does not cross."""

from __future__ import annotations

import csv
import io
import json
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw, ImageFont

from winnow import Action, Content, Engine, verdict_to_dict
from winnow.detectors.image import nudity
from winnow.errors import DecodeError, LimitExceededError, UnsupportedMediaError
from winnow.media.image import ImageLimits, _upright, decode_image
from winnow.plugins import default_registry
from winnow.redact import redact_image
from winnow.taxonomy import LABELS

FONT_EN = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
FONT_ZH = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")


def _photo(w: int = 96, h: int = 64) -> Image.Image:
    """An asymmetric test picture: orientation mistakes change its pixels."""
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // w, y * 255 // h, (x * y) % 256], axis=2).astype(np.uint8)
    rgb[: h // 4, : w // 4] = (255, 0, 0)
    return Image.fromarray(rgb)


def _encode(im: Image.Image, fmt: str, **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


# --- decoding ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime"),
    [
        ("JPEG", "image/jpeg"),
        ("PNG", "image/png"),
        ("GIF", "image/gif"),
        ("WEBP", "image/webp"),
        ("BMP", "image/bmp"),
        ("TIFF", "image/tiff"),
        ("AVIF", "image/avif"),
        ("HEIF", "image/heic"),
    ],
)
def test_every_supported_format_decodes_with_hashes(fmt: str, mime: str) -> None:
    if fmt == "HEIF":
        import pillow_heif

        pillow_heif.register_heif_opener()
    image = decode_image(_encode(_photo(), fmt), ImageLimits())
    assert image.media_type == mime
    assert (image.width, image.height, image.frame_count) == (96, 64, 1)
    assert image.frames[0].rgb.shape == (64, 96, 3)
    algorithms = [h.algorithm for h in image.hashes]
    assert algorithms == ["md5", "sha256", "pdq"]
    assert all(re.fullmatch(r"[0-9a-f]+", h.value) for h in image.hashes)


def test_type_comes_from_the_bytes_not_the_name(tmp_path: Path, engine: Engine) -> None:
    disguised = tmp_path / "notes.txt"
    disguised.write_bytes(_encode(_photo(), "PNG"))
    verdict = engine.scan(Content.from_path(disguised))
    assert verdict.content.kind == "image"
    assert verdict.content.media_type == "image/png"


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_like_pillow(orientation: int) -> None:
    from PIL import ImageOps

    im = _photo(80, 48)
    exif = Image.Exif()
    exif[0x0112] = orientation
    data = _encode(im, "PNG", exif=exif)
    image = decode_image(data, ImageLimits())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert np.array_equal(image.frames[0].rgb, expected)
    assert (image.width, image.height) == (expected.shape[1], expected.shape[0])


def test_upright_matches_pillow_for_jpeg_too() -> None:
    from PIL import ImageOps

    exif = Image.Exif()
    exif[0x0112] = 6
    data = _encode(_photo(80, 48), "JPEG", quality=95, exif=exif)
    image = decode_image(data, ImageLimits())
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB"))
    assert np.array_equal(image.frames[0].rgb, expected)
    stored = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(_upright(stored, 1), stored)


def test_animations_are_sampled_not_skipped(engine: Engine) -> None:
    frames = [Image.new("RGB", (40, 30), (i * 10, 0, 0)) for i in range(20)]
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=50)
    image = decode_image(buf.getvalue(), ImageLimits(sample_frames=5))
    assert image.frame_count == 20
    assert [f.index for f in image.frames] == [0, 5, 10, 14, 19]
    assert len([h for h in image.hashes if h.algorithm == "pdq"]) == 5
    verdict = engine.scan(Content.from_bytes(buf.getvalue()))
    assert verdict.content.frames == 20
    assert any("animation of 20 frames" in n for n in verdict.notes)
    with pytest.raises(LimitExceededError, match="max_image_frames is 20"):
        decode_image(buf.getvalue(), ImageLimits(max_frames=10))


def _png_header(w: int, h: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = b"IDAT" + zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat) - 4)
        + idat
        + struct.pack(">I", zlib.crc32(idat))
    )


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        pytest.param(
            _png_header(30_000, 10), ImageLimits(), "max_image_dimension is 30,000", id="dimension"
        ),
        pytest.param(
            _png_header(15_000, 15_000), ImageLimits(), "max_image_pixels is 225,000,000", id="bomb"
        ),
        pytest.param(
            b"x" * 2000, ImageLimits(max_bytes=1000), "max_image_bytes is 2,000", id="bytes"
        ),
    ],
)
def test_limits_are_checked_before_decoding(data: bytes, limits: ImageLimits, message: str) -> None:
    from winnow.media.image import read_bytes

    with pytest.raises(LimitExceededError, match=message):
        decode_image(read_bytes(Content.from_bytes(data), limits.max_bytes), limits)


@pytest.mark.parametrize("cut", [0.5, 0.1, 0.02])
def test_truncated_images_give_a_decode_error(cut: float) -> None:
    for fmt in ("JPEG", "PNG", "WEBP"):
        data = _encode(_photo(200, 150), fmt)
        with pytest.raises((DecodeError, UnsupportedMediaError)):
            decode_image(data[: max(16, int(len(data) * cut))], ImageLimits())


def test_a_bomb_is_refused_through_the_engine(engine: Engine) -> None:
    with pytest.raises(LimitExceededError, match="max_image_pixels"):
        engine.scan(Content.from_bytes(_png_header(15_000, 15_000)))


# --- hashes -------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    h=st.integers(1, 200),
    w=st.integers(1, 200),
    seed=st.integers(0, 2**32 - 1),
    smooth=st.booleans(),
)
def test_pdq_is_bit_identical_to_pdqhash(h: int, w: int, seed: int, smooth: bool) -> None:
    import pdqhash

    from winnow import _pdq

    rng = np.random.default_rng(seed)
    if smooth:
        small = rng.integers(0, 256, (max(1, h // 8), max(1, w // 8), 3), dtype=np.uint8)
        rgb = np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BILINEAR))
    else:
        rgb = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    rgb = np.ascontiguousarray(rgb)
    bits, quality = pdqhash.compute(rgb)
    expected = np.packbits(bits.astype(np.uint8)).tobytes()
    got, got_quality = _pdq.hash(rgb, h, w, 3)
    if h < 5 or w < 5:  # too small to hash: both give an empty hash of quality 0
        assert (got, got_quality) == (bytes(32), 0)
        return
    assert (got, got_quality) == (expected, quality)


@pytest.mark.shared_data
def test_pdq_matches_threatexchange_exactly_and_cpp_within_10_bits(shared_data: Path) -> None:
    root = shared_data / "pdq-reference-vectors"
    with (root / "expected_pdq_hashes.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    checked_exact = checked_cpp = 0
    for row in rows:
        impl = row["implementation"]
        exact = impl.startswith(("python-threatexchange", "java PDQHasher.fromBufferedImage"))
        if not exact and not impl.startswith("cpp-reference"):
            continue
        image = decode_image((root / row["image"]).read_bytes(), ImageLimits())
        pdq = next(h for h in image.hashes if h.algorithm == "pdq")
        distance = bin(int(pdq.value, 16) ^ int(row["expected_pdq_hex"], 16)).count("1")
        if exact:
            assert distance == 0, row["image"]
            checked_exact += 1
        else:
            assert distance <= 10, (row["image"], distance)
            checked_cpp += 1
    assert checked_exact >= 3
    assert checked_cpp >= 20
    with (root / "expected_other_facts.csv").open(encoding="utf-8") as f:
        facts = {r["kind"]: r["expected_value"] for r in csv.DictReader(f)}
    bridge = decode_image(
        (root / "images/reg-test-input/dih/bridge-1-original.jpg").read_bytes(), ImageLimits()
    )
    got = {h.algorithm: h.value for h in bridge.hashes}
    assert got["md5"] == facts["md5"]
    assert got["sha256"] == facts["sha256"]


def _bars(im: Image.Image, w: int, h: int, colour: tuple[int, int, int]) -> Image.Image:
    out = Image.new("RGB", (w, h), colour)
    out.paste(im, ((w - im.width) // 2, (h - im.height) // 2))
    return out


@pytest.mark.parametrize(
    ("size", "colour"),
    [((1600, 700), (0, 0, 0)), ((1100, 1100), (255, 255, 255)), ((1000, 900), (30, 90, 200))],
    ids=["pillarbox-black", "padded-white", "letterbox-blue"],
)
def test_borders_are_found_to_the_sampling_step(
    size: tuple[int, int], colour: tuple[int, int, int]
) -> None:
    from winnow.media.image import content_box

    picture = _photo(960, 640)
    framed = np.asarray(_bars(picture, *size, colour))
    box = content_box(framed)
    assert box is not None
    y0, x0 = (size[1] - 640) // 2, (size[0] - 960) // 2
    step = max(size) // 256
    expected = (y0, y0 + 640, x0, x0 + 960)
    assert all(abs(got - want) <= step for got, want in zip(box, expected, strict=True)), box


def test_no_borders_no_extra_hash() -> None:
    from winnow.media.image import content_box

    assert content_box(np.asarray(_photo(960, 640))) is None
    assert content_box(np.zeros((500, 500, 3), np.uint8)) is None  # blank: nothing inside
    image = decode_image(_encode(_photo(960, 640), "PNG"), ImageLimits())
    assert [h.variant for h in image.hashes if h.algorithm == "pdq"] == [None]


@pytest.mark.shared_data
def test_a_letterboxed_repost_matches_the_original_through_its_borders_removed_hash(
    shared_data: Path,
) -> None:
    from winnow.hashing.index import HammingIndex

    root = shared_data / "pdq-reference-vectors/images/reg-test-input/dih"
    original = decode_image((root / "bridge-1-original.jpg").read_bytes(), ImageLimits())
    [plain] = [h for h in original.hashes if h.algorithm == "pdq"]
    with Image.open(root / "bridge-1-original.jpg") as im:
        h = im.height
        repost = _encode(_bars(im.convert("RGB"), round(h * 16 / 9), h, (0, 0, 0)), "JPEG")
    hashes = [x for x in decode_image(repost, ImageLimits()).hashes if x.algorithm == "pdq"]
    assert [x.variant for x in hashes] == [None, "borders_removed"]
    index = HammingIndex.build(bytes.fromhex(plain.value), [1])

    def distance(value: str) -> int:
        [found] = index.search_one(bytes.fromhex(value), 256)  # radius 256: always found
        return found.distance

    as_sent, trimmed = (distance(x.value) for x in hashes)
    assert as_sent > 31  # PDQ alone misses the repost
    assert trimmed <= 10


# --- the line Winnow does not cross --------------------------------------------------------------

_GENDER = re.compile(r"female|\bmale\b|gender|\bwom[ae]n\b|\bm[ae]n\b|\bgirl|\bboy", re.IGNORECASE)


def test_nudenet_face_gender_columns_are_cut_before_anything_reads_them() -> None:
    raw = np.zeros((22, 50), dtype=np.float32)
    raw[0:4] = [[160.0], [160.0], [40.0], [40.0]]
    raw[4 + nudity._NUDENET_CLASSES.index("FACE_FEMALE")] = 0.99
    raw[4 + nudity._NUDENET_CLASSES.index("FACE_MALE")] = 0.98
    assert nudity._decode_parts(raw, 1.0, 0.05) == []
    raw[4 + nudity._NUDENET_CLASSES.index("BUTTOCKS_EXPOSED")] = 0.9
    parts = nudity._decode_parts(raw, 1.0, 0.05)
    assert {p[0] for p in parts} == {"buttocks_exposed"}


def test_no_gender_bearing_label_or_field_can_leave_winnow(engine: Engine) -> None:
    for cls in default_registry().detectors().values():
        assert not any(_GENDER.search(label) for label in cls.labels), cls.name
    assert not any(_GENDER.search(label) for label in LABELS)
    reported = {p for p in nudity._PARTS.values() if p is not None}
    assert not any(_GENDER.search(part) for part, _ in reported)
    kept = [nudity._NUDENET_CLASSES[i] for i in nudity._KEPT]
    assert "FACE_FEMALE" not in kept
    assert "FACE_MALE" not in kept
    # Every field of a real verdict on a real photo: keys and values.
    verdict = engine.scan(Content.from_bytes(_encode(_photo(320, 240), "JPEG")))
    assert not _GENDER.search(json.dumps(verdict_to_dict(verdict)))


# --- detectors through the engine ---------------------------------------------------------------


def _qr(payload: str) -> bytes:
    import zxingcpp

    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode)
    qr = Image.fromarray(np.asarray(code.to_image(scale=6))).convert("RGB")
    canvas = Image.new("RGB", (qr.width + 200, qr.height + 120), (235, 230, 220))
    canvas.paste(qr, (120, 60))
    return _encode(canvas, "PNG")


def test_qr_payload_is_a_finding_and_goes_through_the_text_detectors(engine: Engine) -> None:
    payload = "Big discount https://bit.ly/3xYzAbc add me on telegram @cheapdeals"
    verdict = engine.scan(Content.from_bytes(_qr(payload)))
    qr = [f for f in verdict.findings if f.detector == "qrcode"]
    assert len(qr) == 1
    assert qr[0].label == "spam/qrcode"
    assert qr[0].excerpt == payload
    assert qr[0].evidence["format"] == "QRCode"
    box = qr[0].location
    assert box is not None
    assert (box.x, box.y) == (120 + 24, 60 + 24)  # type: ignore[union-attr]  # 4-module quiet zone
    from_text = [f for f in verdict.findings if f.evidence.get("found_in") == "qrcode"]
    assert {f.label for f in from_text} >= {"spam/link", "spam/contact_solicitation"}
    assert all(f.location == box for f in from_text)
    assert verdict.action is Action.REVIEW
    assert "qr-codes" in {h.rule for h in verdict.rule_hits}


@pytest.mark.skipif(not FONT_EN.is_file() or not FONT_ZH.is_file(), reason="fonts not installed")
@pytest.mark.parametrize(
    ("text", "font", "label"),
    [
        ("Add me on WhatsApp +44 7700 900123", FONT_EN, "spam/contact_solicitation"),
        ("加我微信 abc12345 有优惠", FONT_ZH, "spam/contact_solicitation"),
    ],
)
def test_text_in_images_is_read_and_moderated_with_its_box(
    engine: Engine, text: str, font: Path, label: str
) -> None:
    im = Image.new("RGB", (900, 160), (250, 250, 245))
    ImageDraw.Draw(im).text(
        (40, 50), text, font=ImageFont.truetype(str(font), 44), fill=(20, 20, 20)
    )
    verdict = engine.scan(Content.from_bytes(_encode(im, "PNG")))
    found = [f for f in verdict.findings if f.evidence.get("found_in") == "ocr"]
    assert label in {f.label for f in found}
    for f in found:
        assert f.location is not None
        assert 0 <= f.location.y < 160  # type: ignore[union-attr]


def test_ocr_skipped_is_said_in_the_verdict(engine: Engine) -> None:
    blank = _encode(Image.new("RGB", (400, 300), (120, 160, 200)), "PNG")
    verdict = engine.scan(Content.from_bytes(blank))
    assert any(n.startswith("ocr: skipped") for n in verdict.notes)
    assert verdict.action is Action.PASS
    assert verdict.findings == ()


@pytest.mark.shared_data
def test_faces_are_boxes_and_nothing_else(engine: Engine, shared_data: Path) -> None:
    photo = shared_data / "images-benign-coco-val128/images/000000001000.jpg"
    verdict = engine.scan(Content.from_path(photo))
    faces = [f for f in verdict.findings if f.label == "privacy/face"]
    assert len(faces) >= 2
    for f in faces:
        assert set(f.evidence) == set()
        assert f.location is not None
    assert verdict.action is Action.PASS  # a face is for redaction, not a reason to act


@pytest.mark.shared_data
def test_benign_photos_pass_the_default_policy(engine: Engine, shared_data: Path) -> None:
    for name in ("000000003661.jpg", "000000002149.jpg"):  # bananas and apples fool one model each
        verdict = engine.scan(
            Content.from_path(shared_data / "images-benign-coco-val128/images" / name)
        )
        assert not any(h.rule.startswith(("explicit", "sexual")) for h in verdict.rule_hits), name


def test_a_detector_that_cannot_load_is_a_recorded_failure() -> None:
    from winnow.detectors.image.ocr import OcrDetector

    engine = Engine()
    broken = next(d for d in engine.detectors if isinstance(d, OcrDetector))

    def fail() -> None:
        raise RuntimeError("model file missing")

    broken.load = fail  # type: ignore[method-assign]
    verdict = engine.scan(Content.from_bytes(_encode(_photo(), "PNG")))
    assert [f.detector for f in verdict.failures] == ["ocr"]
    assert "could not load" in verdict.failures[0].message
    assert verdict.action is Action.REVIEW  # on_detector_failure: review


# --- redaction ----------------------------------------------------------------------------------


def test_redact_blurs_the_boxes_and_drops_metadata(engine: Engine) -> None:
    data = _qr("https://bit.ly/3xYzAbc")
    verdict = engine.scan(Content.from_bytes(data))
    out, media_type, count = redact_image(data, verdict, ("spam/qrcode",))
    assert count == 1
    assert media_type == "image/png"
    before = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    after = np.asarray(Image.open(io.BytesIO(out)).convert("RGB")).astype(int)
    box = next(f.location for f in verdict.findings if f.label == "spam/qrcode")
    x, y, w, h = box.x, box.y, box.width, box.height  # type: ignore[union-attr]
    assert np.abs(after[y : y + h, x : x + w] - before[y : y + h, x : x + w]).mean() > 40
    assert np.array_equal(after[:50, :100], before[:50, :100])  # outside the box: untouched
    rescanned = engine.scan(Content.from_bytes(out))
    assert not [f for f in rescanned.findings if f.label == "spam/qrcode"]
    assert not Image.open(io.BytesIO(out)).getexif()
