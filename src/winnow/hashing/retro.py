"""Retroactive matching: which past scans do newly added bank entries match?

Winnow keeps each scan's MD5, SHA-256 and PDQ (never the content). After entries are added, MD5
and SHA-256 are looked up among past scans by value; for PDQ, the new entries are indexed and
every past scan's PDQ is searched against them in batches, at each entry's bank threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

from winnow.hashing.index import HammingIndex
from winnow.store.banks import BankStore


@dataclass(frozen=True, slots=True)
class RetroHit:
    scan_id: str
    name: str | None
    action: str | None
    scanned_at: float
    entry_id: int
    bank: str
    algorithm: str
    distance: int


def retro_match(banks: BankStore, tenant_id: str, entry_ids: list[int]) -> list[RetroHit]:
    by_bank = banks.banks_by_id(tenant_id)
    entries = banks.entries_by_id(tenant_id, entry_ids)
    hits: list[RetroHit] = []
    for alg in ("md5", "sha256"):
        wanted = {r["value"]: r for r in entries.values() if r["algorithm"] == alg}
        for scan in banks.past_scans_exact(tenant_id, alg, sorted(wanted)):
            e = wanted[scan["value"]]
            hits.append(
                RetroHit(
                    scan["id"],
                    scan["name"],
                    scan["action"],
                    scan["created_at"],
                    e["id"],
                    by_bank[e["bank_id"]]["name"],
                    alg,
                    0,
                )
            )
    pdq = [r for r in entries.values() if r["algorithm"] == "pdq"]
    if pdq:
        index = HammingIndex.build(
            b"".join(bytes.fromhex(r["value"]) for r in pdq), [r["id"] for r in pdq]
        )
        threshold = {r["id"]: by_bank[r["bank_id"]]["pdq_threshold"] for r in pdq}
        radius = max(threshold.values())
        for batch in banks.past_pdq(tenant_id):
            found = index.search([bytes.fromhex(s["pdq"]) for s in batch], radius)
            for scan, (matches, _) in zip(batch, found, strict=True):
                for m in matches:
                    if m.distance <= threshold[m.key]:
                        e = entries[m.key]
                        hits.append(
                            RetroHit(
                                scan["id"],
                                scan["name"],
                                scan["action"],
                                scan["created_at"],
                                m.key,
                                by_bank[e["bank_id"]]["name"],
                                "pdq",
                                m.distance,
                            )
                        )
    hits.sort(key=lambda h: (h.scanned_at, h.scan_id, h.entry_id))
    return hits
