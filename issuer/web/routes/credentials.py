"""The credential's own URL: a page for people, the signed JSON for machines, and downloads.

Pages are for anyone holding the link unless the learner made them private; they are never
indexed (`X-Robots-Tag: noindex`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from issuer.services import accounts, claims, sharing
from issuer.services.sharing import CredentialView
from issuer.web.deps import (
    IssuerDep,
    LearnerDep,
    OptionalUser,
    SessionDep,
    set_session_cookie,
)
from issuer.web.negotiation import wants_json
from issuer.web.routes.public import render_badge_svg
from issuer.web.templating import render

router = APIRouter(tags=["credentials"])
NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}
Id = Annotated[str, "credential id"]


def _view(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> CredentialView:
    settings = request.app.state.settings
    return sharing.view(
        session,
        issuer,
        credential_id,
        viewer=user,
        linkedin_organization_id=settings.linkedin_organization_id,
    )


def _download(body: bytes | str, media_type: str, filename: str) -> Response:
    return Response(
        body,
        media_type=media_type,
        headers={**NOINDEX, "Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/credentials/{credential_id}")
def credential_page(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    """JSON-LD (`Accept: application/ld+json` or `application/json`): the signed credential
    exactly as issued. Otherwise the page: badge, statements, issuer, dates, live status."""
    item = _view(request, session, issuer, user, credential_id)
    if wants_json(request):
        return Response(item.record.document, media_type="application/ld+json", headers=NOINDEX)
    response = render(
        request,
        "credentials/page.html",
        {
            "item": item,
            "linkedin": item.linkedin_urls(),
            "is_learner": user is not None and user.id == item.record.learner_id,
        },
    )
    response.headers.update(NOINDEX)
    return response


@router.get("/credentials/{credential_id}/credential.json")
def download_json(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    item = _view(request, session, issuer, user, credential_id)
    return _download(item.record.document, "application/ld+json", "credential.json")


@router.get("/credentials/{credential_id}/badge.png")
def download_png(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    item = _view(request, session, issuer, user, credential_id)
    return _download(sharing.baked_png(item), "image/png", "badge.png")


@router.get("/credentials/{credential_id}/badge.svg")
def download_svg(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    item = _view(request, session, issuer, user, credential_id)
    svg = render_badge_svg(request, item.face, item.achievement["image"]["caption"])
    return _download(sharing.baked_svg(item, svg), "image/svg+xml", "badge.svg")


@router.get("/credentials/{credential_id}/credential.jwt")
def download_jwt(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    item = _view(request, session, issuer, user, credential_id)
    return _download(sharing.vc_jwt(item, issuer), "application/jwt", "credential.jwt")


@router.get("/credentials/{credential_id}/certificate.pdf")
def download_pdf(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    item = _view(request, session, issuer, user, credential_id)
    return _download(sharing.certificate(item), "application/pdf", "certificate.pdf")


@router.get("/credentials/{credential_id}/preview.png")
def preview(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    """The 1200×630 image link previews (Open Graph) show."""
    item = _view(request, session, issuer, user, credential_id)
    return Response(
        sharing.preview(item),
        media_type="image/png",
        headers={**NOINDEX, "Cache-Control": "public, max-age=3600"},
    )


class Visibility(BaseModel):
    public: bool


@router.post("/api/me/credentials/{credential_id}/visibility", tags=["learner"])
def set_visibility(
    credential_id: str, body: Visibility, session: SessionDep, user: LearnerDep
) -> dict[str, object]:
    """The learner decides: the page is visible to anyone with the link, or to nobody else."""
    record = sharing.set_visibility(session, user, credential_id, body.public)
    return {"id": record.id, "public": record.public}


@router.get("/claim/{token}", tags=["learner"])
def claim_page(request: Request, token: str) -> Response:
    """The link in the e-mail: a page with one button. A GET never uses the link up, because
    mail scanners open links before people do."""
    response = render(request, "credentials/claim.html", {"token": token})
    response.headers.update(NOINDEX)
    return response


@router.post("/claim/{token}", tags=["learner"])
def claim(request: Request, token: str, session: SessionDep) -> Response:
    """Use the link once: sign the learner in and open their credential page."""
    used = claims.redeem(session, token)
    # The link proves only that this is the learner's mailbox: the session opens the learner's
    # own pages, not the coordinator's console of a person who is both.
    cookie, _ = accounts.open_session(session, used.user, scope=["learner"])
    response = RedirectResponse(f"/credentials/{used.credential_id}", status_code=303)
    set_session_cookie(response, request, cookie)
    return response
