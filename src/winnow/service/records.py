"""What the service stores and returns for a scan: rows from verdicts, response bodies from rows."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Any

import orjson

from winnow.errors import LimitExceededError, WinnowError
from winnow.serialize import verdict_to_dict
from winnow.types import Verdict


def new_scan_id() -> str:
    return "scn_" + secrets.token_hex(12)


def verdict_fields(verdict: Verdict, verdict_json: str | None = None) -> dict[str, Any]:
    """The columns of a finished scan: hashes and action for querying, the verdict as JSON."""
    content = verdict.content
    hashes = {
        h.algorithm: h.value
        for h in content.hashes
        if h.frame in (None, 0) and h.variant is None  # the content as sent
    }
    if verdict_json is None:
        verdict_json = orjson.dumps(verdict_to_dict(verdict)).decode()
    return {
        "status": "done",
        "kind": content.kind.value,
        "media_type": content.media_type,
        "sha256": content.sha256,
        "md5": hashes.get("md5"),
        "pdq": hashes.get("pdq"),
        "action": verdict.action.label,
        "policy_ref": verdict.policy,
        "verdict": verdict_json,
    }


def error_fields(error: WinnowError) -> dict[str, Any]:
    return {"status": "failed", "error_code": error.code, "error_message": error.message}


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """The one shape of every error the API returns."""
    return {"error": {"code": code, "message": message, **extra}}


def winnow_error_body(error: WinnowError, **extra: Any) -> dict[str, Any]:
    """A WinnowError as an API error; a broken limit also names the limit and its maximum."""
    if isinstance(error, LimitExceededError):
        extra = {"limit": error.limit, "maximum": error.maximum, **extra}
    return error_body(error.code, error.message, **extra)


def scan_body(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A stored scan as the API returns it (and webhooks send it)."""
    body: dict[str, Any] = {
        "id": row["id"],
        "status": row["status"],
        "name": row["name"],
        "created_at": iso(row["created_at"]),
        "finished_at": iso(row["finished_at"]),
    }
    if row["status"] == "done" and row["verdict"]:
        body["verdict"] = orjson.loads(row["verdict"])
    if row["status"] == "failed":
        body["error"] = {"code": row["error_code"], "message": row["error_message"]}
    if row["webhook_url"]:
        body["webhook"] = {
            "url": row["webhook_url"],
            "state": row["webhook_state"] or "waiting",
            "attempts": row["webhook_attempts"],
        }
    return body


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"
