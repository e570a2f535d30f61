"""The compiled language identifier gives py3langid's answer: the same language (or one tied with
it) and the same confidence, on real texts of every set and on arbitrary strings."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from winnow.media.language import _compiled, _identifier, identify


def _agrees(text: str) -> None:
    code, prob = _compiled().classify(text)
    ranked = dict(_identifier().rank(text))  # type: ignore[attr-defined]
    best = max(ranked.values())
    # the same class, or one py3langid scores as high (a tie broken the other way)
    assert ranked[code] == pytest.approx(best, abs=1e-4), (text, code, ranked[code], best)
    assert prob == pytest.approx(best, abs=1e-4)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_compiled_langid_equals_py3langid_on_any_string(text: str) -> None:
    _agrees(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("the weather is lovely today, shall we go for a walk", "en"),
        ("今天天气很好，我们去公园散步吧", "zh"),
        ("Bonjour tout le monde, comment allez-vous aujourd'hui ?", "fr"),
        ("Das Wetter ist heute sehr schön, lass uns spazieren gehen", "de"),
    ],
)
def test_languages_are_told_apart(text: str, code: str) -> None:
    lang = identify(text)
    assert lang is not None
    assert lang.code == code


@pytest.mark.shared_data
def test_compiled_langid_equals_py3langid_on_every_text_set(shared_data: Path) -> None:
    from winnow.evaluation import text as ev

    checked = 0
    for s in ev.available(shared_data):
        for row in ev.rows_of(s, shared_data)[:300]:
            _agrees(row.text)
            checked += 1
    assert checked > 2000
