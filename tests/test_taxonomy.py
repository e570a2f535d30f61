from __future__ import annotations

import re

import pytest

from winnow import taxonomy


def test_every_label_is_two_levels_and_mapped() -> None:
    for name, info in taxonomy.LABELS.items():
        assert re.fullmatch(r"[a-z_]+/[a-z_]+", name)
        assert info.dsa in taxonomy.DsaCategory
        assert info.description


@pytest.mark.parametrize(
    ("pattern", "label", "expected"),
    [
        ("hate", "hate/slur", True),
        ("hate/slur", "hate/slur", True),
        ("hate/sl", "hate/slur", False),
        ("harassment", "hate/slur", False),
        ("known", "known/gifct", True),
    ],
)
def test_category_covers_its_subcategories(pattern: str, label: str, expected: bool) -> None:
    assert taxonomy.covers(pattern, label) is expected


@pytest.mark.parametrize(
    ("typo", "suggestion"),
    [
        ("hate/slurs", "hate/slur"),
        ("spam/adds", "spam/ad"),
        ("harassment/insults", "harassment/insult"),
    ],
)
def test_suggest_finds_the_closest_label(typo: str, suggestion: str) -> None:
    assert taxonomy.suggest(typo) == suggestion


def test_known_bank_labels_are_labels() -> None:
    assert taxonomy.is_label("known/terror-hashes")
    assert not taxonomy.is_label("known/")


FORBIDDEN = re.compile(
    r"ethnic|race|racial|nationality|religio|gender|\bsex\b|\bage\b|male|female|identity_match",
    re.IGNORECASE,
)


def test_no_label_describes_a_demographic_attribute() -> None:
    """The line Winnow never crosses: no label infers who a person is."""
    for name in taxonomy.LABELS:
        assert not FORBIDDEN.search(name), name


@pytest.mark.parametrize(
    ("label", "openai"),
    [("hate/slur", ("hate",)), ("violence/threat", ("violence", "harassment/threatening")),
     ("spam/ad", ()), ("known/gifct", ())],
)  # fmt: skip
def test_openai_category_mapping(label: str, openai: tuple[str, ...]) -> None:
    assert taxonomy.openai_categories(label) == openai
