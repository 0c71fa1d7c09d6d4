"""OpenBadgeCredentials built from an Achievement and the sign-off that earned it (unsigned).

The shape follows OB 3.0 and VC 2.0 exactly: contexts VC 2.0 + OB 3.0.3, the issuer Profile,
`validFrom` / `validUntil`, `awardedDate`, an AchievementSubject identified by a salted hash
of the learner's email (and their DID once a wallet binds one), the embedded Achievement, one
Result per statement, Evidence from the sign-off records, and a BitstringStatusListEntry.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime

from issuer.jsonld.loader import CREDENTIALS_V2, OB_V3P0
from issuer.proofs.data_integrity import xsd_datetime
from issuer.render_method import RENDER_METHOD_CONTEXT
from issuer.types import JsonObject

CREDENTIAL_CONTEXT = [CREDENTIALS_V2, OB_V3P0]
STATUS_PURPOSE_REVOCATION = "revocation"
METHODS = {
    "clinical-practice": "Observed in clinical practice",
    "simulation": "Observed in simulation",
    "discussion": "Professional discussion",
}


@dataclass(frozen=True, slots=True)
class StatementEvidence:
    """How one statement was confirmed."""

    number: int
    statement: str
    supervisor_name: str
    observed_on: date
    method: str
    setting: str
    note: str | None = None
    # Set when the statement was imported from the supervisor's existing records (paper or
    # another system) rather than signed off live: the coordinator who imported it, and when.
    imported_by: str | None = None
    imported_on: date | None = None


@dataclass(frozen=True, slots=True)
class Attestation:
    supervisor_name: str
    attested_at: datetime
    # Set when the level is issued from imported records: the coordinator who imported them.
    # `supervisor_name` then names whose records they are; nobody attested the level live.
    imported_by: str | None = None


OB_CREDENTIAL_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
# What 1EdTech publishes a JSON Schema for, each with `proof` as an array.
OB_SCHEMA_TYPES = OB_CREDENTIAL_TYPES | {"EndorsementCredential"}


def with_proof_array(signed: JsonObject) -> JsonObject:
    """An Open Badge or endorsement with `proof` as an array, as its OB 3.0 JSON Schema requires.

    Data Integrity allows one proof object or an array of them, and both mean the same graph;
    1EdTech's validator checks the schema, so Open Badges carry the array form.
    """
    types = signed.get("type", [])
    proof = signed.get("proof")
    if isinstance(proof, dict) and OB_SCHEMA_TYPES.intersection(types):
        return {**signed, "proof": [proof]}
    return signed


def identity_hash(email: str, salt: str) -> str:
    """OB 3.0 IdentityObject hash: `sha256$` + hex(SHA-256(value + salt))."""
    return "sha256$" + hashlib.sha256((email.strip().lower() + salt).encode("utf-8")).hexdigest()


def status_entry(list_url: str, index: int, purpose: str = STATUS_PURPOSE_REVOCATION) -> JsonObject:
    """A BitstringStatusListEntry (statusListIndex as a string, id = list URL # index)."""
    return {
        "id": f"{list_url}#{index}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": purpose,
        "statusListIndex": str(index),
        "statusListCredential": list_url,
    }


def build_credential(
    *,
    credential_id: str,
    achievement: JsonObject,
    issuer: JsonObject,
    learner_email: str,
    salt: str,
    evidence: list[StatementEvidence],
    attestation: Attestation,
    valid_from: datetime,
    valid_until: datetime | None,
    status: JsonObject | list[JsonObject],
    subject_id: str | None = None,
    predecessor: str | None = None,
    render_method: list[JsonObject] | None = None,
    learner_name: str | None = None,
) -> JsonObject:
    """The unsigned credential; the Achievement document is embedded without its @context.
    With `render_method` (issuer/render_method.py), its context is added to define it."""
    embedded = {k: v for k, v in achievement.items() if k != "@context"}
    subject: JsonObject = {"type": ["AchievementSubject"]}
    if subject_id:
        subject["id"] = subject_id
    subject["identifier"] = [
        {
            "type": "IdentityObject",
            "identityType": "emailAddress",
            "hashed": True,
            "identityHash": identity_hash(learner_email, salt),
            "salt": salt,
        }
    ]
    if learner_name:
        # The earner as people name them, for whoever the learner shows it to (a verifier's
        # banner, a wallet's card): stated, not hashed, as OB 3.0 allows (`identityType` name).
        subject["identifier"].append(
            {
                "type": "IdentityObject",
                "identityType": "name",
                "hashed": False,
                "identityHash": learner_name,
            }
        )
    subject["achievement"] = embedded
    subject["result"] = [
        {"type": ["Result"], "resultDescription": description["id"], "status": "Completed"}
        for description in embedded.get("resultDescription", [])
    ]
    credential: JsonObject = {
        "@context": [*CREDENTIAL_CONTEXT, RENDER_METHOD_CONTEXT]
        if render_method
        else CREDENTIAL_CONTEXT,
        "id": credential_id,
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": embedded["name"],
        "issuer": issuer,
        "validFrom": xsd_datetime(valid_from),
    }
    if valid_until is not None:
        credential["validUntil"] = xsd_datetime(valid_until)
    credential["awardedDate"] = xsd_datetime(attestation.attested_at)
    credential["credentialSubject"] = subject
    credential["evidence"] = [_evidence(item) for item in evidence] + [_attestation(attestation)]
    if predecessor:
        credential["evidence"].append(
            {
                "id": predecessor,
                "type": ["Evidence"],
                "name": "Renewal",
                "narrative": f"Renews the earlier credential {predecessor} after re-assessment.",
                "genre": "Renewal",
            }
        )
    credential["credentialStatus"] = status
    if render_method:
        credential["renderMethod"] = render_method
    return credential


def _evidence(item: StatementEvidence) -> JsonObject:
    if item.imported_by is not None:
        return _imported_evidence(item, item.imported_by)
    method = METHODS.get(item.method, item.method)
    narrative = (
        f"Statement {item.number} ({item.statement}) was confirmed by {item.supervisor_name}, "
        f"supervisor. {method} on {item.observed_on.isoformat()}, setting: {item.setting}."
    )
    if item.note:
        narrative += f" Note: {item.note}"
    return {
        "type": ["Evidence"],
        "name": f"Statement {item.number} confirmed",
        "narrative": narrative,
        "genre": method,
    }


def _imported_evidence(item: StatementEvidence, coordinator: str) -> JsonObject:
    """A statement taken from existing records: it says so, and never claims a live sign-off."""
    method = METHODS.get(item.method, item.method)
    imported_on = f" on {item.imported_on.isoformat()}" if item.imported_on else ""
    narrative = (
        f"Statement {item.number} ({item.statement}) was imported from the records of "
        f"{item.supervisor_name}, supervisor, by coordinator {coordinator}{imported_on}. "
        f"The records say: {method} on {item.observed_on.isoformat()}, setting: {item.setting}."
    )
    if item.note:
        narrative += f" Note: {item.note}"
    return {
        "type": ["Evidence"],
        "name": f"Statement {item.number} imported from records",
        "narrative": narrative,
        "genre": method,
    }


def _attestation(attestation: Attestation) -> JsonObject:
    if attestation.imported_by is not None:
        return {
            "type": ["Evidence"],
            "name": "Level issued from imported records",
            "narrative": (
                f"No supervisor attested this level live. Coordinator {attestation.imported_by} "
                f"issued it on {xsd_datetime(attestation.attested_at)} from the imported records "
                f"of {attestation.supervisor_name}, supervisor, which show every statement of "
                "this level as met."
            ),
            "genre": "Imported records",
        }
    return {
        "type": ["Evidence"],
        "name": "Level attested",
        "narrative": (
            f"{attestation.supervisor_name}, supervisor, attested on "
            f"{xsd_datetime(attestation.attested_at)} that the learner meets every statement "
            "of this level."
        ),
        "genre": "Supervisor attestation",
    }
