"""The one list of labels Winnow speaks, and how each maps to outside vocabularies.

Labels have two levels, ``category/subcategory``. A policy condition on a category (``hate``)
covers all its subcategories. ``known/<bank>`` labels are made at run time, one per hash bank.

Each label maps to a category of the EU Digital Services Act statements of reasons (the values
of the DSA Transparency Database's ``category`` field) and to the categories of OpenAI's moderation
endpoint, so verdicts can be reported in either vocabulary.

No label describes who a person is or any demographic attribute of theirs: Winnow never infers
them (see "The line we do not cross" in DESIGN.md). ``privacy/face`` says only that a face is
present, so that it can be blurred.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from enum import StrEnum


class DsaCategory(StrEnum):
    """Statement-of-reasons categories of the DSA Transparency Database."""

    ANIMAL_WELFARE = "STATEMENT_CATEGORY_ANIMAL_WELFARE"
    DATA_PROTECTION_AND_PRIVACY_VIOLATIONS = (
        "STATEMENT_CATEGORY_DATA_PROTECTION_AND_PRIVACY_VIOLATIONS"
    )
    ILLEGAL_OR_HARMFUL_SPEECH = "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH"
    INTELLECTUAL_PROPERTY_INFRINGEMENTS = "STATEMENT_CATEGORY_INTELLECTUAL_PROPERTY_INFRINGEMENTS"
    NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS = (
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS"
    )
    NON_CONSENSUAL_BEHAVIOUR = "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR"
    ONLINE_BULLYING_INTIMIDATION = "STATEMENT_CATEGORY_ONLINE_BULLYING_INTIMIDATION"
    PORNOGRAPHY_OR_SEXUALIZED_CONTENT = "STATEMENT_CATEGORY_PORNOGRAPHY_OR_SEXUALIZED_CONTENT"
    PROTECTION_OF_MINORS = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
    RISK_FOR_PUBLIC_SECURITY = "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY"
    SCAMS_AND_FRAUD = "STATEMENT_CATEGORY_SCAMS_AND_FRAUD"
    SELF_HARM = "STATEMENT_CATEGORY_SELF_HARM"
    SCOPE_OF_PLATFORM_SERVICE = "STATEMENT_CATEGORY_SCOPE_OF_PLATFORM_SERVICE"
    UNSAFE_AND_ILLEGAL_PRODUCTS = "STATEMENT_CATEGORY_UNSAFE_AND_ILLEGAL_PRODUCTS"
    VIOLENCE = "STATEMENT_CATEGORY_VIOLENCE"


@dataclass(frozen=True, slots=True)
class LabelInfo:
    name: str
    description: str
    dsa: DsaCategory
    openai: tuple[str, ...]


_D = DsaCategory

LABELS: dict[str, LabelInfo] = {
    info.name: info
    for info in (
        LabelInfo("sexual/explicit", "Explicit sexual content or language.",
                  _D.PORNOGRAPHY_OR_SEXUALIZED_CONTENT, ("sexual",)),
        LabelInfo("sexual/suggestive", "Suggestive or sexualised content short of explicit.",
                  _D.PORNOGRAPHY_OR_SEXUALIZED_CONTENT, ("sexual",)),
        LabelInfo("violence/graphic", "Graphic depictions of violence, injury or gore.",
                  _D.VIOLENCE, ("violence", "violence/graphic")),
        LabelInfo("violence/threat", "Threats or incitement to violence against people.",
                  _D.VIOLENCE, ("violence", "harassment/threatening")),
        LabelInfo("extremism/content", "Violent extremist or terrorist content.",
                  _D.RISK_FOR_PUBLIC_SECURITY, ("violence", "illicit/violent")),
        LabelInfo("hate/slur", "Slurs against people for a protected characteristic.",
                  _D.ILLEGAL_OR_HARMFUL_SPEECH, ("hate",)),
        LabelInfo("hate/identity_attack", "Attacks or dehumanisation of a protected group.",
                  _D.ILLEGAL_OR_HARMFUL_SPEECH, ("hate",)),
        LabelInfo("harassment/insult", "Insults and demeaning language aimed at a person.",
                  _D.ONLINE_BULLYING_INTIMIDATION, ("harassment",)),
        LabelInfo("harassment/profanity", "Profanity and obscene language.",
                  _D.SCOPE_OF_PLATFORM_SERVICE, ("harassment",)),
        LabelInfo("self_harm/intent", "Expressed intent or encouragement of self-harm or suicide.",
                  _D.SELF_HARM, ("self-harm", "self-harm/intent")),
        LabelInfo("spam/ad", "Unsolicited advertising.",
                  _D.SCOPE_OF_PLATFORM_SERVICE, ()),
        LabelInfo("spam/link", "Links that are risky: blocked, obfuscated, spoofed or shortened.",
                  _D.SCAMS_AND_FRAUD, ()),
        LabelInfo("spam/qrcode", "A QR code or barcode, with its decoded payload.",
                  _D.SCAMS_AND_FRAUD, ()),
        LabelInfo("spam/contact_solicitation",
                  "Requests to move off-platform: messenger handles, 'add me on WeChat'.",
                  _D.SCAMS_AND_FRAUD, ()),
        LabelInfo("privacy/pii", "Personal data: contact details, identity and payment numbers.",
                  _D.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS, ()),
        LabelInfo("privacy/face", "A face is present (for redaction only, never identified).",
                  _D.DATA_PROTECTION_AND_PRIVACY_VIOLATIONS, ()),
        LabelInfo("illicit/drugs", "Sale or promotion of illegal drugs.",
                  _D.UNSAFE_AND_ILLEGAL_PRODUCTS, ("illicit",)),
        LabelInfo("illicit/gambling", "Promotion of gambling services.",
                  _D.UNSAFE_AND_ILLEGAL_PRODUCTS, ("illicit",)),
    )
}  # fmt: skip

KNOWN_PREFIX = "known/"
CATEGORIES: frozenset[str] = frozenset(name.split("/", 1)[0] for name in LABELS) | {"known"}


def is_label(name: str) -> bool:
    """A full label: one in the list, or ``known/<bank>``."""
    return name in LABELS or (name.startswith(KNOWN_PREFIX) and len(name) > len(KNOWN_PREFIX))


def is_label_pattern(name: str) -> bool:
    """What a policy may name: a full label or a category (which covers its subcategories)."""
    return is_label(name) or name in CATEGORIES


def covers(pattern: str, label: str) -> bool:
    """Whether a policy pattern (category or label) covers a finding's label."""
    return label == pattern or label.startswith(pattern + "/")


def suggest(name: str) -> str | None:
    """The closest known label or category, for 'did you mean' messages."""
    close = difflib.get_close_matches(name, [*LABELS, *CATEGORIES], n=1, cutoff=0.6)
    return close[0] if close else None


def dsa_category(label: str) -> DsaCategory:
    """The DSA statement-of-reasons category of a label (hash-bank matches: illegal speech)."""
    info = LABELS.get(label)
    if info is not None:
        return info.dsa
    return DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH


def openai_categories(label: str) -> tuple[str, ...]:
    info = LABELS.get(label)
    return info.openai if info is not None else ()
