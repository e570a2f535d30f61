"""Verdicts as JSON-ready dicts: the one shape the CLI prints and the API returns."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import Enum
from typing import Any

from winnow.types import Action, Region, Span, TimeRange, Verdict


def to_jsonable(value: Any) -> Any:
    if isinstance(value, Action):
        return value.label
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Span | Region | TimeRange):
        kind = {Span: "span", Region: "region", TimeRange: "time"}[type(value)]
        return {"type": kind, **{f.name: getattr(value, f.name) for f in dataclasses.fields(value)}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def verdict_to_dict(verdict: Verdict) -> dict[str, Any]:
    out = to_jsonable(verdict)
    assert isinstance(out, dict)
    return out
