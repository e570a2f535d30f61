"""Winnow: self-hosted content moderation.

The public API::

    from winnow import Engine, Content, load_policy

    engine = Engine()                       # default policy
    verdict = engine.scan("some user text")
    verdict.action                          # Action.PASS / REVIEW / BLOCK
    verdict.rule_hits                       # why
"""

import os

# onnxruntime sends telemetry unless this is set before it is imported; Winnow's image detectors
# use it, so the package sets it first. The only thing importing Winnow does to the process.
os.environ["ORT_DISABLE_TELEMETRY"] = "1"  # Winnow sends nothing out, whatever the caller set

from winnow._version import __version__
from winnow.engine import Engine, EngineSettings
from winnow.errors import (
    ConfigError,
    ContentError,
    DecodeError,
    DetectorError,
    LimitExceededError,
    PolicyError,
    StorageError,
    UnsupportedMediaError,
    WinnowError,
)
from winnow.policy.loader import Policy, load_default_policy, load_policy, parse_policy
from winnow.redact import redact_text
from winnow.serialize import verdict_to_dict
from winnow.types import (
    Action,
    Content,
    DetectorFailure,
    Finding,
    HashMatch,
    Region,
    RuleHit,
    Span,
    TimeRange,
    Verdict,
)

__all__ = [
    "Action",
    "ConfigError",
    "Content",
    "ContentError",
    "DecodeError",
    "DetectorError",
    "DetectorFailure",
    "Engine",
    "EngineSettings",
    "Finding",
    "HashMatch",
    "LimitExceededError",
    "Policy",
    "PolicyError",
    "Region",
    "RuleHit",
    "Span",
    "StorageError",
    "TimeRange",
    "UnsupportedMediaError",
    "Verdict",
    "WinnowError",
    "__version__",
    "load_default_policy",
    "load_policy",
    "parse_policy",
    "redact_text",
    "verdict_to_dict",
]
