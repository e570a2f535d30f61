"""Identify the language of a text (py3langid: 97 languages, a numpy model shipped in the wheel)."""

from __future__ import annotations

import functools
import re

from winnow.types import Language

SAMPLE_CHARS = 4000
MIN_CONFIDENCE = 0.5  # below this the code is "und" (undetermined), with the confidence kept
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")


@functools.cache
def _identifier() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


def identify(text: str) -> Language | None:
    """The most likely language of a sample of the text, or None when it has too few letters."""
    sample = text[:SAMPLE_CHARS]
    if sum(1 for c in sample[:64] if c.isalpha()) < 3 and sum(c.isalpha() for c in sample) < 3:
        return None
    code, confidence = _identifier().classify(sample)  # type: ignore[attr-defined]
    if code in ("ja", "ko") and _HAN.search(sample) and not _KANA_HANGUL.search(sample):
        code = "zh"  # Han characters only: Chinese (short Chinese is often guessed as Japanese)
    if confidence < MIN_CONFIDENCE:
        code = "und"
    return Language(str(code), round(float(confidence), 4))


def warm_up() -> None:
    """Load the model now rather than on the first text."""
    _identifier()
