"""VC-API (https://w3c-ccg.github.io/vc-api/): issuing for standard tooling and test suites."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from issuer.errors import InvalidInput
from issuer.jsonld.loader import load_document
from issuer.services.identity import make_resolver, sign_credential
from issuer.services.status import make_fetch
from issuer.services.verifying import verify_input
from issuer.verification import verify_presentation
from issuer.web.deps import (
    CoordinatorDep,
    FetcherDep,
    IssuerDep,
    OptionalIssuerDep,
    ReadSessionDep,
)
from issuer.web.ratelimit import limited
from issuer.web.schemas import IssueRequest, VerifyCredentialRequest, VerifyPresentationRequest

router = APIRouter(tags=["VC-API"])
VERIFY_LIMIT = Depends(limited("verify", "verify_rate_limit"))


@router.post("/credentials/issue", status_code=201)
def issue(body: IssueRequest, user: CoordinatorDep, issuer: IssuerDep) -> JSONResponse:
    """Sign `credential` as this issuer (Data Integrity, eddsa-rdfc-2022); 400 when it is bad."""
    try:
        signed = sign_credential(body.credential, issuer.identity, form="di", now=datetime.now(UTC))
    except InvalidInput as error:
        return JSONResponse({"detail": str(error)}, status_code=400)
    return JSONResponse({"verifiableCredential": signed}, status_code=201)


@router.post("/credentials/verify", dependencies=[VERIFY_LIMIT])
def verify_credential_api(
    body: VerifyCredentialRequest,
    session: ReadSessionDep,
    issuer: OptionalIssuerDep,
    fetcher: FetcherDep,
) -> JSONResponse:
    """VC-API verify: 200 with the checks when verified, 400 with the same shape when not."""
    credential = body.verifiableCredential
    data = credential.encode() if isinstance(credential, str) else json.dumps(credential).encode()
    report = verify_input(data, session=session, issuer=issuer, fetcher=fetcher)
    return JSONResponse(report.to_json(), status_code=200 if report.verified else 400)


@router.post("/presentations/verify", dependencies=[VERIFY_LIMIT])
def verify_presentation_api(
    body: VerifyPresentationRequest,
    session: ReadSessionDep,
    issuer: OptionalIssuerDep,
    fetcher: FetcherDep,
) -> JSONResponse:
    """VC-API verify for a presentation: the holder's proof, challenge, domain and credentials."""
    report = verify_presentation(
        body.verifiablePresentation,
        challenge=body.options.get("challenge"),
        domain=body.options.get("domain"),
        now=datetime.now(UTC),
        resolve=make_resolver(issuer.identity if issuer else None, fetcher),
        loader=load_document,
        fetch=make_fetch(session, issuer, fetcher),
    )
    return JSONResponse(report.to_json(), status_code=200 if report.verified else 400)
