"""Verify a credential or presentation and say plainly what holds: a report, never an exception.

Every proof format ends in the same two questions, asked the same way: is the signature intact
(the proof check), and does the key speak for the issuer (the issuer check: the key's
controller, as bound by `controllers.py`, is the credential's `issuer`)? Then dates, status,
JSON-LD terms and conformance. The clock, the resolver, the JSON-LD loader and the status
fetch are passed in; `services/verifying.py` is the one guarded entry that supplies them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from issuer.checks import (
    EXPIRED,
    INVALID_HOLDER,
    INVALID_ISSUER,
    ISSUER_NOT_PROVEN,
    JSON_LD_INVALID,
    MALFORMED_VALUE_ERROR,
    NOT_CHECKED,
    NOT_YET_VALID,
    Check,
    VerificationReport,
)
from issuer.conformance import conformance_problems
from issuer.controllers import Resolve
from issuer.data_model import Fetch as ResourceFetch
from issuer.data_model import Problem, credential_problems, presentation_problems
from issuer.endorsements import (
    Embedded,
    embedded_endorsements,
    endorsement_comment,
    endorsement_problems,
    endorser_name,
)
from issuer.errors import InvalidInput, IssuerError
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.loader import CREDENTIALS_V1
from issuer.jsonld.strict import expand_strictly
from issuer.proofs.data_integrity import (
    ASSERTION_METHOD,
    AUTHENTICATION,
    ProofExpectations,
    ProofResult,
    parse_datetime,
    verify_proofs,
)
from issuer.proofs.vc_jwt import decode_vc_jwt
from issuer.status_check import Fetch, status_checks
from issuer.types import DocumentLoader, JsonObject

__all__ = ["Check", "VerificationReport", "verify_credential", "verify_presentation"]

# The checks a caller may ask for by name (VC-API `options.checks`); proof and issuer always
# run, because a signature means nothing until its key is bound to someone.
CHECK_NAMES = frozenset(
    {
        "proof",
        "issuer",
        "data model",
        "validFrom",
        "validUntil",
        "expiry",
        "status",
        "json-ld",
        "conformance",
        "endorsement",
    }
)
CHECK_ALIASES = {"credentialStatus": "status", "expiration": "validUntil", "dates": "validFrom"}


@dataclass(frozen=True, slots=True)
class Expectations:
    """What the verifier asks beyond the defaults: `challenge` and `domain` in the proofs (and
    the JWT audience), and which optional checks to run (None: all)."""

    challenge: str | None = None
    domain: str | None = None
    checks: frozenset[str] | None = None

    def proof(self, purpose: str, now: datetime) -> ProofExpectations:
        return ProofExpectations(purpose, self.challenge, self.domain, now)


def requested_checks(names: Iterable[object]) -> frozenset[str]:
    """The checks named by a caller; InvalidInput for a name we do not know."""
    chosen = set()
    for name in names:
        canonical = CHECK_ALIASES.get(str(name), str(name))
        if canonical not in CHECK_NAMES:
            raise InvalidInput(f"unknown check {name!r}; known: {', '.join(sorted(CHECK_NAMES))}")
        chosen.add(canonical)
    return frozenset(chosen)


def verify_credential(
    credential: JsonObject | str,
    *,
    now: datetime,
    resolve: Resolve,
    loader: DocumentLoader,
    fetch: Fetch | None = None,
    expect: Expectations | None = None,
    resources: ResourceFetch | None = None,
) -> VerificationReport:
    """Check proof, issuer, data model, dates, status and JSON-LD of a credential (JSON or
    compact JWT).

    `fetch` loads status lists (without it the status is reported as not checked);
    `resources` loads related resources to check their digests.
    """
    expect = expect or Expectations()
    if isinstance(credential, str):
        results, document, extra = _jwt(credential, now, resolve, expect)
        if document is None:
            return VerificationReport(tuple(_proof_checks("proof", results)))
        _, json_ld = _expand(document, loader)
    else:
        document, extra = credential, []
        # Expand once: the term check and the proof's canonical form share the expansion.
        expanded, json_ld = _expand(document, loader)
        canonical = _canonical(expanded)
        results = verify_proofs(
            document,
            resolve=resolve,
            loader=loader,
            expect=expect.proof(ASSERTION_METHOD, now),
            canonical_document=canonical,
        )
    checks = [
        *_proof_checks("proof", results),
        *extra,
        _issuer_check(document, results),
        *_data_model_checks(credential_problems(document, fetch=resources)),
        *_date_checks(document, now),
    ]
    if expect.checks is None or "status" in expect.checks:
        issuer = issuer_id(document)
        checks += status_checks(
            document, issuer=issuer, fetch=fetch, resolve=resolve, loader=loader, now=now
        )
    checks.append(json_ld)
    if expect.checks is None or "conformance" in expect.checks:  # the costliest check
        checks.append(_conformance_check(document))
    if expect.checks is None or "endorsement" in expect.checks:
        checks += _endorsement_checks(document, now, resolve, loader, fetch)
    return VerificationReport(tuple(_only(checks, expect.checks)), document)


# An endorsement is verified as a credential of its own, for what a credential needs to hold;
# never its own endorsements (no recursion), never its schema (the outer one covers its shape).
_ENDORSEMENT_CHECKS = frozenset({"proof", "issuer", "validFrom", "status", "json-ld"})
MAX_ENDORSEMENTS = 8


def _endorsement_checks(
    document: JsonObject,
    now: datetime,
    resolve: Resolve,
    loader: DocumentLoader,
    fetch: Fetch | None,
) -> list[Check]:
    """One check per embedded endorsement. Each is optional: an endorsement that does not hold
    is a warning about that endorsement, not a failure of the credential carrying it."""
    checks = []
    for count, embedded in enumerate(embedded_endorsements(document)):
        if count == MAX_ENDORSEMENTS:
            message = f"more than {MAX_ENDORSEMENTS} endorsements: the others were not checked"
            checks.append(Check("endorsement", "not checked", message, NOT_CHECKED, False))
            break
        checks.append(_endorsement_check(embedded, now, resolve, loader, fetch))
    return checks


def _endorsement_check(
    embedded: Embedded, now: datetime, resolve: Resolve, loader: DocumentLoader, fetch: Fetch | None
) -> Check:
    endorsement = embedded.endorsement
    who = endorser_name(endorsement) if isinstance(endorsement, dict) else "someone"
    label = f"endorsement of {embedded.what} by {who}"
    problems = endorsement_problems(embedded)
    if problems or not isinstance(endorsement, dict):
        return Check(
            "endorsement", "warning", f"{label} {problems[0]}", MALFORMED_VALUE_ERROR, False
        )
    report = verify_credential(
        endorsement,
        now=now,
        resolve=resolve,
        loader=loader,
        fetch=fetch,
        expect=Expectations(checks=_ENDORSEMENT_CHECKS),
    )
    if report.verified:
        comment = endorsement_comment(endorsement)
        said = f": “{comment[:200]}”" if comment else ""
        return Check("endorsement", "passed", f"{label}, verified{said}", essential=False)
    if not report.failed:
        reasons = "; ".join(c.message for c in report.not_checked)
        return Check(
            "endorsement", "not checked", f"{label}: {reasons}", NOT_CHECKED, essential=False
        )
    reasons = "; ".join(f"{c.name}: {c.message}" for c in report.failed)
    return Check(
        "endorsement",
        "warning",
        f"{label} does not verify ({reasons})",
        report.failed[0].code,
        essential=False,
    )


def _data_model_checks(problems: list[Problem]) -> list[Check]:
    """One check for each rule of the VC Data Model the document breaks, or one that passed."""
    if not problems:
        return [Check("data model", "passed", "follows the Verifiable Credentials data model")]
    return [
        Check("data model", "failed", str(p), p.type)
        if p.checked
        else Check("data model", "not checked", str(p), NOT_CHECKED, essential=False)
        for p in problems
    ]


def _only(checks: list[Check], wanted: frozenset[str] | None) -> list[Check]:
    if wanted is None:
        return checks
    keep = wanted | {"proof", "issuer", "cryptosuite", "jwt claims", "data model"}
    if "validFrom" in wanted or "validUntil" in wanted:
        keep |= {"validFrom", "validUntil", "expiry"}
    return [check for check in checks if check.name in keep]


def _jwt(
    token: str, now: datetime, resolve: Resolve, expect: Expectations
) -> tuple[list[ProofResult], JsonObject | None, list[Check]]:
    """The JWT's proof as a ProofResult, its credential, and a check of its registered claims."""
    result = decode_vc_jwt(token.strip(), resolve=resolve, now=now, audience=expect.domain)
    proof = ProofResult(
        result.verified,
        result.reason,
        result.code,
        result.verification_method,
        result.controller,
        result.intact,
        result.checked,
    )
    claims = []
    if result.claim_problems:
        message = "; ".join(result.claim_problems)
        claims.append(Check("jwt claims", "failed", message, MALFORMED_VALUE_ERROR))
    return [proof], result.credential, claims


def _proof_checks(name: str, results: list[ProofResult]) -> list[Check]:
    """One check for the signatures of every proof, and one for each caveat."""
    broken = [r for r in results if r.checked and not r.intact]
    unchecked = [r for r in results if not r.checked]
    if broken:
        check = Check(name, "failed", _reasons(broken), broken[0].code)
    elif unchecked:
        check = Check(name, "not checked", _reasons(unchecked), unchecked[0].code or NOT_CHECKED)
    else:
        intact = "; ".join(_intact(r) for r in results)
        check = Check(name, "passed", intact)
    warnings = [w for r in results for w in r.warnings]
    return [check, *(Check("cryptosuite", "warning", w, essential=False) for w in warnings)]


def _intact(result: ProofResult) -> str:
    return result.reason if result.verified else f"signature intact ({result.verification_method})"


def _reasons(results: list[ProofResult]) -> str:
    if len(results) == 1:
        return results[0].reason
    return "; ".join(f"proof {n}: {r.reason}" for n, r in enumerate(results, 1))


def _controllers(results: list[ProofResult]) -> set[str]:
    return {r.controller for r in results if r.verified and r.controller is not None}


def issuer_id(credential: JsonObject) -> str | None:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    return value if isinstance(value, str) else None


def _issuer_check(credential: JsonObject, results: list[ProofResult]) -> Check:
    """Does a bound key of the credential's issuer sign it? (Not merely: is a signature intact.)"""
    issuer = issuer_id(credential)
    if issuer is None:
        return Check("issuer", "failed", "the credential names no issuer", INVALID_ISSUER)
    return _signer_check("issuer", issuer, results, INVALID_ISSUER)


def _signer_check(name: str, expected: str, results: list[ProofResult], code: str) -> Check:
    """The party a document names (issuer, holder) against the controllers of its keys."""
    controllers = _controllers(results)
    if expected in controllers:
        return Check(name, "passed", f"signed by a key that {expected} publishes")
    unchecked = [r for r in results if not r.checked]
    if unchecked:
        return Check(name, "not checked", unchecked[0].reason, NOT_CHECKED)
    if controllers:
        signers = ", ".join(sorted(controllers))
        message = f"signed by a key of {signers}, not of the {name} {expected}"
        return Check(name, "failed", message, code)
    if any(not r.intact for r in results):
        message = "the signature does not verify, so who signed is not known"
        return Check(name, "not checked", message, NOT_CHECKED)
    unproven = [r for r in results if r.intact and r.code == ISSUER_NOT_PROVEN]
    if unproven:
        return Check(name, "failed", unproven[0].reason, ISSUER_NOT_PROVEN)
    return Check(name, "failed", f"no key of {expected} is shown to have signed it", code)


def _date_checks(credential: JsonObject, now: datetime) -> list[Check]:
    """validFrom/validUntil (VC 2.0, both optional) or issuanceDate/expirationDate (VC 1.1,
    where issuanceDate is required)."""
    checks = []
    start = credential.get("validFrom", credential.get("issuanceDate"))
    end = credential.get("validUntil", credential.get("expirationDate"))
    if start is not None:
        checks.append(_date_check("validFrom", start, lambda m: m <= now, NOT_YET_VALID))
    elif _is_vc_1_1(credential):
        message = "a VC 1.1 credential needs issuanceDate"
        checks.append(Check("validFrom", "failed", message, MALFORMED_VALUE_ERROR))
    if end is not None:
        checks.append(_date_check("expiry", end, lambda m: m > now, EXPIRED))
    return checks


def _date_check(name: str, value: Any, holds: Any, code: str) -> Check:
    moment = parse_datetime(value)
    if moment is None:
        return Check(
            name, "failed", f"{value!r} is not a valid date and time", MALFORMED_VALUE_ERROR
        )
    if holds(moment):
        return Check(
            name, "passed", f"{'valid from' if code == NOT_YET_VALID else 'valid until'} {value}"
        )
    if code == NOT_YET_VALID:
        return Check(name, "failed", f"not valid before {value}", code)
    return Check(name, "failed", f"expired on {value}", code)


def _is_vc_1_1(credential: JsonObject) -> bool:
    context = credential.get("@context")
    first = context[0] if isinstance(context, list) and context else context
    return bool(first == CREDENTIALS_V1)


def _conformance_check(credential: JsonObject) -> Check:
    problems = conformance_problems(credential)
    if problems:
        return Check("conformance", "warning", "; ".join(problems), essential=False)
    return Check(
        "conformance", "passed", "shape, contexts and required fields as the standard asks"
    )


def _canonical(expanded: list[Any] | None) -> str | None:
    """RDFC-1.0 of the expansion; None when it cannot be had (the proof check then says why:
    a poison graph past the blank-node budget fails there, never as a 500)."""
    if expanded is None:
        return None
    try:
        return canonize_expanded(expanded)
    except IssuerError:
        return None


def _expand(credential: JsonObject, loader: DocumentLoader) -> tuple[list[Any] | None, Check]:
    """The strict expansion of the credential without its proof, and the json-ld check."""
    try:
        expanded = expand_strictly({k: v for k, v in credential.items() if k != "proof"}, loader)
    except IssuerError as error:
        return None, Check("json-ld", "failed", str(error), JSON_LD_INVALID)
    return expanded, Check(
        "json-ld", "passed", "every term is defined by the credential's contexts"
    )


def verify_presentation(
    presentation: JsonObject,
    *,
    now: datetime,
    resolve: Resolve,
    loader: DocumentLoader,
    fetch: Fetch | None = None,
    expect: Expectations | None = None,
    resources: ResourceFetch | None = None,
) -> VerificationReport:
    """A Verifiable Presentation: its holder's proof (authentication, bound to `challenge` and
    `domain` when given, by a key the holder publishes) and every credential inside it."""
    expect = expect or Expectations()
    results = verify_proofs(
        presentation,
        resolve=resolve,
        loader=loader,
        expect=expect.proof(AUTHENTICATION, now),
    )
    checks = [
        *_proof_checks("presentation proof", results),
        _holder_check(presentation, results),
        *_data_model_checks(presentation_problems(presentation)),
    ]
    credentials = presentation.get("verifiableCredential")
    credentials = [] if credentials is None else credentials
    for number, credential in enumerate(
        credentials if isinstance(credentials, list) else [credentials], 1
    ):
        if not isinstance(credential, dict | str):
            checks.append(
                Check(f"credential {number}", "failed", "not a credential", MALFORMED_VALUE_ERROR)
            )
            continue
        inner = verify_credential(
            credential,
            now=now,
            resolve=resolve,
            loader=loader,
            fetch=fetch,
            expect=Expectations(checks=expect.checks),
            resources=resources,
        )
        checks.extend(
            Check(f"credential {number}: {c.name}", c.status, c.message, c.code, c.essential)
            for c in inner.checks
        )
    return VerificationReport(tuple(checks), presentation)


def _holder_check(presentation: JsonObject, results: list[ProofResult]) -> Check:
    holder = presentation.get("holder")
    holder_id = holder.get("id") if isinstance(holder, dict) else holder
    if isinstance(holder_id, str):
        return _signer_check("holder", holder_id, results, INVALID_HOLDER)
    signers = ", ".join(sorted(_controllers(results))) or "no proven key"
    return Check("holder", "warning", f"names no holder; signed by {signers}", essential=False)
