"""Image scan speed: a 1080p JPEG through Winnow's whole path, each stage next to its floor.

Run: ``make bench-image`` (or ``python benchmarks/bench_image.py``). Pins itself to one core
(onnxruntime and OpenCV run single-threaded), warms every model, then reports medians of
``--runs`` scans. The test photo is drawn from an MDN CC0 photo in ../shared/data, cropped and
resized to 1920x1080 and saved as a quality-90 JPEG (without the data, a synthetic photo-like
image is used and the table says so).

Floors are each library alone on the same input, with no Winnow code around it: libjpeg-turbo
decode (simplejpeg), pdqhash (the reference PDQ), each ONNX model's bare ``session.run`` on a
ready tensor, zxing-cpp on a ready grey image, MediaPipe on a ready RGB array. Winnow's stage
time minus its floor is Winnow's own overhead (resizing, pre- and post-processing, findings).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

os.environ["ORT_DISABLE_TELEMETRY"] = "1"

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PHOTO = DATA / "media-benign-cc0-mdn" / "images" / "examples__ice-cream.jpg"
TEXT_IMAGE = DATA / "images-text-ocr-easyocr" / "images" / "english.png"


def _pin() -> None:
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _photo_1080p() -> tuple[bytes, str]:
    from PIL import Image

    if PHOTO.is_file():
        im = Image.open(PHOTO).convert("RGB")
        w, h = im.size
        ch = w * 1080 // 1920
        top = (h - ch) // 2
        im = im.crop((0, top, w, top + ch)).resize((1920, 1080), Image.Resampling.LANCZOS)
        source = f"{PHOTO.name}, cropped and resized to 1920x1080, JPEG q90"
    else:
        rng = np.random.default_rng(0)
        base = rng.integers(0, 255, (27, 48, 3), dtype=np.uint8)
        im = Image.fromarray(base).resize((1920, 1080), Image.Resampling.BICUBIC)
        source = "synthetic smooth 1920x1080 image (shared data absent), JPEG q90"
    buf = io.BytesIO()
    im.save(buf, format="JPEG", quality=90)
    return buf.getvalue(), source


def _median_ms(fn: Callable[[], object], runs: int) -> float:
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    _pin()
    import cv2

    cv2.setNumThreads(1)
    from winnow import Content, Engine, parse_policy
    from winnow.detectors.image.faces import FaceDetector
    from winnow.detectors.image.nudity import NudityDetector
    from winnow.detectors.image.ocr import OcrDetector
    from winnow.detectors.image.qrcode import QrCodeDetector
    from winnow.media.image import ImageLimits, decode_image
    from winnow.policy.loader import default_policy_text

    data, source = _photo_1080p()
    engine = Engine()
    engine.warm_up()
    by_name = {d.name: d for d in engine.detectors}
    nudity = by_name["nudity"]
    assert isinstance(nudity, NudityDetector)
    qr, faces, ocr = by_name["qrcode"], by_name["faces"], by_name["ocr"]
    assert isinstance(qr, QrCodeDetector)
    assert isinstance(faces, FaceDetector)
    assert isinstance(ocr, OcrDetector)

    # Whole path, as a caller sees it; and with OCR and its gate off (the target).
    content = Content.from_bytes(data, name="photo.jpg")
    no_ocr = Engine(parse_policy(default_policy_text().replace("run: auto", "run: never"), "p"))
    no_ocr.warm_up()
    no_ocr_total = _median_ms(lambda: no_ocr.scan(content), args.runs)
    stage_runs: dict[str, list[float]] = {}
    totals = []
    engine.scan(content)
    for _ in range(args.runs):
        t0 = time.perf_counter()
        verdict = engine.scan(content)
        totals.append((time.perf_counter() - t0) * 1000)
        for name, ms in verdict.timings_ms.items():
            stage_runs.setdefault(name, []).append(ms)
    stage = {k: statistics.median(v) for k, v in stage_runs.items()}
    total = statistics.median(totals)
    ocr_ran = not any(n.startswith("ocr: skipped") for n in verdict.notes)

    # Winnow's own stages, one at a time.
    limits = ImageLimits()
    image = decode_image(data, limits)
    frame = image.frames[0]
    winnow_decode = _median_ms(lambda: decode_image(data, limits, pdq=False), args.runs)
    winnow_decode_hash = _median_ms(lambda: decode_image(data, limits), args.runs)

    # Floors: each library alone.
    import hashlib

    import pdqhash  # type: ignore[import-untyped]
    import simplejpeg  # type: ignore[import-untyped]
    import zxingcpp

    from winnow import _pdq

    full = simplejpeg.decode_jpeg(data, "RGB")
    f_decode = _median_ms(lambda: simplejpeg.decode_jpeg(data, "RGB"), args.runs)
    f_bytes = _median_ms(
        lambda: (hashlib.md5(data, usedforsecurity=False), hashlib.sha256(data)), args.runs
    )
    f_pdqhash = _median_ms(lambda: pdqhash.compute(full), args.runs)
    w_pdq = _median_ms(lambda: _pdq.hash(full, full.shape[0], full.shape[1], 3), args.runs)
    nn = nudity._nudenet
    blob = np.random.default_rng(0).random((1, 3, 320, 320), dtype=np.float32)
    f_nudenet = _median_ms(lambda: nn.run(None, {nn.get_inputs()[0].name: blob}), args.runs)
    ns = nudity._nsfw
    x = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)
    f_nsfw = _median_ms(lambda: ns.run(None, {ns.get_inputs()[0].name: x}), args.runs)
    gray = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2GRAY)
    f_zxing = _median_ms(lambda: zxingcpp.read_barcodes(gray), args.runs)
    f_faces = _median_ms(lambda: faces._model.process(frame.rgb), args.runs)
    bgr = cv2.cvtColor(frame.rgb, cv2.COLOR_RGB2BGR)
    f_gate = _median_ms(lambda: ocr._check(bgr), args.runs)

    rows = [
        (
            "decode stage (decode, MD5, SHA-256, PDQ)",
            winnow_decode_hash,
            f_decode + f_bytes + w_pdq,
            "simplejpeg + hashlib + Winnow PDQ",
        ),
        ("  of which decode (DCT-scaled working copy)", winnow_decode, f_decode, "simplejpeg full"),
        ("  PDQ alone: Winnow's C core", w_pdq, f_pdqhash, "pdqhash (reference)"),
        (
            "nudity (NudeNet + OpenNSFW)",
            stage["nudity"],
            f_nudenet + f_nsfw,
            "both ONNX runs on ready tensors",
        ),
        ("qrcode", stage["qrcode"], f_zxing, "zxing-cpp on ready grey"),
        ("faces", stage["faces"], f_faces, "MediaPipe on ready RGB"),
        ("ocr: 256 px gate, then OCR if text", stage["ocr"], f_gate, "RapidOCR det only"),
    ]
    print(f"Image scan, {source}; one core; median of {args.runs} runs")
    print(f"{'stage':44} {'Winnow ms':>10} {'floor ms':>9} {'share':>6}  floor")
    for name, ms, floor, what in rows:
        share = "" if name.startswith("  ") else f"{ms / total:.0%}"
        print(f"{name:44} {ms:10.1f} {floor:9.1f} {share:>6}  {what}")
    print(f"{'whole scan, default policy (engine.scan)':44} {total:10.1f}")
    other = total - sum(v for k, v in stage.items())
    print(f"{'  of which outside the stages':44} {other:10.1f}")
    print(
        f"{'  of which OCR after the gate':44} {stage['ocr'] - f_gate:10.1f}   OCR ran: {ocr_ran}"
    )
    print(f"{'whole scan, OCR off (target <= 60 ms)':44} {no_ocr_total:10.1f}")

    if TEXT_IMAGE.is_file():
        text_content = Content.from_path(TEXT_IMAGE)
        engine.scan(text_content)
        ms, ocr_ms = [], []
        for _ in range(max(5, args.runs // 3)):
            t0 = time.perf_counter()
            v = engine.scan(text_content)
            ms.append((time.perf_counter() - t0) * 1000)
            ocr_ms.append(v.timings_ms["ocr"])
        lines = v.notes[-1] if v.notes else ""
        print(
            f"With OCR, {TEXT_IMAGE.name} (12 lines of English): whole scan "
            f"{statistics.median(ms):.0f} ms, OCR stage {statistics.median(ocr_ms):.0f} ms "
            f"(target <= 400 ms); {lines}"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
