"""A detector that only takes time, loaded by worker processes through WINNOW_PLUGINS, so a test
can kill a worker while it is in the middle of a job."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import ClassVar

from winnow.detectors.base import Detector, DetectorConfig, TextChunk, TextDetector
from winnow.plugins import hookimpl
from winnow.types import Finding


class SlowConfig(DetectorConfig):
    seconds: float = 1.0


class SlowDetector(TextDetector):
    name: ClassVar[str] = "test-slow"
    version: ClassVar[str] = "1"
    labels: ClassVar[frozenset[str]] = frozenset()
    Config = SlowConfig

    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        assert isinstance(self.config, SlowConfig)
        time.sleep(self.config.seconds)
        return []


@hookimpl
def winnow_detectors() -> list[type[Detector]]:
    return [SlowDetector]
