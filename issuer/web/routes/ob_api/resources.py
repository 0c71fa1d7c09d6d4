"""The Open Badges API's resource endpoints (OB 3.0 §6.2–6.4): getCredentials,
upsertCredential, getProfile, putProfile, and the Service Description Document (§6.3).

Their errors are `Imsx_StatusInfo` objects with the specification's codes, never our usual
`{"detail": …}`: `ImsxRoute` turns our errors (and FastAPI's validation errors) into them, and
every other method on these paths answers 405 the same way. Upserting verifies first, in the
read-only session and outside any write transaction, then stores in a short one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Body, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute, APIRouter
from sqlalchemy.exc import DataError, InternalError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from issuer.errors import (
    InvalidInput,
    IssuerError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from issuer.services.fetching import Fetcher
from issuer.services.obapi import discovery, resources, scopes
from issuer.services.obapi.resources import ScopeRefused, TokenRefused
from issuer.store.db import transaction
from issuer.web.deps import OptionalIssuerDep, ReadSessionDep, SessionDep
from issuer.web.routes.ob_api.schemas import (
    GetOpenBadgeCredentialsResponse,
    ImsxStatusInfo,
    ObProfile,
    ServiceDescriptionDocument,
)

API = discovery.API_PATH
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")
IMSX = {"model": ImsxStatusInfo, "description": "Imsx_StatusInfo"}
ERRORS: dict[int | str, dict[str, Any]] = {status: IMSX for status in (400, 401, 403, 405, 500)}
# The code minor of an HTTPException (raised by FastAPI itself, such as "There was an error
# parsing the body") by its status; any other 4xx is invalid_data, any 5xx a server error.
HTTP_MINORS = {401: "unauthorizedrequest", 403: "forbidden", 404: "not_found", 405: "not_allowed"}
logger = logging.getLogger(__name__)


def imsx(
    status: int, minor: str, description: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """An Imsx_StatusInfo error: codeMajor failure, severity error, one code minor."""
    body = {
        "imsx_codeMajor": "failure",
        "imsx_severity": "error",
        "imsx_description": description,
        "imsx_codeMinor": {
            "imsx_codeMinorField": [
                {"imsx_codeMinorFieldName": "TargetEndSystem", "imsx_codeMinorFieldValue": minor}
            ]
        },
    }
    return JSONResponse(body, status_code=status, headers=headers)


def imsx_for(error: Exception) -> JSONResponse:
    """Our errors in the specification's terms."""
    if isinstance(error, TokenRefused | ScopeRefused):
        status = 401 if isinstance(error, TokenRefused) else 403
        minor = "unauthorizedrequest" if status == 401 else "forbidden"
        return imsx(status, minor, str(error), {"WWW-Authenticate": error.challenge})
    if isinstance(error, RateLimited):
        headers = {"Retry-After": str(error.retry_after)}
        return imsx(429, "server_busy", str(error), headers)
    if isinstance(error, OperationalError | InternalError | PoolTimeout):
        return imsx(503, "server_busy", "the service is busy; try again", {"Retry-After": "2"})
    if isinstance(error, DataError):
        return imsx(400, "invalid_data", "a value cannot be stored")
    if isinstance(error, HTTPException):
        minor = HTTP_MINORS.get(error.status_code, "invalid_data")
        if error.status_code >= 500:
            minor = "internal_server_error"
        return imsx(error.status_code, minor, str(error.detail)[:300], dict(error.headers or {}))
    for kind, status, minor in (
        (NotAuthenticated, 401, "unauthorizedrequest"),
        (PermissionDenied, 403, "forbidden"),
        (NotFound, 404, "not_found"),
        (InvalidInput, 400, "invalid_data"),
    ):
        if isinstance(error, kind):
            return imsx(status, minor, str(error))
    return imsx(500, "internal_server_error", "the request could not be served")


class ImsxRoute(APIRoute):
    """A route whose errors are Imsx_StatusInfo objects."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as error:
                where = "query" if any(e["loc"][0] == "query" for e in error.errors()) else "body"
                minor = "invalid_query_parameter" if where == "query" else "invalid_data"
                return imsx(400, minor, _validation_words(error))
            except (IssuerError, HTTPException, OperationalError, DataError) as error:
                return imsx_for(error)
            except Exception:  # every answer of the API is an Imsx_StatusInfo, a 500 too
                logger.exception("%s %s failed", request.method, request.url.path)
                return imsx_for(RuntimeError())

        return answer


def _validation_words(error: RequestValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"])
    return f"{where}: {first['msg']}"[:300]


router = APIRouter(route_class=ImsxRoute, tags=["Open Badges API"])


@router.get(
    API + "/discovery",
    operation_id="getServiceDescription",
    response_model=ServiceDescriptionDocument,
)
def service_description(request: Request) -> JSONResponse:
    """The Service Description Document: unprotected, as the specification requires."""
    return JSONResponse(discovery.service_description(_endpoints(request), about(request)))


def _endpoints(request: Request) -> discovery.Endpoints:
    return discovery.Endpoints(request.app.state.settings.base_url)


def about(request: Request) -> discovery.About:
    """This server as the Service Description Document and our registrations name it."""
    settings = request.app.state.settings
    home = settings.base_url + "/"
    return discovery.About(
        title=settings.issuer_name,
        terms_of_service=settings.terms_of_service_url or home,
        privacy_policy=settings.privacy_policy_url or home,
        image=settings.base_url + logo_path(request),
    )


def outbound(request: Request) -> Fetcher:
    """The fetcher for what a backpack or a credential sent to us points at: https and public
    addresses only, unless the operator allows private ones (ISSUER_ALLOW_PRIVATE_FETCH, for
    tests, whose backpacks and issuers serve plain http on 127.0.0.1)."""
    private = request.app.state.settings.allow_private_fetch
    return Fetcher(allow_private=private, allow_http=private)


def logo_path(request: Request) -> str:
    """Our logo's path (content-hashed, as the app serves it)."""
    _, media_type = request.app.state.brand.logo_file()
    name = "logo.svg" if media_type == "image/svg+xml" else "logo.png"
    path: str = request.app.state.assets.url(name)
    return path


@router.get(
    API + "/credentials",
    operation_id="getCredentials",
    responses=ERRORS,
    response_model=GetOpenBadgeCredentialsResponse,
)
def get_credentials(
    request: Request,
    session: ReadSessionDep,
    limit: Annotated[int, Query(ge=1)] = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0)] = 0,
    since: datetime | None = None,
) -> Response:
    """The learner's credentials, a page at a time (X-Total-Count, Link: first, last, prev,
    next)."""
    who = resources.bearer(
        session, request.headers.get("authorization"), scopes.CREDENTIAL_READONLY
    )
    since = _utc(since)
    limit = min(limit, MAX_LIMIT)
    page = resources.credentials_page(session, who.user, limit=limit, offset=offset, since=since)
    body = {"credential": page.credential, "compactJwsString": page.compact_jws}
    headers = {"X-Total-Count": str(page.total), "Link": _links(request, page.total, limit, offset)}
    return JSONResponse(body, headers=headers)


def _utc(since: datetime | None) -> datetime | None:
    """`since` in UTC; one a time zone would move past year 1 or 9999 is refused."""
    if since is None:
        return None
    if since.tzinfo is None:
        return since.replace(tzinfo=UTC)  # the spec's syntax has no time zone: UTC
    try:
        return since.astimezone(UTC)
    except OverflowError:
        # 0001-01-01T00:00:00+14:00 is in year 0 in UTC: PostgreSQL's driver raised it as a 500.
        raise RequestValidationError(
            [{"loc": ("query", "since"), "msg": "out of range in UTC", "type": "value_error"}]
        ) from None


def _links(request: Request, total: int, limit: int, offset: int) -> str:
    """OB 3.0 §6.4: first and last always, next while incomplete, prev past the start."""
    url = _endpoints(request).api + "/credentials"
    since = request.query_params.get("since")

    def link(at: int, rel: str) -> str:
        query = {"limit": limit, "offset": at} | ({"since": since} if since else {})
        return f'<{url}?{urlencode(query)}>; rel="{rel}"'

    last = max(0, (total - 1) // limit * limit)
    links = [link(0, "first"), link(last, "last")]
    if offset + limit < total:
        links.insert(0, link(offset + limit, "next"))
    if offset > 0:
        links.append(link(max(0, offset - limit), "prev"))
    return ", ".join(links)


@router.post(
    API + "/credentials",
    operation_id="upsertCredential",
    status_code=201,
    responses={200: {"description": "replaced"}, 404: IMSX, **ERRORS},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/plain": {"schema": {"type": "string"}},
            },
        }
    },
)
async def upsert_credential(
    request: Request, reading: ReadSessionDep, issuer: OptionalIssuerDep
) -> Response:
    """Keep a credential received elsewhere, once it verifies: 201 when new, 200 when it
    replaced the one equal to it; the body is the credential as sent."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in (*JSON_TYPES, "text/plain"):
        raise InvalidInput("send application/json (a credential) or text/plain (a compact JWS)")
    compact = media_type == "text/plain"
    data = await request.body()
    authorization = request.headers.get("authorization")
    who = await run_in_threadpool(
        resources.bearer, reading, authorization, scopes.CREDENTIAL_UPSERT
    )
    fetcher = outbound(request)
    received = await run_in_threadpool(
        lambda: resources.receive(
            data, compact_jws=compact, session=reading, issuer=issuer, fetcher=fetcher
        )
    )

    def store() -> bool:
        with transaction(request.app.state.sessions) as session:
            _, created = resources.keep(session, who.user, received, client_id=who.client_id)
        return created

    created = await run_in_threadpool(store)
    return Response(
        received.document,
        status_code=201 if created else 200,
        media_type="text/plain" if compact else "application/json",
    )


@router.get(
    API + "/profile",
    operation_id="getProfile",
    responses={404: IMSX, **ERRORS},
    response_model=ObProfile,
)
def get_profile(request: Request, session: ReadSessionDep) -> JSONResponse:
    who = resources.bearer(session, request.headers.get("authorization"), scopes.PROFILE_READONLY)
    return JSONResponse(resources.profile(who.user, request.app.state.settings.base_url))


@router.put(
    API + "/profile",
    operation_id="putProfile",
    responses={404: IMSX, **ERRORS},
    response_model=ObProfile,
)
def put_profile(
    request: Request, session: SessionDep, document: Annotated[dict[str, Any], Body()]
) -> JSONResponse:
    """The entire Profile; the name is what changes (see resources.update_profile)."""
    who = resources.bearer(session, request.headers.get("authorization"), scopes.PROFILE_UPDATE)
    base_url = request.app.state.settings.base_url
    return JSONResponse(resources.update_profile(session, who.user, document, base_url))


def _not_allowed(allowed: str) -> Callable[[], JSONResponse]:
    def refuse() -> JSONResponse:
        return imsx(405, "not_allowed", f"allowed: {allowed}", {"Allow": allowed})

    return refuse


for path, allowed, others in (
    ("/discovery", "GET", ["POST", "PUT", "PATCH", "DELETE"]),
    ("/credentials", "GET, POST", ["PUT", "PATCH", "DELETE"]),
    ("/profile", "GET, PUT", ["POST", "PATCH", "DELETE"]),
):
    router.add_api_route(API + path, _not_allowed(allowed), methods=others, include_in_schema=False)
