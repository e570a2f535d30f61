"""Load a policy file, validate it, and report every problem with its file, line and column."""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from winnow.detectors.base import Detector
from winnow.errors import PolicyError, PolicyProblem
from winnow.plugins import Registry, default_registry
from winnow.policy.model import FIELD_NAMES, PolicyModel

Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class DetectorSetup:
    cls: type[Detector]
    config: Any  # the detector's validated Config instance


@dataclass(frozen=True)
class Policy:
    """A validated policy with the detectors it runs, each with its validated config."""

    model: PolicyModel
    source: str
    digest: str
    detectors: tuple[DetectorSetup, ...]

    @property
    def name(self) -> str:
        return self.model.name

    @property
    def ref(self) -> str:
        """Name and content digest: which policy, exactly, produced a verdict."""
        return f"{self.model.name}@{self.digest[:12]}"


def default_policy_text() -> str:
    return (resources.files("winnow.policy") / "default.yaml").read_text(encoding="utf-8")


def load_default_policy(registry: Registry | None = None) -> Policy:
    return parse_policy(default_policy_text(), "default.yaml", registry=registry)


def load_policy(path: str | Path, registry: Registry | None = None) -> Policy:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([PolicyProblem(str(p), None, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([PolicyProblem(str(p), None, None, "", f"cannot read: {exc}")]) from None
    return parse_policy(text, str(p), registry=registry)


def parse_policy(text: str, source: str, registry: Registry | None = None) -> Policy:
    registry = registry or default_registry()
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([PolicyProblem(source, line, col, "", f"invalid YAML: {what}")]) from None
    if not isinstance(data, dict):
        raise PolicyError(
            [PolicyProblem(source, 1, 1, "", "a policy is a mapping with at least 'name'")]
        )
    marks: dict[Path_, tuple[int, int]] = {}
    problems: list[PolicyProblem] = []
    if root is not None:
        for path, node, duplicate in _walk(root, ()):
            marks.setdefault(path, (node.start_mark.line + 1, node.start_mark.column + 1))
            if duplicate:
                line, col = node.start_mark.line + 1, node.start_mark.column + 1
                problems.append(
                    PolicyProblem(source, line, col, _fmt(path), f"duplicate key {path[-1]!r}")
                )

    def problem(loc: Path_, message: str) -> PolicyProblem:
        found: Path_ = ()
        for elem in loc:
            if (*found, elem) in marks:
                found = (*found, elem)
        line, col = marks.get(found, (None, None))
        return PolicyProblem(source, line, col, _fmt(found), message)

    model: PolicyModel | None = None
    try:
        model = PolicyModel.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _without_union_tags(tuple(err["loc"]))
            problems.append(problem(loc, _message(err, loc)))
    setups: list[DetectorSetup] = []
    if model is not None:
        problems.extend(_check_names(model, problem, registry))
        setups = _detector_setups(model, problem, registry, problems)
    if problems:
        raise PolicyError(sorted(problems, key=lambda p: (p.line or 0, p.column or 0)))
    assert model is not None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return Policy(model, source, digest, tuple(setups))


def _walk(node: yaml.Node, path: Path_) -> Iterator[tuple[Path_, yaml.Node, bool]]:
    yield path, node, False
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            yield from _walk(value_node, (*path, key))
            if key in seen:
                yield (*path, key), key_node, True
            seen.add(key)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            yield from _walk(item, (*path, i))


def _fmt(path: Path_) -> str:
    out = ""
    for elem in path:
        out += f"[{elem}]" if isinstance(elem, int) else (f".{elem}" if out else str(elem))
    return out


_CONDITION_TAGS = ("label", "bank", "all", "any")


def _without_union_tags(loc: Path_) -> Path_:
    """Drop the tag pydantic adds inside a condition's location (``when.label.min_score``)."""
    out: list[str | int] = []
    for i, elem in enumerate(loc):
        at_condition = bool(out) and (
            out[-1] == "when"
            or (isinstance(out[-1], int) and len(out) > 1 and out[-2] in ("all", "any"))
        )
        if at_condition and elem in _CONDITION_TAGS and i + 1 < len(loc):
            continue
        out.append(elem)
    return tuple(out)


def _message(err: Any, loc: Path_, fields: frozenset[str] = FIELD_NAMES) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        close = difflib.get_close_matches(key, fields, n=1, cutoff=0.6)
        return f"unknown field {key!r}" + (f"; did you mean {close[0]!r}?" if close else "")
    if kind == "missing":
        return f"missing required field {str(loc[-1])!r}"
    msg = str(err["msg"])
    msg = msg.removeprefix("Value error, ")
    if kind in ("literal_error", "enum"):
        return f"{msg} (got {err.get('input')!r})"
    return msg


def _check_names(model: PolicyModel, problem: Any, registry: Registry) -> list[PolicyProblem]:
    out: list[PolicyProblem] = []
    seen: dict[str, int] = {}
    detectors = registry.detectors()
    for i, rule in enumerate(model.rules):
        if rule.name in seen:
            out.append(problem(("rules", i, "name"), f"rule name {rule.name!r} is used twice"))
        seen[rule.name] = i
        for path, label in _labels(rule.when, ("rules", i, "when")):
            detector, sep, _ = label.rpartition(":")
            if sep and detector not in detectors:
                out.append(problem(path, _unknown_detector(detector, detectors)))
    return out


def _labels(cond: Any, path: Path_) -> Iterator[tuple[Path_, str]]:
    if hasattr(cond, "label"):
        yield (*path, "label"), cond.label
    for key in ("all", "any"):
        for i, child in enumerate(getattr(cond, key, None) or []):
            yield from _labels(child, (*path, key, i))


def _unknown_detector(name: str, detectors: dict[str, type[Detector]]) -> str:
    close = difflib.get_close_matches(name, list(detectors), n=1, cutoff=0.6)
    known = ", ".join(detectors)
    did = f"; did you mean {close[0]!r}?" if close else f" (registered: {known})"
    return f"unknown detector {name!r}{did}"


def _detector_setups(
    model: PolicyModel, problem: Any, registry: Registry, problems: list[PolicyProblem]
) -> list[DetectorSetup]:
    detectors = registry.detectors()
    for name in model.detectors:
        if name not in detectors:
            problems.append(problem(("detectors", name), _unknown_detector(name, detectors)))
    setups = []
    for name, cls in detectors.items():
        raw = dict(model.detectors.get(name) or {})
        enabled = raw.pop("enabled", cls.enabled_by_default)
        if not isinstance(enabled, bool):
            problems.append(
                problem(("detectors", name, "enabled"), "enabled must be true or false")
            )
            continue
        if not enabled:
            continue
        try:
            config = cls.Config.model_validate(raw)
        except ValidationError as exc:
            fields = frozenset(cls.Config.model_fields) | {"enabled"}
            for err in exc.errors():
                loc = ("detectors", name, *err["loc"])
                problems.append(problem(loc, _message(err, loc, fields)))
            continue
        setups.append(DetectorSetup(cls, config))
    return setups
