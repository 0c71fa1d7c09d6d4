"""Public pages and documents: the Achievements, their badge images and the issuer Profile."""

from __future__ import annotations

import hashlib
import textwrap

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from issuer.dids import DID_WEB, did_web_path
from issuer.errors import NotFound
from issuer.services import awards
from issuer.services.catalog import CatalogEntry, stored_catalog
from issuer.services.identity import IssuerIdentity
from issuer.services.status import published_list
from issuer.web.deps import SessionDep, optional_issuer
from issuer.web.negotiation import wants_json
from issuer.web.templating import render

router = APIRouter()

JSON_LD = "application/ld+json"
LEVEL_COLOURS = ("#0f766e", "#1d4ed8", "#7c3aed", "#b45309", "#be123c", "#4d7c0f")


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    catalog = stored_catalog(session)
    return render(
        request,
        "public/achievements.html",
        {"frameworks": catalog.frameworks(), "entries": catalog.entries},
    )


@router.get("/achievements/{soc}/{level}", response_model=None)
def achievement(request: Request, session: SessionDep, soc: str, level: str) -> Response:
    """The Achievement: JSON-LD for `Accept: application/ld+json|application/json`, else a page."""
    entry = stored_catalog(session).find(soc, level)
    if wants_json(request):
        return JSONResponse(entry.achievement, media_type=JSON_LD)
    return render(request, "public/achievement.html", {"entry": entry})


@router.get("/achievements/{soc}/{level}/image.svg")
def badge_image(request: Request, session: SessionDep, soc: str, level: str) -> Response:
    """The level's badge, rendered from templates/badges/level.svg."""
    entry = stored_catalog(session).find(soc, level)
    body = request.app.state.templates.get_template("badges/level.svg").render(badge(entry))
    return Response(
        body,
        media_type="image/svg+xml",
        headers={"Cache-Control": "public, max-age=3600"},
    )


@router.get("/credentials/{credential_id}")
def credential(session: SessionDep, credential_id: str) -> Response:
    """The signed credential, byte for byte as it was issued and stored."""
    record = awards.credential(session, credential_id)
    return Response(record.document, media_type=JSON_LD)


@router.get("/status/{list_id}")
def status_list(request: Request, session: SessionDep, list_id: int) -> Response:
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


def badge(entry: CatalogEntry) -> dict[str, object]:
    """What the badge template needs: colour and pips by level position, wrapped title lines."""
    levels = entry.framework.levels
    position = levels.index(entry.level)
    return {
        "title_lines": textwrap.wrap(entry.framework.occupation.title, 20)[:3],
        "label": entry.level.label,
        "soc": entry.framework.occupation.soc,
        "colour": LEVEL_COLOURS[position % len(LEVEL_COLOURS)],
        "position": position + 1,
        "count": len(levels),
        "caption": entry.achievement["image"]["caption"],
    }
