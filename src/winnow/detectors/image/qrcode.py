"""QR codes and barcodes (zxing-cpp): each decoded symbol is a ``spam/qrcode`` finding, and its
payload goes through the policy's text detectors (links, contact solicitation, lexicons), so a
QR code pointing at a blocked domain is treated like the link typed out.

QR codes in user uploads are a common carrier of off-platform advertising and scam links; linear
barcodes (EAN on a product photo) are everyday and score lower.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from winnow.detectors.base import DetectorConfig, ExtractedText, ImageDetector, ImageResult
from winnow.detectors.image._runtime import require
from winnow.media.image import DecodedImage, ImageFrame

LABEL = "spam/qrcode"
_MATRIX = ("QRCode", "MicroQRCode", "RMQRCode", "DataMatrix", "Aztec", "PDF417", "MaxiCode")
_EXCERPT = 200


class QrConfig(DetectorConfig):
    symbols: Literal["all", "qr"] = Field("all", description="every symbology, or QR codes only")
    qr_score: float = Field(0.9, ge=0.0, le=1.0, description="score of a 2D code (QR, Aztec…)")
    barcode_score: float = Field(0.4, ge=0.0, le=1.0, description="score of a linear barcode")


class QrCodeDetector(ImageDetector):
    name = "qrcode"
    version = "1.0.0"  # zxing-cpp
    labels = frozenset({LABEL})
    Config = QrConfig

    def __init__(self, config: QrConfig | None = None) -> None:
        super().__init__(config)
        self.cfg: QrConfig = self.config  # type: ignore[assignment]
        self._zx: Any = None
        self._formats: Any = None

    def load(self) -> None:
        self._zx = require("zxingcpp")
        self._formats = (
            self._zx.BarcodeFormat.QRCode | self._zx.BarcodeFormat.MicroQRCode
            if self.cfg.symbols == "qr"
            else None
        )

    def detect_image(self, frame: ImageFrame, image: DecodedImage) -> ImageResult:
        import cv2

        gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
        kwargs = {"formats": self._formats} if self._formats is not None else {}
        result = ImageResult()
        for code in self._zx.read_barcodes(gray, **kwargs):
            fmt = code.format.name
            corners = [code.position.top_left, code.position.top_right,
                       code.position.bottom_right, code.position.bottom_left]  # fmt: skip
            xs, ys = [p.x for p in corners], [p.y for p in corners]
            region = frame.region(min(xs), min(ys), max(xs) + 1, max(ys) + 1)
            matrix = fmt in _MATRIX
            payload = code.text
            kind = "QR code" if fmt.endswith("QRCode") else ("2D code" if matrix else "barcode")
            shown = payload if len(payload) <= _EXCERPT else payload[:_EXCERPT] + "…"
            result.findings.append(
                self.finding(
                    LABEL,
                    self.cfg.qr_score if matrix else self.cfg.barcode_score,
                    f"{kind} ({fmt}) reading {shown!r}",
                    location=region,
                    excerpt=shown,
                    format=fmt,
                    payload_chars=len(payload),
                    content_type=code.content_type.name,
                )
            )
            if payload.strip():
                result.texts.append(ExtractedText(payload, region, "qrcode"))
        return result
