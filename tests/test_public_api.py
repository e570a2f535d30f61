"""The public API is curated: this test pins it, so a change to it is a decision, not an accident."""

from __future__ import annotations

import os
import subprocess
import sys

import winnow

PUBLIC = [
    "Action", "ConfigError", "Content", "ContentError", "DecodeError", "DetectorError",
    "DetectorFailure", "Engine", "EngineSettings", "Finding", "HashMatch", "LimitExceededError",
    "Policy", "PolicyError", "Region", "RuleHit", "Span", "StorageError", "TimeRange",
    "UnsupportedMediaError", "Verdict", "WinnowError", "__version__", "load_default_policy",
    "load_policy", "parse_policy", "redact_text", "verdict_to_dict",
]  # fmt: skip


def test_public_api_is_pinned() -> None:
    assert sorted(winnow.__all__) == sorted(PUBLIC)
    assert all(hasattr(winnow, name) for name in PUBLIC)


def test_importing_winnow_disables_onnxruntime_telemetry_and_loads_nothing_heavy() -> None:
    code = (
        "import os, sys; os.environ.pop('ORT_DISABLE_TELEMETRY', None); import winnow; "
        "print(os.environ['ORT_DISABLE_TELEMETRY'], 'jieba' in sys.modules, "
        "'py3langid' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert out.stdout.split() == ["1", "False", "False"]
