"""Authenticate before reading a large body.

FastAPI reads and parses a request's body (a multipart upload included) before it runs the
route's dependencies, so without this a stranger could make the app take in and parse up to
ISSUER_MAX_UPLOAD_BYTES on the upload routes, the only ones allowed that much, before being
told to sign in. Here a request to those routes must carry a live bearer token or browser
session first (one indexed lookup in a read-only session); the routes' own dependencies still
check roles and the CSRF token. Every other route's body is capped at ISSUER_MAX_BODY_BYTES
(web/limits.py) whoever sends it.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from issuer.errors import NotAuthenticated
from issuer.services import accounts
from issuer.store.db import transaction
from issuer.web.deps import SESSION_COOKIE
from issuer.web.limits import UPLOAD_PATHS


class AuthenticateFirst:
    def __init__(self, app: ASGIApp, paths: frozenset[str] = UPLOAD_PATHS) -> None:
        self.app = app
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") not in self.paths:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        if request.method != "POST" or _signed_in(request):
            await self.app(scope, receive, send)
            return
        refused: Response
        if scope["path"].startswith("/api/"):
            refused = JSONResponse({"detail": "sign in, or send a bearer token"}, status_code=401)
        else:
            refused = RedirectResponse(f"/login?next={quote(scope['path'])}", status_code=303)
        await refused(scope, receive, send)


def _signed_in(request: Request) -> bool:
    authorization = request.headers.get("authorization", "")
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        with transaction(request.app.state.read_sessions) as session:
            if authorization.lower().startswith("bearer "):
                accounts.user_for_token(session, authorization[7:].strip())
            elif cookie:
                accounts.session_user(session, cookie)
            else:
                return False
    except NotAuthenticated:
        return False
    return True
