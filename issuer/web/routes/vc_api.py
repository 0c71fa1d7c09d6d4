"""VC-API (https://w3c-ccg.github.io/vc-api/): issuing for standard tooling and test suites."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from issuer.errors import InvalidInput
from issuer.services.identity import sign_credential
from issuer.web.deps import CoordinatorDep
from issuer.web.routes.api import issuer_of
from issuer.web.schemas import IssueRequest

router = APIRouter(tags=["VC-API"])


@router.post("/credentials/issue", status_code=201)
def issue(body: IssueRequest, request: Request, user: CoordinatorDep) -> JSONResponse:
    """Sign `credential` as this issuer (Data Integrity, eddsa-rdfc-2022); 400 when it is bad."""
    issuer = issuer_of(request)
    try:
        signed = sign_credential(body.credential, issuer.identity, form="di", now=datetime.now(UTC))
    except InvalidInput as error:
        return JSONResponse({"detail": str(error)}, status_code=400)
    return JSONResponse({"verifiableCredential": signed}, status_code=201)
