"""The learner's routes, JSON and pages side by side: their progress, their credentials and
who may see them, and the claim link from the issuance e-mail.

A claim link opens a session for the learner's own pages only (`scope`), whatever else the
person may be; a GET of it never spends it (mail scanners open links before people do).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from issuer.services import accounts, awards, claims, credential_pages, roster, sharing, signoff
from issuer.web.deps import (
    LearnerDep,
    LearnerPage,
    ReadSessionDep,
    SessionDep,
    set_session_cookie,
)
from issuer.web.schemas import (
    CredentialOut,
    LevelProgressOut,
    Visibility,
    VisibilityOut,
    credential_out,
    progress_out,
)
from issuer.web.templating import render

router = APIRouter(tags=["learner"])
NOINDEX = {"X-Robots-Tag": "noindex, nofollow"}


# ── JSON ──


@router.get("/api/me/progress")
def my_progress(
    soc: Annotated[str, Query(max_length=10)], session: SessionDep, user: LearnerDep
) -> list[LevelProgressOut]:
    return progress_out(signoff.progress(session, user.id, soc))


@router.get("/api/me/expiring")
def my_expiring(
    session: SessionDep, user: LearnerDep, days: Annotated[int, Query(ge=0, le=3650)] = 30
) -> list[CredentialOut]:
    expiring = awards.expiring(session, within=timedelta(days=days), learner_id=user.id)
    return [credential_out(record) for record in expiring]


@router.get("/api/me/credentials")
def my_credentials(session: SessionDep, user: LearnerDep) -> list[CredentialOut]:
    return [credential_out(record) for record in awards.credentials(session, learner_id=user.id)]


@router.post("/api/me/credentials/{credential_id}/visibility")
def set_visibility(
    credential_id: str, body: Visibility, session: SessionDep, user: LearnerDep
) -> VisibilityOut:
    """The learner decides: the page is visible to anyone with the link, or to nobody else."""
    record = sharing.set_visibility(session, user, credential_id, body.public)
    return VisibilityOut(id=record.id, public=record.public)


# ── pages ──


@router.get("/learner", tags=["pages"])
def learner_home(request: Request, session: SessionDep, page: LearnerPage) -> Response:
    frameworks = {a.framework.soc for a in roster.assignments_of(session, page.user)}
    progress = {soc: signoff.progress(session, page.user.id, soc) for soc in sorted(frameworks)}
    credentials = awards.credentials(session, learner_id=page.user.id)
    return render(
        request,
        "pages/learner/home.html",
        {
            "page": page,
            "progress": progress,
            "credentials": credentials,
            "names": {r.id: json.loads(r.document)["name"] for r in credentials},
        },
    )


@router.get("/claim/{token}")
def claim_page(request: Request, token: str, session: ReadSessionDep) -> Response:
    """The link in the e-mail: the badge, the earner's name and one button; reading it spends
    nothing. A used or expired link says what to do instead (404)."""
    preview = credential_pages.claim_preview(session, token)
    response = render(
        request,
        "credentials/claim.html",
        {"token": token, "preview": preview},
        status_code=200 if preview is not None else 404,
    )
    response.headers.update(NOINDEX)
    return response


@router.post("/claim/{token}")
def claim(request: Request, token: str, session: SessionDep) -> Response:
    """Use the link once: sign the learner in and open their credential page."""
    used = claims.redeem(session, token)
    # The link proves only that this is the learner's mailbox: the session opens the learner's
    # own pages, not the coordinator's console of a person who is both.
    cookie, _ = accounts.open_session(session, used.user, scope=["learner"])
    response = RedirectResponse(f"/credentials/{used.credential_id}", status_code=303)
    set_session_cookie(response, request, cookie)
    return response
