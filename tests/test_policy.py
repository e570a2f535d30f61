from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winnow.errors import PolicyError
from winnow.policy.evaluate import evaluate
from winnow.policy.loader import load_default_policy, load_policy, parse_policy
from winnow.policy.model import PolicyModel
from winnow.types import Action, DetectorFailure, Finding, HashMatch

BASE = "winnow_policy: 1\nname: t\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    return [str(p) for p in info.value.problems]


def test_default_policy_is_valid_and_runs_every_builtin_detector() -> None:
    policy = load_default_policy()
    assert policy.name == "default"
    assert {s.cls.name for s in policy.detectors} == {
        *("lexicon", "pii", "links", "contact", "classifier"),
        *("nudity", "qrcode", "ocr", "faces"),
    }
    assert policy.ref.startswith("default@")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            "rules:\n  - name: r\n    when: {label: hate/slurs}\n    action: block\n",
            [
                "p.yaml:5:19: unknown label 'hate/slurs'; did you mean 'hate/slur'? at rules[0].when.label"
            ],
            id="unknown label",
        ),
        pytest.param(
            "rules:\n  - name: r\n    when: {label: spam, min_scor: 0.5}\n    action: review\n",
            [
                "p.yaml:5:35: unknown field 'min_scor'; did you mean 'min_score'? at rules[0].when.min_scor"
            ],
            id="unknown field",
        ),
        pytest.param(
            "rules:\n  - name: r\n    when: {label: spam}\n    action: delete\n",
            ["p.yaml:6:13: Input should be 'review' or 'block' (got 'delete') at rules[0].action"],
            id="bad action",
        ),
        pytest.param(
            "rules:\n  - name: r\n    when: {labl: spam}\n    action: block\n",
            [
                "p.yaml:5:11: a condition needs one of the keys label, bank, all or any at rules[0].when"
            ],
            id="condition without a kind",
        ),
        pytest.param(
            "rules:\n  - name: r\n    when: {label: spam, min_score: 2}\n    action: block\n",
            ["p.yaml:5:36: Input should be less than or equal to 1 at rules[0].when.min_score"],
            id="score out of range",
        ),
        pytest.param(
            "detectors:\n  lexicn: {}\n",
            ["p.yaml:4:11: unknown detector 'lexicn'; did you mean 'lexicon'? at detectors.lexicn"],
            id="unknown detector",
        ),
        pytest.param(
            "detectors:\n  links: {block_domain: [x.test]}\n",
            [
                "p.yaml:4:25: unknown field 'block_domain'; did you mean 'block_domains'? at detectors.links.block_domain"
            ],
            id="detector config checked by the detector's model",
        ),
        pytest.param(
            "rules:\n  - {name: r, when: {label: spam}, action: review}\n  - {name: r, when: {label: hate}, action: block}\n",
            ["p.yaml:5:12: rule name 'r' is used twice at rules[1].name"],
            id="duplicate rule name",
        ),
        pytest.param(
            "name: again\n",
            ["p.yaml:3:1: duplicate key 'name' at name"],
            id="duplicate key",
        ),
        pytest.param(
            "rules: [\n",
            ["p.yaml:4:1: invalid YAML: expected the node content, but found '<stream end>'"],
            id="broken yaml",
        ),
    ],
)
def test_policy_errors_are_located(body: str, expected: list[str]) -> None:
    assert problems(BASE + body) == expected


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        BASE + "rules:\n  - {name: a, when: {label: hat}, action: block}\n"
        "  - {name: b, when: {label: spam}, action: nuke}\n"
    )
    assert len(found) == 2


def test_missing_file_is_a_policy_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="file not found"):
        load_policy(tmp_path / "nope.yaml")


def f(label: str, score: float, detector: str = "lexicon", **evidence: str) -> Finding:
    return Finding(label, score, detector, "1.0.0", "test", evidence=evidence)


def model(body: str) -> PolicyModel:
    return parse_policy(BASE + body, "p.yaml").model


RULES = model(
    "rules:\n"
    "  - {name: slur, when: {label: hate/slur, min_score: 0.8}, action: block}\n"
    "  - {name: hate, when: {label: hate, min_score: 0.5}, action: review}\n"
    "  - {name: two-insults, when: {label: harassment/insult, min_count: 2}, action: review}\n"
    "  - name: combo\n"
    "    when: {all: [{label: spam/link, min_score: 0.2}, {label: spam/contact_solicitation}]}\n"
    "    action: block\n"
    "  - {name: bank, when: {bank: terror, max_distance: 20}, action: block}\n"
    "  - {name: only-pii-detector, when: {label: 'pii:privacy'}, action: review}\n"
)


@pytest.mark.parametrize(
    ("findings", "matches", "action", "rules"),
    [
        pytest.param([], [], Action.PASS, [], id="nothing"),
        pytest.param(
            [f("hate/slur", 0.9)], [], Action.BLOCK, ["slur", "hate"], id="both rules fire"
        ),
        pytest.param([f("hate/slur", 0.6)], [], Action.REVIEW, ["hate"], id="category rule"),
        pytest.param(
            [f("harassment/insult", 0.9)], [], Action.PASS, [], id="min_count not reached"
        ),
        pytest.param(
            [f("harassment/insult", 0.9)] * 2,
            [],
            Action.REVIEW,
            ["two-insults"],
            id="min_count reached",
        ),
        pytest.param([f("spam/link", 0.3)], [], Action.PASS, [], id="all: one part missing"),
        pytest.param(
            [f("spam/link", 0.3), f("spam/contact_solicitation", 0.6)],
            [],
            Action.BLOCK,
            ["combo"],
            id="all: both",
        ),
        pytest.param(
            [], [HashMatch("terror", "e1", "pdq", 12, 31)], Action.BLOCK, ["bank"], id="bank match"
        ),
        pytest.param(
            [], [HashMatch("terror", "e1", "pdq", 25, 31)], Action.PASS, [], id="bank too far"
        ),
        pytest.param(
            [f("privacy/pii", 0.9, detector="other")],
            [],
            Action.PASS,
            [],
            id="qualified label, other detector",
        ),
        pytest.param(
            [f("privacy/pii", 0.9, detector="pii")],
            [],
            Action.REVIEW,
            ["only-pii-detector"],
            id="qualified label",
        ),
    ],
)
def test_rule_semantics(
    findings: list[Finding], matches: list[HashMatch], action: Action, rules: list[str]
) -> None:
    result = evaluate(RULES, findings, matches)
    assert result.action == action
    assert [h.rule for h in result.rule_hits] == rules


def test_rule_hit_carries_evidence_reason_and_dsa_category() -> None:
    result = evaluate(RULES, [f("spam/ad", 0.9), f("hate/slur", 0.95)])
    hit = result.rule_hits[0]
    assert (hit.rule, hit.findings, hit.labels) == ("slur", (1,), ("hate/slur",))
    assert hit.dsa_category == "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    assert hit.reason == "content matched hate/slur"


def test_overrides_raise_thresholds_cap_actions_and_disable_labels() -> None:
    m = model(
        "rules:\n  - {name: any, when: {label: harassment, min_score: 0.5}, action: block}\n"
        "overrides:\n  harassment/profanity: {max_action: review}\n"
        "  harassment/insult: {min_score: 0.95}\n  spam: {disabled: true}\n"
    )
    assert evaluate(m, [f("harassment/profanity", 0.9)]).action == Action.REVIEW
    assert evaluate(m, [f("harassment/insult", 0.9)]).action == Action.PASS
    assert evaluate(m, [f("harassment/insult", 0.96)]).action == Action.BLOCK
    disabled = evaluate(m, [f("spam/ad", 1.0)])
    assert [s.reason for s in disabled.suppressed] == ["label spam/ad is disabled by the policy"]


def test_allow_list_suppresses_and_records() -> None:
    m = model(
        "rules:\n  - {name: p, when: {label: harassment}, action: review}\nallow:\n  terms: [Damn]\n"
    )
    result = evaluate(m, [f("harassment/profanity", 0.9, term="damn")])
    assert result.action == Action.PASS
    assert result.suppressed[0].finding == 0


@pytest.mark.parametrize(
    ("setting", "action"),
    [("review", Action.REVIEW), ("pass", Action.PASS), ("block", Action.BLOCK)],
)
def test_detector_failure_is_decided_by_policy(setting: str, action: Action) -> None:
    m = model(f"on_detector_failure: {setting}\n")
    failure = DetectorFailure("pii", "timeout", "too slow", 5000.0)
    assert evaluate(m, [], [], [failure]).action == action


LABELS = [
    "hate/slur",
    "hate/identity_attack",
    "harassment/insult",
    "harassment/profanity",
    "spam/link",
    "spam/contact_solicitation",
    "sexual/explicit",
    "privacy/pii",
]
DEFAULT = load_default_policy().model
finding_st = st.builds(
    lambda label, score: f(label, score),
    st.sampled_from(LABELS),
    st.floats(min_value=0.0, max_value=1.0),
)


@given(st.lists(finding_st, max_size=8), st.data())
def test_raising_any_score_never_lowers_the_action(
    findings: list[Finding], data: st.DataObject
) -> None:
    for policy in (DEFAULT, RULES):
        before = evaluate(policy, findings).action
        if not findings:
            continue
        i = data.draw(st.integers(0, len(findings) - 1))
        higher = data.draw(st.floats(min_value=findings[i].score, max_value=1.0))
        raised = list(findings)
        raised[i] = f(findings[i].label, higher)
        assert evaluate(policy, raised).action >= before
