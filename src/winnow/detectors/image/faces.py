"""Faces, for redaction only: boxes where a face is, as ``privacy/face``, and nothing else.

MediaPipe's BlazeFace detector (the full-range model shipped in the mediapipe 0.10.21 wheel) finds
faces; Winnow keeps each box and its detection score. It never keeps the landmarks MediaPipe also
returns, never compares faces, never says whose face it is or anything about the person: the only
use of this label is ``winnow redact`` blurring faces out.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Literal

import numpy as np
from pydantic import Field

from winnow.detectors.base import DetectorConfig, ImageDetector, ImageResult
from winnow.detectors.image._runtime import quiet_stderr, require
from winnow.media.image import DecodedImage, ImageFrame

LABEL = "privacy/face"


class FacesConfig(DetectorConfig):
    min_score: float = Field(0.5, ge=0.05, le=1.0)
    model: Literal["full_range", "short_range"] = Field(
        "full_range", description="full_range: faces up to ~5 m away; short_range: selfies"
    )


class FaceDetector(ImageDetector):
    name = "faces"
    version = "1.0.0"  # MediaPipe 0.10.21 BlazeFace
    labels = frozenset({LABEL})
    Config = FacesConfig

    def __init__(self, config: FacesConfig | None = None) -> None:
        super().__init__(config)
        self.cfg: FacesConfig = self.config  # type: ignore[assignment]
        self._model: Any = None
        self._lock = threading.Lock()  # a MediaPipe graph runs one image at a time

    def load(self) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        with quiet_stderr():  # TFLite and absl print start-up notices on the first graph run
            solution = require("mediapipe.python.solutions.face_detection")
            self._model = solution.FaceDetection(
                model_selection=1 if self.cfg.model == "full_range" else 0,
                min_detection_confidence=self.cfg.min_score,
            )
            self._model.process(np.zeros((64, 64, 3), dtype=np.uint8))

    def detect_image(self, frame: ImageFrame, image: DecodedImage) -> ImageResult:
        h, w = frame.rgb.shape[:2]
        with self._lock:
            found = self._model.process(frame.rgb)
        result = ImageResult()
        for detection in found.detections or ():
            score = float(detection.score[0])
            box = detection.location_data.relative_bounding_box
            x0, y0 = box.xmin * w, box.ymin * h
            region = frame.region(x0, y0, x0 + box.width * w, y0 + box.height * h)
            if region.width == 0 or region.height == 0:
                continue
            result.findings.append(
                self.finding(
                    LABEL,
                    round(min(max(score, 0.0), 1.0), 4),
                    f"face present ({score:.2f}); detected for redaction only",
                    location=region,
                )
            )
        return result
