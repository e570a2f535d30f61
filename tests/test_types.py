from __future__ import annotations

import pytest

from winnow.types import Action, Content, Finding


def test_actions_are_ordered_so_max_is_most_severe() -> None:
    assert max([Action.REVIEW, Action.PASS, Action.BLOCK, Action.REVIEW]) == Action.BLOCK
    assert [a.label for a in sorted(Action)] == ["pass", "review", "block"]


@pytest.mark.parametrize("name", ["pass", "REVIEW", "Block"])
def test_action_parse_is_case_insensitive(name: str) -> None:
    assert Action.parse(name).label == name.lower()


def test_action_parse_names_the_choices() -> None:
    with pytest.raises(ValueError, match="expected pass, review or block"):
        Action.parse("delete")


@pytest.mark.parametrize("score", [-0.01, 1.01, float("nan")])
def test_finding_score_outside_unit_interval_is_rejected(score: float) -> None:
    with pytest.raises(ValueError, match=r"0\.\.1"):
        Finding("spam/ad", score, "d", "1", "why")


def test_finding_qualified_label_names_detector() -> None:
    f = Finding("hate/slur", 0.9, "lexicon", "1.0.0", "why")
    assert f.qualified_label == "lexicon:hate/slur"


def test_content_needs_exactly_one_source() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        Content(text="a", data=b"a")
    with pytest.raises(ValueError, match="exactly one"):
        Content()
