"""The verify page: paste, upload or give a URL; a plain verdict, each check, the content."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import Response

from issuer.dids import did_web_url
from issuer.errors import InvalidInput
from issuer.services.verifying import MAX_INPUT_BYTES, verify_input
from issuer.web.deps import ReadSessionDep, fetcher, optional_issuer
from issuer.web.ratelimit import limited
from issuer.web.templating import render

router = APIRouter(tags=["verify"])


@router.get("/verify")
def verify_form(request: Request, session: ReadSessionDep, url: str | None = None) -> Response:
    """The form; `?url=` verifies that address straight away (links in emails, QR codes),
    counted against the same rate limit as a submitted form: it fetches."""
    if url:
        limited("verify", "verify_rate_limit")(request)
        return _result(request, session, url[:2048].encode("utf-8"))
    return render(request, "verify/form.html", {"max_bytes": MAX_INPUT_BYTES})


@router.post("/verify", dependencies=[Depends(limited("verify", "verify_rate_limit"))])
async def verify_submitted(
    request: Request,
    session: ReadSessionDep,
    credential: Annotated[str, Form(max_length=MAX_INPUT_BYTES)] = "",
    url: Annotated[str, Form(max_length=2048)] = "",
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
    return _result(request, session, data)


# What each check asks, in words for an employer; the technical name stays in the details.
CHECK_QUESTIONS = {
    "proof": "Is the signature intact?",
    "cryptosuite": "Signature method",
    "jwt claims": "Do the token's claims match the credential?",
    "issuer": "Is it signed by the issuer it names?",
    "validFrom": "Has it started to be valid?",
    "expiry": "Is it still valid (not expired)?",
    "status": "Has the issuer revoked or suspended it?",
    "json-ld": "Is every term defined by its vocabularies?",
    "conformance": "Does it follow the Open Badges 3.0 format?",
    "records": "Does it match the issuer's own records?",
}
STATUS_WORDS = {
    "passed": "✔ yes",
    "failed": "✘ no",
    "warning": "⚠ yes, with a caveat",
    "not checked": "– could not be checked",
}


def _result(request: Request, session: ReadSessionDep, data: bytes) -> Response:
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
    results = (
        {
            r.get("resultDescription"): r.get("status")
            for r in subject.get("result", [])
            if isinstance(r, dict)
        }
        if isinstance(subject, dict)
        else {}
    )
    issuer = credential.get("issuer")
    return render(
        request,
        "verify/result.html",
        {
            "report": report,
            "questions": CHECK_QUESTIONS,
            "answers": STATUS_WORDS,
            "credential": credential,
            "achievement": achievement if isinstance(achievement, dict) else {},
            "results": results,
            "issuer": issuer if isinstance(issuer, dict) else {"id": issuer},
            "identity": _identity(issuer),
        },
    )


def _identity(issuer: object) -> str:
    """What the issuer's identifier itself vouches for, in words an employer can use."""
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
