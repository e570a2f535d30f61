"""The policy as data: rules over labels and hash-bank matches, per-label overrides, allow-lists.

A condition is one of::

    {label: hate/slur, min_score: 0.8, min_count: 1}   findings of a label (or a whole category,
                                                       or one detector's: lexicon:hate/slur)
    {bank: terror-hashes, max_distance: 20}            a hash-bank match (distance: PDQ bits)
    {bank: "*", kind: block}                           a match in any bank of that kind
    {all: [cond, ...]}                                 every condition holds
    {any: [cond, ...]}                                 at least one holds

There is deliberately no ``not``: with only these, raising a score can never lower the action.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from winnow import taxonomy
from winnow.taxonomy import DsaCategory

ActionName = Literal["pass", "review", "block"]
RULE_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_label_pattern(value: str) -> str:
    detector, sep, label = value.rpartition(":")
    if sep and not detector:
        raise ValueError(f"{value!r}: a detector name is missing before ':'")
    if not taxonomy.is_label_pattern(label):
        hint = taxonomy.suggest(label)
        did = f"; did you mean {hint!r}?" if hint else ""
        raise ValueError(f"unknown label {label!r}{did}")
    return value


class LabelCondition(_Model):
    label: str = Field(description="A label, a category, or detector:label")
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    min_count: int = Field(1, ge=1)

    _label = field_validator("label")(classmethod(lambda cls, v: _check_label_pattern(v)))


class BankCondition(_Model):
    bank: str = Field(min_length=1, description="A bank's name, or * for every bank")
    kind: Literal["block", "review", "allow", "negative"] | None = Field(
        None, description="Only banks of this kind"
    )
    max_distance: int | None = Field(None, ge=0)


class AllCondition(_Model):
    all: list[Condition] = Field(min_length=1)


class AnyCondition(_Model):
    any: list[Condition] = Field(min_length=1)


def _condition_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        for key in ("label", "bank", "all", "any"):
            if key in value:
                return key
        return None
    if isinstance(value, BaseModel):
        return {
            LabelCondition: "label",
            BankCondition: "bank",
            AllCondition: "all",
            AnyCondition: "any",
        }.get(type(value))
    return None


Condition = Annotated[
    Annotated[LabelCondition, Tag("label")]
    | Annotated[BankCondition, Tag("bank")]
    | Annotated[AllCondition, Tag("all")]
    | Annotated[AnyCondition, Tag("any")],
    Discriminator(
        _condition_kind,
        custom_error_type="invalid_condition",
        custom_error_message="a condition needs one of the keys label, bank, all or any",
    ),
]

AllCondition.model_rebuild()
AnyCondition.model_rebuild()


class Rule(_Model):
    name: str = Field(pattern=RULE_NAME)
    when: Condition
    action: Literal["review", "block"]
    reason: str | None = Field(None, description="Shown to moderators and in statements of reasons")
    dsa_category: DsaCategory | None = None


class Override(_Model):
    """Per-label adjustments that apply to every rule."""

    min_score: float | None = Field(None, ge=0.0, le=1.0)
    max_action: ActionName | None = None
    disabled: bool = False


class Allow(_Model):
    terms: list[str] = Field(default_factory=list)


class PolicyModel(_Model):
    winnow_policy: Literal[1] = Field(1, description="Policy format version")
    name: str = Field(min_length=1, max_length=100)
    description: str = ""
    on_detector_failure: ActionName = "review"
    detectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    rules: list[Rule] = Field(default_factory=list)
    overrides: dict[str, Override] = Field(default_factory=dict)
    allow: Allow = Field(default_factory=Allow)

    @field_validator("overrides")
    @classmethod
    def _override_labels(cls, value: dict[str, Override]) -> dict[str, Override]:
        for label in value:
            _check_label_pattern(label)
        return value


FIELD_NAMES: frozenset[str] = frozenset(
    name
    for model in (LabelCondition, BankCondition, Rule, Override, Allow, PolicyModel)
    for name in model.model_fields
) | {"all", "any", "enabled"}
