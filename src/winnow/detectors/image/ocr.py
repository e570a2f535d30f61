"""Text in images (RapidOCR, Chinese + English PP-OCR models shipped in the ``rapidocr`` wheel).

Recognised lines go through the policy's text detectors; their findings keep the box of the line.
OCR is the expensive stage (hundreds of milliseconds), so by default (``run: auto``) it runs only
where a cheap text-presence check (:func:`text_likely`, a few milliseconds of morphology on a
small grey copy) sees text-like strokes; ``always`` and ``never`` override it. When OCR does not
run, the verdict says so in its notes.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from pydantic import Field

from winnow.detectors.base import DetectorConfig, ExtractedText, ImageDetector, ImageResult
from winnow.detectors.image._runtime import require
from winnow.media.image import RGB, DecodedImage, ImageFrame

_CHECK_SIDE = 640  # the text-presence check looks at a copy this size


class OcrConfig(DetectorConfig):
    run: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: only where the text-presence check sees text"
    )
    min_confidence: float = Field(0.5, ge=0.0, le=1.0, description="lines below are dropped")
    max_side: int = Field(960, ge=320, le=4096, description="longest side the OCR model sees")
    min_text_regions: int = Field(2, ge=1, description="text-like regions that make text likely")
    threads: int = Field(1, ge=1, le=64)


class OcrDetector(ImageDetector):
    name = "ocr"
    version = "1.0.0"  # RapidOCR 3, PP-OCRv6 small detection and recognition
    labels = frozenset[str]()  # OCR reports text; the text detectors report findings
    extracts_text = True
    Config = OcrConfig

    def __init__(self, config: OcrConfig | None = None) -> None:
        super().__init__(config)
        self.cfg: OcrConfig = self.config  # type: ignore[assignment]
        self._engine: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        require("cv2")
        if self.cfg.run == "never":
            return
        rapidocr = require("rapidocr")
        threads = self.cfg.threads
        self._engine = rapidocr.RapidOCR(
            params={
                "Global.log_level": "error",
                "Global.use_cls": False,  # upside-down text is rare in uploads; saves a model run
                "Global.text_score": self.cfg.min_confidence,
                "Det.limit_side_len": self.cfg.max_side,
                "Det.limit_type": "max",
                "EngineConfig.onnxruntime.intra_op_num_threads": threads,
                "EngineConfig.onnxruntime.inter_op_num_threads": 1,
            }
        )

    def detect_image(self, frame: ImageFrame, image: DecodedImage) -> ImageResult:
        import cv2

        result = ImageResult()
        if self.cfg.run == "never":
            result.notes.append("ocr: not run (the policy sets run: never)")
            return result
        if self.cfg.run == "auto":
            regions = text_regions(frame.rgb)
            if regions < self.cfg.min_text_regions:
                result.notes.append(
                    f"ocr: skipped on frame {frame.index}: the text-presence check found "
                    f"{regions} text-like region(s), fewer than {self.cfg.min_text_regions}"
                )
                return result
        bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
        with self._lock:
            out = self._engine(bgr)
        if out.boxes is None or out.txts is None:
            return result
        for box, text, score in zip(out.boxes, out.txts, out.scores, strict=True):
            if not text.strip() or score < self.cfg.min_confidence:
                continue
            xs, ys = box[:, 0], box[:, 1]
            region = frame.region(
                float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())
            )
            result.texts.append(ExtractedText(text, region, "ocr", round(float(score), 4)))
        return result


def text_regions(rgb: RGB) -> int:
    """How many text-like regions a quick morphology pass sees (0 means OCR is not needed).

    Strokes of text are dense, thin, high-contrast edges lined up horizontally: the morphological
    gradient picks edges, Otsu binarises them, a horizontal closing joins the letters of a word,
    and a region counts when it is word-shaped (wider than tall, letter-high) and dense with edges.
    """
    import cv2

    h, w = rgb.shape[:2]
    f = min(1.0, _CHECK_SIDE / max(h, w))
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if f < 1.0:
        gray = cv2.resize(
            gray, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
        )
    grad = cv2.morphologyEx(
        gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    )
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    joined = cv2.morphologyEx(
        bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (9, 1))
    )
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found = 0
    for c in contours:
        x, y, cw, ch = cv2.boundingRect(c)
        if not (8 <= ch <= 60 and cw >= 2 * ch and cw >= 24):
            continue
        density = cv2.countNonZero(bw[y : y + ch, x : x + cw]) / (cw * ch)
        if density >= 0.45:
            found += 1
    return found
