"""Personal data: a pattern finds a candidate, a validator (checksum, date, registry) confirms it.

Every finding says which pattern fired and which validation it passed, and its excerpt is masked
(``4111 **** **** 1111``): Winnow points at personal data without repeating it. Use
:func:`winnow.redact.redact_text` for a masked copy of the whole text.

Entities: email, phone (libphonenumber; international and Chinese mobile), payment card (Luhn
and issuer prefix), IBAN (ISO 13616 mod-97 and per-country length), IPv4/IPv6, US SSN (with
separators; without them only next to a keyword), Chinese resident ID (ISO 7064 MOD 11-2 and a
real birth date), crypto wallets (Bitcoin base58check and bech32/bech32m, Ethereum, Tron).
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import hashlib
import ipaddress
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
import phonenumbers
from pydantic import Field

from winnow import _native
from winnow.detectors.base import DetectorConfig, Example, TextChunk, TextDetector
from winnow.types import Finding, Span

LABEL = "privacy/pii"
ENTITIES = (
    "email",
    "phone",
    "credit_card",
    "iban",
    "ipv4",
    "ipv6",
    "us_ssn",
    "cn_resident_id",
    "crypto_wallet",
)


class PiiConfig(DetectorConfig):
    entities: list[str] = Field(default_factory=lambda: list(ENTITIES))
    # Regions tried for phone numbers written without a country code.
    phone_regions: list[str] = Field(default_factory=lambda: ["US", "GB", "CN", "DE", "FR", "IN"])


@dataclass(frozen=True, slots=True)
class Candidate:
    entity: str
    start: int
    end: int
    score: float
    pattern: str
    validation: str
    priority: int  # higher wins where candidates overlap


# --- validators ------------------------------------------------------------------------------


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


_CARD_ISSUERS: tuple[tuple[str, tuple[int, ...], Callable[[str], bool]], ...] = (
    ("visa", (13, 16, 19), lambda d: d[0] == "4"),
    ("mastercard", (16,), lambda d: 51 <= int(d[:2]) <= 55 or 2221 <= int(d[:4]) <= 2720),
    ("amex", (15,), lambda d: d[:2] in ("34", "37")),
    ("discover", (16, 19), lambda d: d[:4] == "6011" or d[:2] == "65" or 644 <= int(d[:3]) <= 649),
    ("jcb", (16, 17, 18, 19), lambda d: 3528 <= int(d[:4]) <= 3589),
    ("diners", (14, 16), lambda d: d[:2] in ("36", "38", "39") or 300 <= int(d[:3]) <= 305),
    ("unionpay", (16, 17, 18, 19), lambda d: d[:2] == "62"),
    (
        "maestro",
        (12, 13, 14, 15, 16, 17, 18, 19),
        lambda d: d[:2] in ("50", "56", "57", "58") or d[0] == "6",
    ),
)


def card_issuer(digits: str) -> str | None:
    for name, lengths, prefix_ok in _CARD_ISSUERS:
        if len(digits) in lengths and prefix_ok(digits):
            return name
    return None


_IBAN_LENGTHS = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NL": 18,
    "NO": 15,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "SA": 24,
    "SC": 31,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
}


def iban_ok(compact: str) -> bool:
    if _IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(c, 36)) for c in rearranged)
    return int(numeric) % 97 == 1


_CN_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CN_CHECK = "10X98765432"


def cn_id_ok(value: str) -> bool:
    body, check = value[:17], value[17].upper()
    if _CN_CHECK[sum(int(c) * w for c, w in zip(body, _CN_WEIGHTS, strict=True)) % 11] != check:
        return False
    if value[0] not in "123456789":
        return False
    try:
        born = dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return dt.date(1900, 1, 1) <= born <= dt.date.today()


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58check_ok(value: str) -> bool:
    n = 0
    for c in value:
        n = n * 58 + _B58.index(c)
    raw = n.to_bytes(25, "big") if n.bit_length() <= 200 else b""
    if len(raw) != 25:
        return False
    payload, checksum = raw[:-4], raw[-4:]
    return hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum


_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_ok(value: str) -> bool:
    hrp, _, data = value.lower().rpartition("1")
    if not hrp or len(data) < 6 or any(c not in _BECH32 for c in data):
        return False
    values = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    values += [_BECH32.index(c) for c in data]
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk in (1, 0x2BC830A3)  # bech32, bech32m


# --- patterns --------------------------------------------------------------------------------

# Candidates are found cheaply first (patterns that begin with a digit, '@' or a literal, so the
# regex engine can skip ahead), then checked with the precise patterns and validators.
_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]{1,64}@[A-Za-z0-9\-]{1,63}(?:\.[A-Za-z0-9\-]{1,63})*\.[A-Za-z]{2,24}\b"
)
# A run of digits with separators, 7+ long, with an extension (x123, ext. 12) if one follows.
_CLUSTER = re.compile(r"\d[\d\-. ()/]{5,40}[\dXx](?:\s?(?:x|ext\.?)\s?\d{1,5})?")
_CARD = re.compile(r"(?<![\d\-])\d(?:[ \-]?\d){11,18}(?![\d\-])")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b", re.IGNORECASE)
_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_SSN = re.compile(r"(?<![\d\-])(\d{3})([\- ])(\d{2})\2(\d{4})(?![\d\-])")
_SSN_BARE = re.compile(r"(?<![\d\-])(\d{3})(\d{2})(\d{4})(?![\d\-])")
_ISO_DATE = re.compile(r"(?:19|20)\d\d[-/.](?:0[1-9]|1[0-2])[-/.](?:0[1-9]|[12]\d|3[01])")
_PHONE_CONTEXT = re.compile(
    r"(?i)(?:phone|tel|call|mobile|cell|fax|desk|office|whatsapp|sms|text|messages?|answering"
    r"|reach|电话|手机|联系|致电)"
)
_SSN_CONTEXT = re.compile(r"(?i)\b(?:ssn|social security|ss#|ss no)")
_PHONE = re.compile(
    r"(?<![\w+])(?:\+|00)?\(?\d[\d \-.()]{5,20}\d(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w])"
)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.]|\.\d)")
_IPV6_HINT = re.compile(r":[0-9A-Fa-f]{0,4}:")  # every IPv6 address has one; starts with ':'
_BECH_PREFIXES = ("bc1", "tb1", "BC1", "TB1")
_IPV6 = re.compile(
    r"(?<![\w:])(?:[0-9A-Fa-f]{1,4}:|:)(?::|[0-9A-Fa-f]{1,4}:){1,7}(?::|[0-9A-Fa-f]{1,4})?(?![\w:])"
)
_BTC = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![\w])")
_BECH = re.compile(r"(?:bc1|tb1|BC1|TB1)[02-9ac-hj-np-zAC-HJ-NP-Z]{11,71}(?![\w])")
_ETH = re.compile(r"0x[0-9a-fA-F]{40}(?![\w])")
_TRON = re.compile(r"T[1-9A-HJ-NP-Za-km-z]{33}(?![\w])")

# Character classes for the pre-scans (winnow._native.runs): the exact patterns above then run
# only inside the runs of characters they can match, not over the whole text.
_DIGIT, _CLUSTER_SEP, _ALNUM = 1, 2, 4


@functools.cache
def _classes() -> npt.NDArray[np.uint8]:
    table = np.zeros(0x110000, dtype=np.uint8)
    decimal = [cp for cp in range(0x110000) if chr(cp).isdecimal()]  # what \d matches
    table[decimal] |= _DIGIT
    for c in "-. ()/":
        table[ord(c)] |= _CLUSTER_SEP
    for c in "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz":
        table[ord(c)] |= _ALNUM
    return table


def _runs(text: str, mask: int, need: int, min_len: int) -> list[int]:
    """Flat [start, end, start, end, ...] of the runs of a class (see winnow._native.runs)."""
    bounds: list[int] = np.frombuffer(
        _native.runs(text, _classes(), mask, need, min_len), np.int32
    ).tolist()
    return bounds


def _clusters(text: str) -> Iterator[re.Match[str]]:
    """``_CLUSTER.finditer(text)``, with the regex run only inside runs of digits and separators.

    A cluster starts with a digit followed by at least six digits or separators (the last may
    be an X), so it starts inside such a run; its earliest start is found within the run and the
    match is then taken on the whole text, so an extension (``x 12``) may reach past the run.
    """
    last_end = 0
    bounds = _runs(text, _DIGIT | _CLUSTER_SEP, _DIGIT, 6)
    for k in range(0, len(bounds), 2):
        pos, run_end = max(bounds[k], last_end), bounds[k + 1]
        while pos < run_end:
            first = _CLUSTER.search(text, pos, run_end + 1)
            if first is None:
                break
            m = _CLUSTER.match(text, first.start())
            assert m is not None
            yield m
            pos = last_end = m.end()


def _at(
    m: re.Match[str], offset: int, entity: str, score: float, pattern: str, validation: str,
    priority: int,
) -> Candidate:  # fmt: skip
    """A candidate for a match found in ``text[offset:]``."""
    return Candidate(
        entity, offset + m.start(), offset + m.end(), score, pattern, validation, priority
    )


def _word_before(text: str, i: int) -> bool:
    return i > 0 and (text[i - 1].isalnum() or text[i - 1] == "_")


class PiiDetector(TextDetector):
    name: ClassVar[str] = "pii"
    version: ClassVar[str] = "1.0.0"
    labels: ClassVar[frozenset[str]] = frozenset({LABEL})
    Config: ClassVar[type[DetectorConfig]] = PiiConfig
    examples: ClassVar[tuple[Example, ...]] = (
        Example("nothing personal here, just 3 apples", frozenset()),
        Example("write to jane.doe@example.org", frozenset({LABEL}), "email"),
        Example("card 4111 1111 1111 1111 exp 12/29", frozenset({LABEL}), "Visa test number"),
        Example("card 4111 1111 1111 1112", frozenset(), "fails the Luhn check"),
        Example("IBAN DE89 3704 0044 0532 0130 00", frozenset({LABEL}), "valid mod-97"),
        Example("身份证 11010519491231002X", frozenset({LABEL}), "Chinese resident ID"),
        Example("打我电话 13800138000", frozenset({LABEL}), "Chinese mobile"),
        Example("version 1.2.3 of the app", frozenset()),
    )

    def load(self) -> None:
        _classes()
        config = self.config
        assert isinstance(config, PiiConfig)
        for region in config.phone_regions:  # load each region's metadata and patterns now
            example = phonenumbers.example_number(region)
            if example is not None:
                phonenumbers.number_type(example)

    def detect_text(self, chunk: TextChunk) -> Iterable[Finding]:
        config = self.config
        assert isinstance(config, PiiConfig)
        view = chunk.plain
        text = view.text
        wanted = set(config.entities)
        candidates = [c for c in _candidates(text, config.phone_regions) if c.entity in wanted]
        if not candidates:
            return []
        kept = _resolve_overlaps(candidates)
        starts, ends = view.spans(
            np.fromiter((c.start for c in kept), np.int64, len(kept)),
            np.fromiter((c.end for c in kept), np.int64, len(kept)),
        )
        findings = []
        for c, a, b in zip(kept, starts.tolist(), ends.tolist(), strict=True):
            findings.append(
                Finding(
                    LABEL,
                    c.score,
                    self.name,
                    self.version,
                    f"{c.entity.replace('_', ' ')} ({c.pattern}; {c.validation})",
                    Span(chunk.offset + a, chunk.offset + b),
                    mask(chunk.text[a:b], c.entity),
                    {"entity": c.entity, "pattern": c.pattern, "validation": c.validation},
                )
            )
        return findings


def _candidates(text: str, regions: list[str]) -> Iterator[Candidate]:
    if "@" in text:
        yield from _emails(text)
    yield from _numeric(text, regions)
    if ":" in text:
        yield from _ipv6(text)
    yield from _wallets(text)


def _wallets(text: str) -> Iterator[Candidate]:
    """Crypto wallet addresses: each is a run of 14+ ASCII letters and digits, so the patterns
    run only inside such runs (found by the C pre-scan), not over the whole text."""
    bounds = _runs(text, _ALNUM, 0, 14)
    for k in range(0, len(bounds), 2):
        lo, run_end = bounds[k], bounds[k + 1]
        hi = min(len(text), run_end + 1)  # + 1: the character the look-aheads read
        if run_end - lo >= 42:
            for m in _ETH.finditer(text, lo, hi):
                if not _word_before(text, m.start()):
                    yield Candidate("crypto_wallet", m.start(), m.end(), 0.75,
                                    "ethereum address", "hex length 40", 7)  # fmt: skip
        for prefix in _BECH_PREFIXES:
            i = text.find(prefix, lo, run_end)
            while i >= 0:
                bech = _BECH.match(text, i)
                if bech is not None and not _word_before(text, i) and bech32_ok(bech.group()):
                    yield Candidate("crypto_wallet", bech.start(), bech.end(), 0.9,
                                    "bitcoin bech32 address", "bech32 checksum", 8)  # fmt: skip
                i = text.find(prefix, i + 3, run_end)
        if run_end - lo < 26:
            continue
        for pattern, name in ((_BTC, "bitcoin base58 address"), (_TRON, "tron address")):
            for m in pattern.finditer(text, lo, hi):
                if not _word_before(text, m.start()) and base58check_ok(m.group()):
                    yield Candidate(
                        "crypto_wallet", m.start(), m.end(), 0.9, name, "base58check", 8
                    )


def _emails(text: str) -> Iterator[Candidate]:
    last_end = -1
    at = text.find("@")
    while at >= 0:
        if at == 0 or not (text[at - 1].isalnum() or text[at - 1] in "._%+-"):
            at = text.find("@", at + 1)  # "@name" mentions: nothing before the '@'
            continue
        lo = max(0, at - 64)
        for m in _EMAIL.finditer(text, lo, min(len(text), at + 256)):
            if m.start() <= at < m.end() and m.start() >= last_end:
                yield Candidate("email", m.start(), m.end(), 0.7, "email address", "syntax", 5)
                last_end = m.end()
                break
        at = text.find("@", max(at + 1, last_end))


def _ipv6(text: str) -> Iterator[Candidate]:
    last_end = -1
    for hint in _IPV6_HINT.finditer(text):
        if hint.start() < last_end:
            continue
        lo = max(0, hint.start() - 40)
        for m in _IPV6.finditer(text, lo, min(len(text), hint.end() + 40)):
            if m.end() <= last_end or m.group().count(":") < 2:
                continue
            try:
                ip6 = ipaddress.IPv6Address(m.group())
            except ValueError:
                continue
            score = 0.5 if ip6.is_global else 0.3
            yield Candidate("ipv6", m.start(), m.end(), score, "IPv6 address", "ipaddress parse", 6)
            last_end = m.end()


def _numeric(text: str, regions: list[str]) -> Iterator[Candidate]:
    """Every numeric entity, looked for only inside runs of 7+ digits and separators."""
    iban_seen: set[int] = set()
    for cluster in _clusters(text):
        lo, hi = cluster.start(), cluster.end()
        if lo > 0 and text[lo - 1] in "+(":
            lo -= 1
        sub = text[lo:hi]
        for m in _CARD.finditer(sub):
            digits = re.sub(r"\D", "", m.group())
            if luhn_ok(digits):
                issuer = card_issuer(digits)
                if issuer:
                    yield _at(m, lo, "credit_card", 0.95, f"{issuer} card number",
                              "luhn + issuer prefix", 9)  # fmt: skip
                elif len(digits) >= 14:
                    yield _at(m, lo, "credit_card", 0.6, "card-like number", "luhn", 4)
        yield from _ibans(text, max(0, lo - 16), min(len(text), hi + 4), iban_seen)
        for m in _CN_ID.finditer(sub):
            if cn_id_ok(m.group()):
                yield _at(m, lo, "cn_resident_id", 0.95, "Chinese resident ID",
                          "ISO 7064 MOD 11-2 + birth date", 10)  # fmt: skip
        for m in _SSN.finditer(sub):
            if ssn_ok(m.group(1), m.group(3), m.group(4)):
                yield _at(m, lo, "us_ssn", 0.85, "US SSN with separators",
                          "area/group/serial ranges", 8)  # fmt: skip
        for m in _SSN_BARE.finditer(sub):
            context = text[max(0, lo + m.start() - 40) : lo + m.start()]
            if ssn_ok(m.group(1), m.group(2), m.group(3)) and _SSN_CONTEXT.search(context):
                yield _at(m, lo, "us_ssn", 0.8, "US SSN after a keyword",
                          "area/group/serial ranges", 8)  # fmt: skip
        if sub.count(".") >= 3:
            for m in _IPV4.finditer(sub):
                try:
                    ip = ipaddress.IPv4Address(m.group())
                except ValueError:
                    continue
                score = 0.5 if ip.is_global else 0.3
                yield _at(m, lo, "ipv4", score, "IPv4 address", "octets 0-255", 6)
        for m in _PHONE.finditer(sub):
            yield from _phone(m.group(), lo + m.start(), lo + m.end(), regions, text)


def _ibans(text: str, lo: int, hi: int, seen: set[int]) -> Iterator[Candidate]:
    for m in _IBAN.finditer(text, lo, hi):
        if m.start() in seen:
            continue
        # The country fixes the length: take exactly that many characters (spaces skipped), so
        # words that follow the number are not swallowed.
        expected = _IBAN_LENGTHS.get(m.group()[:2].upper())
        raw = m.group()
        if expected is None:
            continue
        taken, end = 0, 0
        while end < len(raw) and taken < expected:
            taken += raw[end] != " "
            end += 1
        compact = raw[:end].replace(" ", "").upper()
        if iban_ok(compact):
            seen.add(m.start())
            yield Candidate(
                "iban",
                m.start(),
                m.start() + end,
                0.95,
                f"IBAN ({compact[:2]})",
                "mod-97 + country length",
                9,
            )


def _phone(raw: str, start: int, end: int, regions: list[str], text: str) -> Iterator[Candidate]:
    digits = sum(c.isdigit() for c in raw)
    if not 7 <= digits <= 15 or _ISO_DATE.match(raw):
        return
    international = raw.startswith(("+", "00"))
    # Without a country code, short numbers are mostly house numbers, order numbers and codes:
    # ask for a full national number (10+ digits) unless "phone", "电话"... stands just before.
    if (
        not international
        and digits < 10
        and not _PHONE_CONTEXT.search(text[max(0, start - 24) : start])
    ):
        return
    judged = _judge_phone(raw, tuple(regions))
    if judged is not None:
        score, pattern, validation, priority = judged
        yield Candidate("phone", start, end, score, pattern, validation, priority)


@functools.lru_cache(maxsize=8192)
def _judge_phone(raw: str, regions: tuple[str, ...]) -> tuple[float, str, str, int] | None:
    """What libphonenumber says of a number: (score, pattern, validation, priority) or None.

    Cached: parsing is the slow part of the PII detector, and spam repeats its numbers.
    """
    international = raw.startswith(("+", "00"))
    tries: list[str | None] = [None] if international else list(regions)
    number = raw if not raw.startswith("00") else "+" + raw[2:]
    best: tuple[float, str, str, int] | None = None
    for region in tries:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        where = region or phonenumbers.region_code_for_number(parsed) or "international"
        if phonenumbers.is_valid_number(parsed):
            mobile = phonenumbers.number_type(parsed) == phonenumbers.PhoneNumberType.MOBILE
            kind = "mobile" if mobile else "phone"
            score = 0.7 if international or raw.startswith("(") or not raw.isdigit() else 0.6
            return score, f"{where} {kind} number", "libphonenumber: valid", 3
        if best is None and phonenumbers.is_possible_number(parsed) and not raw.isdigit():
            best = (0.4, f"{where} phone number", "libphonenumber: possible", 2)
    return best


def _resolve_overlaps(candidates: list[Candidate]) -> list[Candidate]:
    """Where candidates overlap keep the most specific (highest priority, then longest)."""
    ordered = sorted(candidates, key=lambda c: (-c.priority, -(c.end - c.start), c.start))
    starts: list[int] = []  # the kept candidates, disjoint, sorted by start
    kept: list[Candidate] = []
    for c in ordered:
        i = bisect.bisect_right(starts, c.start)
        if (i > 0 and kept[i - 1].end > c.start) or (i < len(kept) and kept[i].start < c.end):
            continue
        starts.insert(i, c.start)
        kept.insert(i, c)
    return kept


def mask(value: str, entity: str) -> str:
    """A masked excerpt: enough to recognise the kind of data, not enough to use it."""
    if entity == "email" and "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:1]}***@{domain}"
    if entity == "ipv4":
        return ".".join([*value.split(".")[:2], "*", "*"])
    if entity == "ipv6":
        return ":".join([*value.split(":")[:2], "*"])
    alnum = [i for i, c in enumerate(value) if c.isalnum()]
    keep = set(alnum[-4:]) if len(alnum) > 8 else set(alnum[-2:])
    return "".join(c if (i in keep or not c.isalnum()) else "*" for i, c in enumerate(value))
