"""Evaluate a policy: a pure function from findings, hash matches and failures to an action.

Nothing here reads files, clocks or globals; the same inputs give the same verdict. Raising any
finding's score never lowers the action (there is a property test for it): conditions only ever
match more as scores rise, and caps only limit how far a label can push.

Hash matches: a match that a negative bank suppressed counts for nothing (it stays in the
verdict). A match in an *allow* bank (known-good content) passes the item whatever else was
found; every finding is kept in the verdict as suppressed, with the bank named as the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from winnow import taxonomy
from winnow.policy.model import (
    AllCondition,
    AnyCondition,
    BankCondition,
    Condition,
    LabelCondition,
    Override,
    PolicyModel,
    Rule,
)
from winnow.types import Action, DetectorFailure, Finding, HashMatch, RuleHit, Suppressed


@dataclass(frozen=True, slots=True)
class Evaluation:
    action: Action
    rule_hits: tuple[RuleHit, ...]
    suppressed: tuple[Suppressed, ...]


@dataclass(frozen=True, slots=True)
class _Match:
    """A condition that held: the most severe action its evidence allows, and the evidence."""

    cap: Action
    findings: frozenset[int]
    hash_matches: frozenset[int]


def evaluate(
    policy: PolicyModel,
    findings: Sequence[Finding],
    hash_matches: Sequence[HashMatch] = (),
    failures: Sequence[DetectorFailure] = (),
) -> Evaluation:
    allow_bank = next(
        (h for h in hash_matches if h.kind == "allow" and h.suppressed_by is None), None
    )
    if allow_bank is not None:  # known-good content is never flagged
        why = f"the content is known good: it matched entry {allow_bank.entry_id} of allow bank"
        return Evaluation(
            Action.PASS,
            (),
            tuple(Suppressed(i, f"{why} {allow_bank.bank!r}") for i in range(len(findings))),
        )
    allowed = {t.casefold() for t in policy.allow.terms}
    suppressed: list[Suppressed] = []
    active: list[int] = []
    for i, f in enumerate(findings):
        if allowed:
            term = str(f.evidence.get("term", "")).casefold()
            if term in allowed or (f.excerpt or "").casefold() in allowed:
                why = f"{f.excerpt or term!r} is on the policy's allow-list"
                suppressed.append(Suppressed(i, why))
                continue
        override = _override(policy, f.label)
        if override is not None and override.disabled:
            suppressed.append(Suppressed(i, f"label {f.label} is disabled by the policy"))
        else:
            active.append(i)

    by_label: dict[str, list[int]] = {}
    for i in active:
        by_label.setdefault(findings[i].label, []).append(i)
    hits: list[RuleHit] = []
    # every condition needs at least one finding or hash match (min_count >= 1), so with none
    # no rule can fire: most texts end here
    rules = _relevant_rules(policy, frozenset(by_label), bool(hash_matches))
    for rule in rules:
        m = _eval(rule.when, policy, findings, by_label, hash_matches)
        if m is None:
            continue
        action = min(Action.parse(rule.action), m.cap)
        if action == Action.PASS:
            continue
        labels = tuple(sorted({findings[i].label for i in m.findings}))
        labels += tuple(sorted({f"known/{hash_matches[i].bank}" for i in m.hash_matches}))
        top = max(m.findings, key=lambda i: findings[i].score, default=None)
        dsa = rule.dsa_category or (
            taxonomy.dsa_category(findings[top].label)
            if top is not None
            else taxonomy.DsaCategory.ILLEGAL_OR_HARMFUL_SPEECH
        )
        hits.append(
            RuleHit(
                rule=rule.name,
                action=action,
                reason=rule.reason or _auto_reason(labels),
                labels=labels,
                findings=tuple(sorted(m.findings)),
                hash_matches=tuple(sorted(m.hash_matches)),
                dsa_category=dsa.value,
            )
        )
    on_failure = Action.parse(policy.on_detector_failure)
    if on_failure > Action.PASS:
        for failure in failures:
            hits.append(
                RuleHit(
                    rule=f"detector-failed:{failure.detector}",
                    action=on_failure,
                    reason=f"detector {failure.detector} did not finish ({failure.kind}): "
                    "the content was not fully checked",
                )
            )
    action = max((h.action for h in hits), default=Action.PASS)
    return Evaluation(action, tuple(hits), tuple(suppressed))


# policy (by id, kept alive and checked by identity) -> {(labels found, any hash match): the rules
# that could fire}; a message's labels repeat from message to message, so this is nearly free
_RELEVANT: dict[int, tuple[PolicyModel, dict[tuple[frozenset[str], bool], tuple[Rule, ...]]]] = {}
_RELEVANT_MAX = 4096  # label combinations remembered per policy


def _relevant_rules(policy: PolicyModel, labels: frozenset[str], banks: bool) -> tuple[Rule, ...]:
    """The rules whose condition could hold given which labels were found and whether any hash
    matched: the others would be evaluated only to fail (every condition needs a finding or a
    match). Policies are not changed once loaded; a new policy object gets its own entry."""
    if not labels and not banks:
        return ()
    entry = _RELEVANT.get(id(policy))
    if entry is None or entry[0] is not policy:
        if len(_RELEVANT) >= 64:
            _RELEVANT.clear()
        entry = _RELEVANT[id(policy)] = (policy, {})
    known = entry[1]
    key = (labels, banks)
    rules = known.get(key)
    if rules is None:
        if len(known) >= _RELEVANT_MAX:
            known.clear()
        rules = known[key] = tuple(r for r in policy.rules if _could_hold(r.when, labels, banks))
    return rules


def _could_hold(cond: Condition, labels: frozenset[str], banks: bool) -> bool:
    if isinstance(cond, LabelCondition):
        pattern = cond.label.rpartition(":")[2]
        return any(taxonomy.covers(pattern, label) for label in labels)
    if isinstance(cond, BankCondition):
        return banks
    if isinstance(cond, AllCondition):
        return all(_could_hold(c, labels, banks) for c in cond.all)
    assert isinstance(cond, AnyCondition)
    return any(_could_hold(c, labels, banks) for c in cond.any)


def _override(policy: PolicyModel, label: str) -> Override | None:
    if label in policy.overrides:
        return policy.overrides[label]
    category = label.split("/", 1)[0]
    return policy.overrides.get(category)


def _eval(
    cond: Condition,
    policy: PolicyModel,
    findings: Sequence[Finding],
    by_label: dict[str, list[int]],
    hash_matches: Sequence[HashMatch],
) -> _Match | None:
    """Whether a condition holds. ``by_label``: the active findings' indexes, by label."""
    if isinstance(cond, LabelCondition):
        detector, _, pattern = cond.label.rpartition(":")
        matched: list[int] = []
        cap = Action.PASS
        for label, indexes in by_label.items():
            if not taxonomy.covers(pattern, label):
                continue
            override = _override(policy, label)
            threshold = cond.min_score
            label_cap = Action.BLOCK
            if override is not None:
                if override.min_score is not None:
                    threshold = override.min_score
                if override.max_action is not None:
                    label_cap = Action.parse(override.max_action)
            for i in indexes:
                f = findings[i]
                if f.score >= threshold and not (detector and f.detector != detector):
                    matched.append(i)
                    cap = max(cap, label_cap)
        if len(matched) < cond.min_count:
            return None
        return _Match(cap, frozenset(matched), frozenset())
    if isinstance(cond, BankCondition):
        hm = [
            i
            for i, h in enumerate(hash_matches)
            if h.suppressed_by is None
            and (h.bank == cond.bank or cond.bank == "*")
            and (cond.kind is None or h.kind == cond.kind)
            and (cond.max_distance is None or h.distance <= cond.max_distance)
        ]
        return _Match(Action.BLOCK, frozenset(), frozenset(hm)) if hm else None
    if isinstance(cond, AllCondition):
        parts = [_eval(c, policy, findings, by_label, hash_matches) for c in cond.all]
        if any(p is None for p in parts):
            return None
        held = [p for p in parts if p is not None]
        return _Match(
            min(p.cap for p in held),
            frozenset().union(*(p.findings for p in held)),
            frozenset().union(*(p.hash_matches for p in held)),
        )
    assert isinstance(cond, AnyCondition)
    held = [
        p for c in cond.any if (p := _eval(c, policy, findings, by_label, hash_matches)) is not None
    ]
    if not held:
        return None
    return _Match(
        max(p.cap for p in held),
        frozenset().union(*(p.findings for p in held)),
        frozenset().union(*(p.hash_matches for p in held)),
    )


def _auto_reason(labels: tuple[str, ...]) -> str:
    return "content matched " + ", ".join(labels) if labels else "rule matched"
