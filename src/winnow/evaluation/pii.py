"""PII detector against presidio-research's synthetic set (span-labelled, English).

A prediction counts as correct when its span overlaps a gold span of the same entity type.
Entity types Winnow does not detect by design (names, addresses, organisations, dates, titles,
ages: they need named-entity recognition, and Winnow infers nothing about people) are reported
with their support so the gap is visible. NRP (nationality, religion, political group) is left
out entirely: Winnow never labels such attributes.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from winnow.detectors.base import TextChunk
from winnow.detectors.text.links import LinksDetector
from winnow.detectors.text.pii import PiiDetector
from winnow.evaluation import Score
from winnow.types import Span

DATASET = Path("pii-presidio-research-synth") / "synth_dataset_v2.json"
# Gold entity type -> Winnow entity (None: not detected by design).
MAPPING: dict[str, str | None] = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "IP_ADDRESS": "ip",
    "DOMAIN_NAME": "domain",
    "US_DRIVER_LICENSE": None,
    "PERSON": None,
    "STREET_ADDRESS": None,
    "GPE": None,
    "ORGANIZATION": None,
    "DATE_TIME": None,
    "TITLE": None,
    "AGE": None,
    "ZIP_CODE": None,
}
EXCLUDED = {"NRP"}


@dataclass(frozen=True, slots=True)
class PiiReport:
    scores: list[Score]
    not_covered: dict[str, int]
    records: int


def _predictions(
    text: str, pii: PiiDetector, links: LinksDetector
) -> Iterator[tuple[str, int, int]]:
    chunk = TextChunk(text)
    for f in pii.detect_text(chunk):
        assert isinstance(f.location, Span)
        entity = str(f.evidence["entity"])
        entity = "ip" if entity in ("ipv4", "ipv6") else entity
        yield entity, f.location.start, f.location.end
    for f in links.detect_text(TextChunk(text)):
        assert isinstance(f.location, Span)
        yield "domain", f.location.start, f.location.end


def evaluate_pii(data_dir: Path) -> PiiReport:
    records = json.loads((data_dir / DATASET).read_text(encoding="utf-8"))
    pii, links = PiiDetector(), LinksDetector()
    pii.load()
    links.load()
    tp: dict[str, int] = defaultdict(int)
    fp: dict[str, int] = defaultdict(int)
    fn: dict[str, int] = defaultdict(int)
    support: dict[str, int] = defaultdict(int)
    not_covered: dict[str, int] = defaultdict(int)
    for rec in records:
        gold: list[tuple[str, int, int]] = []
        for s in rec["spans"]:
            kind = s["entity_type"]
            if kind in EXCLUDED:
                continue
            mapped = MAPPING.get(kind)
            if mapped is None:
                not_covered[kind] += 1
                continue
            gold.append((mapped, s["start_position"], s["end_position"]))
            support[mapped] += 1
        preds = list(_predictions(rec["full_text"], pii, links))
        matched_gold: set[int] = set()
        for entity, a, b in preds:
            hit = next(
                (i for i, (g, ga, gb) in enumerate(gold) if g == entity and a < gb and ga < b), None
            )
            if hit is None:
                fp[entity] += 1
            elif hit not in matched_gold:
                matched_gold.add(hit)
                tp[entity] += 1
        for i, (g, _, _) in enumerate(gold):
            if i not in matched_gold:
                fn[g] += 1
    names = sorted(set(support) | set(fp))
    scores = [Score(n, support[n], tp[n], fp[n], fn[n]) for n in names]
    return PiiReport(scores, dict(sorted(not_covered.items())), len(records))
