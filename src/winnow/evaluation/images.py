"""Image detectors on the shared sets: QR decoding, nudity false positives, OCR, the OCR gate.

* **QR** (zxing-cpp's own black-box samples): an image counts as detected when Winnow reports a
  ``spam/qrcode`` finding; exact when one payload equals the expected text. Negatives are
  textures and printed pages where no code may be reported. Structured-append parts
  (``qrcode-7``) carry a fragment each, so they count for detection, not for exact payload.
* **Nudity false positives**: the share of benign photos (COCO val, MDN's CC0 examples) that the
  default policy sends to review or blocks for a ``sexual`` label. No sexual imagery is part of
  this project, so recall is not measured here.
* **OCR**: character error rate against the one transcription the EasyOCR set ships (a model's
  output, not verified truth) and against lines Winnow draws itself in English and Chinese with
  Debian's DejaVu and WenQuanYi fonts (so the truth is exact).
* **OCR gate**: how often the cheap text-presence check lets OCR run, on images with text (the
  EasyOCR set and the drawn lines) and on COCO photos.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from winnow.detectors.image.ocr import OcrConfig, OcrDetector
from winnow.detectors.image.qrcode import QrCodeDetector
from winnow.engine import Engine
from winnow.evaluation import Score
from winnow.media.image import RGB, ImageLimits, decode_image
from winnow.taxonomy import covers
from winnow.types import Content

QR_SET = Path("images-qrcode-zxing")
BENIGN_SETS = (
    Path("images-benign-coco-val128") / "images",
    Path("media-benign-cc0-mdn") / "images",
)
OCR_SET = Path("images-text-ocr-easyocr")
FONTS = {
    "en": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "zh": Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
}
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}

EN_LINES = (
    "Limited offer: 50% off all watches today",
    "Add me on WhatsApp for the price list",
    "Visit our shop at example dot com",
    "Free delivery for orders over 30 euros",
    "Call 0800 123 4567 before Friday",
    "The quick brown fox jumps over the lazy dog",
)
ZH_LINES = (
    "限时优惠全场五折",
    "加我微信了解价格",
    "今天天气很好我们去公园",
    "免费送货上门服务",
    "欢迎光临本店",
    "请扫码关注公众号",
)


@dataclass
class QrReport:
    positives: int = 0
    detected: int = 0
    exact_total: int = 0  # positives with a whole expected payload
    exact: int = 0
    negatives: int = 0
    false_detections: int = 0  # negatives with any code reported
    misses: list[str] = field(default_factory=list)

    @property
    def score(self) -> Score:
        return Score(
            "spam/qrcode",
            self.positives,
            tp=self.detected,
            fp=self.false_detections,
            fn=self.positives - self.detected,
        )


@dataclass
class BenignReport:
    name: str
    images: int = 0
    flagged: list[tuple[str, str, float]] = field(default_factory=list)  # (image, rule, score)

    @property
    def rate(self) -> float:
        return len(self.flagged) / self.images if self.images else 0.0


@dataclass
class OcrReport:
    name: str
    lines: int = 0
    chars: int = 0
    edits: int = 0
    exact_lines: int = 0
    gate_passed: int = 0
    images: int = 0

    @property
    def cer(self) -> float:
        return self.edits / self.chars if self.chars else 0.0


def evaluate_qr(data: Path) -> QrReport:
    detector = QrCodeDetector()
    detector.load()
    limits = ImageLimits()
    report = QrReport()
    root = data / QR_SET
    with (root / "index.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        image = decode_image((root / row["image"]).read_bytes(), limits)
        results = [detector.detect_image(frame, image) for frame in image.frames]
        payloads = [t.text for r in results for t in r.texts]
        found = any(r.findings for r in results)
        if row["kind"] == "qrcode":
            report.positives += 1
            report.detected += found
            if not found:
                report.misses.append(row["image"])
            expected_file = row["expected_content_file"]
            if expected_file and row["group"] != "qrcode-7":
                expected = (root / expected_file).read_text(encoding="utf-8")
                report.exact_total += 1
                report.exact += any(_same_payload(p, expected) for p in payloads)
        else:
            report.negatives += 1
            report.false_detections += found
    return report


def _same_payload(got: str, expected: str) -> bool:
    return got == expected or got.replace("\r\n", "\n") == expected.replace("\r\n", "\n")


def evaluate_benign(data: Path, engine: Engine | None = None) -> list[BenignReport]:
    """Share of benign images the default policy acts on for a ``sexual`` label."""
    engine = engine or Engine()
    reports = []
    for folder in BENIGN_SETS:
        report = BenignReport(folder.parts[0])
        for path in sorted((data / folder).iterdir()):
            if path.suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            verdict = engine.scan(Content.from_path(path))
            report.images += 1
            for hit in verdict.rule_hits:
                if any(covers("sexual", label) for label in hit.labels):
                    score = max(verdict.findings[i].score for i in hit.findings)
                    report.flagged.append((path.name, hit.rule, round(score, 3)))
                    break
        reports.append(report)
    return reports


def _gate() -> OcrDetector:
    gate = OcrDetector(OcrConfig(run="auto"))
    gate.load()
    return gate


def _gate_passes(gate: OcrDetector, rgb: RGB) -> bool:
    import cv2

    return gate.text_boxes(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)) >= gate.cfg.min_text_boxes


def evaluate_ocr(data: Path) -> list[OcrReport]:
    detector = OcrDetector(OcrConfig(run="always"))
    detector.load()
    gate = _gate()
    limits = ImageLimits()
    reports = []
    truth = data / OCR_SET / "expected_text_readme.csv"
    if truth.is_file():
        report = OcrReport("easyocr chinese.jpg (README transcription)")
        with truth.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                image = decode_image((data / OCR_SET / row["image"]).read_bytes(), limits)
                expected = row["expected_text_in_reading_order"].split("|")
                got = [t.text for t in detector.detect_image(image.frames[0], image).texts]
                _score_tokens(report, expected, got)
                report.images += 1
                report.gate_passed += _gate_passes(gate, image.frames[0].rgb)
        reports.append(report)
    for lang, lines in (("en", EN_LINES), ("zh", ZH_LINES)):
        if not FONTS[lang].is_file():
            continue
        report = OcrReport(f"drawn lines, {lang} ({FONTS[lang].name})")
        for text, png in _drawn(lines, FONTS[lang], seed=len(lang)):
            image = decode_image(png, limits)
            line = " ".join(t.text for t in detector.detect_image(image.frames[0], image).texts)
            report.images += 1
            report.gate_passed += _gate_passes(gate, image.frames[0].rgb)
            _score_line(report, text, line, spaces=lang == "en")
        reports.append(report)
    return reports


def gate_rates(data: Path) -> list[tuple[str, int, int]]:
    """(set, images, images where the text-presence check lets OCR run)."""
    limits = ImageLimits()
    gate = _gate()
    out = []
    for name, folder in (
        ("EasyOCR examples (all have text)", data / OCR_SET / "images"),
        ("COCO val photos", data / BENIGN_SETS[0]),
        ("MDN CC0 examples", data / BENIGN_SETS[1]),
    ):
        n = passed = 0
        for path in sorted(folder.iterdir()):
            if path.suffix.lower() not in _IMAGE_SUFFIXES:
                continue
            image = decode_image(path.read_bytes(), limits)
            n += 1
            passed += _gate_passes(gate, image.frames[0].rgb)
        out.append((name, n, passed))
    return out


def _drawn(lines: tuple[str, ...], font_path: Path, seed: int) -> Iterator[tuple[str, bytes]]:
    """Each line drawn dark on a light, slightly noisy background, as PNG bytes."""
    import io

    from PIL import Image, ImageDraw, ImageFont

    rng = random.Random(seed)
    for text in lines:
        size = rng.choice((28, 34, 40))
        font = ImageFont.truetype(str(font_path), size)
        _, y0, x1, y1 = font.getbbox(text)
        im = Image.new("RGB", (int(x1) + 80, int(y1) + 60), (rng.randint(225, 255),) * 3)
        ImageDraw.Draw(im).text((40, 30 - y0 // 2), text, font=font, fill=(rng.randint(0, 60),) * 3)
        buf = io.BytesIO()
        im.save(buf, format="PNG")
        yield text, buf.getvalue()


def _score_line(report: OcrReport, expected: str, got: str, *, spaces: bool) -> None:
    a, b = (expected, got) if spaces else (expected.replace(" ", ""), got.replace(" ", ""))
    report.lines += 1
    report.chars += len(a)
    report.edits += _edit_distance(a, b)
    report.exact_lines += a == b


def _score_tokens(report: OcrReport, expected: list[str], got: list[str]) -> None:
    a, b = "".join(expected).replace(" ", ""), "".join(got).replace(" ", "")
    report.lines += len(expected)
    report.chars += len(a)
    report.edits += _edit_distance(a, b)
    report.exact_lines += sum(1 for t in expected if t in got)


def _edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]
