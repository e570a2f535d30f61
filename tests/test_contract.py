"""Contract tests run over every registered detector, built-in or plugin."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from winnow import taxonomy
from winnow.detectors.base import Detector, TextChunk, TextDetector
from winnow.plugins import default_registry

DETECTORS = default_registry().detectors()


def test_builtin_detectors_are_registered_through_the_entry_point() -> None:
    assert {"lexicon", "pii", "links", "contact"} <= set(DETECTORS)


@pytest.mark.parametrize("cls", DETECTORS.values(), ids=list(DETECTORS))
def test_detector_declares_name_version_and_taxonomy_labels(cls: type[Detector]) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", cls.name)
    assert re.fullmatch(r"\d+\.\d+\.\d+", cls.version)
    assert cls.labels or cls.extracts_text
    assert all(taxonomy.is_label(label) for label in cls.labels)
    if issubclass(cls, TextDetector):
        assert cls.examples, "every text detector ships examples that double as tests"


@pytest.mark.parametrize("cls", DETECTORS.values(), ids=list(DETECTORS))
def test_detector_config_rejects_unknown_keys(cls: type[Detector]) -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        cls.Config.model_validate({"no_such_setting": 1})


CASES = [
    pytest.param(cls, ex, id=f"{name}:{ex.note or ex.text[:30]}")
    for name, cls in DETECTORS.items()
    for ex in cls.examples
]


@pytest.mark.parametrize(("cls", "example"), CASES)
def test_examples_give_exactly_the_documented_labels(cls: type[Detector], example: object) -> None:
    detector = cls()
    detector.load()
    assert isinstance(detector, TextDetector)
    findings = list(detector.detect_text(TextChunk(example.text)))  # type: ignore[attr-defined]
    assert {f.label for f in findings} == set(example.labels)  # type: ignore[attr-defined]
    for f in findings:
        assert f.label in cls.labels, "a detector emits only labels it declares"
        assert f.detector == cls.name
        assert f.detector_version == cls.version
        assert f.explanation
        assert 0.0 <= f.score <= 1.0
