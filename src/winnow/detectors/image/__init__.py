"""Winnow's built-in image detectors, registered through the ``winnow`` entry point like any
plugin. Their models load on the first image, never at import."""

from __future__ import annotations

from winnow.detectors.base import Detector
from winnow.detectors.image.faces import FaceDetector
from winnow.detectors.image.nudity import NudityDetector
from winnow.detectors.image.ocr import OcrDetector
from winnow.detectors.image.qrcode import QrCodeDetector
from winnow.plugins import hookimpl


@hookimpl
def winnow_detectors() -> list[type[Detector]]:
    return [NudityDetector, QrCodeDetector, OcrDetector, FaceDetector]
