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
PLACEHOLDER = "\u01c2"  # the classifiers' stand-in for an identity term
_PLACEHELD = st.text(alphabet=st.sampled_from([*"a 1-'!", PLACEHOLDER, "傻", "é"]), max_size=40)


def compiled(text: str, buckets: int, placeholder: str | None = None) -> list[tuple[int, int, int]]:
    if placeholder is None:
        ids, starts, ends = _features.ngrams(text, buckets)
    else:
        ids, starts, ends = _features.ngrams(text, buckets, ord(placeholder))
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


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(_PLACEHELD, _TEXT), log2=st.integers(1, 24))
def test_placeholder_only_ngrams_are_left_out_as_the_reference_says(text: str, log2: int) -> None:
    assert compiled(text, 1 << log2, PLACEHOLDER) == reference(text, 1 << log2, PLACEHOLDER)


def test_a_placeholder_alone_adds_no_ngram() -> None:
    assert compiled(f"{PLACEHOLDER} {PLACEHOLDER}", 1 << 20, PLACEHOLDER) == []
    text = f"{PLACEHOLDER} are vermin"
    spans = {text[s:e] for _, s, e in compiled(text, 1 << 20, PLACEHOLDER)}
    assert f"{PLACEHOLDER} are" in spans
    assert PLACEHOLDER not in spans


def test_margins_read_every_finite_half_precision_weight_exactly() -> None:
    """The weights stay float16 in memory; the compiled loop widens each one exactly (zero,
    subnormals, the largest, negative ones)."""
    halves = np.arange(1 << 16, dtype=np.uint16).view(np.float16)
    finite = np.ascontiguousarray(halves[np.isfinite(halves)]).reshape(-1, 1)  # one head
    one = np.ones(1, np.float32)
    got = [
        np.frombuffer(_features.margins(np.array([k], np.uint32), one, finite, np.zeros(1)),
                      np.float64)[0]
        for k in range(len(finite))
    ]  # fmt: skip
    assert got == finite[:, 0].astype(np.float64).tolist()


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
