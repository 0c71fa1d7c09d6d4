"""What anyone may read: the Achievements and their badge images, the issuer's Profile and DID
document, the status lists, and each credential's own URL (a page for people, the signed JSON
for machines, and the downloads).

Credential pages are for anyone holding the link unless the learner made them private; they
are never indexed (`X-Robots-Tag: noindex`). The learner viewing their own page also gets what
to do with it: add it to a wallet (routes/wallets.py), share it, and make it private or public.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from issuer.badge_images import BadgeFace, badge_layout
from issuer.dates import human_date
from issuer.dids import DID_WEB, did_web_path
from issuer.endorsements import endorsers
from issuer.errors import NotFound
from issuer.services import credential_pages, endorsing, sharing
from issuer.services.catalog import CatalogEntry, stored_catalog
from issuer.services.endorsing import endorsed_achievement, with_endorsements
from issuer.services.sharing import CredentialView
from issuer.services.status import published_list
from issuer.store.models import User
from issuer.web.deps import (
    IssuerDep,
    LearnerAction,
    OptionalPage,
    OptionalUser,
    ReadSessionDep,
    SessionDep,
    flash,
    issuer_identity,
    optional_issuer,
)
from issuer.web.negotiation import wants_json
from issuer.web.templating import render

router = APIRouter()

JSON_LD = "application/ld+json"
NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}


@router.get("/")
def home(request: Request, session: ReadSessionDep) -> Response:
    catalog = stored_catalog(session)
    return render(
        request,
        "public/achievements.html",
        {"frameworks": catalog.frameworks(), "entries": catalog.entries},
    )


@router.get("/achievements/{soc}/{level}", response_model=None)
def achievement(request: Request, session: ReadSessionDep, soc: str, level: str) -> Response:
    """The Achievement: JSON-LD for `Accept: application/ld+json|application/json`, else a page."""
    entry = stored_catalog(session).find(soc, level)
    creator = entry.achievement.get("creator", {}).get("id", "")
    found = endorsing.embedded(session, [entry.achievement["id"], creator])
    document = endorsed_achievement(entry.achievement, found)
    if wants_json(request):
        return JSONResponse(document, media_type=JSON_LD)
    return render(
        request, "public/achievement.html", {"entry": entry, "endorsers": endorsers(document)}
    )


@router.get("/achievements/{soc}/{level}/image.svg")
def badge_image(request: Request, session: ReadSessionDep, soc: str, level: str) -> Response:
    """The level's badge, rendered from templates/badges/level.svg."""
    entry = stored_catalog(session).find(soc, level)
    body = render_badge_svg(request, badge_face(entry), entry.achievement["image"]["caption"])
    return Response(
        body,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/status/{list_id}")
def status_list(request: Request, session: ReadSessionDep, list_id: int) -> Response:
    """The signed BitstringStatusListCredential; revalidate every time (revocation is live)."""
    issuer = optional_issuer(request)
    if issuer is None:
        raise NotFound("this issuer publishes no status list yet")
    document = published_list(session, issuer, list_id)
    etag = (
        '"'
        + hashlib.sha256(document["credentialSubject"]["encodedList"].encode()).hexdigest()[:32]
        + '"'
    )
    headers = {"Cache-Control": "no-cache", "ETag": etag}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return JSONResponse(document, media_type="application/vc+ld+json", headers=headers)


@router.get("/health")
def health(request: Request, session: ReadSessionDep) -> Response:
    """For load balancers: 200 while this instance can read its database and has its keys
    (as currently recorded); 503 otherwise, so traffic goes to the other instances."""
    session.execute(select(1))  # a database that is away raises: 503 from the error handler
    if issuer_identity(request) is None:
        return JSONResponse({"status": "no signing key"}, status_code=503)
    return JSONResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


@router.get("/issuer")
def issuer_profile(request: Request, session: ReadSessionDep) -> Response:
    """The issuer's Profile, the `creator` named by every Achievement, with its endorsements."""
    profile = request.app.state.creator_profile
    found = endorsing.embedded(session, [profile["id"]]).get(profile["id"], [])
    return JSONResponse(with_endorsements(profile, found), media_type=JSON_LD)


@router.get("/.well-known/did.json")
def well_known_did(request: Request) -> Response:
    """The did:web document of a bare-domain did:web (`did:web:example.org`)."""
    return did_web_document(request, "/.well-known/did.json")


@router.get("/{path:path}/did.json")
def path_did(request: Request, path: str) -> Response:
    """The did:web document of a did:web with a path (`did:web:example.org:issuers:a`)."""
    return did_web_document(request, f"/{path}/did.json")


def did_web_document(request: Request, path: str) -> Response:
    identity = issuer_identity(request)
    if (
        identity is None
        or not identity.did.startswith(DID_WEB)
        or did_web_path(identity.did) != path
    ):
        raise NotFound("no DID document here: this issuer is not a did:web at this path")
    return JSONResponse(
        identity.did_document(),
        media_type="application/did+ld+json",
        # Revalidated on every use: after a rotation, the new key must be seen at once.
        headers={"Cache-Control": "no-cache"},
    )


def badge_face(entry: CatalogEntry) -> BadgeFace:
    levels = entry.framework.levels
    return BadgeFace(
        title=entry.framework.occupation.title,
        label=entry.level.label,
        soc=entry.framework.occupation.soc,
        position=levels.index(entry.level) + 1,
        count=len(levels),
    )


def render_badge_svg(request: Request, face: BadgeFace, caption: str) -> str:
    """templates/badges/level.svg for a badge face (the PNG twin is badge_images.badge_png)."""
    template = request.app.state.templates.get_template("badges/level.svg")
    return str(template.render(badge=badge_layout(face), caption=caption))


# ── a credential's own URL ──


def _view(
    request: Request, session: SessionDep, issuer: IssuerDep, user: User | None, credential_id: str
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
    request: Request,
    session: SessionDep,
    issuer: IssuerDep,
    user: OptionalUser,
    page: OptionalPage,
    credential_id: str,
) -> Response:
    """JSON-LD (`Accept: application/ld+json` or `application/json`): the signed credential
    exactly as issued, revoked or not. Otherwise the page: badge, statements, issuer, dates,
    live status (when and why, if revoked or suspended); for its learner, what to do with it."""
    item = _view(request, session, issuer, page.user if page else user, credential_id)
    if wants_json(request):
        return Response(item.record.document, media_type="application/ld+json", headers=NOINDEX)
    response = render(
        request,
        "credentials/page.html",
        {
            "item": item,
            "linkedin": item.linkedin_urls(),
            "page": page,
            "levels": credential_pages.levels(item.record),
            "statements": credential_pages.statements(session, item),
            "endorsers": endorsers(json.loads(item.record.document)),
            "human_date": human_date,
        },
    )
    response.headers.update(NOINDEX)
    return response


@router.post("/credentials/{credential_id}/visibility", tags=["pages"])
def visibility_from_page(
    request: Request,
    session: SessionDep,
    page: LearnerAction,
    credential_id: str,
    public: Annotated[bool, Form()],
) -> Response:
    """The owner's "Make it private / public" button (routes/learner.py has the JSON twin)."""
    sharing.set_visibility(session, page.user, credential_id, public)
    flash(
        request,
        session,
        "your badge page is public: anyone with the link can see and verify it"
        if public
        else "your badge page is private: only you can see it",
    )
    return RedirectResponse(f"/credentials/{credential_id}", status_code=303)


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
    pdf = sharing.certificate(session, item, request.app.state.brand)
    return _download(pdf, "application/pdf", "certificate.pdf")


@router.get("/credentials/{credential_id}/preview.png")
def preview(
    request: Request, session: SessionDep, issuer: IssuerDep, user: OptionalUser, credential_id: str
) -> Response:
    """The 1200×630 image link previews (Open Graph) show."""
    item = _view(request, session, issuer, user, credential_id)
    # Revalidated every time: a preview naming the learner must not outlive "make it private".
    return Response(
        sharing.preview(item, request.app.state.brand),
        media_type="image/png",
        headers={**NOINDEX, "Cache-Control": "no-cache"},
    )
