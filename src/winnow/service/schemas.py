"""The API's request and response bodies, as pydantic models: they validate requests and are the
OpenAPI document's schemas. Unknown fields are refused, so a misspelt option is an error."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from winnow.store.banks import BANK_NAME, MAX_FLOOD_LIMIT

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


# -- hash banks ------------------------------------------------------------------------------------

BankKind = Literal["block", "review", "allow", "negative"]
HashAlgorithm = Literal["pdq", "md5", "sha256"]
BankRef = Annotated[str, Field(pattern=BANK_NAME)]


class BankCreate(_Strict):
    name: str = Field(pattern=BANK_NAME, description="1-64 lowercase letters, digits, _ . -")
    kind: BankKind = Field(
        description="block/review: what a match does; allow: known good, never flagged; "
        "negative: cancels other banks' matches."
    )
    description: str = Field("", max_length=2000)
    pdq_threshold: int = Field(31, ge=0, le=128, description="Largest PDQ distance that matches.")
    pdq_min_quality: int = Field(
        50, ge=0, le=100, description="Content of lower PDQ quality is not matched by PDQ."
    )
    flood_limit: int = Field(
        100,
        ge=1,
        le=MAX_FLOOD_LIMIT,
        description="An entry matching more items within an hour is quarantined.",
    )
    suppresses: list[BankRef] | None = Field(
        None,
        max_length=1000,
        description="Negative banks: the banks whose matches this one cancels (default: all).",
    )


class BankUpdate(_Strict):
    kind: BankKind | None = None
    description: str | None = Field(None, max_length=2000)
    pdq_threshold: int | None = Field(None, ge=0, le=128)
    pdq_min_quality: int | None = Field(None, ge=0, le=100)
    flood_limit: int | None = Field(None, ge=1, le=MAX_FLOOD_LIMIT)
    suppresses: list[BankRef] | None = Field(None, max_length=1000)


class BankSummary(BaseModel):
    name: str
    kind: BankKind
    description: str
    pdq_threshold: int
    pdq_min_quality: int
    flood_limit: int
    suppresses: list[str] | None
    entries: dict[str, int] = Field(description="Entry counts by state.")
    created_at: str | None
    updated_at: str | None


class BankList(BaseModel):
    banks: list[BankSummary]


class BankEntry(BaseModel):
    id: int
    algorithm: HashAlgorithm
    value: str
    labels: list[str]
    source: str
    note: str | None
    added_at: str | None
    state: Literal["enabled", "disabled", "quarantined"]
    state_reason: str | None
    state_changed_at: str | None
    matches: int
    last_matched_at: str | None


class BankStats(BaseModel):
    bank: BankSummary
    total_entries: int
    by_algorithm: dict[str, dict[str, int]]
    matches: int
    last_added_at: str | None
    last_matched_at: str | None
    busiest: list[BankEntry]
    quarantined: list[BankEntry] = Field(
        description="Set aside by flood protection, pending review."
    )


class EntryPage(BaseModel):
    entries: list[BankEntry]
    next_after: int | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )


class EntryIn(_Strict):
    algorithm: HashAlgorithm
    value: str = Field(max_length=64, description="The hash in hex.")
    labels: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=100
    )
    source: str = Field("", max_length=500)
    note: str | None = Field(None, max_length=2000)


class EntriesIn(_Strict):
    entries: list[EntryIn] = Field(min_length=1, max_length=10_000)
    retroactive: bool = Field(True, description="Report past scans the new entries match.")


class EntryUpdate(_Strict):
    state: Literal["enabled", "disabled"] = Field(
        description="enabled (also lifts a quarantine after review) or disabled."
    )
    reason: str | None = Field(None, max_length=500)


class RetroScan(BaseModel):
    scan_id: str
    name: str | None
    action: str | None
    scanned_at: str | None
    entry_id: int
    bank: str
    algorithm: str
    distance: int


class Retroactive(BaseModel):
    matches: int = Field(description="Past scans matching the new entries (all of them).")
    scans: list[RetroScan] = Field(description="The first 1,000.")


class RowProblemBody(BaseModel):
    line: int | None = Field(description="Line of the file (null: an uploaded file, by name).")
    file: str | None = None
    message: str


class EntriesAdded(BaseModel):
    added: int
    duplicates: int = Field(description="Already in the bank; not added again.")
    ids: list[int]
    malformed: int = Field(description="Rows or files that could not be used; see problems.")
    problems: list[RowProblemBody] = Field(description="The first 1,000 problems.")
    format: str | None = None
    retroactive: Retroactive | None = None


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
