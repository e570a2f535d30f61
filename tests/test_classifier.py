"""The trained text classifiers: the shipped model loads without pickle, scores are
calibrated probabilities with explanations in the original text, evasion does not hide a
text, and which group a text names is never a feature."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from winnow.detectors.base import TextChunk
from winnow.detectors.text.classifier import (
    ClassifierDetector,
    Model,
    features,
    identity_mask,
    shipped_model,
    vectorize,
)
from winnow.engine import Engine
from winnow.media.normalize import match_view


@pytest.fixture(scope="module")
def detector() -> ClassifierDetector:
    d = ClassifierDetector()
    d.load()
    return d


def _scores(detector: ClassifierDetector, text: str) -> dict[str, float]:
    d = ClassifierDetector(detector.Config(min_score=0.0))
    d.model = detector.model
    return {f.label: f.score for f in d.detect_text(TextChunk(text))}


def test_the_shipped_model_is_plain_arrays_with_its_recipe() -> None:
    model = shipped_model()
    assert [h.label for h in model.heads] == [
        "harassment/insult",
        "harassment/profanity",
        "hate/identity_attack",
        "violence/threat",
        "spam/ad",
    ]
    assert model.meta["format"] == "winnow-text-classifier/1"
    assert set(model.meta["development_scores"]) == {h.label for h in model.heads}
    assert "never" not in model.meta["recipe"]["sources"]  # sanity: recipe is data, not prose
    for h in model.heads:
        assert h.weights.shape == (model.buckets,)
        assert h.platt_a > 0  # a higher margin never lowers the score


@pytest.mark.parametrize(
    ("text", "label", "flagged"),
    [
        ("you are a worthless idiot and everyone hates you", "harassment/insult", True),
        ("what a lovely afternoon in the park", "harassment/insult", False),
        ("你这个傻逼，滚出去", "harassment/insult", True),
        ("今天天气很好，我们去公园散步吧", "harassment/insult", False),
        ("WINNER!! You have won a free prize, call now to claim your cash", "spam/ad", True),
        ("can you pick up milk on the way home", "spam/ad", False),
        ("fuck this shit, what a day", "harassment/profanity", True),
        ("what a day, I need a nap", "harassment/profanity", False),
        ("I am going to find out where you live and kill you", "violence/threat", True),
        ("please kill the lights when you go to bed", "violence/threat", False),
        ("this new album kills, I love it", "violence/threat", False),
        ("我要杀了你全家", "violence/threat", True),
        ("这部电影笑死人了", "violence/threat", False),
    ],
    ids=[
        "en-insult",
        "en-benign",
        "zh-insult",
        "zh-benign",
        "spam",
        "not-spam",
        "profanity",
        "not-profanity",
        "threat",
        "kill-the-lights",
        "album-kills",
        "zh-threat",
        "zh-idiom",
    ],
)
def test_scores_on_clear_cases(
    detector: ClassifierDetector, text: str, label: str, flagged: bool
) -> None:
    assert (_scores(detector, text).get(label, 0.0) >= 0.5) is flagged


def test_a_finding_explains_itself_in_the_original_text(detector: ClassifierDetector) -> None:
    text = "honestly you are a worthless IDIOT"
    [finding] = [f for f in detector.detect_text(TextChunk(text)) if f.label == "harassment/insult"]
    assert finding.location is not None
    assert finding.excerpt == text[finding.location.start : finding.location.end]
    assert "IDIOT" in finding.excerpt  # whole words of the original, not the folded view
    assert "most weight on" in finding.explanation
    assert finding.detector == "classifier"


def test_evasion_is_undone_before_the_model_reads_the_text(detector: ClassifierDetector) -> None:
    plain = _scores(detector, "you are a stupid idiot")["harassment/insult"]
    for evasive in (
        "you are a stup1d 1d10t",
        "you are a s t u p i d idiot",
        "ｙｏｕ ａｒｅ ａ stupid idiot",
    ):
        assert _scores(detector, evasive)["harassment/insult"] == pytest.approx(plain, abs=0.15)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("I love being a Muslim woman", "I love being a Christian man"),
        ("we need more gay people in parliament", "we need more disabled people in parliament"),
        ("黑人都是这样的吗", "白人都是这样的吗"),
        ("immigrants are just people like us", "refugees are just people like us"),
    ],
)
def test_which_group_a_text_names_is_never_a_feature(
    detector: ClassifierDetector, a: str, b: str
) -> None:
    assert _scores(detector, a) == _scores(detector, b)


def test_naming_a_group_adds_nothing_by_itself() -> None:
    ids, _, _ = features(match_view("muslims women 黑人").text)
    assert len(ids) == 0  # every n-gram lies inside identity terms: none is a feature
    assert identity_mask().spans("blackboard") == []  # whole words only, for Latin script


def test_vectors_are_unit_length_and_sublinear() -> None:
    cols, vals = vectorize(np.array([5, 5, 5, 9], np.uint32))
    assert cols.tolist() == [5, 9]
    assert float(np.dot(vals, vals)) == pytest.approx(1.0)
    assert vals[0] / vals[1] == pytest.approx(1 + np.log(3))


def test_a_model_file_of_another_format_is_refused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    path = tmp_path / "m.npz"
    np.savez(path, meta=np.frombuffer(json.dumps({"format": "x"}).encode(), np.uint8))
    with pytest.raises(ValueError, match="not a winnow-text-classifier/1 model"):
        Model.load(path)


def test_the_default_policy_reviews_and_never_blocks_on_a_classifier_score() -> None:
    engine = Engine()
    v = engine.scan("you are a worthless pathetic idiot")
    assert v.action.label == "review"
    assert "classifier-insult" in {h.rule for h in v.rule_hits}
    assert engine.scan("thanks, see you tomorrow at nine").action.label == "pass"


def test_the_default_policy_reviews_a_threat_the_term_lists_do_not_know() -> None:
    engine = Engine()
    v = engine.scan("next week I will stab you")
    assert v.action.label == "review"
    [hit] = [h for h in v.rule_hits if h.rule == "threats"]
    assert {v.findings[i].detector for i in hit.findings} == {"classifier"}
    assert engine.scan("please kill the lights when you go to bed").action.label == "pass"


def test_a_long_text_is_read_sentence_by_sentence() -> None:
    from winnow.detectors.text.classifier import windows

    assert windows("short message. with two sentences") == [(0, 33)]
    text = "First one here. " * 30 + "x" * 650
    spans = windows(text)
    assert (spans[0][0], spans[-1][1]) == (0, len(text))
    assert all(b == c for (_, b), (c, _) in itertools.pairwise(spans))
    assert [text[a:b] for a, b in spans[:2]] == ["First one here. ", "First one here. "]
    assert [b - a for a, b in spans[-3:]] == [300, 300, 50]  # no white space: cut at 300


def test_an_insult_deep_in_a_long_document_is_found_where_it_is(
    detector: ClassifierDetector,
) -> None:
    filler = "the committee met on tuesday to discuss the budget for next year. " * 60
    text = filler + "you are a worthless pathetic idiot. " + filler
    found = [f for f in detector.detect_text(TextChunk(text)) if f.label == "harassment/insult"]
    assert found
    assert all(f.location is not None for f in found)
    assert any("idiot" in (f.excerpt or "") for f in found)


def test_a_threat_is_only_reported_where_the_text_names_violence(
    detector: ClassifierDetector,
) -> None:
    # phrasing shared with HateCheck's threat templates ("I want…", "those…") scores high on its
    # own in short messages; without a word for the violence it is not reported
    for text in ("Where to get those?", "I will once i get home", "I want you, I need you"):
        assert "violence/threat" not in _scores(detector, text)
    [finding] = [
        f
        for f in detector.detect_text(TextChunk("next week I will stab you"))
        if f.label == "violence/threat"
    ]
    assert "names 'stab'" in finding.explanation


def test_violence_cues_match_words_not_pieces_of_them() -> None:
    from winnow.detectors.text.classifier import violence_cues

    cues = violence_cues()
    assert cues.first("they will be killed") == "kill"  # kill* is a word's start
    assert cues.first("a skilled player") is None  # not inside a word
    assert cues.first("i'm on a diet") is None  # die is a whole word only
    assert cues.first("我要砍你") == "砍"
    # a cue inside a harmless idiom does not count, one beside it does
    assert cues.first("i'm going to kill it at the gym") is None
    assert cues.first("shoot me a message later") is None
    assert cues.first("笑死我了") is None
    assert cues.first("i will kill it and then kill you") == "kill"
    assert cues.first("he should kill itself") == "kill"  # an idiom on word boundaries only
