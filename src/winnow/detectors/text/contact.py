"""Solicitations to move a conversation off the platform: ``加微信``, ``WhatsApp me``, ``t.me/x``.

Trigger phrases (a messenger's name, its nicknames and evasive spellings, requests such as "add
me" or ``加``) are matched on the normalised view, so ``w h a t s a p p`` and ``薇 信`` count. A
messenger name alone scores low ("I use WhatsApp"); with a request, a handle or a number right
after it, or as a messenger link, it scores high.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import ClassVar

import ahocorasick_rs
import numpy as np

from winnow.detectors.base import DetectorConfig, Example, TextChunk, TextDetector
from winnow.media.normalize import fold_term
from winnow.types import Finding

LABEL = "spam/contact_solicitation"

MESSENGERS: dict[str, tuple[str, ...]] = {
    "WeChat": (
        "wechat", "weixin", "微信", "薇信", "威信", "徽信", "维信", "v信", "vx", "wx", "微❤", "威❤",
        "卫星号", "v",
    ),
    "QQ": ("qq", "扣扣", "企鹅号"),
    "WhatsApp": ("whatsapp", "whats app", "watsapp", "wa.me"),
    "Telegram": ("telegram", "tg", "t.me", "电报", "飞机号"),
    "Line": ("line id", "line:"),
    "Kik": ("kik",),
    "Snapchat": ("snapchat", "snap:"),
    "Signal": ("signal me", "on signal"),
    "Viber": ("viber",),
    "Skype": ("skype",),
    "Discord": ("discord",),
    "Instagram": ("insta", "instagram", "ig:"),
}  # fmt: skip
# Messenger links: the strongest signal.
LINK_PREFIXES = ("t.me/", "wa.me/", "telegram.me/", "weixin://", "qm.qq.com/", "line.me/ti/")
REQUESTS = (
    "add me", "add me on", "dm me", "message me", "text me", "contact me", "hit me up", "reach me",
    "find me on", "talk on", "chat on", "msg me", "inbox me", "加我", "加", "➕", "+", "联系我",
    "私聊", "私信", "加好友",
)  # fmt: skip
# Names that are also everyday words: they count only with a request or a handle.
_AMBIGUOUS = {
    "line id",
    "line:",
    "tg",
    "insta",
    "discord",
    "signal me",
    "on signal",
    "kik",
    "wx",
    "vx",
    "v",
}
# "+v abc123", "+vx: abc", "＋qq 12345": the plus is a request, but leetspeak folding would read
# "+v" as "tv", so this shorthand is matched on the plain view.
_PLUS_SHORTHAND = re.compile(r"\+(?P<m>[vV][xX]?|[wW][xX]|[qQ]{2})(?![A-Za-z])")
_SHORTHAND_NAMES = {"v": "WeChat", "vx": "WeChat", "wx": "WeChat", "qq": "QQ"}
# A handle right after the messenger's name: after ':' / 号 / id anything handle-shaped; without
# such a marker only what cannot be an ordinary word (@name, has a digit or '_', a number).
_HANDLE = re.compile(
    r"^(?:\s*(?:[:：=]|是|号|號|\bid\b|\bID\b)\s*(?P<marked>@?[A-Za-z0-9][A-Za-z0-9_.\-]{2,31})"
    r"|\s*(?P<bare>@[A-Za-z0-9_.]{3,32}|[A-Za-z]*\d[A-Za-z0-9_.\-]{2,31}|[A-Za-z]+_[A-Za-z0-9_.\-]+"
    r"|\+?\d[\d \-]{4,18}\d))"
)


_MESSENGER, _LINK, _REQUEST = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Trigger:
    kind: str  # messenger | request | link
    name: str
    tight: bool  # CJK-style: no word boundaries needed, and a request reaches only 2 characters


class ContactDetector(TextDetector):
    name: ClassVar[str] = "contact"
    version: ClassVar[str] = "1.0.0"
    labels: ClassVar[frozenset[str]] = frozenset({LABEL})
    examples: ClassVar[tuple[Example, ...]] = (
        Example("see you at the meeting tomorrow", frozenset()),
        Example("加我微信 abc12345 详聊", frozenset({LABEL}), "add me on WeChat"),
        Example("whatsapp me on +44 7911 123456", frozenset({LABEL})),
        Example("join t.me/cheapdeals", frozenset({LABEL}), "messenger link"),
        Example("I waited in line for an hour", frozenset(), "'line' is a word, not a messenger"),
    )

    def __init__(self, config: DetectorConfig | None = None) -> None:
        super().__init__(config)
        self._automaton: ahocorasick_rs.BytesAhoCorasick | None = None
        self._triggers: list[_Trigger] = []

    def load(self) -> None:
        patterns: dict[str, _Trigger] = {}
        for messenger, names in MESSENGERS.items():
            for n in names:
                patterns.setdefault(
                    fold_term(n)[0], _Trigger("messenger", messenger, not n.isascii())
                )
        for prefix in LINK_PREFIXES:
            patterns[fold_term(prefix)[0]] = _Trigger("link", prefix.rstrip("/"), False)
        for r in REQUESTS:
            tight = not r.isascii() or r == "+"
            patterns.setdefault(fold_term(r)[0], _Trigger("request", r, tight))
        self._ambiguous = {fold_term(a)[0] for a in _AMBIGUOUS}
        self._patterns = list(patterns)
        self._triggers = [patterns[p] for p in self._patterns]
        codes = {"messenger": _MESSENGER, "link": _LINK, "request": _REQUEST}
        self._kinds = np.array([codes[t.kind] for t in self._triggers], dtype=np.int8)
        self._tight = np.array([t.tight for t in self._triggers], dtype=np.bool_)
        self._automaton = ahocorasick_rs.BytesAhoCorasick(
            [p.encode("utf-8") for p in self._patterns],
            matchkind=ahocorasick_rs.MatchKind.LeftmostLongest,
            implementation=ahocorasick_rs.Implementation.ContiguousNFA,
        )

    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        return [*self._triggered(chunk), *self._shorthand(chunk)]

    def _shorthand(self, chunk: TextChunk) -> Iterable[Finding]:
        plain = chunk.plain
        if "+" not in plain.text:
            return []
        out = []
        for m in _PLUS_SHORTHAND.finditer(plain.text):
            if m.start() > 0 and plain.text[m.start() - 1].isalnum():
                continue  # "C+v" or a formula, not a request
            messenger = _SHORTHAND_NAMES[m.group("m").lower()]
            a, b = plain.span(m.start(), m.end())
            handle = _HANDLE.match(chunk.text[b : b + 40])
            if handle is None:
                continue
            b += handle.end()
            out.append(
                self.finding(
                    LABEL,
                    0.85,
                    f"asks to be added on {messenger} ('+{m.group('m')}') and gives a handle",
                    location=chunk.span(a, b),
                    excerpt=chunk.text[a:b],
                    messenger=messenger,
                    with_handle=True,
                    with_request=True,
                )
            )
        return out

    def _triggered(self, chunk: TextChunk) -> Iterable[Finding]:
        if self._automaton is None:
            self.load()
        assert self._automaton is not None
        view = chunk.match
        text = view.text
        encoded = view.utf8
        raw = self._automaton.find_matches_as_indexes(encoded)
        if not raw:
            return []
        arr = np.asarray(raw, dtype=np.int64)
        pid, start, end = arr[:, 0], arr[:, 1], arr[:, 2]
        if len(encoded) != len(text):  # byte offsets to character offsets
            start, end = view.char_offsets(start), view.char_offsets(end)
        # Whole-word check for Latin triggers, and requests set apart: all vectorised, because
        # short requests (加, +) match often and only matter just before a messenger's name.
        n = len(text)
        kind = self._kinds[pid]
        tight = self._tight[pid]
        left_word = (start > 0) & view.word_at(np.maximum(start - 1, 0))
        right_word = (end < n) & view.word_at(np.minimum(end, n - 1)) & (kind != _LINK)
        ok = tight | ~(left_word | right_word)
        is_request = ok & (kind == _REQUEST)
        req_start, req_end = start[is_request].tolist(), end[is_request].tolist()
        req_reach = np.where(tight[is_request], 2, 20).tolist()
        out: list[Finding] = []
        for k in np.flatnonzero(ok & (kind != _REQUEST)).tolist():
            p, a, b = int(pid[k]), int(start[k]), int(end[k])
            trig = self._triggers[p]
            oa, ob = view.span(a, b)
            handle = _HANDLE.match(chunk.text[ob : ob + 40])
            asked_at = None
            j = bisect.bisect_right(req_end, a) - 1
            for i in range(j, max(j - 3, -1), -1):  # the nearest requests that end before it
                if req_start[i] < a and a - req_end[i] <= req_reach[i]:
                    asked_at = req_start[i]
                    break
            asked = asked_at is not None
            if trig.kind == "link":
                score, why = 0.9, f"{trig.name} link opens a private chat"
                if handle:
                    ob += handle.end()
            elif handle and asked:
                score, why = 0.9, f"asks to be contacted on {trig.name} and gives a handle"
                ob += handle.end()
            elif asked:
                score, why = 0.8, f"asks to be contacted on {trig.name}"
            elif handle:
                score, why = 0.8, f"gives a {trig.name} handle or number"
                ob += handle.end()
            elif self._patterns[p] in self._ambiguous:
                continue
            else:
                score, why = 0.3, f"mentions {trig.name}"
            if asked_at is not None:
                oa = min(oa, view.origin(asked_at)[0])
            out.append(
                self.finding(
                    LABEL,
                    score,
                    why,
                    location=chunk.span(oa, ob),
                    excerpt=chunk.text[oa:ob],
                    messenger=trig.name,
                    with_handle=bool(handle),
                    with_request=asked,
                )
            )
        return out
