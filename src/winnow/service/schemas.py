"""The API's request and response bodies, as pydantic models: they validate requests and are the
OpenAPI document's schemas. Unknown fields are refused, so a misspelt option is an error."""

from __future__ import annotations

from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

POLICY_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
POLICY_SPEC = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@[0-9]{1,9})?$"


def check_webhook_url(url: str) -> str:
    """An absolute http(s) URL with a host, or ValueError saying what is wrong."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError) as exc:
        raise ValueError(f"webhook_url is not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("webhook_url must be an absolute http:// or https:// URL with a host")
    return url


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BatchItem(_Strict):
    text: str = Field(description="The text to moderate.")
    id: str | None = Field(None, max_length=500, description="Your id for the item, echoed back.")


class ScanRequest(_Strict):
    """One text, one file as base64, or a batch of texts; exactly one of the three."""

    text: str | None = Field(None, description="A text to moderate.")
    data_base64: str | None = Field(
        None, description="A file (image, text) as standard base64; its type is sniffed."
    )
    items: list[BatchItem] | None = Field(
        None, min_length=1, description="A batch of texts, answered in order."
    )
    name: str | None = Field(None, max_length=500, description="A file name or id, stored.")
    policy: str | None = Field(
        None,
        pattern=POLICY_SPEC,
        description="Policy to apply: 'name' (newest version) or 'name@N'. Default: the key's, "
        "else 'default'.",
    )
    async_: bool = Field(
        False, alias="async", description="Answer 202 with a job id at once instead of waiting."
    )
    webhook_url: str | None = Field(
        None,
        max_length=2000,
        pattern=r"^https?://[^\s]+$",
        description="POST the finished job here, signed (makes the scan a job).",
    )

    @field_validator("webhook_url")
    @classmethod
    def _webhook(cls, value: str | None) -> str | None:
        return None if value is None else check_webhook_url(value)

    @model_validator(mode="after")
    def _one_input(self) -> ScanRequest:
        given = [n for n in ("text", "data_base64", "items") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of 'text', 'data_base64' or 'items'"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class ScanResult(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    name: str | None = None
    verdict: dict[str, Any] | None = Field(
        None, description="Action, rule hits, findings, content hashes, timings."
    )
    error: dict[str, Any] | None = None
    links: dict[str, str] | None = None


class BatchResult(BaseModel):
    results: list[ScanResult]


class ScanRecord(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed"]
    name: str | None
    created_at: str
    finished_at: str | None
    verdict: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    webhook: dict[str, Any] | None = None


class ScanList(BaseModel):
    scans: list[ScanRecord]


class Delivery(BaseModel):
    attempt: int
    url: str
    status_code: int | None
    error: str | None
    duration_ms: float
    at: str


class DeliveryList(BaseModel):
    state: str | None
    deliveries: list[Delivery]


class AuditEntry(BaseModel):
    id: int
    event: str
    scan_id: str | None
    action: str | None
    actor: str
    detail: dict[str, Any]
    at: str


class AuditList(BaseModel):
    entries: list[AuditEntry]


class PolicySummary(BaseModel):
    name: str
    version: int | None
    versions: int
    digest: str
    builtin: bool
    created_at: str | None


class PolicyList(BaseModel):
    policies: list[PolicySummary]


class PolicyDocument(BaseModel):
    name: str
    version: int | None
    digest: str
    builtin: bool
    source: str


class PolicyStored(BaseModel):
    name: str
    version: int
    digest: str
    created: bool


class ErrorDetail(BaseModel):
    code: str
    message: str
    model_config = ConfigDict(extra="allow")


class ErrorBody(BaseModel):
    error: ErrorDetail


# -- OpenAI-compatible moderation ----------------------------------------------------------------


class ImageURL(_Strict):
    url: str = Field(description="A data: URL (data:image/png;base64,…). Winnow fetches nothing.")


class TextPart(_Strict):
    type: Literal["text"]
    text: str


class ImagePart(_Strict):
    type: Literal["image_url"]
    image_url: ImageURL


class ModerationRequest(BaseModel):
    """OpenAI's moderation request. ``model`` is accepted and echoed; Winnow's policy decides."""

    model_config = ConfigDict(extra="forbid")
    input: str | list[str] | list[TextPart | ImagePart] = Field(min_length=1)
    model: str | None = Field(None, max_length=200)
    policy: str | None = Field(None, pattern=POLICY_SPEC, description="Winnow policy (extension).")


class ModerationResult(BaseModel):
    flagged: bool
    categories: dict[str, bool]
    category_scores: dict[str, float]
    category_applied_input_types: dict[str, list[str]]
    winnow: dict[str, Any] = Field(description="Winnow's verdicts: action, rule hits, findings.")


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]
