"""Single sign-on pages: "Sign in with <institution>" (ISSUER_OIDC_*; absent without them).

GET /sso/login sends the browser to the provider (services/sso.py) with a fresh state, nonce
and PKCE verifier, which wait in a cookie of their own: path /sso, HttpOnly, ten minutes,
SameSite=Lax (the provider's redirect back is a top-level GET, which Lax lets through, and a
cross-site POST could not carry it). Nothing in it is secret from the browser it is set in,
and nothing in it is believed: the provider checks the verifier, we check that its ID token
carries the nonce. GET /sso/callback signs the person in as POST /login does, and always
clears that cookie.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from issuer.errors import NotAuthenticated, Unreachable
from issuer.services import accounts, sso
from issuer.web.deps import SessionDep, set_session_cookie
from issuer.web.negotiation import safe_next
from issuer.web.ratelimit import SignInAttempt, request_address
from issuer.web.routes.account import home_of
from issuer.web.templating import render

router = APIRouter(tags=["pages"])
PENDING_COOKIE = "issuer_sso"
PENDING_PATH = "/sso"
PENDING_SECONDS = 600
# The callback's URL holds a (single-use) code: no page reached from it learns it.
PRIVATE = {"cache-control": "no-store", "referrer-policy": "no-referrer"}


@router.get("/sso/login")
def start(request: Request, next: str = "") -> Response:
    """Off to the institution's provider; back at /sso/callback."""
    provider: sso.OpenIdProvider = request.app.state.sso
    try:
        url, pending = provider.authorization()
    except Unreachable:
        return _login_page(
            request, next, f"{_institution(request)} cannot be reached just now.", 502
        )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        PENDING_COOKIE,
        _encode(pending, safe_next(next)),
        max_age=PENDING_SECONDS,
        path=PENDING_PATH,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.base_url.startswith("https://"),
    )
    return response


@router.get("/sso/callback")
def finish(request: Request, session: SessionDep) -> Response:
    """The provider's answer: the person signed in and sent home (or to `next`), or the sign-in
    page saying why not. Every outcome is audited."""
    attempt = _attempt(request)
    pending, next = _decode(request.cookies.get(PENDING_COOKIE, ""))
    client = request_address(request)
    try:
        # The provider is asked before the database is touched: no transaction (on SQLite, no
        # write lock) is held while its token endpoint answers.
        identity = request.app.state.sso.identify(pending, request.query_params)
        settings = request.app.state.settings
        outcome = sso.sign_in(
            session, identity, may_create=settings.oidc_create_accounts, client=client
        )
    except (NotAuthenticated, Unreachable) as error:
        outcome = sso.refuse(session, str(error), client=client)
    if isinstance(outcome, sso.Refused):
        message = f"Signing in with {_institution(request)} did not work: {outcome.message}."
        response = _login_page(request, next, message, 401)
    else:
        attempt.succeeded()
        cookie, _ = accounts.open_session(session, outcome)
        target = next or home_of([r.role for r in outcome.roles])
        response = RedirectResponse(target, status_code=303)
        set_session_cookie(response, request, cookie)
    response.headers.update(PRIVATE)
    response.delete_cookie(PENDING_COOKIE, path=PENDING_PATH)
    return response


def _attempt(request: Request) -> SignInAttempt:
    """Counted per client address only, like a password's failures: there is no account to
    count against before the provider has answered, and a shared count for every SSO
    attempt would let anyone lock everybody out."""
    per_minute: int = request.app.state.settings.login_rate_limit
    if per_minute <= 0:
        return SignInAttempt([])
    limiter = request.app.state.rate_limiter
    hits = limiter.count([("sign-in address", request_address(request))], per_minute)
    return SignInAttempt(hits, limiter)


def _encode(pending: sso.Pending, next: str) -> str:
    fields = [pending.state, pending.nonce, pending.code_verifier, next]
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


def _decode(value: str) -> tuple[sso.Pending | None, str]:
    """The pending sign-in and `next` from the cookie; (None, "") for anything else."""
    try:
        fields: Any = json.loads(base64.urlsafe_b64decode(value.encode()))
    except ValueError:
        return None, ""
    if not (
        isinstance(fields, list) and len(fields) == 4 and all(isinstance(f, str) for f in fields)
    ):
        return None, ""
    state, nonce, verifier, next = fields
    return sso.Pending(state, nonce, verifier), safe_next(next)


def _institution(request: Request) -> str:
    name: str = request.app.state.settings.oidc_display_name
    return name


def _login_page(request: Request, next: str, error: str, status: int) -> Response:
    return render(
        request, "pages/login.html", {"next": safe_next(next), "error": error}, status_code=status
    )
