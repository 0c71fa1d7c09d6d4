"""The Open Badges API's authorization server as routes (OB 3.0 §7): dynamic client
registration, the consent page a signed-in learner answers, the token and revocation
endpoints; and, for coordinators, the registered clients and revoking one.

The consent page's form goes back to the client, through a redirect after the post. Browsers
hold such a redirect to the page's CSP `form-action`, so that page's policy names the one
origin the answer may go to: the client's registered redirect URI.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import APIRouter, Depends, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response

from issuer.errors import InvalidInput, PermissionDenied
from issuer.services.obapi import authorization, clients, scopes
from issuer.services.obapi.discovery import API_PATH
from issuer.services.obapi.messages import OAuthAnswer, OAuthRequest
from issuer.store.models import ObClient
from issuer.web.deps import CoordinatorDep, LearnerAction, OptionalPage, SessionDep
from issuer.web.errors import error_response
from issuer.web.ratelimit import limited
from issuer.web.routes.ob_api.schemas import (
    ClientRegistered,
    OAuthErrorOut,
    ObClientOut,
    TokenIssued,
)
from issuer.web.security import content_security_policy
from issuer.web.templating import http_url, render

router = APIRouter(tags=["Open Badges API"])
OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorOut},
    401: {"model": OAuthErrorOut},
}
REGISTRATION_LIMIT = Depends(limited("ob-registration", "verify_rate_limit"))
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")


def oauth_request(request: Request, params: tuple[tuple[str, str], ...] = ()) -> OAuthRequest:
    """The request at our public address, with the headers OAuth reads."""
    base_url: str = request.app.state.settings.base_url
    headers = {
        name: value
        for name, value in request.headers.items()
        if name in ("authorization", "content-type")
    }
    if not _readable_basic(headers.get("authorization", "")):
        del headers["authorization"]  # undecodable credentials are no credentials
    return OAuthRequest(request.method, base_url + request.url.path, headers, params)


def _readable_basic(value: str) -> bool:
    if not value.lower().startswith("basic "):
        return True
    try:
        base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return True


async def _form(request: Request) -> tuple[tuple[str, str], ...]:
    """An application/x-www-form-urlencoded body's pairs (anything else holds none)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return ()
    body = (await request.body()).decode("utf-8", "replace")
    return tuple(parse_qsl(body, keep_blank_values=True))


def _json(answered: OAuthAnswer) -> JSONResponse:
    headers = {k: v for k, v in answered.headers.items() if k.lower() != "content-type"}
    return JSONResponse(answered.body, status_code=answered.status, headers=headers)


@router.post(
    API_PATH + "/oauth/register",
    status_code=201,
    response_model=ClientRegistered,
    responses={400: {"model": OAuthErrorOut}},
    dependencies=[REGISTRATION_LIMIT],
)
async def register(request: Request, session: SessionDep) -> JSONResponse:
    """RFC 7591 as OB 3.0 profiles it: open to any client (no initial access token)."""
    try:
        document = json.loads(await request.body())
    except (ValueError, RecursionError):
        document = None
    made = OAuthRequest(
        "POST",
        request.app.state.settings.base_url + request.url.path,
        json=document,
    )
    allow_http = request.app.state.settings.allow_private_fetch
    answered = await run_in_threadpool(
        lambda: clients.register(session, made, allow_loopback_http=allow_http)
    )
    return _json(answered)


@router.get(API_PATH + "/oauth/authorize", tags=["pages"])
def consent_page(request: Request, session: SessionDep, page: OptionalPage) -> Response:
    """The learner, signed in, is asked whether the app may have what it asks for."""
    if page is None:
        here = f"{request.url.path}?{request.url.query}"
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
    if not page.has_role("learner"):
        raise PermissionDenied("only a learner can connect an app to their badges")
    made = oauth_request(request, tuple(request.query_params.multi_items()))
    try:
        asked = authorization.consent(session, made, page.user)
    except InvalidInput as error:
        return error_response(request, 400, str(error))
    if isinstance(asked, OAuthAnswer):
        return RedirectResponse(asked.location or "/", status_code=303)
    registration = asked.registration
    logo = http_url(registration.get("logo_uri"))
    response = render(
        request,
        "pages/learner/authorize.html",
        {
            "page": page,
            "consent": asked,
            "asks": scopes.words(" ".join(asked.scopes)),
            "logo": logo if logo and logo.startswith("https://") else None,
            "links": _links(registration),
            "back_to": urlsplit(asked.redirect_uri).hostname,
            "action": API_PATH + "/oauth/authorize",
        },
    )
    response.headers["content-security-policy"] = _policy(request, asked.redirect_uri)
    response.headers["cache-control"] = "no-store"
    return response


def _links(registration: dict[str, Any]) -> list[tuple[str, str]]:
    """The app's pages it registered, those that are http(s) links."""
    found = []
    for label, field in (
        ("its website", "client_uri"),
        ("its terms of service", "tos_uri"),
        ("its privacy policy", "policy_uri"),
    ):
        url = http_url(registration.get(field))
        if url:
            found.append((label, url))
    return found


def _policy(request: Request, redirect_uri: str) -> str:
    """The usual policy, its form-action widened to the redirect URI's origin alone."""
    policy = content_security_policy(request.state.csp_nonce)
    parts = urlsplit(redirect_uri)
    origin = f"{parts.scheme}://{parts.netloc}"
    if _ORIGIN.match(origin):
        policy = policy.replace("form-action 'self'", f"form-action 'self' {origin}")
    return policy


@router.post(API_PATH + "/oauth/authorize", tags=["pages"])
async def decide(request: Request, session: SessionDep, page: LearnerAction) -> Response:
    """Allow or Deny: back to the app, with a code or with access_denied."""
    form = await request.form()
    params = tuple(
        (name, value)
        for name, value in form.multi_items()
        if isinstance(value, str) and name in authorization.REQUEST_PARAMETERS
    )
    allow = form.get("decision") == "allow"
    made = oauth_request(request, params)
    try:
        answered = await run_in_threadpool(
            lambda: authorization.decide(session, made, page.user, allow=allow)
        )
    except InvalidInput as error:
        return error_response(request, 400, str(error))
    if answered.location is None:
        return error_response(request, 400, "this request cannot be answered")
    return RedirectResponse(answered.location, status_code=303)


@router.post(API_PATH + "/oauth/token", response_model=TokenIssued, responses=OAUTH_ERRORS)
async def token(request: Request, session: SessionDep) -> JSONResponse:
    """RFC 6749 §3.2: authorization_code (with the PKCE verifier) and refresh_token."""
    made = oauth_request(request, await _form(request))
    return _json(await run_in_threadpool(authorization.token, session, made))


@router.post(API_PATH + "/oauth/revoke", responses=OAUTH_ERRORS)
async def revoke(request: Request, session: SessionDep) -> JSONResponse:
    """RFC 7009: 200 when revoked, and when the token was not known."""
    made = oauth_request(request, await _form(request))
    return _json(await run_in_threadpool(authorization.revoke, session, made))


ClientId = Annotated[str, Path(max_length=64)]


@router.get("/api/ob/clients", tags=["coordinator"])
def registered_clients(session: SessionDep, user: CoordinatorDep) -> list[ObClientOut]:
    """Every backpack or host registered with our Open Badges API, newest first."""
    return [client_out(record) for record in clients.clients(session)]


@router.post("/api/ob/clients/{client_id}/revoke", tags=["coordinator"])
def revoke_client(client_id: ClientId, session: SessionDep, user: CoordinatorDep) -> ObClientOut:
    """Shut a client out: no new token, and every token it holds refused from now on."""
    return client_out(clients.revoke_client(session, user, client_id))


def client_out(record: ObClient) -> ObClientOut:
    return ObClientOut(
        client_id=record.client_id,
        name=record.name,
        client_uri=record.registration.get("client_uri"),
        scope=record.registration.get("scope", ""),
        registered_at=record.registered_at,
        revoked_at=record.revoked_at,
    )
