"""VC-API (https://w3c-ccg.github.io/vc-api/): issuing and verifying for standard tooling.

Issue signs a credential exactly as sent, once it names this issuer and follows the VC Data
Model (data_model.py); anything else is a 400 listing every problem with its JSON path, as
`{"detail": "...", "problems": [Problem Details...]}`. Verify answers in the VC-API shape
(`verified`, `checks`, `warnings`, `errors`): 200 when verified, 400 when not, and 400 too for
input that is not a credential or presentation at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from issuer.checks import PARSING_ERROR, Check, VerificationReport
from issuer.data_model import Problem, credential_problems, parse_date_time
from issuer.errors import InvalidInput, IssuerError
from issuer.proofs.data_integrity import ASSERTION_METHOD
from issuer.services.identity import sign_as_given
from issuer.services.verifying import (
    VerifyOptions,
    as_input,
    verify_input,
    verify_presentation_input,
)
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
PROOF_PURPOSES = (ASSERTION_METHOD, "authentication")
# credentialId only names the credential for later API calls; we keep none, so it is ignored.
ISSUE_OPTIONS = ("created", "challenge", "domain", "proofPurpose", "credentialId")
RESOURCE_SECONDS = 8.0


@dataclass(frozen=True, slots=True)
class ProofOptions:
    """The VC-API issue `options` that shape the proof."""

    created: datetime
    proof_purpose: str = ASSERTION_METHOD
    challenge: str | None = None
    domain: str | None = None


@router.post("/credentials/issue", status_code=201)
def issue(
    body: IssueRequest, user: CoordinatorDep, issuer: IssuerDep, fetcher: FetcherDep
) -> JSONResponse:
    """Sign `credential` as sent (Data Integrity: one proof per suite in ISSUER_PROOFS); 400
    naming each problem."""
    # Related resources are fetched to check their digests: any media type, one deadline.
    fetch = partial(fetcher.within(RESOURCE_SECONDS).get, accept="*/*")
    problems = _at("$.credential", credential_problems(body.credential, fetch=fetch))
    problems += _issuer_problems(body.credential, issuer.identity.did)
    options, option_problems = _issue_options(body.options, now=datetime.now(UTC))
    if problems or option_problems:
        return _refused([*problems, *option_problems])
    try:
        signed = sign_as_given(
            body.credential,
            issuer.identity,
            created=options.created,
            proof_purpose=options.proof_purpose,
            challenge=options.challenge,
            domain=options.domain,
        )
    except IssuerError as error:  # JSON-LD that is not strict, a proof already there
        return _refused([Problem("$.credential", str(error))])
    return JSONResponse({"verifiableCredential": signed}, status_code=201)


@router.post("/credentials/verify", dependencies=[VERIFY_LIMIT])
def verify_credential_api(
    body: VerifyCredentialRequest,
    session: ReadSessionDep,
    issuer: OptionalIssuerDep,
    fetcher: FetcherDep,
) -> JSONResponse:
    """VC-API verify: 200 with the checks when verified, 400 with the same shape when not."""
    try:
        options = _verify_options(body.options)
        data = as_input(body.verifiableCredential)
        report = verify_input(
            data, session=session, issuer=issuer, fetcher=fetcher, options=options
        )
    except InvalidInput as error:  # not a credential, or too large to read: not verified
        return _unreadable(str(error))
    return JSONResponse(report.to_json(), status_code=200 if report.verified else 400)


@router.post("/presentations/verify", dependencies=[VERIFY_LIMIT])
def verify_presentation_api(
    body: VerifyPresentationRequest,
    session: ReadSessionDep,
    issuer: OptionalIssuerDep,
    fetcher: FetcherDep,
) -> JSONResponse:
    """VC-API verify for a presentation: the holder's proof, challenge, domain and credentials."""
    try:
        report = verify_presentation_input(
            body.verifiablePresentation,
            session=session,
            issuer=issuer,
            fetcher=fetcher,
            options=_verify_options(body.options),
        )
    except InvalidInput as error:
        return _unreadable(str(error))
    return JSONResponse(report.to_json(), status_code=200 if report.verified else 400)


def _issue_options(options: Any, *, now: datetime) -> tuple[ProofOptions, list[Problem]]:
    """The proof options of an issue request; `created` defaults to `now`."""
    if not isinstance(options, dict):
        return ProofOptions(now), [Problem("$.options", "must be an object")]
    problems = [
        Problem(
            f"$.options.{name}", f"is not an option of this issuer ({', '.join(ISSUE_OPTIONS)})"
        )
        for name in options
        if name not in ISSUE_OPTIONS
    ]
    created = options.get("created")
    moment = parse_date_time(created) if isinstance(created, str) else None
    if created is not None and moment is None:
        problems.append(Problem("$.options.created", "must be an XML Schema dateTime"))
    purpose = options.get("proofPurpose", ASSERTION_METHOD)
    if purpose not in PROOF_PURPOSES:
        message = f"{purpose!r} is not a proof purpose this issuer signs for: {PROOF_PURPOSES}"
        problems.append(Problem("$.options.proofPurpose", message))
    problems += _strings(options, ("challenge", "domain", "credentialId"))
    if problems:
        return ProofOptions(now), problems
    return ProofOptions(
        created=moment or now,
        proof_purpose=purpose,
        challenge=options.get("challenge"),
        domain=options.get("domain"),
    ), []


def _verify_options(options: Any) -> VerifyOptions:
    """The VC-API verify options; InvalidInput for one we cannot honour."""
    purpose = options.get("expectedProofPurpose") if isinstance(options, dict) else None
    if purpose not in (None, ASSERTION_METHOD):
        # Issuers sign credentials for assertionMethod; a proof made for another purpose is not
        # the issuer's claim, so it cannot verify as asked.
        raise InvalidInput(
            f"options.expectedProofPurpose {purpose!r}: credentials are "
            "verified for assertionMethod only"
        )
    return VerifyOptions.from_request(options)


def _issuer_problems(credential: Any, did: str) -> list[Problem]:
    """The VC-API signs only as this issuer: `issuer` (or its id) must be our DID."""
    issuer = credential.get("issuer") if isinstance(credential, dict) else None
    named = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(named, str) or named == did:
        return []  # a missing or malformed issuer is already a data model problem
    path = "$.credential.issuer.id" if isinstance(issuer, dict) else "$.credential.issuer"
    return [Problem(path, f"{named!r} is not this issuer; it signs as {did}")]


def _strings(options: dict[str, Any], names: tuple[str, ...]) -> list[Problem]:
    return [
        Problem(f"$.options.{name}", "must be a string")
        for name in names
        if name in options and not isinstance(options[name], str)
    ]


def _at(prefix: str, problems: list[Problem]) -> list[Problem]:
    """Problems found in a part of the request body, with paths from the body's root."""
    return [replace(problem, path=prefix + problem.path[1:]) for problem in problems]


def _refused(problems: list[Problem]) -> JSONResponse:
    detail = "; ".join(str(problem) for problem in problems)
    body = {"detail": detail, "problems": [problem.to_json() for problem in problems]}
    return JSONResponse(body, status_code=400)


def _unreadable(reason: str) -> JSONResponse:
    report = VerificationReport((Check("input", "failed", reason, PARSING_ERROR),))
    return JSONResponse(report.to_json(), status_code=400)
