"""Text in images (RapidOCR, Chinese + English PP-OCR models shipped in the ``rapidocr`` wheel).

Recognised lines go through the policy's text detectors; their findings keep the box of the line.
OCR is the expensive stage (hundreds of milliseconds), so by default (``run: auto``) it runs only
where a cheap text-presence check finds text: the same PP-OCR text *detection* model on a copy of
at most ``check_side`` pixels (about 10 ms), without recognition. ``always`` and ``never``
override it. When OCR does not run, the verdict says so in its notes.

(A morphology heuristic, a few milliseconds, was measured first and rejected: at the recall
needed, 21 of 23 text images, it passed 57% of photos with no text; see docs/evaluation.md.)
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from pydantic import Field

from winnow.detectors.base import DetectorConfig, ExtractedText, ImageDetector, ImageResult
from winnow.detectors.image._runtime import require
from winnow.media.image import DecodedImage, ImageFrame


class OcrConfig(DetectorConfig):
    run: Literal["auto", "always", "never"] = Field(
        "auto", description="auto: only where the text-presence check sees text"
    )
    min_confidence: float = Field(0.5, ge=0.0, le=1.0, description="lines below are dropped")
    max_side: int = Field(640, ge=320, le=4096, description="longest side the OCR model sees")
    check_side: int = Field(256, ge=128, le=1024, description="size of the text-presence check")
    min_text_boxes: int = Field(1, ge=1, description="boxes the check must find for OCR to run")
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
        self._check: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        require("cv2")
        if self.cfg.run == "never":
            return
        rapidocr = require("rapidocr")
        common = {
            "Global.log_level": "error",
            "Global.use_cls": False,  # upside-down text is rare in uploads; saves a model run
            "Det.limit_type": "max",
            "EngineConfig.onnxruntime.intra_op_num_threads": self.cfg.threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        }
        self._engine = rapidocr.RapidOCR(
            params={
                **common,
                "Global.text_score": self.cfg.min_confidence,
                "Det.limit_side_len": self.cfg.max_side,
            }
        )
        if self.cfg.run == "auto":
            self._check = rapidocr.RapidOCR(
                params={
                    **common,
                    "Global.use_rec": False,
                    "Det.limit_side_len": self.cfg.check_side,
                }
            )

    def text_boxes(self, bgr: Any) -> int:
        """How many text boxes the detection model alone finds on a small copy."""
        with self._lock:
            out = self._check(bgr)
        return 0 if out.boxes is None else len(out.boxes)

    def detect_image(self, frame: ImageFrame, image: DecodedImage) -> ImageResult:
        import cv2

        result = ImageResult()
        if self.cfg.run == "never":
            result.notes.append("ocr: not run (the policy sets run: never)")
            return result
        bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
        if self.cfg.run == "auto":
            boxes = self.text_boxes(bgr)
            if boxes < self.cfg.min_text_boxes:
                result.notes.append(
                    f"ocr: skipped on frame {frame.index}: the text-presence check found "
                    f"{boxes} text box(es) (run: always to force OCR)"
                )
                return result
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
