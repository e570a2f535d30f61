"""The HTTP API (FastAPI). ``winnow serve`` runs it; :func:`create_app` builds it for tests.

Every route but ``/healthz``, ``/readyz`` and ``/metrics`` needs an API key
(``Authorization: Bearer <key>``, made by ``winnow key create``), and sees only its tenant's
scans, policies and audit log. Every error is ``{"error": {"code", "message", …}}`` with a 4xx
status that names the problem; a 5xx is a bug.
"""

from __future__ import annotations

import base64
import binascii
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.routing import Match

from winnow._version import __version__
from winnow.errors import PolicyError, WinnowError, http_status
from winnow.policy.loader import default_policy_text, parse_policy
from winnow.service import schemas
from winnow.service.core import Item, Outcome, Service
from winnow.service.deps import ERRORS, JSON, Key, json_response
from winnow.service.engines import DEFAULT, split_policy_ref
from winnow.service.limits import ApiError, BodyLimit
from winnow.service.records import error_body, iso, scan_body, winnow_error_body
from winnow.service.settings import Settings
from winnow.store import ApiKey

log = logging.getLogger("winnow.api")

ScanId = Annotated[str, Path(max_length=40, description="A scan id (scn_…).")]
PolicyName = Annotated[str, Path(pattern=schemas.POLICY_NAME, description="Policy name.")]


def create_app(settings: Settings | None = None, *, warm_up: bool = True) -> FastAPI:
    service = Service(settings or Settings.from_env(), warm_up=warm_up)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(service.start)
        try:
            yield
        finally:
            await run_in_threadpool(service.stop)

    app = FastAPI(
        title="Winnow",
        version=__version__,
        summary="Self-hosted content moderation that explains every decision.",
        lifespan=lifespan,
        default_response_class=JSONResponse,
    )
    app.state.service = service
    _errors(app)

    _scan_routes(app, service)
    _policy_routes(app, service)
    from winnow.service.openai_compat import moderation_routes

    app.include_router(moderation_routes(service))
    from winnow.service.banks_api import bank_routes

    app.include_router(bank_routes(service))
    _ops_routes(app, service)
    _document_hand_read_bodies(app)
    app.add_middleware(BodyLimit, max_bytes=service.settings.max_request_bytes)
    app.add_middleware(service.metrics.middleware)
    return app


def _document_hand_read_bodies(app: FastAPI) -> None:
    """Put the bodies that routes read by hand (for their several content types) into the
    OpenAPI components: ScanRequest (scans) and EntriesIn (bank entries)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = build()
            components = doc.setdefault("components", {}).setdefault("schemas", {})
            for model in (schemas.ScanRequest, schemas.EntriesIn):
                extra = model.model_json_schema(
                    by_alias=True, ref_template="#/components/schemas/{model}"
                )
                components.update(extra.pop("$defs", {}))
                components[model.__name__] = extra
            app.openapi_schema = doc
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_env() -> FastAPI:
    """The app uvicorn runs (``winnow serve``): settings from ``WINNOW_*`` variables."""
    return create_app(Settings.from_env())


# -- errors ----------------------------------------------------------------------------------------


def _problems(errors: list[Any], prefix: tuple[str, ...] = ()) -> list[dict[str, str]]:
    out = []
    for e in errors:
        loc = [str(p) for p in (*prefix, *e.get("loc", ()))]
        out.append({"location": ".".join(loc), "message": str(e.get("msg", "invalid"))})
    return out


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> Response:
        return json_response(
            error_body(exc.code, exc.message, **exc.extra), exc.status, exc.headers
        )

    @app.exception_handler(PolicyError)
    async def policy_error(_: Request, exc: PolicyError) -> Response:
        problems = [
            {"line": p.line, "column": p.column, "path": p.path, "message": p.message}
            for p in exc.problems
        ]
        message = "; ".join(p.message for p in exc.problems)
        return json_response(error_body(exc.code, message, problems=problems), 422)

    @app.exception_handler(WinnowError)
    async def winnow_error(_: Request, exc: WinnowError) -> Response:
        status = http_status(exc)
        if status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return json_response(winnow_error_body(exc), status)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_: Request, exc: RequestValidationError) -> Response:
        problems = _problems(list(exc.errors()))
        message = "; ".join(f"{p['location']}: {p['message']}" for p in problems)
        return json_response(error_body("invalid_request", message, problems=problems), 422)

    @app.exception_handler(ValidationError)
    async def body_invalid(_: Request, exc: ValidationError) -> Response:
        problems = _problems(list(exc.errors()), ("body",))
        message = "; ".join(f"{p['location']}: {p['message']}" for p in problems)
        return json_response(error_body("invalid_request", message, problems=problems), 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # every method the path has, not only the first route's
            allowed = sorted(
                m
                for route in app.router.routes
                if route.matches(request.scope)[0] is not Match.NONE
                for m in getattr(route, "methods", None) or ()
            )
            headers["Allow"] = ", ".join(allowed)
            message = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
            return json_response(error_body("method_not_allowed", message), 405, headers)
        if exc.status_code == 400:  # the body could not be parsed at all (JSON, multipart)
            message = f"the request body could not be parsed: {exc.detail}"
            return json_response(error_body("invalid_request", message), 422, headers)
        code = {404: "not_found"}.get(exc.status_code, "http_error")
        return json_response(error_body(code, str(exc.detail)), exc.status_code, headers)

    @app.exception_handler(MultiPartException)
    async def multipart_error(_: Request, exc: MultiPartException) -> Response:
        return json_response(error_body("invalid_multipart", exc.message), 422)

    @app.exception_handler(Exception)
    async def internal(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error")
        return json_response(
            error_body("internal_error", f"internal error ({type(exc).__name__})"), 500
        )


# -- scans -----------------------------------------------------------------------------------------

_SCAN_BODY = {
    "requestBody": {
        "required": True,
        "description": "JSON (one text, a base64 file, or a batch), a multipart upload (fields "
        "`file`, repeatable, and/or `text`), or the raw bytes of one item (any other type).",
        "content": {
            JSON: {"schema": {"$ref": "#/components/schemas/ScanRequest"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                        "text": {"type": "string"},
                    },
                }
            },
            "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _result(outcome: Outcome) -> bytes:
    """One scan's result as JSON bytes, the verdict spliced in as already serialised."""
    head = b'{"id":"' + outcome.id.encode() + b'","name":' + orjson.dumps(outcome.name)
    if outcome.error is not None:
        err = error_body(outcome.error.code, outcome.error.message)["error"]
        return head + b',"status":"failed","error":' + orjson.dumps(err) + b"}"
    assert outcome.verdict_json is not None
    return head + b',"status":"done","verdict":' + outcome.verdict_json + b"}"


def _decode_base64(value: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, "invalid_request", "data_base64 is not valid standard base64") from None


async def _form_items(request: Request, service: Service) -> tuple[list[Item], dict[str, Any]]:
    limit = service.settings.max_request_bytes
    form = await request.form(
        max_files=service.settings.max_batch_items,
        max_fields=service.settings.max_batch_items + 8,
        max_part_size=limit,
    )
    items: list[Item] = []
    options: dict[str, Any] = {}
    try:
        for field, value in form.multi_items():
            if isinstance(value, UploadFile):
                if field != "file":
                    raise ApiError(
                        422, "invalid_request", f"unknown file field {field!r}; use 'file'"
                    )
                items.append(Item(data=await value.read(), name=value.filename))
            elif field == "text":
                items.append(Item(text=value))
            elif field in ("policy", "webhook_url", "name", "async"):
                options[field] = value
            else:
                raise ApiError(
                    422,
                    "invalid_request",
                    f"unknown form field {field!r}; expected file, text, policy, async, "
                    "webhook_url, name",
                )
    finally:
        await form.close()
    if "async" in options:
        raw = str(options["async"]).lower()
        if raw not in ("true", "false", "1", "0"):
            raise ApiError(422, "invalid_request", "form field 'async' must be true or false")
        options["async"] = raw in ("true", "1")
    if "policy" in options:
        split_policy_ref(str(options["policy"]))
    return items, options


def _scan_routes(app: FastAPI, service: Service) -> None:
    settings = service.settings

    @app.post(
        "/v1/scans",
        tags=["scans"],
        summary="Moderate text, a file, or a batch",
        status_code=200,
        openapi_extra=_SCAN_BODY,
        responses={
            200: {"model": schemas.ScanResult | schemas.BatchResult, "description": "Scanned."},
            202: {"model": schemas.ScanResult | schemas.BatchResult, "description": "Queued."},
            **ERRORS,
        },
    )
    async def create_scan(
        request: Request,
        key: Key,
        policy: Annotated[str | None, Query(pattern=schemas.POLICY_SPEC)] = None,
        async_: Annotated[bool, Query(alias="async")] = False,
        webhook_url: Annotated[
            str | None, Query(max_length=2000, pattern=r"^https?://[^\s]+$")
        ] = None,
        name: Annotated[str | None, Query(max_length=500)] = None,
    ) -> Response:
        """Small items are answered with their verdict (200). Items over
        `WINNOW_SYNC_MAX_BYTES`, `async=true`, or a `webhook_url` make jobs: 202 with ids to poll
        at `GET /v1/scans/{id}`. A batch (`items`, or several files) is answered in order."""
        ctype = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        options: dict[str, Any] = {
            "policy": policy,
            "async": async_,
            "webhook_url": webhook_url,
            "name": name,
        }
        batch = False
        if ctype == JSON:
            req = schemas.ScanRequest.model_validate_json(await request.body())
            for field in req.model_fields_set:
                alias = "async" if field == "async_" else field
                if alias in options:
                    options[alias] = getattr(req, field)
            if req.items is not None:
                items = [Item(text=i.text, name=i.id) for i in req.items]
                batch = True
            elif req.text is not None:
                items = [Item(text=req.text, name=options["name"])]
            else:
                items = [Item(data=_decode_base64(req.data_base64 or ""), name=options["name"])]
        elif ctype == "multipart/form-data":
            items, form_options = await _form_items(request, service)
            options.update(form_options)
            batch = len(items) > 1
        else:
            body = await request.body()
            items = [Item(data=body, name=options["name"])]
        if not items:
            raise ApiError(422, "invalid_request", "the request has no item to scan")
        if len(items) > settings.max_batch_items:
            raise ApiError(
                413,
                "limit_exceeded",
                f"the batch has {len(items):,} items, over the limit of "
                f"{settings.max_batch_items:,} (setting: WINNOW_MAX_BATCH_ITEMS)",
                limit="max_batch_items",
                maximum=settings.max_batch_items,
            )
        empty = [i for i, item in enumerate(items) if item.size == 0]
        if empty:
            which = "the item" if not batch else f"item {empty[0]}"
            raise ApiError(422, "invalid_request", f"{which} is empty: there is nothing to scan")
        if options["webhook_url"] is not None:
            try:
                schemas.check_webhook_url(str(options["webhook_url"]))
            except ValueError as exc:
                raise ApiError(422, "invalid_request", str(exc)) from None
        spec = options["policy"]
        as_job = (
            options["async"]
            or options["webhook_url"] is not None
            or any(item.size > settings.sync_max_bytes for item in items)
        )
        if as_job:
            request.state.kind = "job"
            rows = await service.enqueue(key, items, spec, options["webhook_url"])
            results = [
                {
                    "id": r["id"],
                    "status": r["status"],
                    "name": r["name"],
                    "links": {"self": f"/v1/scans/{r['id']}"},
                }
                for r in rows
            ]
            if batch:
                return json_response({"results": results}, 202)
            return json_response(results[0], 202, {"Location": f"/v1/scans/{rows[0]['id']}"})
        outcomes = await service.scan_now(key, items, spec)
        if batch:
            request.state.kind = "batch"
            body = b'{"results":[' + b",".join(_result(o) for o in outcomes) + b"]}"
            return Response(body, media_type=JSON)
        outcome = outcomes[0]
        if outcome.error is not None:
            request.state.kind = "failed"
            failure = winnow_error_body(outcome.error, scan_id=outcome.id)
            return json_response(failure, http_status(outcome.error))
        assert outcome.verdict is not None
        request.state.kind = outcome.verdict.content.kind.value
        return Response(_result(outcome), media_type=JSON)

    def _own_scan(key: ApiKey, scan_id: str) -> Any:
        row = service.store.get_scan(key.tenant_id, scan_id)
        if row is None:
            raise ApiError(404, "not_found", f"no scan {scan_id!r} for this key's tenant")
        return row

    @app.get(
        "/v1/scans/{scan_id}",
        tags=["scans"],
        summary="A scan's status and verdict",
        response_model=schemas.ScanRecord,
        responses=ERRORS,
    )
    def get_scan(key: Key, scan_id: ScanId) -> Response:
        return json_response(scan_body(_own_scan(key, scan_id)))

    @app.get(
        "/v1/scans",
        tags=["scans"],
        summary="The tenant's newest scans",
        response_model=schemas.ScanList,
        responses=ERRORS,
    )
    def list_scans(key: Key, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> Response:
        rows = service.store.list_scans(key.tenant_id, limit)
        return json_response({"scans": [scan_body(r) for r in rows]})

    @app.get(
        "/v1/scans/{scan_id}/webhooks",
        tags=["scans"],
        summary="A scan's webhook deliveries",
        response_model=schemas.DeliveryList,
        responses=ERRORS,
    )
    def list_deliveries(key: Key, scan_id: ScanId) -> Response:
        row = _own_scan(key, scan_id)
        deliveries = [
            {
                "attempt": d["attempt"],
                "url": d["url"],
                "status_code": d["status_code"],
                "error": d["error"],
                "duration_ms": round(d["duration_ms"], 3),
                "at": iso(d["created_at"]),
            }
            for d in service.store.deliveries(key.tenant_id, scan_id)
        ]
        return json_response({"state": row["webhook_state"], "deliveries": deliveries})

    @app.get(
        "/v1/audit",
        tags=["audit"],
        summary="The tenant's audit log, newest first",
        response_model=schemas.AuditList,
        responses=ERRORS,
    )
    def audit(
        key: Key,
        scan_id: Annotated[str | None, Query(max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        entries = [
            {
                "id": e["id"],
                "event": e["event"],
                "scan_id": e["scan_id"],
                "action": e["action"],
                "actor": e["actor"],
                "detail": orjson.loads(e["detail"]),
                "at": iso(e["created_at"]),
            }
            for e in service.store.audit_entries(key.tenant_id, scan_id, limit)
        ]
        return json_response({"entries": entries})


# -- policies --------------------------------------------------------------------------------------

_POLICY_BODY = {
    "requestBody": {
        "required": True,
        "description": "The policy as YAML (see docs/policy.md).",
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


def _policy_routes(app: FastAPI, service: Service) -> None:
    builtin = service.engines.default_engine().policy

    @app.get(
        "/v1/policies",
        tags=["policies"],
        summary="Policies this key can use",
        response_model=schemas.PolicyList,
        responses=ERRORS,
    )
    def list_policies(key: Key) -> Response:
        rows = service.store.list_policies(key.tenant_id)
        out = [
            {
                "name": r["name"],
                "version": r["version"],
                "versions": r["versions"],
                "digest": r["digest"],
                "builtin": False,
                "created_at": iso(r["created_at"]),
            }
            for r in rows
        ]
        if not any(p["name"] == DEFAULT for p in out):
            out.insert(
                0,
                {
                    "name": DEFAULT,
                    "version": None,
                    "versions": 0,
                    "digest": builtin.digest,
                    "builtin": True,
                    "created_at": None,
                },
            )
        return json_response({"policies": out})

    @app.get(
        "/v1/policies/{name}",
        tags=["policies"],
        summary="A policy's YAML",
        response_model=schemas.PolicyDocument,
        responses=ERRORS,
    )
    def get_policy(
        key: Key,
        name: PolicyName,
        version: Annotated[int | None, Query(ge=1, le=999_999_999)] = None,
    ) -> Response:
        row = service.store.get_policy(key.tenant_id, name, version)
        if row is None:
            if name == DEFAULT and version is None:
                return json_response(
                    {
                        "name": DEFAULT,
                        "version": None,
                        "digest": builtin.digest,
                        "builtin": True,
                        "source": default_policy_text(),
                    }
                )
            raise ApiError(404, "not_found", f"no policy {name!r} for this key's tenant")
        return json_response(
            {
                "name": row["name"],
                "version": row["version"],
                "digest": row["digest"],
                "builtin": False,
                "source": row["source"],
            }
        )

    @app.put(
        "/v1/policies/{name}",
        tags=["policies"],
        summary="Upload a policy (a new version)",
        status_code=201,
        openapi_extra=_POLICY_BODY,
        responses={
            201: {"model": schemas.PolicyStored, "description": "Stored as a new version."},
            200: {"model": schemas.PolicyStored, "description": "Same as the newest version."},
            **ERRORS,
        },
    )
    async def put_policy(request: Request, key: Key, name: PolicyName) -> Response:
        """Validated before it is stored: every problem is listed with its line and column.
        Scans use the new version within a second."""
        raw = await request.body()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ApiError(
                422, "invalid_policy", f"the policy is not UTF-8 (byte {exc.start})"
            ) from None
        policy = parse_policy(text, f"{name}.yaml")
        version, created = await run_in_threadpool(
            service.store.put_policy, key.tenant_id, name, text, policy.digest, key.id
        )
        body = {"name": name, "version": version, "digest": policy.digest, "created": created}
        return json_response(body, 201 if created else 200)


# -- operations ------------------------------------------------------------------------------------


def _ops_routes(app: FastAPI, service: Service) -> None:
    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: database migrated, workers running, models loaded",
        responses={503: {"description": "Not ready; the body says what is missing."}},
    )
    def readyz() -> Response:
        checks = service.readiness()
        ready = all(v == "ok" for v in checks.values())
        return json_response(
            {"status": "ready" if ready else "not ready", "checks": checks}, 200 if ready else 503
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Metrics."}},
    )
    def metrics() -> Response:
        return Response(generate_latest(service.metrics.registry), media_type=CONTENT_TYPE_LATEST)
