from __future__ import annotations

import dataclasses
import time
import tracemalloc
from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

import pytest

from winnow.detectors.base import Detector, Example, TextChunk, TextDetector
from winnow.engine import Budget, Engine, EngineSettings
from winnow.errors import ContentError, DecodeError, LimitExceededError, UnsupportedMediaError
from winnow.media.text import TextLimits
from winnow.plugins import Registry, hookimpl
from winnow.policy.loader import parse_policy
from winnow.types import Action, Content, Finding, Span, Verdict


class Exploding(TextDetector):
    name: ClassVar[str] = "exploding"
    version: ClassVar[str] = "0.0.1"
    labels: ClassVar[frozenset[str]] = frozenset({"spam/ad"})
    examples: ClassVar[tuple[Example, ...]] = (Example("x"),)

    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        raise RuntimeError("model file is corrupt")


class Slow(TextDetector):
    name: ClassVar[str] = "slow"
    version: ClassVar[str] = "0.0.1"
    labels: ClassVar[frozenset[str]] = frozenset({"spam/ad"})
    examples: ClassVar[tuple[Example, ...]] = (Example("x"),)

    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        time.sleep(0.05)
        return [self.finding("spam/ad", 0.1, "slow but sure", span=chunk.span(0, 1))]


class Plugin:
    @hookimpl
    def winnow_detectors(self) -> list[type[Detector]]:
        return [Exploding, Slow]


def engine_with(policy_body: str, **settings: object) -> Engine:
    registry = Registry([Plugin()])
    policy = parse_policy("winnow_policy: 1\nname: t\n" + policy_body, "t.yaml", registry)
    return Engine(policy, registry=registry, settings=EngineSettings(**settings))  # type: ignore[arg-type]


def test_a_detector_that_raises_is_a_recorded_failure_and_the_policy_decides() -> None:
    engine = engine_with("detectors: {slow: {enabled: false}}\n")
    verdict = engine.scan("hello there")
    (failure,) = verdict.failures
    assert (failure.detector, failure.kind) == ("exploding", "error")
    assert failure.message == "RuntimeError: model file is corrupt"
    assert verdict.action == Action.REVIEW
    assert verdict.rule_hits[0].rule == "detector-failed:exploding"


def test_a_detector_past_its_budget_is_a_timeout_and_keeps_what_it_found() -> None:
    engine = engine_with(
        "detectors: {exploding: {enabled: false}}\non_detector_failure: block\n",
        budget=Budget(base=0.01, per_mib=0.0),
    )
    verdict = engine.scan("hello there")
    (failure,) = verdict.failures
    assert (failure.detector, failure.kind) == ("slow", "timeout")
    assert verdict.action == Action.BLOCK
    assert [f.explanation for f in verdict.findings] == ["slow but sure"]


def test_matches_across_chunk_borders_are_found_once_with_whole_text_spans() -> None:
    limits = TextLimits(chunk_chars=1000, overlap=200, context=50)
    engine = Engine(settings=EngineSettings(limits=limits))
    filler = "lorem ipsum dolor sit amet " * 37  # 999 characters
    text = filler[:995] + " f u c k " + filler + " write to bob@example.com " + filler
    verdict = engine.scan(text)
    spans = {(f.label, f.location) for f in verdict.findings}
    start = text.index("f u c k")
    email = text.index("bob@example.com")
    assert spans == {
        ("harassment/profanity", Span(start, start + 7)),
        ("privacy/pii", Span(email, email + 15)),
    }


def test_findings_past_the_cap_are_counted_not_dropped_silently() -> None:
    engine = Engine(settings=EngineSettings(max_findings_per_detector=5))
    verdict = engine.scan("shit " * 12)
    assert len([f for f in verdict.findings if f.detector == "lexicon"]) == 5
    assert verdict.truncated == {"lexicon": 7}
    assert (
        "lexicon: 7 weaker finding(s) past the cap of 5 per label were counted, not kept"
        in verdict.notes
    )


def test_a_flood_of_weak_findings_cannot_push_a_strong_one_out() -> None:
    # 20 harmless links, then one to a blocked domain: with a cap of 5 the blocked one is kept
    # (it scores highest) and decides the verdict.
    policy = parse_policy(
        "winnow_policy: 1\nname: t\ndetectors:\n  links: {block_domains: [evil.example]}\n"
        "rules:\n  - {name: bad-link, when: {label: spam/link, min_score: 0.9}, action: block}\n",
        "t.yaml",
    )
    engine = Engine(policy, settings=EngineSettings(max_findings_per_detector=5))
    text = " ".join(f"https://site{i}.example.com" for i in range(20)) + " https://evil.example/x"
    verdict = engine.scan(text)
    links = [f for f in verdict.findings if f.detector == "links"]
    assert len(links) == 5
    assert any(f.evidence["domain"] == "evil.example" for f in links)
    assert verdict.action is Action.BLOCK
    assert verdict.truncated == {"links": 16}


def test_verdict_records_language_policy_hashes_and_timings(engine: Engine) -> None:
    verdict = engine.scan("这是一个关于天气的普通句子，今天很好。")
    assert verdict.language is not None
    assert verdict.language.code == "zh"
    assert verdict.policy.startswith("default@")
    assert verdict.content.chars == 19
    assert verdict.content.sha256 is not None
    assert len(verdict.content.sha256) == 64
    assert set(verdict.timings_ms) == {
        "lexicon",
        "pii",
        "links",
        "contact",
        "classifier",
        "language",
    }


@pytest.mark.parametrize(
    ("content", "error", "message"),
    [
        pytest.param(Content.from_text(""), ContentError, "empty input", id="empty"),
        pytest.param(
            Content.from_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 20),
            DecodeError,
            "image/png does not decode",
            id="truncated image",
        ),
        pytest.param(
            Content.from_bytes(b"%PDF-1.7\n" + b"0" * 20),
            UnsupportedMediaError,
            "application/pdf",
            id="pdf",
        ),
        pytest.param(
            Content.from_bytes(b"ab\x00\x01\x02cd"),
            UnsupportedMediaError,
            "NUL byte at offset 2",
            id="binary",
        ),
        pytest.param(
            Content.from_bytes(b"caf\xe9 au lait"),
            DecodeError,
            "invalid utf-8 at byte 3",
            id="latin-1 bytes",
        ),
        pytest.param(
            Content.from_bytes(b"abc", encoding="klingon"),
            ContentError,
            "unknown text encoding",
            id="bad encoding",
        ),
    ],
)
def test_bad_input_gets_a_clear_error(
    engine: Engine, content: Content, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        engine.scan(content)


def test_named_encoding_and_replacement_are_honoured() -> None:
    engine = Engine()
    gb = "加我微信abc12345".encode("gb18030")
    verdict = engine.scan(Content.from_bytes(gb, encoding="gb18030"))
    assert [f.label for f in verdict.findings] == ["spam/contact_solicitation"]
    lenient = Engine(settings=EngineSettings(limits=TextLimits(decode_errors="replace")))
    verdict = lenient.scan(Content.from_bytes(b"caf\xe9 au lait"))
    assert verdict.notes == ("1 undecodable byte sequence(s) replaced with U+FFFD",)


def test_text_over_the_limit_names_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    path.write_bytes(b"a" * 5000)
    engine = Engine(settings=EngineSettings(limits=TextLimits(max_bytes=4096)))
    with pytest.raises(
        LimitExceededError, match="max_text_bytes is 5,000 bytes, over the limit of 4,096"
    ):
        engine.scan(Content.from_path(path))


def test_memory_stays_bounded_on_a_large_file(tmp_path: Path) -> None:
    """8 MiB of text scanned in 64 KiB chunks: peak Python memory stays far below the file size."""
    benign = "the quick brown fox jumps over the lazy dog, 敏捷的棕色狐狸跳过了懒狗\n"
    path = tmp_path / "large.txt"
    with path.open("w", encoding="utf-8") as fh:
        for i in range((8 << 20) // len(benign.encode())):
            fh.write(benign if i % 500 else "write to fox@example.com\n")
    engine = Engine(settings=EngineSettings(limits=TextLimits(chunk_chars=64 << 10, overlap=1024)))
    engine.warm_up()
    tracemalloc.start()
    verdict = engine.scan(Content.from_path(path))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert verdict.content.bytes == path.stat().st_size
    assert len(verdict.findings) == len(range(0, (8 << 20) // len(benign.encode()), 500))
    assert peak < 6 << 20, f"peak {peak / 2**20:.1f} MiB for an 8 MiB file"


def _same(verdict: object) -> object:
    """A verdict without its timings (which differ from run to run)."""
    assert isinstance(verdict, Verdict)
    return dataclasses.replace(verdict, timings_ms={})


def test_scan_many_gives_what_scan_gives_one_by_one(engine: Engine) -> None:
    items: list[Content | str] = [
        "have a lovely day",
        "you are such a pathetic loser, call me on 555-0100",
        "",  # refused: empty
        "next time I see you I am going to stab you",
        Content.from_bytes(b"caf\xe9 au lait"),  # refused: not UTF-8
        Content.from_bytes("加我微信abc12345".encode("gb18030"), encoding="gb18030"),
        "all women are worthless vermin " * 50,
        "bad\x00input",  # refused: NUL
        "那些人都是垃圾",
    ]
    got = engine.scan_many(items)
    assert len(got) == len(items)
    for item, result in zip(items, got, strict=True):
        if isinstance(result, ContentError):
            with pytest.raises(type(result)) as raised:
                engine.scan(item)
            assert raised.value.message == result.message
        else:
            assert _same(result) == _same(engine.scan(item))
    assert sum(isinstance(r, ContentError) for r in got) == 3


def test_scan_many_reads_long_texts_one_by_one_with_the_same_verdicts() -> None:
    """A text longer than a chunk is scanned as scan() scans it (chunk by chunk)."""
    engine = Engine(settings=EngineSettings(limits=TextLimits(chunk_chars=64, overlap=16)))
    long = "a quiet start. " * 10 + "you are such a pathetic loser"
    items: list[Content | str] = [long, "short and sweet", long[:60]]
    got = engine.scan_many(items)
    assert [_same(v) for v in got] == [_same(engine.scan(i)) for i in items]
    assert isinstance(got[0], Verdict)
    assert got[0].content.chars == len(long)


def test_scan_many_keeps_each_items_failures_and_budget_apart() -> None:
    engine = engine_with(
        "detectors: {exploding: {enabled: false}}\n", budget=Budget(base=0.08, per_mib=0.0)
    )
    first, second = engine.scan_many(["hello there", "and again"])
    # each item's 50 ms stays inside its own 80 ms budget: no timeout carried from one to the next
    assert isinstance(first, Verdict)
    assert isinstance(second, Verdict)
    assert first.failures == second.failures == ()
    assert [f.explanation for f in second.findings] == ["slow but sure"]


def test_scan_many_takes_a_long_list_in_slices_and_answers_every_item(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("winnow.engine.STAGED", 3)
    items: list[Content | str] = [f"message number {k}" for k in range(7)] + ["", "bye"]
    got = engine.scan_many(items)
    assert len(got) == len(items)
    assert isinstance(got[7], ContentError)
    assert [_same(v) for v in got[:7]] == [_same(engine.scan(i)) for i in items[:7]]
