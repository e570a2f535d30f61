"""Identify the language of a text: py3langid's model (97 languages, shipped in its wheel), run by
Winnow's compiled loop (``winnow._features.langid``), which gives py3langid's answer about 50
times faster on a short message (py3langid walks each byte in Python)."""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np

from winnow import _features
from winnow.types import Language

SAMPLE_CHARS = 4000
MIN_CONFIDENCE = 0.5  # below this the code is "und" (undetermined), with the confidence kept
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
# three letters anywhere (a letter: a word character that is no digit or underscore); found at
# the start of any ordinary text, so the check costs next to nothing
_THREE_LETTERS = re.compile(r"[^\W\d_](?:[\W\d_]*[^\W\d_]){2}")


@functools.cache
def _identifier() -> object:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


class _Compiled:
    """py3langid's model as flat arrays for the compiled loop. The loop holds the GIL, so one
    scratch buffer serves every thread."""

    def __init__(self, ident: Any) -> None:
        self.nextmove = np.asarray(ident.tk_nextmove, dtype=np.uint16)
        states = len(self.nextmove) // 256
        offsets = np.zeros(states + 1, np.int32)
        feats: list[int] = []
        for state in range(states):
            feats.extend(ident.tk_output.get(state, ()))
            offsets[state + 1] = len(feats)
        self.offsets = offsets
        self.feats = np.asarray(feats, np.int32)
        self.ptc = np.ascontiguousarray(ident.nb_ptc, dtype=np.float32)
        self.pc = np.ascontiguousarray(ident.nb_pc, dtype=np.float32)
        self.classes = [str(c) for c in ident.nb_classes]
        self.scratch = np.zeros(self.ptc.shape[0], np.uint16)

    def classify(self, text: str) -> tuple[str, float]:
        best, prob = _features.langid(
            text.encode("utf-8", "surrogatepass"),
            self.nextmove,
            self.offsets,
            self.feats,
            self.ptc,
            self.pc,
            self.scratch,
        )
        return self.classes[best], prob


@functools.cache
def _compiled() -> _Compiled:
    return _Compiled(_identifier())


def identify(text: str) -> Language | None:
    """The most likely language of a sample of the text, or None when it has too few letters."""
    sample = text[:SAMPLE_CHARS]
    if _THREE_LETTERS.search(sample) is None:
        return None
    code, confidence = _compiled().classify(sample)
    if code in ("ja", "ko") and _HAN.search(sample) and not _KANA_HANGUL.search(sample):
        code = "zh"  # Han characters only: Chinese (short Chinese is often guessed as Japanese)
    if confidence < MIN_CONFIDENCE:
        code = "und"
    return Language(str(code), round(float(confidence), 4))


def warm_up() -> None:
    """Load the model now rather than on the first text."""
    _compiled()
