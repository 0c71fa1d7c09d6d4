"""Public pages and documents: the Achievements, their badge images and the issuer Profile."""

from __future__ import annotations

import hashlib
import textwrap

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from issuer.badge_images import BadgeFace
from issuer.dids import DID_WEB, did_web_path
from issuer.errors import NotFound
from issuer.services.catalog import CatalogEntry, stored_catalog
from issuer.services.identity import IssuerIdentity
from issuer.services.status import published_list
from issuer.web.deps import ReadSessionDep, optional_issuer
from issuer.web.negotiation import wants_json
from issuer.web.templating import render

router = APIRouter()

JSON_LD = "application/ld+json"


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
    if wants_json(request):
        return JSONResponse(entry.achievement, media_type=JSON_LD)
    return render(request, "public/achievement.html", {"entry": entry})


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


@router.get("/issuer")
def issuer_profile(request: Request) -> Response:
    """The issuer's Profile, the `creator` named by every Achievement."""
    return JSONResponse(request.app.state.creator_profile, media_type=JSON_LD)


@router.get("/.well-known/did.json")
def well_known_did(request: Request) -> Response:
    """The did:web document of a bare-domain did:web (`did:web:example.org`)."""
    return did_web_document(request, "/.well-known/did.json")


@router.get("/{path:path}/did.json")
def path_did(request: Request, path: str) -> Response:
    """The did:web document of a did:web with a path (`did:web:example.org:issuers:a`)."""
    return did_web_document(request, f"/{path}/did.json")


def did_web_document(request: Request, path: str) -> Response:
    identity: IssuerIdentity | None = request.app.state.identity
    if (
        identity is None
        or not identity.did.startswith(DID_WEB)
        or did_web_path(identity.did) != path
    ):
        raise NotFound("no DID document here: this issuer is not a did:web at this path")
    return JSONResponse(
        identity.did_document(),
        media_type="application/did+ld+json",
        headers={"Cache-Control": "public, max-age=300"},
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
    return str(
        template.render(
            title_lines=textwrap.wrap(face.title, 20)[:3],
            label=face.label,
            soc=face.soc,
            colour=face.colour,
            position=face.position,
            count=face.count,
            caption=caption,
        )
    )
