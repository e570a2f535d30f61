from __future__ import annotations

import pytest

from winnow.detectors.base import TextChunk
from winnow.detectors.text.contact import ContactDetector
from winnow.detectors.text.links import LinksConfig, LinksDetector, spoof_of


def links(text: str, **config: list[str]) -> list[tuple[str, float, str]]:
    d = LinksDetector(LinksConfig(**config))
    return [
        (str(f.evidence["domain"]), f.score, f.excerpt or "")
        for f in d.detect_text(TextChunk(text))
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "see https://example.com/a?b=1.",
            [("example.com", 0.2, "https://example.com/a?b=1")],
            id="plain",
        ),
        pytest.param("www.example.org", [("www.example.org", 0.2, "www.example.org")], id="www"),
        pytest.param(
            "shop at example.shop today", [("example.shop", 0.15, "example.shop")], id="bare"
        ),
        pytest.param(
            "hxxp://bad[.]example[.]net/x",
            [("bad.example.net", 0.75, "hxxp://bad[.]example[.]net/x")],
            id="defanged",
        ),
        pytest.param("example dot com", [("example.com", 0.75, "example dot com")], id="dot word"),
        pytest.param("tinyurl.com/abc", [("tinyurl.com", 0.6, "tinyurl.com/abc")], id="shortener"),
        pytest.param(
            "http://10.0.0.1/login", [("10.0.0.1", 0.6, "http://10.0.0.1/login")], id="ip host"
        ),
        pytest.param(
            "访问example.com获取", [("example.com", 0.15, "example.com")], id="inside chinese"
        ),
        pytest.param("example DoT com", [("example.com", 0.75, "example DoT com")], id="DoT"),
        pytest.param(
            "hXXps[:]//x.example.org",
            [("x.example.org", 0.75, "hXXps[:]//x.example.org")],
            id="upper-case scheme, bracketed colon",
        ),
        pytest.param(
            "h**p://a.example.com", [("a.example.com", 0.75, "h**p://a.example.com")], id="h**p"
        ),
        pytest.param("WWW.EXAMPLE.ORG", [("www.example.org", 0.2, "WWW.EXAMPLE.ORG")], id="WWW"),
        pytest.param("Www.example.org", [("www.example.org", 0.2, "Www.example.org")], id="Www"),
        pytest.param(
            "去example。com看看", [("example.com", 0.75, "example。com")], id="ideographic stop"
        ),
        pytest.param("(dot) [: (: [d www wWw.x", [], id="markers that are not links"),
        pytest.param("edit config.json and run setup.py", [], id="file names"),
        pytest.param("mail me: bob@example.com", [], id="email is not a link"),
    ],
)
def test_links_found_and_scored(text: str, expected: list[tuple[str, float, str]]) -> None:
    assert links(text) == expected


def test_block_and_allow_lists_cover_subdomains() -> None:
    text = "a https://x.evil.test/ b https://docs.ours.example/"
    assert links(text, block_domains=["evil.test"], allow_domains=["ours.example"]) == [
        ("x.evil.test", 0.95, "https://x.evil.test/")
    ]


@pytest.mark.parametrize(
    ("host", "imitates"),
    [
        ("раураl.com", "paypal.com"),
        ("xn--80ak6aa92e.com", "apple.com"),
        ("münchen.de", None),
        ("пример.рф", None),
    ],
)
def test_spoofed_domains(host: str, imitates: str | None) -> None:
    got = spoof_of(host)
    assert (got is not None) == (imitates is not None)
    if imitates == "paypal.com":
        assert got == imitates


@pytest.mark.parametrize(
    ("text", "score"),
    [
        pytest.param("加我微信abc12345", 0.9, id="add me on wechat with handle"),
        pytest.param("加 薇 信 详聊", 0.8, id="spaced variant"),
        pytest.param("wx: lucky_888", 0.8, id="handle"),
        pytest.param("telegram: @dealsguy", 0.8, id="telegram handle"),
        pytest.param("dm me on telegram", 0.8, id="request"),
        pytest.param("wa.me/447911123456", 0.9, id="link"),
        pytest.param("I deleted telegram last year", 0.3, id="mention only"),
        pytest.param("I stood in line all day", None, id="ambiguous word"),
        pytest.param("参加会议", None, id="加 inside a word"),
        pytest.param("+v abc12345 详聊", 0.85, id="plus shorthand"),
        pytest.param("加v abc12345", 0.9, id="add v with handle"),
        pytest.param("Batman v Superman was long", None, id="a lone v is a word"),
        pytest.param("we scored 2+v2 points", None, id="plus inside a formula"),
    ],
)
def test_contact_solicitation(text: str, score: float | None) -> None:
    d = ContactDetector()
    found = [f.score for f in d.detect_text(TextChunk(text))]
    assert found == ([] if score is None else [score])
