"""Endorsements at their own URLs: each EndorsementCredential we carry, exactly as signed, for
anyone (a verifier following an endorsement's `id`, a backpack). Withdrawn ones stay readable:
credentials issued while they were in force still embed them."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from issuer.services import endorsing
from issuer.web.deps import ReadSessionDep

router = APIRouter()

VC_MEDIA_TYPE = "application/vc+ld+json"


@router.get("/endorsements/{endorsement_id}")
def endorsement(session: ReadSessionDep, endorsement_id: str) -> Response:
    record = endorsing.published(session, endorsement_id)
    return Response(
        record.document.encode("utf-8"),
        media_type=VC_MEDIA_TYPE,
        headers={"Cache-Control": "public, max-age=300"},
    )
