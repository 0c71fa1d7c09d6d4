"""Wallets: the VC-API exchange (interaction URL, LCW deep links) and OpenID4VCI 1.0, started
by the JSON API or by the buttons on the learner's credential page.

The async routes (they read the body themselves) hand the service call to the thread pool:
spending a single-use exchange, token or nonce waits on the database for a racing request's
row lock, and that request can only commit once the event loop runs its session's teardown.
Waiting on the loop itself would deadlock the two.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Annotated, Any

import qrcode
import qrcode.image.svg
from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from issuer.errors import InvalidInput
from issuer.services import exchanges, sharing
from issuer.services.exchanges import OAuthError
from issuer.web.deps import (
    IssuerDep,
    LearnerAction,
    LearnerDep,
    OptionalPage,
    SessionDep,
    deliver_mail,
)
from issuer.web.negotiation import wants_json
from issuer.web.templating import render

router = APIRouter(tags=["wallets"])
# The pages below show a single-use link: neither a cache nor the back button may keep it.
NO_STORE = {"Cache-Control": "no-store"}


def qr_svg(data: str) -> str:
    image = qrcode.make(data, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode("utf-8")


@router.post("/api/me/credentials/{credential_id}/exchanges", status_code=201, tags=["learner"])
def start_exchange(
    credential_id: str, session: SessionDep, user: LearnerDep, issuer: IssuerDep
) -> dict[str, str]:
    """A one-time VC-API exchange for a wallet (15 minutes): links for QR codes and buttons."""
    exchange = exchanges.start_vcapi(session, user, credential_id)
    return {
        "id": exchange.id,
        "expires_at": exchange.expires_at.isoformat(),
        **exchanges.links(exchange, issuer),
    }


@router.get("/interactions/{exchange_id}")
def interaction(
    request: Request, exchange_id: str, session: SessionDep, issuer: IssuerDep, page: OptionalPage
) -> Response:
    """`Accept: application/json` → the protocols; otherwise a page for a person. Never consumes."""
    exchange = exchanges.live_exchange(session, exchange_id, "vcapi", datetime.now(UTC))
    found = exchanges.links(exchange, issuer)
    if wants_json(request):
        return JSONResponse({"protocols": {"vcapi": found["vcapi"]}})
    return render(
        request,
        "wallets/interaction.html",
        {"links": found, "qr": qr_svg(found["interaction_url"]), "page": page, "back": None},
    )


@router.post("/credentials/{credential_id}/wallet", tags=["pages"])
def exchange_from_page(
    request: Request,
    credential_id: str,
    session: SessionDep,
    page: LearnerAction,
    issuer: IssuerDep,
) -> Response:
    """The credential page's "Add to a wallet": a one-time exchange, as a QR code and links."""
    found = exchanges.links(exchanges.start_vcapi(session, page.user, credential_id), issuer)
    response = render(
        request,
        "wallets/interaction.html",
        {
            "links": found,
            "qr": qr_svg(found["interaction_url"]),
            "page": page,
            "back": f"/credentials/{credential_id}",
        },
    )
    response.headers.update(NO_STORE)
    return response


@router.post("/exchanges/{exchange_id}")
async def participate(
    request: Request, exchange_id: str, session: SessionDep, issuer: IssuerDep
) -> JSONResponse:
    """`{}` → a DIDAuthentication request; `{"verifiablePresentation": …}` → the credential."""
    body = await _json(request)
    if "verifiablePresentation" not in body:
        return JSONResponse(
            await run_in_threadpool(exchanges.presentation_request, session, exchange_id, issuer)
        )
    credential = await run_in_threadpool(
        exchanges.complete_vcapi, session, exchange_id, body["verifiablePresentation"], issuer
    )
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "verifiableCredential": [credential],
    }
    return JSONResponse({"verifiablePresentation": presentation})


@router.post("/exchanges/{exchange_id}/legacy")
async def legacy_request(
    request: Request, exchange_id: str, session: SessionDep, issuer: IssuerDep
) -> JSONResponse:
    """The Learner Credential Wallet's legacy `vc_request_url`: the body is the DIDAuth VP."""
    presentation = await _json(request)
    return JSONResponse(
        await run_in_threadpool(
            exchanges.complete_vcapi, session, exchange_id, presentation, issuer
        )
    )


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise InvalidInput("send a JSON object")
    return body


# ── OpenID4VCI ──


@router.post("/api/me/credentials/{credential_id}/openid-offer", status_code=201, tags=["learner"])
def start_openid(
    credential_id: str,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: LearnerDep,
    issuer: IssuerDep,
) -> dict[str, str]:
    """A credential offer by reference (QR / link); the transaction code goes by e-mail."""
    exchange = sharing.offer_openid(session, user, credential_id)
    background.add_task(deliver_mail, request.app)
    link = exchanges.offer_link(exchange, issuer)
    return {
        "credential_offer_uri": exchanges.offer_uri(exchange, issuer),
        "offer_link": link,
        "qr_svg": qr_svg(link),
    }


@router.post("/credentials/{credential_id}/openid-offer", tags=["pages"])
def offer_from_page(
    request: Request,
    background: BackgroundTasks,
    credential_id: str,
    session: SessionDep,
    page: LearnerAction,
    issuer: IssuerDep,
) -> Response:
    """The credential page's OpenID4VCI button: the offer as a QR code and a link; the
    transaction code goes to the learner's e-mail, never onto this page."""
    exchange = sharing.offer_openid(session, page.user, credential_id)
    background.add_task(deliver_mail, request.app)
    link = exchanges.offer_link(exchange, issuer)
    response = render(
        request,
        "wallets/offer.html",
        {
            "link": link,
            "qr": qr_svg(link),
            "page": page,
            "back": f"/credentials/{credential_id}",
        },
    )
    response.headers.update(NO_STORE)
    return response


@router.get("/oid4vci/offers/{exchange_id}")
def offer(exchange_id: str, session: SessionDep, issuer: IssuerDep) -> JSONResponse:
    return JSONResponse(exchanges.offer(session, exchange_id, issuer))


@router.get("/.well-known/openid-credential-issuer")
def credential_issuer_metadata(request: Request, issuer: IssuerDep) -> JSONResponse:
    return JSONResponse(
        exchanges.credential_issuer_metadata(issuer, request.app.state.settings.issuer_name)
    )


@router.get("/.well-known/oauth-authorization-server")
def authorization_server_metadata(issuer: IssuerDep) -> JSONResponse:
    return JSONResponse(
        {
            "issuer": issuer.base_url,
            "token_endpoint": f"{issuer.base_url}/oid4vci/token",
            "grant_types_supported": [exchanges.PRE_AUTHORIZED_GRANT],
            "pre-authorized_grant_anonymous_access_supported": True,
        }
    )


@router.post("/oid4vci/token")
def token(
    session: SessionDep,
    grant_type: Annotated[str, Form(max_length=200)],
    pre_authorized_code: Annotated[str, Form(alias="pre-authorized_code", max_length=200)],
    tx_code: Annotated[str | None, Form(max_length=20)] = None,
) -> JSONResponse:
    try:
        answer = exchanges.token(session, grant_type, pre_authorized_code, tx_code)
    except OAuthError as error:
        # Returned, not raised: a wrong transaction code must still count against the offer.
        return _oauth_error(error)
    return JSONResponse(answer, headers={"Cache-Control": "no-store"})


@router.post("/oid4vci/nonce")
def nonce(session: SessionDep) -> JSONResponse:
    return JSONResponse(
        {"c_nonce": exchanges.new_nonce(session)}, headers={"Cache-Control": "no-store"}
    )


@router.post("/oid4vci/credential")
async def credential(request: Request, session: SessionDep, issuer: IssuerDep) -> JSONResponse:
    authorization = request.headers.get("authorization", "")
    if not authorization.lower().startswith("bearer "):
        return _oauth_error(OAuthError("invalid_token", "a bearer access token is required", 401))
    try:
        body = await request.json()
    except ValueError:
        body = None
    try:
        answer = await run_in_threadpool(
            exchanges.issue_to_wallet, session, authorization[7:].strip(), body, issuer
        )
    except OAuthError as error:
        return _oauth_error(error)
    return JSONResponse(answer)


def _oauth_error(error: OAuthError) -> JSONResponse:
    return JSONResponse(
        {"error": error.error, "error_description": str(error)}, status_code=error.status
    )
