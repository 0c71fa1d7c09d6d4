"""Verify a credential and say plainly what holds: a report of checks, never an exception.

Like digitalbazaar's `verify` returning `{verified, results, error}`, every outcome (bad
signature, unknown key, expired, undefined terms) is a failed Check with a reason a person can
read. The clock (`now`), the DID resolver and the JSON-LD loader are passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from issuer.conformance import conformance_problems
from issuer.errors import IssuerError
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.strict import expand_strictly
from issuer.proofs.data_integrity import Resolve, verify_proof
from issuer.proofs.vc_jwt import decode_vc_jwt
from issuer.status_check import Fetch, status_checks
from issuer.types import DocumentLoader, JsonObject

Status = Literal["passed", "failed", "warning"]


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: Status
    message: str


@dataclass(frozen=True, slots=True)
class VerificationReport:
    checks: tuple[Check, ...]
    credential: JsonObject | None = field(default=None, repr=False)

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(check.status != "failed" for check in self.checks)

    @property
    def verdict(self) -> str:
        """One word for people: verified, revoked, suspended, expired or not verified."""
        if self.verified:
            return "verified"
        messages = [c.message for c in self.failed if c.name.endswith("status")]
        for word in ("revoked", "suspended"):
            if any(word in message for message in messages):
                return word
        if [c.name for c in self.failed] == ["expiry"]:
            return "expired"
        return "not verified"

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == "failed"]

    def to_json(self) -> JsonObject:
        """The VC-API verify response shape: verified, checks, warnings, errors."""
        return {
            "verified": self.verified,
            "checks": [c.name for c in self.checks if c.status == "passed"],
            "warnings": [
                {"check": c.name, "message": c.message}
                for c in self.checks
                if c.status == "warning"
            ],
            "errors": [{"check": c.name, "message": c.message} for c in self.failed],
        }


def verify_credential(
    credential: JsonObject | str,
    *,
    now: datetime,
    resolve: Resolve,
    loader: DocumentLoader,
    fetch: Fetch | None = None,
) -> VerificationReport:
    """Check proof, issuer, dates, status and JSON-LD of a credential (JSON or compact JWT).

    `fetch` loads status lists; without it the status is reported as not checked.
    """
    if isinstance(credential, str):
        result = decode_vc_jwt(credential.strip(), resolve=resolve)
        if result.credential is None:
            return VerificationReport((Check("proof", "failed", result.reason),))
        document, proof = result.credential, Check("proof", "passed", result.reason)
        controller = result.controller
        _, json_ld = _expand(document, loader)
    else:
        document = credential
        # Expand once: the term check and the proof's canonical form share the expansion.
        expanded, json_ld = _expand(document, loader)
        canonical = canonize_expanded(expanded) if expanded is not None else None
        di = verify_proof(document, resolve=resolve, loader=loader, canonical_document=canonical)
        proof = Check("proof", "passed" if di.verified else "failed", di.reason)
        controller = di.controller
    statuses = status_checks(
        document, issuer=issuer_id(document), fetch=fetch, resolve=resolve, loader=loader, now=now
    )
    checks = [
        proof,
        _issuer_check(document, controller),
        *_date_checks(document, now),
        *(Check(name, status, message) for status, name, message in statuses),  # type: ignore[arg-type]
        json_ld,
        _conformance_check(document),
    ]
    return VerificationReport(tuple(checks), document)


def issuer_id(credential: JsonObject) -> str | None:
    issuer = credential.get("issuer")
    value = issuer.get("id") if isinstance(issuer, dict) else issuer
    return value if isinstance(value, str) else None


def _issuer_check(credential: JsonObject, controller: str | None) -> Check:
    issuer = issuer_id(credential)
    if issuer is None:
        return Check("issuer", "failed", "the credential names no issuer")
    if controller is None:
        return Check("issuer", "failed", f"no verified key of {issuer} signed it")
    if controller != issuer:
        return Check(
            "issuer", "failed", f"signed by a key of {controller}, not of the issuer {issuer}"
        )
    return Check("issuer", "passed", f"signed by the issuer {issuer}")


def _date_checks(credential: JsonObject, now: datetime) -> list[Check]:
    checks = []
    start = credential.get("validFrom") or credential.get("issuanceDate")
    end = credential.get("validUntil") or credential.get("expirationDate")
    for name, value, in_force in (("validFrom", start, True), ("validUntil", end, False)):
        if value is None:
            continue
        moment = _datetime(value)
        if moment is None:
            checks.append(Check(name, "failed", f"{value!r} is not a valid date and time"))
        elif in_force and moment > now:
            checks.append(Check(name, "failed", f"not valid before {value}"))
        elif not in_force and moment <= now:
            checks.append(Check("expiry", "failed", f"expired on {value}"))
        else:
            checks.append(Check(name if in_force else "expiry", "passed", f"{name} {value}"))
    if start is None:
        checks.append(Check("validFrom", "failed", "the credential has no validFrom"))
    return checks


def _conformance_check(credential: JsonObject) -> Check:
    problems = conformance_problems(credential)
    if problems:
        return Check("conformance", "warning", "; ".join(problems))
    return Check(
        "conformance", "passed", "shape, contexts and required fields as the standard asks"
    )


def _expand(credential: JsonObject, loader: DocumentLoader) -> tuple[list[Any] | None, Check]:
    """The strict expansion of the credential without its proof, and the json-ld check."""
    try:
        expanded = expand_strictly({k: v for k, v in credential.items() if k != "proof"}, loader)
    except IssuerError as error:
        return None, Check("json-ld", "failed", str(error))
    return expanded, Check(
        "json-ld", "passed", "every term is defined by the credential's contexts"
    )


def _datetime(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def verify_presentation(
    presentation: JsonObject,
    *,
    challenge: str | None,
    domain: str | None,
    now: datetime,
    resolve: Resolve,
    loader: DocumentLoader,
    fetch: Fetch | None = None,
) -> VerificationReport:
    """A Verifiable Presentation: its holder's proof (authentication, bound to `challenge` and
    `domain` when given) and every credential inside it."""
    proof = verify_proof(
        presentation, resolve=resolve, loader=loader, expected_purpose="authentication"
    )
    checks = [Check("presentation proof", "passed" if proof.verified else "failed", proof.reason)]
    proofs = presentation.get("proof")
    first = (proofs[0] if isinstance(proofs, list) and proofs else proofs) or {}
    for name, expected in (("challenge", challenge), ("domain", domain)):
        if expected is None:
            continue
        got = first.get(name) if isinstance(first, dict) else None
        status: Status = "passed" if got == expected else "failed"
        checks.append(
            Check(name, status, f"{name} {'matches' if got == expected else 'does not match'}")
        )
    holder = presentation.get("holder")
    holder_id = holder.get("id") if isinstance(holder, dict) else holder
    if holder_id is not None and proof.controller is not None and holder_id != proof.controller:
        checks.append(
            Check("holder", "failed", f"signed by {proof.controller}, not the holder {holder_id}")
        )
    credentials = presentation.get("verifiableCredential") or []
    for number, credential in enumerate(
        credentials if isinstance(credentials, list) else [credentials], 1
    ):
        if not isinstance(credential, dict | str):
            checks.append(Check(f"credential {number}", "failed", "not a credential"))
            continue
        inner = verify_credential(credential, now=now, resolve=resolve, loader=loader, fetch=fetch)
        checks.extend(
            Check(f"credential {number}: {c.name}", c.status, c.message) for c in inner.checks
        )
    return VerificationReport(tuple(checks), presentation)
