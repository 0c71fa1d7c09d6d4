"""The verify page, for an employer: paste, upload or give a URL; a verdict banner with the
badge and the earner, each check in plain words (the technical details folded away), and
"does this credential belong to this person?" by the e-mail address the candidate gave.

That address comes by POST only (never in a URL), is hashed with the credential's salt and
compared (`verifying.belongs_to`), and is neither stored, logged nor written back to the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from issuer.dates import human_date
from issuer.dids import did_web_url
from issuer.errors import InvalidInput
from issuer.services.verifying import (
    MAX_EMAIL_LENGTH,
    MAX_INPUT_BYTES,
    belongs_to,
    names_an_email,
    portable_input,
    verify_input,
)
from issuer.web import plain
from issuer.web.deps import ReadSessionDep, fetcher, optional_issuer
from issuer.web.ratelimit import limited
from issuer.web.templating import render

router = APIRouter(tags=["verify"])
# A report may hold the e-mail check's answer, and always holds what a credential says.
NO_STORE = {"Cache-Control": "no-store"}


@router.get("/verify")
def verify_form(request: Request, session: ReadSessionDep, url: str | None = None) -> Response:
    """The form; `?url=` verifies that address straight away (links in emails, QR codes),
    counted against the same rate limit as a submitted form: it fetches."""
    if url:
        limited("verify", "verify_rate_limit")(request)
        return _result(request, session, url[:2048].encode("utf-8"), email="")
    return render(request, "verify/form.html", {"max_bytes": MAX_INPUT_BYTES})


@router.post("/verify", dependencies=[Depends(limited("verify", "verify_rate_limit"))])
async def verify_submitted(
    request: Request,
    session: ReadSessionDep,
    credential: Annotated[str, Form(max_length=MAX_INPUT_BYTES)] = "",
    url: Annotated[str, Form(max_length=2048)] = "",
    email: Annotated[str, Form(max_length=MAX_EMAIL_LENGTH)] = "",
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    data = b""
    if file is not None and file.filename:
        data = await file.read(MAX_INPUT_BYTES + 1)
    data = data or credential.strip().encode("utf-8") or url.strip().encode("utf-8")
    if not data:
        return render(
            request,
            "verify/form.html",
            {
                "max_bytes": MAX_INPUT_BYTES,
                "error": "Paste a credential, choose a file or give a URL.",
            },
            status_code=422,
        )
    return _result(request, session, data, email=email.strip())


def _result(request: Request, session: ReadSessionDep, data: bytes, *, email: str) -> Response:
    try:
        report = verify_input(
            data, session=session, issuer=optional_issuer(request), fetcher=fetcher(request)
        )
    except InvalidInput as error:
        return render(
            request,
            "verify/form.html",
            {"max_bytes": MAX_INPUT_BYTES, "error": str(error)},
            status_code=422,
        )
    credential = report.credential or {}
    subject = credential.get("credentialSubject") or {}
    subject = subject[0] if isinstance(subject, list) and subject else subject
    achievement = subject.get("achievement", {}) if isinstance(subject, dict) else {}
    achievement = achievement if isinstance(achievement, dict) else {}
    issuer = credential.get("issuer")
    response = render(
        request,
        "verify/result.html",
        {
            "report": report,
            "banner": plain.banner(report, credential),
            "findings": plain.findings(report, credential) if credential else [],
            "endorsements": plain.endorsements(report, credential),
            "credential": credential,
            "achievement": achievement,
            "results": _results(subject),
            "issuer": issuer if isinstance(issuer, dict) else {"id": issuer},
            "issuer_name": plain.issuer_name(credential),
            "earner": plain.earner_name(credential),
            "image": plain.badge_image(credential, achievement),
            "dates": {
                name: human_date(credential.get(name))
                for name in ("validFrom", "issuanceDate", "validUntil", "expirationDate")
                if credential.get(name)
            }
            | {"awarded": human_date(credential.get("awardedDate") or "")},
            "identity": _identity(issuer),
            "asks_email": names_an_email(credential),
            "belonging": belongs_to(credential, email) if email else None,
            "again": portable_input(data),
            "checked_on": human_date(datetime.now(UTC)),
        },
    )
    response.headers.update(NO_STORE)
    return response


def _results(subject: object) -> dict[object, object]:
    if not isinstance(subject, dict) or not isinstance(subject.get("result"), list):
        return {}
    return {
        r.get("resultDescription"): r.get("status")
        for r in subject["result"]
        if isinstance(r, dict)
    }


def _identity(issuer: object) -> str:
    """What the issuer's identifier itself vouches for (the technical details)."""
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str):
        return "The credential names no issuer."
    if issuer_id.startswith("did:web:"):
        url = did_web_url(issuer_id)
        return f"{issuer_id}: its keys are published at {url}, controlled by that web domain."
    if issuer_id.startswith("did:key:"):
        return (
            f"{issuer_id}: an identifier made from the signing key itself. It proves the "
            "credential was signed with that key, not which organisation holds it; the name "
            "shown is what the issuer states about itself."
        )
    return f"{issuer_id}: the issuer's own identifier."
