"""Words for people, not engineers: a verification report as an employer reads it (its dates
as people write them, `issuer.dates`).

The verify page shows credentials anyone made, so everything here treats a credential as
hostile: a name is text (templates escape it), an image is a `data:` image or an http(s)
address and nothing else, and every answer comes from the checks' names, statuses and codes
(`checks.py`), never from their messages, which stay in the folded technical details.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from issuer.checks import (
    EXPIRED,
    ISSUER_NOT_PROVEN,
    NOT_YET_VALID,
    RECORDS_MISMATCH,
    REVOKED,
    SUSPENDED,
    Check,
    VerificationReport,
)
from issuer.dates import human_date
from issuer.endorsements import embedded_endorsements
from issuer.types import JsonObject
from issuer.web.templating import http_url

_DATA_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml)(;base64)?,[A-Za-z0-9+/=%._-]*")
# No spaces, quotes or angle brackets: escaped, they would be harmless, but no image is there.
_PLAIN_URL = re.compile(r"[^\s\"'<>`\\]{1,2048}")
MAX_IMAGE_CHARS = 500_000


@dataclass(frozen=True, slots=True)
class Finding:
    """A question an employer asks, answered in a word or two, what that means, and the
    checks behind it (shown folded). `tone`: passed, failed, warning or not checked."""

    question: str
    answer: str
    meaning: str
    tone: str
    checks: tuple[Check, ...]


@dataclass(frozen=True, slots=True)
class Banner:
    """The verdict at the top of the page: `tone` is its style, `mark` a symbol beside the
    word, so the verdict never rests on colour alone."""

    tone: str
    mark: str
    word: str
    text: str


def banner(report: VerificationReport, credential: JsonObject) -> Banner:
    verdict = report.verdict
    if verdict == "verified":
        caveat = any(
            c.status != "passed" and c.name != "endorsement" for c in report.checks
        )  # a status list out of reach, an old signature method
        text = "It is genuine: nobody has changed it since it was signed, the organisation it "
        text += "names issued it, and it is in force."
        return Banner(
            "verified", "✔", "Verified", text + (" See the caveats below." if caveat else "")
        )
    until = human_date(credential.get("validUntil") or credential.get("expirationDate"))
    since = human_date(credential.get("validFrom") or credential.get("issuanceDate"))
    words = {
        "revoked": "The issuer has withdrawn this credential. Do not rely on it.",
        "suspended": "The issuer has suspended this credential for now. Do not rely on it "
        "until the suspension is lifted.",
        "expired": f"It expired on {until}: it no longer vouches for these skills.",
        "not yet valid": f"It is not valid before {since}.",
        "issuer not proven": "Its signature is intact, but nothing shows that the organisation "
        "it names signed it. Do not rely on it.",
        "not checked": "Some essential checks could not run (the issuer's keys or lists could "
        "not be reached). Try again later.",
    }
    if verdict in words:
        tone = "caution" if verdict == "not checked" else verdict.replace(" ", "-")
        mark = "–" if verdict == "not checked" else "✘"
        word = "Could not be checked" if verdict == "not checked" else verdict.capitalize()
        return Banner(tone, mark, word, words[verdict])
    return Banner("forged", "✘", "Not verified", _why_not(report))


def _why_not(report: VerificationReport) -> str:
    failed = {c.name for c in report.failed}
    if "proof" in failed:
        return (
            "It was changed after it was signed, or its signature is not genuine: "
            "treat it as forged."
        )
    if "issuer" in failed:
        return "It was not signed by the organisation it names: treat it as forged."
    if "records" in failed:
        return "It does not match what the issuer recorded: treat it as forged."
    return "It does not follow the rules for credentials, so it cannot be relied on."


def findings(report: VerificationReport, credential: JsonObject) -> list[Finding]:
    """The essential questions, in the order an employer asks them; each only if checked."""
    groups: list[tuple[str, Callable[[Check], bool], Callable[..., tuple[str, str, str]]]] = [
        ("Is it genuine and unchanged?", lambda c: c.name in _GENUINE, _genuine),
        ("Did the organisation it names issue it?", lambda c: c.name == "issuer", _issued),
        ("Is it in date?", lambda c: c.name in ("validFrom", "expiry"), _in_date),
        ("Is it still in force?", _in_force, _force),
        ("Does it match the issuer's own records?", _records, _matches),
        ("Is it a well-formed Open Badge?", lambda c: c.name in _WELL_FORMED, _well_formed),
    ]
    found = []
    for question, belongs, answer in groups:
        checks = tuple(c for c in report.checks if belongs(c))
        # A credential with no status entry cannot be withdrawn: say so rather than nothing.
        unlisted = belongs is _in_force and credential and "credentialStatus" not in credential
        if checks or unlisted:
            tone, word, meaning = answer(checks, credential)
            found.append(Finding(question, word, meaning, tone, checks))
    claimed = {c for f in found for c in f.checks}
    others = [c for c in report.checks if c not in claimed and c.name != "endorsement"]
    found += [Finding(c.name.capitalize(), *_generic(c), c.status, (c,)) for c in others]
    return found


_GENUINE = ("proof", "jwt claims", "cryptosuite")
_WELL_FORMED = ("data model", "json-ld", "conformance")
_ANSWERS = {"passed": "Yes", "failed": "No", "warning": "Yes, with a caveat"}


def _generic(check: Check) -> tuple[str, str]:
    return _ANSWERS.get(check.status, "Could not be checked"), ""


def _worst(checks: tuple[Check, ...]) -> str:
    for status in ("failed", "not checked", "warning"):
        if any(c.status == status and (c.essential or status != "not checked") for c in checks):
            return status
    return "warning" if any(c.status != "passed" for c in checks) else "passed"


def _genuine(checks: tuple[Check, ...], _: JsonObject) -> tuple[str, str, str]:
    tone = _worst(checks)
    if any(c.name == "jwt claims" and c.status == "failed" for c in checks):
        return tone, "No", "The token it came in contradicts the credential inside it."
    if tone == "failed":
        return tone, "No", "It was changed after it was signed, or its signature is not genuine."
    if tone == "not checked":
        return tone, "Could not be checked", "Its signature could not be checked here."
    if tone == "warning":
        return tone, "Yes", "Nobody has changed it since it was signed (an older signature method)."
    return tone, "Yes", "Nobody has changed it since it was signed."


def _issued(checks: tuple[Check, ...], credential: JsonObject) -> tuple[str, str, str]:
    tone, name = _worst(checks), issuer_name(credential) or "the issuer"
    if any(c.code == ISSUER_NOT_PROVEN for c in checks):
        why = "The signature is intact, but nothing shows that the key belongs to " + name + "."
        return "failed", "Not proven", why
    if tone == "failed":
        return tone, "No", f"It was not signed by {name}: treat it as forged."
    if tone == "not checked":
        return tone, "Could not be checked", f"The keys {name} publishes could not be reached."
    return tone, "Yes", f"It was signed with a key that {name} publishes. {_whose(credential)}"


def _whose(credential: JsonObject) -> str:
    """What the issuer's identifier vouches for, without showing it (it is in the details)."""
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if isinstance(issuer_id, str) and issuer_id.startswith("did:web:"):
        domain = issuer_id.removeprefix("did:web:").split(":")[0].replace("%3A", ":")
        return f"Those keys are published on the website {domain}."
    return (
        "The name is what the issuer says about itself: its keys are not tied to a website, "
        "so check the name with the organisation if it matters."
    )


def _in_date(checks: tuple[Check, ...], credential: JsonObject) -> tuple[str, str, str]:
    since = human_date(credential.get("validFrom") or credential.get("issuanceDate"))
    until = human_date(credential.get("validUntil") or credential.get("expirationDate"))
    codes = {c.code for c in checks if c.status == "failed"}
    if EXPIRED in codes:
        return "failed", "No: expired", f"It expired on {until}."
    if NOT_YET_VALID in codes:
        return "failed", "Not yet", f"It is not valid before {since}."
    if codes:
        return "failed", "No", "Its dates are not dates a verifier can read."
    end = f"until {until}" if until else "with no end date"
    return "passed", "Yes", f"Valid since {since}, {end}."


def _in_force(check: Check) -> bool:
    return check.name == "status" or (check.name == "records" and check.code == REVOKED)


def _force(checks: tuple[Check, ...], _: JsonObject) -> tuple[str, str, str]:
    codes = {c.code for c in checks if c.status == "failed"}
    if REVOKED in codes:
        return "failed", "No: revoked", "The issuer has withdrawn it."
    if SUSPENDED in codes:
        return "failed", "No: suspended", "The issuer has suspended it for now."
    if codes:
        return "failed", "Cannot tell", "The issuer's list of withdrawn credentials is not genuine."
    if not checks:
        return "passed", "Yes", "The issuer has given itself no way to withdraw it."
    if any(c.status == "not checked" for c in checks):
        why = "The issuer's list of withdrawn credentials could not be reached: ask the issuer."
        return "not checked", "Could not be checked", why
    return _worst(checks), "Yes", "The issuer has not withdrawn or suspended it."


def _records(check: Check) -> bool:
    return check.name == "records" and check.code != REVOKED


def _matches(checks: tuple[Check, ...], _: JsonObject) -> tuple[str, str, str]:
    if any(c.code == RECORDS_MISMATCH for c in checks):
        why = "The issuer has no record of it, or recorded something different: treat it as forged."
        return "failed", "No", why
    if any(c.status == "warning" for c in checks):
        return "warning", "Yes", "It is what the issuer recorded, but a renewed one replaces it."
    return "passed", "Yes", "It is exactly what the issuer recorded when it issued it."


def _well_formed(checks: tuple[Check, ...], _: JsonObject) -> tuple[str, str, str]:
    tone = _worst(checks)
    if tone == "failed":
        return tone, "No", "It breaks the rules for credentials: parts may not mean what they seem."
    if tone == "warning":
        return tone, "Mostly", "It is a valid credential, but strays from the Open Badges format."
    if tone == "not checked":
        return tone, "Partly", "Some of it could not be checked."
    return tone, "Yes", "It follows the Open Badges 3.0 and Verifiable Credentials standards."


def endorsements(report: VerificationReport, credential: JsonObject) -> list[Finding]:
    """Others vouching for the badge or its issuer: never part of the verdict."""
    checks = [c for c in report.checks if c.name == "endorsement"]
    carried = _endorsers(credential)
    found = []
    for number, check in enumerate(checks):
        who, what = carried[number] if number < len(carried) else ("others", "the credential")
        if check.status == "passed":
            meaning = f"They vouch for {what}, and their signature holds."
            found.append(Finding(f"Endorsed by {who}", "Confirmed", meaning, "passed", (check,)))
        else:
            meaning = f"Their endorsement of {what} could not be confirmed. It does not change "
            meaning += "the verdict."
            question = f"Endorsed by {who}?"
            found.append(Finding(question, "Not confirmed", meaning, "warning", (check,)))
    return found


def _endorsers(credential: JsonObject) -> list[tuple[str, str]]:
    """(endorser's name, what it endorses) in the order the verifier checks them."""
    found = []
    for embedded in embedded_endorsements(credential):
        endorsement = embedded.endorsement
        issuer = endorsement.get("issuer") if isinstance(endorsement, dict) else None
        name = issuer.get("name") if isinstance(issuer, dict) else None
        named = name.strip() if isinstance(name, str) and name.strip() else "an unnamed endorser"
        found.append((named, embedded.what))
    return found


def issuer_name(credential: JsonObject) -> str | None:
    issuer = credential.get("issuer")
    name = issuer.get("name") if isinstance(issuer, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else None


def earner_name(credential: JsonObject) -> str | None:
    """The earner's name as the credential states it: an IdentityObject of type `name` (not
    hashed), or the subject's `name`. Many credentials state none (ours name an e-mail hash)."""
    subjects = credential.get("credentialSubject")
    for subject in subjects if isinstance(subjects, list) else [subjects]:
        if not isinstance(subject, dict):
            continue
        items = subject.get("identifier")
        for item in items if isinstance(items, list) else [items]:
            if (
                isinstance(item, dict)
                and item.get("identityType") == "name"
                and item.get("hashed") is False
                and isinstance(item.get("identityHash"), str)
            ):
                return str(item["identityHash"]).strip() or None
        if isinstance(subject.get("name"), str) and subject["name"].strip():
            return str(subject["name"]).strip()
    return None


def badge_image(credential: JsonObject, achievement: JsonObject) -> str | None:
    """The badge image's source if it is safe to put in `<img src>`: a `data:` image (an SVG
    there runs no script) or an http(s) address the visitor's browser loads under the CSP.
    The server never fetches it."""
    for image in (achievement.get("image"), credential.get("image")):
        source = image.get("id") if isinstance(image, dict) else image
        if not isinstance(source, str):
            continue
        if len(source) <= MAX_IMAGE_CHARS and _DATA_IMAGE.fullmatch(source):
            return source
        if http_url(source) and _PLAIN_URL.fullmatch(source):
            return source
    return None
