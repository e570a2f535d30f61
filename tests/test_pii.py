from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from winnow.detectors.base import TextChunk
from winnow.detectors.text import pii as pii_module
from winnow.detectors.text.pii import (
    PiiConfig,
    PiiDetector,
    base58check_ok,
    bech32_ok,
    cn_id_ok,
    iban_ok,
    luhn_ok,
    mask,
)


@pytest.fixture(scope="module")
def pii() -> PiiDetector:
    return PiiDetector()


def entities(detector: PiiDetector, text: str) -> list[tuple[str, str]]:
    return [
        (str(f.evidence["entity"]), f.excerpt or "") for f in detector.detect_text(TextChunk(text))
    ]


@pytest.mark.parametrize(
    ("check", "value", "ok"),
    [
        (luhn_ok, "4111111111111111", True),
        (luhn_ok, "4111111111111112", False),
        (iban_ok, "DE89370400440532013000", True),
        (iban_ok, "DE89370400440532013001", False),
        (iban_ok, "GB82WEST12345698765432", True),
        (cn_id_ok, "11010519491231002X", True),
        (cn_id_ok, "110105194912310021", False),
        (cn_id_ok, "11010519491331002X", False),  # month 13
        (base58check_ok, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", True),
        (base58check_ok, "1BoatSLRHtKNngkdXEeobR76b53LETtpyX", False),
        (bech32_ok, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", True),
        (bech32_ok, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdx", False),
    ],
)
def test_validators(check: object, value: str, ok: bool) -> None:
    assert check(value) is ok  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("mail a.b@example.co.uk now", [("email", "a***@example.co.uk")], id="email"),
        pytest.param("call +1 (415) 555-2671", [("phone", "+* (***) ***-2671")], id="us phone"),
        pytest.param("手机 13800138000", [("phone", "*******8000")], id="china mobile"),
        pytest.param(
            "card 5555-5555-5555-4444", [("credit_card", "****-****-****-4444")], id="mastercard"
        ),
        pytest.param(
            "IBAN GB82 WEST 1234 5698 7654 32 thanks",
            [("iban", "**** **** **** **** **54 32")],
            id="iban stops at its length",
        ),
        pytest.param("ssn 078-05-1120", [("us_ssn", "***-**-1120")], id="ssn"),
        pytest.param("SSN: 078051120", [("us_ssn", "*****1120")], id="bare ssn after keyword"),
        pytest.param("order 078051120", [], id="bare nine digits without keyword"),
        pytest.param("ssn 666-05-1120", [], id="invalid ssn area"),
        pytest.param("from 8.8.8.8", [("ipv4", "8.8.*.*")], id="ipv4"),
        pytest.param("v6 2001:db8::1 here", [("ipv6", "2001:db8:*")], id="ipv6"),
        pytest.param(
            "send to 1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
            [("crypto_wallet", "******************************tpyT")],
            id="bitcoin",
        ),
        pytest.param("on 2020-06-20 14:00", [], id="iso date is not a phone"),
        pytest.param("release 10.2.3.4567", [], id="version is not an ip"),
    ],
)
def test_detects_and_masks(pii: PiiDetector, text: str, expected: list[tuple[str, str]]) -> None:
    assert entities(pii, text) == expected


def test_finding_names_pattern_and_validation(pii: PiiDetector) -> None:
    (f,) = pii.detect_text(TextChunk("IBAN DE89 3704 0044 0532 0130 00"))
    assert f.evidence == {
        "entity": "iban",
        "pattern": "IBAN (DE)",
        "validation": "mod-97 + country length",
    }
    assert f.score == 0.95


def test_entities_can_be_limited(pii: PiiDetector) -> None:
    only_email = PiiDetector(PiiConfig(entities=["email"]))
    assert entities(only_email, "x@example.com 4111 1111 1111 1111") == [
        ("email", "x***@example.com")
    ]


def test_mask_keeps_only_a_tail() -> None:
    assert mask("4111 1111 1111 1111", "credit_card") == "**** **** **** 1111"


@pytest.mark.shared_data
def test_presidio_synth_precision_and_recall(shared_data: Path) -> None:
    from winnow.evaluation.pii import evaluate_pii

    report = evaluate_pii(shared_data)
    by = {s.name: s for s in report.scores}
    for name in ("credit_card", "email", "iban", "us_ssn", "ip"):
        assert by[name].recall >= 0.95, name
        assert by[name].precision >= 0.95, name
    assert by["phone"].recall >= 0.85
    assert by["phone"].precision >= 0.85
    assert "NRP" not in report.not_covered


# The pre-scan finds exactly what the cluster pattern finds over the whole text.
_NUMBERISH = st.lists(
    st.sampled_from([*"0123456789-. ()/xXe", "ext.", " x ", "٣", "a", "\n", "+", "电话"]),
    max_size=80,
).map("".join)


@given(_NUMBERISH)
def test_cluster_prescan_finds_what_the_pattern_finds(text: str) -> None:
    want = [(m.start(), m.end()) for m in pii_module._CLUSTER.finditer(text)]
    assert [(m.start(), m.end()) for m in pii_module._clusters(text)] == want


_WALLETISH = st.lists(
    st.one_of(
        st.text(alphabet="13TabcKmz9Z0xqpBC", min_size=10, max_size=45),
        st.sampled_from([" ", "0", "O", "_", "é", "-", "l", "bc1", "0x", "T"]),
    ),
    max_size=6,
).map("".join)


def _whole_text_wallets(text: str) -> set[tuple[int, int]]:
    """Every wallet-pattern match over the whole text (validation aside)."""
    found = {
        (m.start(), m.end())
        for p in (pii_module._BTC, pii_module._TRON, pii_module._ETH)
        for m in p.finditer(text)
    }
    for prefix in pii_module._BECH_PREFIXES:
        i = text.find(prefix)
        while i >= 0:
            m = pii_module._BECH.match(text, i)
            if m is not None:
                found.add((m.start(), m.end()))
            i = text.find(prefix, i + 3)
    return found


@given(_WALLETISH)
def test_wallet_prescan_finds_what_the_patterns_find(text: str) -> None:
    # Accept every checksum so the test sees each pattern match the pre-scan lets through.
    with (
        mock.patch.object(pii_module, "base58check_ok", return_value=True),
        mock.patch.object(pii_module, "bech32_ok", return_value=True),
        mock.patch.object(pii_module, "_word_before", return_value=False),
    ):
        got = {(c.start, c.end) for c in pii_module._wallets(text)}
    assert got == _whole_text_wallets(text)
