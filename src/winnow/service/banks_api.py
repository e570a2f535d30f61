"""``/v1/banks``: a tenant's hash banks over HTTP, the same operations as ``winnow bank …``.

A key manages its own tenant's banks only (as it does its policies). Every change is audited with
the key's id as the actor, and reaches every process's lookups within about a second.

- ``GET /v1/banks``, ``POST /v1/banks``: list, create.
- ``GET /v1/banks/{bank}``: settings, counts, busiest and quarantined entries; ``PATCH``: settings.
- ``GET /v1/banks/{bank}/entries``: entries a page at a time; ``POST``: add hashes (JSON) or the
  content itself (multipart ``file`` fields: images give PDQ + MD5, other files MD5 + SHA-256;
  only the hashes are kept). Past scans the new entries match are reported.
- ``POST /v1/banks/{bank}/import``: an exchange's hash list as the raw body (threatexchange,
  GIFCT-style CSV, plain hex, JSON Lines); malformed rows are reported by line, the rest load.
- ``GET /v1/banks/{bank}/export``: the entries in any of those formats, streamed.
- ``PATCH`` / ``DELETE /v1/banks/{bank}/entries/{id}``: enable (lift a quarantine), disable, remove.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from winnow.errors import BankNotFoundError, ContentError
from winnow.hashing.formats import FORMATS, Parsed, RowProblem, detect_format, parse, write
from winnow.hashing.retro import RetroHit, retro_match
from winnow.service import schemas
from winnow.service.core import Service
from winnow.service.deps import ERRORS, JSON, Key, json_response
from winnow.service.limits import ApiError
from winnow.service.records import iso
from winnow.store import ApiKey
from winnow.store.banks import BankStore, NewEntry

BankName = Annotated[str, Path(pattern=schemas.BANK_NAME, description="The bank's name.")]
EntryId = Annotated[int, Path(ge=1, le=2**62, description="An entry's id.")]
MAX_PROBLEMS = 1000
_FORM_FIELDS = ("file", "label", "source", "note", "retroactive")
MAX_RETRO = 1000
_EXPORT_TYPES = {
    "jsonl": "application/x-ndjson",
    "csv": "text/csv",
    "threatexchange": "text/csv",
    "hex": "text/plain",
}
_ENTRIES_BODY = {
    "requestBody": {
        "required": True,
        "description": "Hashes as JSON, or the content to hash as a multipart upload (fields "
        "`file`, repeatable; optional `label` (repeatable), `source`, `note`, `retroactive`).",
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/EntriesIn"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
                        "label": {"type": "array", "items": {"type": "string"}},
                        "source": {"type": "string"},
                        "note": {"type": "string"},
                        "retroactive": {"type": "boolean"},
                    },
                    "required": ["file"],
                }
            },
        },
    }
}
_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A hash list, UTF-8: threatexchange signals, GIFCT-style CSV (hash type, "
        "hash, labels), one hex hash a line, or Winnow's JSON Lines.",
        "content": {t: {"schema": {"type": "string"}} for t in ("text/plain", "text/csv")},
    }
}


def _actor(key: ApiKey) -> str:
    return f"key:{key.id}"


def _bank_body(row: Any, entries: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "name": row["name"],
        "kind": row["kind"],
        "description": row["description"],
        "pdq_threshold": row["pdq_threshold"],
        "pdq_min_quality": row["pdq_min_quality"],
        "flood_limit": row["flood_limit"],
        "suppresses": orjson.loads(row["suppresses"]) if row["suppresses"] else None,
        "entries": entries if entries is not None else row.get("entries", {}),
        "created_at": iso(row["created_at"]),
        "updated_at": iso(row["updated_at"]),
    }


def _entry_body(row: Any) -> dict[str, Any]:
    return {
        "id": row["id"],
        "algorithm": row["algorithm"],
        "value": row["value"],
        "labels": orjson.loads(row["labels"]),
        "source": row["source"],
        "note": row["note"],
        "added_at": iso(row["added_at"]),
        "state": row["state"],
        "state_reason": row["state_reason"],
        "state_changed_at": iso(row["state_changed_at"]),
        "matches": row["matches"],
        "last_matched_at": iso(row["last_matched_at"]),
    }


def _retro_body(hits: list[RetroHit]) -> dict[str, Any]:
    return {
        "matches": len(hits),
        "scans": [
            {
                "scan_id": h.scan_id,
                "name": h.name,
                "action": h.action,
                "scanned_at": iso(h.scanned_at),
                "entry_id": h.entry_id,
                "bank": h.bank,
                "algorithm": h.algorithm,
                "distance": h.distance,
            }
            for h in hits[:MAX_RETRO]
        ],
    }


def _problem_body(p: RowProblem) -> dict[str, Any]:
    return {"line": p.line, "file": None, "message": p.message}


def bank_routes(service: Service) -> APIRouter:
    router = APIRouter(prefix="/v1/banks", tags=["banks"])
    banks = BankStore(service.store)

    def added_body(
        key: ApiKey,
        bank: str,
        entries: list[NewEntry],
        problems: list[dict[str, Any]],
        retroactive: bool,
        fmt: str | None = None,
    ) -> dict[str, Any]:
        result = banks.add_entries(key.tenant_id, bank, entries, actor=_actor(key))
        retro = (
            _retro_body(retro_match(banks, key.tenant_id, result.ids))
            if retroactive and result.ids
            else None
        )
        return {
            "added": result.added,
            "duplicates": result.duplicates,
            "ids": result.ids,
            "malformed": len(problems),
            "problems": problems[:MAX_PROBLEMS],
            "format": fmt,
            "retroactive": retro,
        }

    @router.get("", summary="The tenant's banks", response_model=schemas.BankList, responses=ERRORS)
    def list_banks(key: Key) -> Response:
        return json_response({"banks": [_bank_body(r) for r in banks.list_banks(key.tenant_id)]})

    @router.post(
        "",
        summary="Create a bank",
        status_code=201,
        response_model=schemas.BankSummary,
        responses=ERRORS,
    )
    def create_bank(key: Key, body: schemas.BankCreate) -> Response:
        row = banks.create_bank(
            key.tenant_id,
            body.name,
            body.kind,
            description=body.description,
            pdq_threshold=body.pdq_threshold,
            pdq_min_quality=body.pdq_min_quality,
            flood_limit=body.flood_limit,
            suppresses=body.suppresses,
            actor=_actor(key),
        )
        return json_response(_bank_body(row, {}), 201)

    @router.get(
        "/{bank}",
        summary="A bank's settings, counts, busiest and quarantined entries",
        response_model=schemas.BankStats,
        responses=ERRORS,
    )
    def get_bank(key: Key, bank: BankName) -> Response:
        s = banks.stats(key.tenant_id, bank)
        counts: dict[str, int] = {}
        for states in s["by_algorithm"].values():
            for state, n in states.items():
                counts[state] = counts.get(state, 0) + n
        return json_response(
            {
                "bank": _bank_body(s["bank"], counts),
                "total_entries": s["entries"],
                "by_algorithm": s["by_algorithm"],
                "matches": s["matches"],
                "last_added_at": iso(s["last_added_at"]),
                "last_matched_at": iso(s["last_matched_at"]),
                "busiest": [_entry_body(r) for r in s["busiest"]],
                "quarantined": [_entry_body(r) for r in s["quarantined"]],
            }
        )

    @router.patch(
        "/{bank}",
        summary="Change a bank's settings (lookups use them within a second)",
        response_model=schemas.BankSummary,
        responses=ERRORS,
    )
    def configure_bank(key: Key, bank: BankName, body: schemas.BankUpdate) -> Response:
        row = banks.configure_bank(
            key.tenant_id, bank, actor=_actor(key), **body.model_dump(exclude_unset=True)
        )
        counts: dict[str, int] = next(
            (b["entries"] for b in banks.list_banks(key.tenant_id) if b["name"] == bank), {}
        )
        return json_response(_bank_body(row, counts))

    @router.get(
        "/{bank}/entries",
        summary="A bank's entries, a page at a time (in id order)",
        response_model=schemas.EntryPage,
        responses=ERRORS,
    )
    def list_entries(
        key: Key,
        bank: BankName,
        state: Literal["enabled", "disabled", "quarantined"] | None = None,
        after: Annotated[int, Query(ge=0, le=2**62, description="Entries after this id.")] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        rows: list[Any] = []
        for row in banks.entries(key.tenant_id, bank, state=state, batch=limit + 1, after=after):
            rows.append(row)
            if len(rows) > limit:
                break
        more = len(rows) > limit
        rows = rows[:limit]
        return json_response(
            {
                "entries": [_entry_body(r) for r in rows],
                "next_after": rows[-1]["id"] if more else None,
            }
        )

    @router.post(
        "/{bank}/entries",
        summary="Add hashes, or hash uploaded files into the bank",
        status_code=201,
        openapi_extra=_ENTRIES_BODY,
        responses={
            201: {"model": schemas.EntriesAdded, "description": "What was added."},
            **ERRORS,
        },
    )
    async def add_entries(request: Request, key: Key, bank: BankName) -> Response:
        """Hashes as JSON (`{"entries": [{"algorithm", "value", "labels", "source", "note"}]}`),
        or files as multipart `file` fields: a file that cannot be hashed is listed in
        `problems` and the others are added."""
        await run_in_threadpool(banks.get_bank, key.tenant_id, bank)  # 404 before the upload
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        problems: list[dict[str, Any]] = []
        if ctype == "multipart/form-data":
            entries, problems, retroactive = await _read_upload(request, service)
        elif ctype == JSON:
            body = schemas.EntriesIn.model_validate_json(await request.body())
            retroactive = body.retroactive
            entries = [
                NewEntry(e.algorithm, e.value, tuple(e.labels), e.source, e.note)
                for e in body.entries
            ]
        else:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"send JSON or multipart/form-data here, not {ctype or 'no content type'} "
                "(hash lists go to /v1/banks/{bank}/import)",
            )
        out = await run_in_threadpool(added_body, key, bank, entries, problems, retroactive)
        return json_response(out, 201)

    @router.post(
        "/{bank}/import",
        summary="Import an exchange's hash list",
        openapi_extra=_IMPORT_BODY,
        responses={
            200: {"model": schemas.EntriesAdded, "description": "Counts and malformed rows."},
            **ERRORS,
        },
    )
    async def import_list(
        request: Request,
        key: Key,
        bank: BankName,
        format: Literal["auto", "jsonl", "threatexchange", "csv", "hex"] = "auto",
        algorithm: Annotated[
            Literal["pdq", "md5", "sha256"] | None,
            Query(description="For plain lists of 64 hex digits: pdq or sha256."),
        ] = None,
        source: Annotated[str, Query(max_length=500)] = "",
        label: Annotated[list[str] | None, Query(max_length=100)] = None,
        retroactive: bool = True,
    ) -> Response:
        """Malformed rows are reported by line number (the first 1,000); the valid rows load."""
        await run_in_threadpool(banks.get_bank, key.tenant_id, bank)
        raw = await request.body()
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ApiError(
                422, "invalid_request", f"the hash list is not UTF-8 (byte {exc.start})"
            ) from None
        fmt = detect_format("", text[:4096]) if format == "auto" else format

        def load() -> dict[str, Any]:
            parsed: Parsed = parse(
                io.StringIO(text),
                fmt,
                algorithm=algorithm,
                source=source,
                extra_labels=label or (),
                name="upload",
            )
            problems = [_problem_body(p) for p in parsed.problems]
            return added_body(key, bank, parsed.entries, problems, retroactive, fmt)

        return json_response(await run_in_threadpool(load))

    @router.get(
        "/{bank}/export",
        summary="Export a bank's entries",
        response_class=StreamingResponse,
        responses={
            200: {
                "description": "The entries in the asked format.",
                "content": {t: {} for t in dict.fromkeys(_EXPORT_TYPES.values())},
            },
            **ERRORS,
        },
    )
    def export(
        key: Key,
        bank: BankName,
        format: Literal["jsonl", "threatexchange", "csv", "hex"] = "jsonl",
        state: Literal["enabled", "disabled", "quarantined"] | None = None,
    ) -> StreamingResponse:
        banks.get_bank(key.tenant_id, bank)
        assert format in FORMATS

        def chunks() -> Iterator[bytes]:
            rows: list[Any] = []
            first = True
            for row in banks.entries(key.tenant_id, bank, state=state):
                rows.append(row)
                if len(rows) == 5000:
                    yield _chunk(rows, format, bank, first)
                    rows, first = [], False
            if rows or first:
                yield _chunk(rows, format, bank, first)

        filename = f"{bank}.{'jsonl' if format == 'jsonl' else 'txt' if format == 'hex' else 'csv'}"
        return StreamingResponse(
            chunks(),
            media_type=_EXPORT_TYPES[format],
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )

    @router.patch(
        "/{bank}/entries/{entry_id}",
        summary="Enable (lift a quarantine) or disable an entry",
        response_model=schemas.BankEntry,
        responses=ERRORS,
    )
    def set_entry(
        key: Key, bank: BankName, entry_id: EntryId, body: schemas.EntryUpdate
    ) -> Response:
        reason = body.reason or ("disabled through the API" if body.state == "disabled" else None)
        n = banks.set_state(key.tenant_id, bank, [entry_id], body.state, reason, actor=_actor(key))
        if n == 0:
            raise BankNotFoundError(f"bank {bank!r} has no entry {entry_id}")
        return json_response(_entry_body(banks.entries_by_id(key.tenant_id, [entry_id])[entry_id]))

    @router.delete(
        "/{bank}/entries/{entry_id}",
        summary="Remove an entry",
        status_code=204,
        responses=ERRORS,
    )
    def remove_entry(key: Key, bank: BankName, entry_id: EntryId) -> Response:
        if banks.remove_entries(key.tenant_id, bank, ids=[entry_id], actor=_actor(key)) == 0:
            raise BankNotFoundError(f"bank {bank!r} has no entry {entry_id}")
        return Response(status_code=204)

    return router


def _chunk(rows: list[Any], fmt: str, bank: str, header: bool) -> bytes:
    out = io.StringIO()
    write(rows, fmt, out, bank, header=header)
    return out.getvalue().encode()


def _hash_upload(
    service: Service, data: bytes, labels: tuple[str, ...], source: str, note: Any
) -> list[NewEntry]:
    from winnow.hashing.local import bank_entries_for

    return bank_entries_for(
        data,
        labels,
        source,
        str(note) if note is not None else None,
        service.engines.default_engine().settings.image,
    )


async def _read_upload(
    request: Request, service: Service
) -> tuple[list[NewEntry], list[dict[str, Any]], bool]:
    """The entries for a multipart upload's files, the files that could not be hashed, and
    whether to match past scans."""
    form = await request.form(max_files=1000, max_fields=1000)
    try:
        files = [v for k, v in form.multi_items() if k == "file" and isinstance(v, UploadFile)]
        if not files:
            raise ApiError(422, "invalid_request", "the upload has no 'file' field")
        unknown = sorted({k for k in form if k not in _FORM_FIELDS})
        if unknown:
            raise ApiError(422, "invalid_request", f"unknown form fields: {', '.join(unknown)}")
        labels = tuple(str(v) for v in form.getlist("label"))
        source = str(form.get("source") or "")
        note = form.get("note")
        retroactive = str(form.get("retroactive", "true")).lower() not in ("false", "0", "no")
        entries: list[NewEntry] = []
        problems: list[dict[str, Any]] = []
        for f in files:
            data = await f.read()
            name = f.filename or "upload"
            try:
                entries.extend(
                    await run_in_threadpool(
                        _hash_upload, service, data, labels, source or name, note
                    )
                )
            except ContentError as exc:
                problems.append({"line": None, "file": name, "message": exc.message})
        return entries, problems, retroactive
    finally:
        await form.close()
