"""The classifiers' compiled n-gram hashing equals its Python definition, on any text."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from features_reference import ngrams as reference
from winnow import _features

_TEXT = st.text(
    alphabet=st.sampled_from([*"ab cé1'-!", "傻", "逼", "東", "😀", "ß", "Ω", "\u0301"]),
    max_size=60,
)


def compiled(text: str, buckets: int) -> list[tuple[int, int, int]]:
    ids, starts, ends = _features.ngrams(text, buckets)
    return list(
        zip(
            np.frombuffer(ids, np.uint32).tolist(),
            np.frombuffer(starts, np.int32).tolist(),
            np.frombuffer(ends, np.int32).tolist(),
            strict=True,
        )
    )


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_TEXT, st.text(max_size=40)), log2=st.integers(1, 24))
def test_compiled_ngrams_equal_the_reference(text: str, log2: int) -> None:
    assert compiled(text, 1 << log2) == reference(text, 1 << log2)


def test_spans_cover_the_words_they_come_from() -> None:
    text = "you idiot 傻逼"
    spans = {text[s:e] for _, s, e in compiled(text, 1 << 20)}
    assert {"you", "idiot", "you idiot", "idi", "傻", "傻逼", "逼"} <= spans
    assert all(
        " " not in text[s:e] or text[s:e] == "you idiot" for _, s, e in compiled(text, 1 << 20)
    )


@pytest.mark.parametrize("buckets", [0, 3, 1 << 32])
def test_bucket_count_must_be_a_power_of_two(buckets: int) -> None:
    with pytest.raises((ValueError, OverflowError)):
        _features.ngrams("x", buckets)
