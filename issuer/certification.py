"""What 1EdTech's Issuer certification and validator look at, beyond a plain verification.

The OB 3.0 conformance test system verifies a baked badge issued to
`conformance@imsglobal.org`; its validator (the one behind 1EdTech's public verifier) is
stricter than the specifications on a few points, which a credential can meet and still fail
there: JWTs signed with RS256 or ES256 only, `assertionMethod` entries as string references to
absolute ids, and a recipient it can recognise. Each function here is one of those checks, as
a `Check` (`checks.py`): a failed check is a result, never an exception.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from typing import Any

from issuer.checks import EXPIRED, REVOKED, SUSPENDED, Check, VerificationReport
from issuer.conformance import OB_TYPES
from issuer.types import JsonObject

# What 1EdTech's validator accepts for a VC-JWT (it refuses EdDSA).
VALIDATOR_JWT_ALGORITHMS = ("RS256", "ES256")
CONFORMANCE_RECIPIENT = "conformance@imsglobal.org"

_IDENTITY_HASH = re.compile(r"(sha256\$[0-9a-fA-F]{64}|md5\$[0-9a-fA-F]{32})")
_IDENTITY_TYPES = frozenset(
    {
        "name", "sourcedId", "systemId", "productId", "userName", "accountId", "emailAddress",
        "nationalIdentityNumber", "isbn", "issn", "lisSourcedId", "oneRosterSourcedId",
        "sisSourcedId", "ltiContextId", "ltiDeploymentId", "ltiToolId", "ltiPlatformId",
        "ltiUserId", "identifier",
    }
)  # fmt: skip
_EXTENSION_IDENTITY_TYPE = re.compile(r"ext:[A-Za-z0-9|.\-_]+")
# Verifier checks that have a certification check of their own (`records`, ours only, is
# about our database, not the credential).
_REPORTED_APART = frozenset({"status", "records", "conformance", "json-ld"})


def schema_check(report: VerificationReport, credential: JsonObject) -> Check:
    """The OB 3.0 JSON Schema (and the contexts and types it expects): the verifier's
    `conformance` check, which there is only a warning, is a failure here, and so is a
    credential that is no Open Badge at all (the verifier has no schema to hold it to)."""
    types = credential.get("type")
    types = types if isinstance(types, list) else [types]
    if not OB_TYPES.intersection(kind for kind in types if isinstance(kind, str)):
        return Check(
            "OB 3.0 JSON Schema",
            "failed",
            "the type is not OpenBadgeCredential (or AchievementCredential)",
        )
    return _from_report(report, "conformance", "OB 3.0 JSON Schema")


def safe_mode_check(report: VerificationReport) -> Check:
    """JSON-LD safe mode: every term defined, as jsonld.js in safe mode demands."""
    return _from_report(report, "json-ld", "JSON-LD safe mode")


def signature_check(report: VerificationReport) -> Check:
    """Proof, issuer key and dates: everything essential the verifier found, except the status,
    which `status_list_check` reports."""
    problems = [
        f"{check.name}: {check.message}"
        for check in report.checks
        if check.name not in _REPORTED_APART
        and (check.status == "failed" or (check.status == "not checked" and check.essential))
    ]
    expired = [check.message for check in report.checks if check.code == EXPIRED]
    if problems and len(problems) > len(expired):
        return Check("signature", "failed", "; ".join(problems))
    if expired:  # a credential past its validUntil is still a conformant one
        return Check("signature", "warning", "proof and issuer key hold; " + "; ".join(expired))
    return Check("signature", "passed", "proof, issuer key and dates hold")


def status_list_check(report: VerificationReport, credential: JsonObject) -> Check:
    """The credential's status list resolves, verifies and has its entry. A credential that the
    list marks revoked or suspended still shows that the list works: a warning, not a failure."""
    if "credentialStatus" not in credential:
        return Check("status list", "passed", "no credentialStatus: nothing to look up")
    statuses = [check for check in report.checks if check.name == "status"]
    if not statuses:
        return Check("status list", "failed", "the status was not checked")
    problems = [
        check.message
        for check in statuses
        if check.status == "not checked"
        or (check.status == "failed" and check.code not in (REVOKED, SUSPENDED))
    ]
    if problems:
        return Check("status list", "failed", "; ".join(problems))
    marked = [check.message for check in statuses if check.status == "failed"]
    if marked:
        return Check("status list", "warning", "the list works; " + "; ".join(marked))
    return Check("status list", "passed", "; ".join(check.message for check in statuses))


def did_document_check(document: JsonObject) -> Check:
    """The shape 1EdTech's validator expects of the issuer's DID document: every
    `assertionMethod` entry a string that is the absolute id of a verification method the
    document lists (the specifications also allow embedded methods and relative ids; the
    validator does not)."""
    problems: list[str] = []
    methods = document.get("verificationMethod")
    listed = {
        method.get("id") for method in methods if isinstance(method, dict)
    } if isinstance(methods, list) else set()  # fmt: skip
    entries = document.get("assertionMethod")
    if not isinstance(entries, list) or not entries:
        problems.append("assertionMethod is missing or empty")
        entries = []
    for entry in entries:
        if not isinstance(entry, str):
            problems.append("an assertionMethod entry is an embedded object, not an id")
        elif ":" not in entry.split("#", 1)[0]:
            problems.append(f"assertionMethod entry {entry!r} is not an absolute id")
        elif entry not in listed:
            problems.append(f"assertionMethod entry {entry!r} is not in verificationMethod")
    for method in methods if isinstance(methods, list) else []:
        if isinstance(method, dict) and method.get("controller") != document.get("id"):
            problems.append(f"verification method {method.get('id')!r} has another controller")
    if problems:
        return Check("DID document", "failed", "; ".join(problems))
    return Check(
        "DID document",
        "passed",
        f"{len(entries)} assertionMethod entr{'y' if len(entries) == 1 else 'ies'}, "
        "each the absolute id of a listed key",
    )


def jwt_algorithm_check(token: str) -> Check:
    """1EdTech's validator (and Open Badge Passport) take VC-JWTs signed RS256 or ES256 only."""
    try:
        header = json.loads(_b64url(token.split(".", 1)[0]))
    except (ValueError, IndexError):
        return Check("JWT alg", "failed", "the JWT header is not readable")
    algorithm = header.get("alg") if isinstance(header, dict) else None
    if algorithm in VALIDATOR_JWT_ALGORITHMS:
        return Check("JWT alg", "passed", f"alg {algorithm}")
    return Check(
        "JWT alg",
        "failed",
        f"alg {algorithm!r}: 1EdTech's validator accepts {' or '.join(VALIDATOR_JWT_ALGORITHMS)} "
        "only (set ISSUER_JWT_ALG=ES256 with a P-256 key)",
    )


def recipient_check(credential: JsonObject, email: str | None = None) -> Check:
    """The recipient: `credentialSubject.id` or at least one well-formed IdentityObject (OB 3.0
    AchievementSubject), and, given `email`, an emailAddress identifier that is that address
    (the certification badge must be issued to conformance@imsglobal.org)."""
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, dict):
        return Check("recipient", "failed", "credentialSubject is not one object")
    identifiers = subject.get("identifier", [])
    identifiers = identifiers if isinstance(identifiers, list) else [identifiers]
    problems = [problem for item in identifiers for problem in identity_object_problems(item)]
    if problems:
        return Check("recipient", "failed", "; ".join(problems))
    if not identifiers and not isinstance(subject.get("id"), str):
        return Check("recipient", "failed", "credentialSubject has neither an id nor an identifier")
    if email is not None:
        if not any(identifies(item, email) for item in identifiers):
            return Check("recipient", "failed", f"no emailAddress identifier is {email}")
        return Check("recipient", "passed", f"issued to {email}")
    kinds = sorted({str(item.get("identityType")) for item in identifiers})
    described = ", ".join(kinds) if kinds else "the subject's id"
    return Check("recipient", "passed", f"identified by {described}")


def identity_object_problems(item: Any) -> list[str]:
    """What makes `item` not an OB 3.0 IdentityObject."""
    if not isinstance(item, dict):
        return ["an identifier is not an object"]
    problems = []
    if item.get("type") != "IdentityObject":
        problems.append("an identifier's type is not IdentityObject")
    kind = item.get("identityType")
    if not isinstance(kind, str) or not (
        kind in _IDENTITY_TYPES or _EXTENSION_IDENTITY_TYPE.fullmatch(kind)
    ):
        problems.append(f"identityType {kind!r} is not one OB 3.0 defines (or ext:…)")
    hashed, value = item.get("hashed"), item.get("identityHash")
    if not isinstance(hashed, bool):
        problems.append("hashed must be true or false")
    if not isinstance(value, str) or not value:
        problems.append("identityHash is missing")
    elif hashed is True and not _IDENTITY_HASH.fullmatch(value):
        problems.append("a hashed identityHash is sha256$<64 hex> or md5$<32 hex>")
    if "salt" in item and not isinstance(item["salt"], str):
        problems.append("salt must be a string")
    return problems


def identifies(item: Any, email: str) -> bool:
    """Does this IdentityObject name `email`? Hashed ones are compared by hashing the address
    (as given and lower-cased) with the object's salt; the address itself goes nowhere."""
    if not isinstance(item, dict) or item.get("identityType") != "emailAddress":
        return False
    value, salt = item.get("identityHash"), item.get("salt", "")
    if not isinstance(value, str) or not isinstance(salt, str):
        return False
    candidates = {email.strip(), email.strip().lower()}
    if item.get("hashed") is not True:
        return any(hmac.compare_digest(value.lower(), c.lower()) for c in candidates)
    algorithm, _, digest = value.partition("$")
    if algorithm not in ("sha256", "md5"):
        return False
    return any(
        hmac.compare_digest(
            hashlib.new(algorithm, (c + salt).encode("utf-8")).hexdigest(), digest.lower()
        )
        for c in candidates
    )


def _from_report(report: VerificationReport, name: str, title: str) -> Check:
    found = [check for check in report.checks if check.name == name]
    if not found:
        return Check(title, "failed", "was not checked")
    problems = [check.message for check in found if check.status != "passed"]
    if problems:
        return Check(title, "failed", "; ".join(problems))
    return Check(title, "passed", found[0].message)


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
