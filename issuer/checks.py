"""The verification report: named checks with a status, a reason code and words for people.

Like digitalbazaar's `verify` returning `{verified, results, error}`, every outcome is a Check,
never an exception. Four statuses, because "could not look" is not "looked and it holds":
`passed`, `failed`, `warning` (holds, with a caveat) and `not checked` (could not run: no
network, an unsupported method). The verdict is computed from statuses and codes only, never
from the words of a message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from issuer.types import JsonObject

Status = Literal["passed", "failed", "warning", "not checked"]

# Reason codes: the VC Data Model 2.0 (§7.1), VC Data Integrity 1.0 (§7.1), Controlled
# Identifiers 1.0 and Bitstring Status List 1.0 names where they have one, ours otherwise.
EXPIRED = "EXPIRED"
NOT_YET_VALID = "NOT_YET_VALID"
MALFORMED_VALUE_ERROR = "MALFORMED_VALUE_ERROR"
PARSING_ERROR = "PARSING_ERROR"
REVOKED = "REVOKED"
SUSPENDED = "SUSPENDED"
STATUS_RETRIEVAL_ERROR = "STATUS_RETRIEVAL_ERROR"
STATUS_VERIFICATION_ERROR = "STATUS_VERIFICATION_ERROR"
INVALID_ISSUER = "INVALID_ISSUER"
INVALID_HOLDER = "INVALID_HOLDER"
ISSUER_NOT_PROVEN = "ISSUER_NOT_PROVEN"
JSON_LD_INVALID = "JSON_LD_INVALID"
RECORDS_MISMATCH = "RECORDS_MISMATCH"
NOT_CHECKED = "NOT_CHECKED"

_VERDICTS = (
    (REVOKED, "revoked"),
    (SUSPENDED, "suspended"),
    (ISSUER_NOT_PROVEN, "issuer not proven"),
)


@dataclass(frozen=True, slots=True)
class Check:
    """One check. `essential` checks (proof, issuer, dates) must pass for a verdict of
    verified; an optional one (status offline, conformance) may be `not checked`."""

    name: str
    status: Status
    message: str
    code: str | None = None
    essential: bool = True


@dataclass(frozen=True, slots=True)
class VerificationReport:
    checks: tuple[Check, ...]
    credential: JsonObject | None = field(default=None, repr=False)

    @property
    def verified(self) -> bool:
        """Nothing failed, and no essential check was left unchecked."""
        return bool(self.checks) and not any(
            c.status == "failed" or (c.status == "not checked" and c.essential) for c in self.checks
        )

    @property
    def verdict(self) -> str:
        """Words for people: verified, revoked, suspended, expired, not yet valid, issuer not
        proven, not checked or not verified."""
        if self.verified:
            return "verified"
        codes = {c.code for c in self.failed}
        for code, word in _VERDICTS:
            if code in codes:
                return word
        if codes == {EXPIRED}:
            return "expired"
        if codes == {NOT_YET_VALID}:
            return "not yet valid"
        if not self.failed:
            return "not checked"
        return "not verified"

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == "failed"]

    @property
    def not_checked(self) -> list[Check]:
        return [check for check in self.checks if check.status == "not checked"]

    def to_json(self) -> JsonObject:
        """The VC-API verify response shape: verified, checks, warnings, errors; with each
        problem's code, and what could not be checked."""
        return {
            "verified": self.verified,
            "checks": [c.name for c in self.checks if c.status == "passed"],
            "warnings": [_problem(c) for c in self.checks if c.status == "warning"],
            "errors": [_problem(c) for c in self.failed],
            "notChecked": [_problem(c) for c in self.not_checked],
        }


def _problem(check: Check) -> JsonObject:
    problem: JsonObject = {"check": check.name, "message": check.message}
    if check.code is not None:
        problem["code"] = check.code
    return problem
