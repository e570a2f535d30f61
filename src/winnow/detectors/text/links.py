"""Links: URLs found (also when defanged as ``example[.]com`` or ``hxxp://``), scored by risk.

A plain link is not spam by itself, so it scores low; the score rises for a domain on the block
list, a spoofed domain (punycode or homoglyphs that imitate an ASCII name, ``аррӏе.com``), a link
obfuscated to get past filters, a URL shortener, or a bare IP address. Allow-listed domains (and
their subdomains) yield nothing. Every finding lists its reasons.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from pydantic import Field, field_validator

from winnow import _native
from winnow.detectors.base import DetectorConfig, Example, TextChunk, TextDetector
from winnow.media.normalize import MappedText, apply_edits, skeleton
from winnow.types import Finding, Span

LABEL = "spam/link"

SHORTENERS = (
    "bit.ly", "tinyurl.com", "t.co", "goo.gl", "ow.ly", "is.gd", "buff.ly", "rebrand.ly",
    "cutt.ly", "shorturl.at", "rb.gy", "t.ly", "tiny.cc", "dwz.cn", "url.cn", "t.cn", "suo.im",
    "s.id", "v.gd", "bl.ink", "lnkd.in", "shorte.st", "adf.ly",
)  # fmt: skip
# Suffixes that are also common file extensions: a bare "setup.py" is not a link.
_FILE_LIKE = {
    "py",
    "sh",
    "md",
    "zip",
    "mov",
    "rs",
    "pl",
    "so",
    "jar",
    "exe",
    "txt",
    "pdf",
    "doc",
    "xls",
    "csv",
    "json",
    "js",
    "ts",
    "html",
    "htm",
    "php",
    "png",
    "jpg",
    "gif",
    "mp4",
    "mp3",
    "ini",
    "cfg",
    "log",
    "bat",
    "app",
    "dll",
    "bin",
    "tar",
    "gz",
    "in",
    "at",
}


class LinksConfig(DetectorConfig):
    block_domains: list[str] = Field(default_factory=list)
    allow_domains: list[str] = Field(default_factory=list)
    shorteners: list[str] = Field(default_factory=lambda: list(SHORTENERS))

    @field_validator("block_domains", "allow_domains", "shorteners")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower().lstrip(".") for v in value if v.strip()]

    @functools.cached_property
    def domain_sets(self) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        """(allow, block, shorteners) as sets, for lookups."""
        return (
            frozenset(self.allow_domains),
            frozenset(self.block_domains),
            frozenset(self.shorteners),
        )


# Defanging: [.] (.) {.} [dot] (dot) [:] [://], " dot ", hxxp / h**p, and the ideographic full stop
# between ASCII letters. Checked only where the C pre-scan saw the start of one.
_DEFANG_BRACKET = re.compile(r"[\[({](?:\.|dot|:|://)[\])}]", re.IGNORECASE)
_DEFANG_SCHEME = re.compile(r"[hH](?:xx|XX|\*\*)[pP](?=[sS]?(?::|\[:))")
# URLs are found from their markers ("://", "www."), which a C pre-scan lists with the defanging
# markers above (winnow._native.link_markers), then matched in place with these patterns.
_SCHEMES = ("https", "http", "ftp")
_URL_REST = re.compile(r"[^\s<>\"'`]+")
_SUFFIX_DOT = re.compile(r"\.([A-Za-z][A-Za-z0-9-]{1,62})(?![A-Za-z0-9-])")
_TRAILING = ".,;:!?)]}>'\"。，！？）"
_HOST_END = re.compile(r"[/?#:]")


@functools.cache
def _psl() -> object:
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


@functools.lru_cache(maxsize=65536)
def _host_is_known(host: str) -> bool:
    """Whether a host ends in a registered public suffix (with a name before it)."""
    psl = _psl()
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = host
    return psl.privatesuffix(ascii_host.lower(), accept_unknown=False) is not None  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=65536)
def _is_suffix(word: str) -> bool:
    """Whether a word after a dot is a top-level domain at all (cheap test before the walk)."""
    return word.lower() not in _FILE_LIKE and _host_is_known("example." + word.lower())


def _is_host_char(c: str) -> bool:
    cp = ord(c)
    if 0x2E80 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0xAC00 <= cp <= 0xD7AF:
        return False
    return c.isalnum() or c in "-."


@dataclass(frozen=True, slots=True)
class _Url:
    start: int  # in the link view
    end: int
    url: str
    host: str
    explicit: bool  # had a scheme or www.


def _start_of(url: _Url) -> int:
    return url.start


def _scripts(label: str) -> set[str]:
    out = set()
    for c in label:
        if c.isalpha():
            name = unicodedata.name(c, "")
            out.add(name.split(" ")[0] if name else "UNKNOWN")
    return out


def spoof_of(host: str) -> str | None:
    """The ASCII domain a Unicode host imitates, or None if it does not imitate one."""
    try:
        unicode_host = host.encode("ascii").decode("idna") if "xn--" in host.lower() else host
    except UnicodeError:
        return None
    if unicode_host.isascii():
        return None
    folded = skeleton(unicode_host)
    labels = unicode_host.split(".")
    # A label mixing scripts (Latin with Cyrillic), or a label wholly in another script whose
    # letters all look Latin under an ASCII top-level domain (аррӏе.com). Accented Latin
    # (münchen.de) and genuine non-Latin names (пример.рф) are not spoofs.
    mixed = any(len(_scripts(lbl)) > 1 for lbl in labels)
    foreign_lookalike = (
        folded.isascii()
        and labels[-1].isascii()
        and any(_scripts(lbl) - {"LATIN"} for lbl in labels[:-1])
    )
    return folded if mixed or foreign_lookalike else None


class LinksDetector(TextDetector):
    name: ClassVar[str] = "links"
    version: ClassVar[str] = "1.0.0"
    labels: ClassVar[frozenset[str]] = frozenset({LABEL})
    Config: ClassVar[type[DetectorConfig]] = LinksConfig
    examples: ClassVar[tuple[Example, ...]] = (
        Example("no links here.", frozenset()),
        Example("see https://example.com/page", frozenset({LABEL})),
        Example("go to evil[.]example[.]com now", frozenset({LABEL}), "defanged"),
        Example("login at xn--80ak6aa92e.com", frozenset({LABEL}), "punycode homoglyph"),
        Example("run setup.py first", frozenset(), "a file name, not a link"),
    )

    def __init__(self, config: DetectorConfig | None = None) -> None:
        super().__init__(config)
        self._host_cache: dict[str, tuple[float, tuple[str, ...]]] = {}

    def load(self) -> None:
        _psl()

    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        config = self.config
        assert isinstance(config, LinksConfig)
        view, defanged, markers = _link_view(chunk.plain)
        scored = []
        for url in _urls(view.text, markers):
            host = url.host.lower().rstrip(".")
            judged = self._host_cache.get(host)
            if judged is None:
                judged = _judge_host(host, config)
                if len(self._host_cache) > 65536:
                    self._host_cache.clear()
                self._host_cache[host] = judged
            if judged is not _ALLOWED:
                scored.append((url, host, judged))
        if not scored:
            return []
        starts, ends = view.spans(
            np.fromiter((u.start for u, _, _ in scored), np.int64, len(scored)),
            np.fromiter((u.end for u, _, _ in scored), np.int64, len(scored)),
        )
        text, offset = chunk.text, chunk.offset
        out = []
        for (url, host, (score, reasons)), a, b in zip(
            scored, starts.tolist(), ends.tolist(), strict=True
        ):
            score = max(score, 0.2 if url.explicit else 0.15)
            if defanged and _overlaps(defanged, url.start, url.end):
                reasons = ("written in an obfuscated form to get past link filters", *reasons)
                score = max(score, 0.75)
            why = "; ".join(reasons) if reasons else "link"
            out.append(
                Finding(
                    LABEL,
                    score,
                    self.name,
                    self.version,
                    f"link to {host}: {why}",
                    Span(offset + a, offset + b),
                    text[a:b],
                    {"url": url.url, "domain": host, "reasons": why},
                )
            )
        return out


_ALLOWED: tuple[float, tuple[str, ...]] = (-1.0, ())


def _judge_host(host: str, config: LinksConfig) -> tuple[float, tuple[str, ...]]:
    """What a host alone says about a link: (score, reasons), or _ALLOWED. Cached per host."""
    allow, block, shorteners = config.domain_sets
    if _matches_domain(host, allow):
        return _ALLOWED
    reasons: list[str] = []
    score = 0.0
    if _matches_domain(host, block):
        reasons.append("domain is on the block list")
        score = max(score, 0.95)
    spoofed = spoof_of(host)
    if spoofed is not None:
        reasons.append(f"internationalised domain that imitates {spoofed!r}")
        score = max(score, 0.85)
    if _matches_domain(host, shorteners):
        reasons.append("URL shortener hides the destination")
        score = max(score, 0.6)
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", host):
        reasons.append("bare IP address instead of a domain")
        score = max(score, 0.6)
    return score, tuple(reasons)


def _matches_domain(host: str, domains: frozenset[str]) -> bool:
    """Whether the host or one of its parent domains is in the set (x.evil.test: evil.test)."""
    labels = host.split(".")
    return any(".".join(labels[i:]) in domains for i in range(len(labels)))


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    """Whether any of the sorted, disjoint spans overlaps ``[start, end)``."""
    i = bisect.bisect_left(spans, (end, end))
    return i > 0 and spans[i - 1][1] > start


_BRACKET, _DOT, _SCHEME, _STOP, _COLON_SLASHES, _WWW_DOT = 1, 2, 3, 4, 5, 6


def _markers(text: str) -> list[int]:
    """Flat [position, kind, ...] of where links and defanged links may start (C pre-scan)."""
    pairs: list[int] = np.frombuffer(_native.link_markers(text), dtype=np.int32).tolist()
    return pairs


def _link_view(plain: MappedText) -> tuple[MappedText, list[tuple[int, int]], list[int]]:
    """The plain view with defanging undone, where in it the defanged parts are, and the link
    markers of the view (see :func:`_markers`)."""
    text = plain.text
    markers = _markers(text)
    edits: list[tuple[int, int, str]] = []
    for k in range(0, len(markers), 2):
        i, kind = markers[k], markers[k + 1]
        if kind == _BRACKET:
            m = _DEFANG_BRACKET.match(text, i)
            if m is not None:
                inner = m.group()[1:-1].lower()
                repl = "://" if inner == "://" else ":" if inner == ":" else "."
                edits.append((i, m.end(), repl))
        elif kind == _DOT:  # " dot " between two letters or digits
            end = i + 5
            if i > 0 and text[i - 1].isalnum() and end < len(text) and text[end].isalnum():
                edits.append((i, end, "."))
        elif kind == _SCHEME:
            scheme = _DEFANG_SCHEME.match(text, i)
            if scheme is not None:
                edits.append((i, scheme.end(), "http"))
        elif kind == _STOP and i > 0 and text[i - 1].isascii() and text[i - 1].isalnum():
            edits.append((i, i + 1, "."))
    if not edits:
        return plain, [], markers
    edits.sort()
    # apply_edits takes disjoint edits; keep the first of any two that overlap.
    kept: list[tuple[int, int, str]] = []
    for edit in edits:
        if not kept or edit[0] >= kept[-1][1]:
            kept.append(edit)
    view = apply_edits(plain, kept)
    # Where each edit landed in the new view.
    spans, shift = [], 0
    for a, b, repl in kept:
        spans.append((a + shift, a + shift + len(repl)))
        shift += len(repl) - (b - a)
    return view, spans, _markers(view.text)


def _explicit(text: str, start: int, host_at: int) -> _Url | None:
    """The URL starting at ``start`` whose host starts at ``host_at`` (after any scheme)."""
    m = _URL_REST.match(text, host_at)
    if m is None:
        return None
    raw = text[start : m.end()].rstrip(_TRAILING)
    host = _HOST_END.split(raw[host_at - start :], maxsplit=1)[0]
    if "@" in host:
        host = host.rsplit("@", 1)[1]
    if host and "." in host:
        return _Url(start, start + len(raw), raw, host, True)
    return None


def _urls(text: str, markers: list[int]) -> Iterator[_Url]:
    found: list[_Url] = []
    for k in range(0, len(markers), 2):
        i, kind = markers[k], markers[k + 1]
        url = None
        if kind == _COLON_SLASHES:
            start = i
            while start > 0 and i - start < 5 and text[start - 1].isalpha():
                start -= 1
            scheme = text[start:i].lower()
            if scheme in _SCHEMES and not (start > 0 and text[start - 1].isalnum()):
                url = _explicit(text, start, i + 3)
        elif kind == _WWW_DOT and not (i > 0 and (text[i - 1].isalnum() or text[i - 1] == "/")):
            url = _explicit(text, i, i)
        if url is not None:
            found.append(url)
    found.sort(key=_start_of)  # a "www." URL may start before a scheme's URL ends
    explicit: list[_Url] = []
    for u in found:  # "https://www.x" is found by both patterns: keep the first, longest
        if not explicit or u.start >= explicit[-1].end:
            explicit.append(u)
    yield from explicit
    if "." not in text:
        return
    starts = [u.start for u in explicit]
    last_end = -1
    for m in _SUFFIX_DOT.finditer(text):
        dot = m.start()
        if dot < last_end or not _is_suffix(m.group(1)):
            continue
        i = bisect.bisect_right(starts, dot) - 1
        if i >= 0 and dot < explicit[i].end:
            continue  # inside a URL found above
        start = dot
        while start > 0 and _is_host_char(text[start - 1]):
            start -= 1
        while start < dot and text[start] in ".-":
            start += 1
        if start == dot or (start > 0 and text[start - 1] in "@/"):
            continue  # no name before the dot, or part of an e-mail address or a path
        end = m.end()
        while end < len(text) and (
            (_is_host_char(text[end]) and text[end] != ".")
            or (
                text[end] == "."
                and end + 1 < len(text)
                and _is_host_char(text[end + 1])
                and text[end + 1] != "."
            )
        ):
            end += 1
        host = text[start:end]
        suffix = host.rsplit(".", 1)[-1].lower()
        if suffix in _FILE_LIKE or not _host_is_known(host):
            continue
        path_end = end
        if end < len(text) and text[end] == "/":
            while path_end < len(text) and not text[path_end].isspace():
                path_end += 1
            path_end = start + len(text[start:path_end].rstrip(_TRAILING))
        last_end = path_end
        yield _Url(start, path_end, text[start:path_end], host, False)
