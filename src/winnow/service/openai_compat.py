"""``POST /v1/moderations``, answering like OpenAI's moderation endpoint.

The official ``openai`` package works unchanged: ``OpenAI(base_url="http://winnow:8000/v1",
api_key=<Winnow key>).moderations.create(input=…)``. Inputs: a string, a list of strings (one
result each), or a list of text and ``image_url`` parts (one result for them all, as OpenAI does).
Images must be ``data:`` URLs: Winnow never fetches anything.

Scores come from Winnow's findings through the taxonomy's OpenAI mapping (the strongest finding per
category); a category is flagged when a policy rule that reviews or blocks rests on such a finding;
``flagged`` is true when the policy's action is review or block. Each result carries Winnow's own
verdicts in the extra field ``winnow`` (``result.model_extra["winnow"]`` in the ``openai`` package).
Every scan is recorded and audited like any other.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from winnow import taxonomy
from winnow.service import schemas
from winnow.service.core import Item, Outcome, Service
from winnow.service.deps import Key
from winnow.service.limits import ApiError
from winnow.types import Action

CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
# The categories OpenAI scores for images; the others apply to text only.
IMAGE_CATEGORIES = frozenset(
    ("self-harm", "self-harm/intent", "self-harm/instructions", "sexual", "violence",
     "violence/graphic")
)  # fmt: skip
MODEL = "winnow"


def _data_url(url: str, index: int) -> bytes:
    if not url.startswith("data:"):
        raise ApiError(
            422,
            "invalid_request",
            f"input[{index}].image_url.url must be a data: URL (data:image/png;base64,…); "
            "Winnow never downloads anything",
        )
    header, sep, payload = url[5:].partition(",")
    if not sep or not header.endswith(";base64"):
        raise ApiError(
            422, "invalid_request", f"input[{index}].image_url.url must be a base64 data: URL"
        )
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(
            422, "invalid_request", f"input[{index}].image_url.url is not valid base64"
        ) from None


def _result(parts: list[tuple[str, int, Outcome]]) -> dict[str, Any]:
    scores = dict.fromkeys(CATEGORIES, 0.0)
    flagged: set[str] = set()
    applied: dict[str, list[str]] = {c: [] for c in CATEGORIES}
    action = Action.PASS
    scans = []
    for kind, index, outcome in parts:
        verdict = outcome.verdict
        assert verdict is not None
        assert outcome.verdict_json is not None
        action = max(action, verdict.action)
        acting = {i for hit in verdict.rule_hits if hit.action > Action.PASS for i in hit.findings}
        for i, finding in enumerate(verdict.findings):
            for category in taxonomy.openai_categories(finding.label):
                if category not in scores:
                    continue
                scores[category] = max(scores[category], round(finding.score, 6))
                if i in acting:
                    flagged.add(category)
        for category in CATEGORIES:
            if (kind == "text" or category in IMAGE_CATEGORIES) and kind not in applied[category]:
                applied[category].append(kind)
        scans.append(
            {
                "id": outcome.id,
                "input": index,
                "type": kind,
                "verdict": orjson.Fragment(outcome.verdict_json),
            }
        )
    return {
        "flagged": action > Action.PASS,
        "categories": {c: c in flagged for c in CATEGORIES},
        "category_scores": scores,
        "category_applied_input_types": applied,
        "winnow": {"action": action.label, "scans": scans},
    }


def moderation_routes(service: Service) -> APIRouter:
    router = APIRouter(tags=["compatible"])

    @router.post(
        "/v1/moderations",
        summary="OpenAI-compatible moderation",
        response_model=schemas.ModerationResponse,
        responses={
            401: {"model": schemas.ErrorBody, "description": "Missing or invalid API key."},
            413: {"model": schemas.ErrorBody, "description": "A limit was broken."},
            415: {"model": schemas.ErrorBody, "description": "Unsupported media."},
            422: {"model": schemas.ErrorBody, "description": "Invalid request or content."},
            429: {"model": schemas.ErrorBody, "description": "Over the key's rate limit."},
        },
    )
    async def moderations(request: Request, key: Key, body: schemas.ModerationRequest) -> Response:
        """Same request and response as OpenAI's `/v1/moderations`; `model` is echoed, the
        policy (`policy`, or the key's) decides. Winnow's verdicts are in each result's
        `winnow` field."""
        groups: list[list[tuple[str, int, Item]]]
        if isinstance(body.input, str):
            groups = [[("text", 0, Item(text=body.input))]]
        elif all(isinstance(x, str) for x in body.input):
            groups = [[("text", i, Item(text=str(x)))] for i, x in enumerate(body.input)]
        else:
            group = []
            for i, part in enumerate(body.input):
                if isinstance(part, schemas.TextPart):
                    group.append(("text", i, Item(text=part.text)))
                elif isinstance(part, schemas.ImagePart):
                    group.append(("image", i, Item(data=_data_url(part.image_url.url, i))))
            groups = [group]
        flat = [entry for group in groups for entry in group]
        limit = service.settings.max_batch_items
        if len(flat) > limit:
            raise ApiError(
                413,
                "limit_exceeded",
                f"input has {len(flat):,} items, over the limit of {limit:,} "
                "(setting: WINNOW_MAX_BATCH_ITEMS)",
                limit="max_batch_items",
                maximum=limit,
            )
        outcomes = await service.scan_now(key, [item for _, _, item in flat], body.policy)
        for (_, index, _), outcome in zip(flat, outcomes, strict=True):
            if outcome.error is not None:
                raise ApiError(
                    outcome.error.http_status,
                    outcome.error.code,
                    f"input[{index}]: {outcome.error.message}",
                    scan_id=outcome.id,
                )
        results = []
        position = 0
        for group in groups:
            parts = [
                (kind, index, outcomes[position + j]) for j, (kind, index, _) in enumerate(group)
            ]
            position += len(group)
            results.append(_result(parts))
        request.state.kind = "image" if any(k == "image" for k, _, _ in flat) else "text"
        response = {
            "id": "modr-" + secrets.token_hex(12),
            "model": body.model or MODEL,
            "results": results,
        }
        return Response(orjson.dumps(response), media_type="application/json")

    return router
