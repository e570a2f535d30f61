"""Winnow's built-in text detectors, registered through the ``winnow`` entry point like any
plugin."""

from __future__ import annotations

from winnow.detectors.base import Detector
from winnow.detectors.text.classifier import ClassifierDetector
from winnow.detectors.text.contact import ContactDetector
from winnow.detectors.text.lexicon import LexiconDetector
from winnow.detectors.text.links import LinksDetector
from winnow.detectors.text.pii import PiiDetector
from winnow.plugins import hookimpl


@hookimpl
def winnow_detectors() -> list[type[Detector]]:
    return [LexiconDetector, PiiDetector, LinksDetector, ContactDetector, ClassifierDetector]
