from __future__ import annotations

from pathlib import Path

import ahocorasick_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from winnow.detectors.base import TextChunk
from winnow.detectors.text.lexicon import LexiconConfig, LexiconDetector, _Matcher, parse_lexicon
from winnow.errors import ConfigError
from winnow.types import Span


@pytest.fixture(scope="module")
def lexicon() -> LexiconDetector:
    d = LexiconDetector()
    d.load()
    return d


def labels(detector: LexiconDetector, text: str) -> set[str]:
    return {f.label for f in detector.detect_text(TextChunk(text))}


@pytest.mark.parametrize(
    ("text", "label"),
    [
        pytest.param("you fuuuuucking idiot", "harassment/profanity", id="elongated"),
        pytest.param("what a sh1t show", "harassment/profanity", id="leet"),
        pytest.param("what a sh*t show", "harassment/profanity", id="masked"),
        pytest.param("F U C K this", "harassment/profanity", id="spaced"),
        pytest.param("ｆｕｃｋ", "harassment/profanity", id="full width"),
        pytest.param("f\u200bu\u200bc\u200bk", "harassment/profanity", id="zero width"),
        pytest.param("cheap v1@gr@ here", "spam/ad", id="leet spam"),
        pytest.param("i will kill you", "violence/threat", id="threat phrase"),
        pytest.param("你这个傻逼", "harassment/insult", id="chinese insult"),
        pytest.param("傻.逼", "harassment/insult", id="chinese with separator"),
        pytest.param("加我 网赌 群", "illicit/gambling", id="chinese gambling"),
    ],
)
def test_evasions_are_caught(lexicon: LexiconDetector, text: str, label: str) -> None:
    assert label in labels(lexicon, text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("a classic assessment of the class", id="ass inside words"),
        pytest.param("Scunthorpe United won", id="scunthorpe"),
        pytest.param("the title of the document", id="tit and cum inside words"),
        pytest.param("graduated summa cum laude", id="not-phrase exception"),
        pytest.param("女性的权益和性能", id="single-char term inside a Chinese word"),
        pytest.param("he ran 455 metres", id="number is not leet"),
        pytest.param("kill the lights please", id="no threat"),
    ],
)
def test_innocent_text_is_left_alone(lexicon: LexiconDetector, text: str) -> None:
    assert labels(lexicon, text) == set()


def test_finding_points_at_the_original_evasive_spelling(lexicon: LexiconDetector) -> None:
    text = "well F.U.C.K that"
    (f,) = lexicon.detect_text(TextChunk(text, offset=100))
    assert f.location == Span(105, 112)
    assert f.excerpt == "F.U.C.K"
    assert f.evidence["obfuscated"] is True
    assert f.evidence["term"] == "fuck"


def test_and_combination_needs_every_part_within_the_window() -> None:
    d = LexiconDetector(
        LexiconConfig(
            builtin=[], terms=[{"term": "free & money", "label": "spam/ad", "window": 30}]
        )
    )
    d.load()
    assert labels(d, "get free cash and money today") == {"spam/ad"}
    assert labels(d, "free " + "x" * 60 + " money") == set()
    assert labels(d, "money for nothing") == set()


def test_combination_with_several_anchor_hits_reports_each() -> None:
    d = LexiconDetector(
        LexiconConfig(
            builtin=[], terms=[{"term": "free & money", "label": "spam/ad", "window": 30}]
        )
    )
    d.load()
    found = d.detect_text(
        TextChunk("free money! " + "x" * 50 + " free money " + "y" * 50 + " free")
    )
    assert [f.excerpt for f in found] == ["free", "free"]


def test_not_phrase_only_suppresses_where_the_term_is_part_of_it() -> None:
    d = LexiconDetector(
        LexiconConfig(
            builtin=[], terms=[{"term": "kill ! kill the lights", "label": "violence/threat"}]
        )
    )
    d.load()
    assert labels(d, "kill the lights") == set()
    assert labels(d, "kill the lights, then I kill him") == {"violence/threat"}


def test_lexicon_file_with_header_defaults_and_per_entry_scores(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("# label: spam/ad\n# score: 0.4\nwidget\ngizmo\t0.9\n", encoding="utf-8")
    d = LexiconDetector(LexiconConfig(builtin=[], files=[path]))
    d.load()
    scores = {f.excerpt: f.score for f in d.detect_text(TextChunk("a widget and a gizmo"))}
    assert scores == {"widget": 0.4, "gizmo": 0.9}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("oops\n", "mine.txt:1: entry before a valid '# label:' header"),
        ("# label: spam/adds\nx\n", "did you mean 'spam/ad'"),
        ("# label: spam/ad\nx\t2\n", "mine.txt:2: score 2.0 is outside 0..1"),
    ],
)
def test_lexicon_file_errors_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_lexicon(text, "mine.txt")


def test_missing_lexicon_file_is_a_clear_config_error(tmp_path: Path) -> None:
    d = LexiconDetector(LexiconConfig(builtin=[], files=[tmp_path / "nope.txt"]))
    with pytest.raises(ConfigError, match="cannot read lexicon file"):
        d.load()


def test_ten_thousand_terms_compile(tmp_path: Path) -> None:
    terms = "\n".join(f"zzterm{i}" for i in range(10_000))
    path = tmp_path / "big.txt"
    path.write_text("# label: spam/ad\n" + terms, encoding="utf-8")
    d = LexiconDetector(LexiconConfig(builtin=[], files=[path]))
    d.load()
    assert labels(d, "buy zzterm9999 now") == {"spam/ad"}


def test_spans_are_exact_after_multibyte_characters(lexicon: LexiconDetector) -> None:
    text = "😀😀 你好 ｆｕｃｋ and 傻逼"
    found = {f.excerpt: f.location for f in lexicon.detect_text(TextChunk(text))}
    assert found == {"ｆｕｃｋ": Span(6, 10), "傻逼": Span(15, 17)}


# Masked patterns are matched only around '*': the same matches as one automaton over all.
_PATTERNS = ["fuck", "f*ck", "fu*k", "sh*t", "shit", "a*s", "**", "傻*逼", "*"]


@given(st.lists(st.sampled_from([*"fuckshita* 傻逼", "f*ck", "**"]), max_size=60).map("".join))
def test_masked_patterns_matched_around_stars_find_every_match(text: str) -> None:
    data = text.encode("utf-8")
    everything = ahocorasick_rs.BytesAhoCorasick(
        [p.encode("utf-8") for p in _PATTERNS], matchkind=ahocorasick_rs.MatchKind.Standard
    )
    want = set(everything.find_matches_as_indexes(data, overlapping=True))
    got = {tuple(row) for row in _Matcher(_PATTERNS).find(data).tolist()}
    assert got == want
