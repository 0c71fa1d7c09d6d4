"""Our own errors as HTTP responses: JSON for API clients, a page for browsers."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DataError as DBAPIDataError
from sqlalchemy.exc import InternalError as DBAPIInternalError
from sqlalchemy.exc import OperationalError as DBAPIOperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from issuer.errors import (
    Conflict,
    InvalidInput,
    IssuerError,
    KeyMaterialError,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from issuer.web.deps import SignInRequired
from issuer.web.templating import render

STATUS = {
    NotFound: 404,
    NotAuthenticated: 401,
    RateLimited: 429,
    PermissionDenied: 403,
    Conflict: 409,
    InvalidInput: 422,
    KeyMaterialError: 503,
}


UNSTORABLE = (
    "the request holds a value the database cannot store or look up (too long for its "
    "field, or a NUL character); nothing was stored"
)


def status_for(error: IssuerError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def error_response(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    """`{"detail": message}` for API clients; the error page for browsers (Accept: text/html)."""
    if "text/html" in request.headers.get("accept", ""):
        page = render(request, "error.html", {"status": status, "message": message}, status)
        page.headers.update(headers or {})
        return page
    return JSONResponse({"detail": message}, status_code=status, headers=headers)


def database_problem(error: Exception) -> str:
    """A plain sentence for a database that cannot take the write (never the driver's text).

    The causes are read too: SQLite rolls the whole transaction back on a full disk, so what
    reaches us may be the failed ROLLBACK TO SAVEPOINT that followed ("no such savepoint")."""
    texts: list[str] = []
    cause: BaseException | None = error
    while cause is not None and len(texts) < 10:
        texts.append(str(cause).lower())
        cause = cause.__cause__ or cause.__context__
    text = " ".join(texts)
    if "readonly" in text or "read-only" in text or "read only" in text:
        return "the database is read-only; nothing was stored"
    if "disk" in text or "no space" in text or "full" in text:
        return "the database is out of space; nothing was stored"
    return "the service is busy; nothing was stored, please try again"


def install(app: FastAPI) -> None:
    @app.exception_handler(DBAPIOperationalError)
    @app.exception_handler(DBAPIInternalError)  # PostgreSQL: read-only transaction
    @app.exception_handler(PoolTimeout)
    async def database_unavailable(request: Request, error: Exception) -> Response:
        # Not a bug in the request: the transaction rolled back, so nothing was stored.
        return JSONResponse(
            {"detail": database_problem(error)}, status_code=503, headers={"Retry-After": "2"}
        )

    @app.exception_handler(DBAPIDataError)
    async def unstorable(request: Request, error: Exception) -> Response:
        # PostgreSQL refuses what SQLite takes: a text longer than its column, a NUL character
        # anywhere (a query string too: GET /credentials/%00 was a 500). Inputs are checked
        # against limits.py first, naming the field; this is the net under those checks.
        return error_response(request, 422, UNSTORABLE)

    @app.exception_handler(SignInRequired)
    async def sign_in(request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(request.url.path)}", status_code=303)

    @app.exception_handler(IssuerError)
    async def issuer_error(request: Request, error: IssuerError) -> Response:
        headers = {"Retry-After": str(error.retry_after)} if isinstance(error, RateLimited) else {}
        return error_response(request, status_for(error), str(error), headers)
