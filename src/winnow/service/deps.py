"""What every API route shares: the API-key check (with the rate limit), the JSON response, the
documented error answers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any

import orjson
from fastapi import Depends, Request, Security
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from winnow.service import schemas
from winnow.service.limits import ApiError
from winnow.store import ApiKey

if TYPE_CHECKING:
    from winnow.service.core import Service

_bearer = HTTPBearer(auto_error=False, description="An API key from `winnow key create`.")
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": schemas.ErrorBody, "description": why}
    for status, why in (
        (401, "Missing or invalid API key."),
        (404, "No such thing for this key's tenant."),
        (413, "A limit was broken; the body names it."),
        (415, "The content's type is not one Winnow handles."),
        (422, "The request or its content is invalid; the body says where."),
        (429, "The key is over its rate limit; see Retry-After."),
        (503, "The database is unavailable."),
    )
}
JSON = "application/json"


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON, headers=headers)


async def auth(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> ApiKey:
    if credentials is None:
        raise ApiError(
            401,
            "unauthorized",
            "this route needs an API key: send 'Authorization: Bearer <key>' "
            "(create one with `winnow key create`)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    service: Service = request.app.state.service
    key = service.keys.authenticate(credentials.credentials)
    if key is None:
        raise ApiError(
            401,
            "invalid_api_key",
            "the API key is not valid: unknown, revoked, or mistyped",
            headers={"WWW-Authenticate": "Bearer"},
        )
    service.limiter.check(key)
    return key


Key = Annotated[ApiKey, Depends(auth)]
