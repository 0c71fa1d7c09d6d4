"""Endorsements of our Achievements and of our issuer Profile: signed here with an endorser's
keys, or signed elsewhere and uploaded; then embedded in what they endorse and published.

An endorsement says "this endorser vouches for that Achievement" and is signed by the endorser,
never by us: we only carry it. So an uploaded one is verified first (its proof bound to its
issuer, its dates and status) and taken only from an endorser the operator trusts
(ISSUER_ENDORSERS), since anyone can sign praise. Embedding happens when a credential is
signed: credentials already issued keep the endorsements they were issued with, and a
withdrawn endorsement is no longer embedded in anything new.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from issuer import limits
from issuer.conformance import endorsement_conformance_problems
from issuer.endorsements import (
    ENDORSEMENT_TYPE,
    endorsement_comment,
    endorsement_credential,
    endorser_name,
)
from issuer.errors import Conflict, InvalidInput, NotFound
from issuer.services import audit
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity
from issuer.services.issuing import Issuer
from issuer.services.verifying import VerifyOptions, verify_input
from issuer.store.models import AchievementRecord, EndorsementRecord, User
from issuer.types import JsonObject

# What an uploaded endorsement must pass; its own endorsements and records are not ours to judge.
UPLOAD_CHECKS = frozenset({"proof", "issuer", "data model", "validFrom", "validUntil", "status"})


@dataclass(frozen=True, slots=True)
class Subject:
    """What can be endorsed here: one of our Achievements or our issuer Profile."""

    id: str
    name: str


def subject_named(session: Session, issuer: Issuer, name: str) -> Subject:
    """`name` as the operator types it: an Achievement's URL, `SOC/level` (29-2034.00/proficient),
    or `issuer` (or its DID) for the issuer Profile; NotFound for anything else."""
    if name in ("issuer", issuer.identity.did):
        name = profile_id(issuer)
    elif "/" in name and not name.startswith(("http://", "https://")):
        soc, _, level = name.partition("/")
        name = f"{issuer.base_url}/achievements/{soc}/{level}"
    try:
        return subject_by_id(session, issuer, name)
    except NotFound:
        raise NotFound(
            f"no Achievement {name!r} here: give its URL, SOC/level (29-2034.00/proficient) "
            "or 'issuer'"
        ) from None


def subject_by_id(session: Session, issuer: Issuer, subject_id: str) -> Subject:
    """The Achievement whose URL, or the Profile whose id, is exactly `subject_id`."""
    if subject_id == profile_id(issuer):
        return Subject(subject_id, issuer.identity.profile.name)
    record = session.scalar(select(AchievementRecord).where(AchievementRecord.url == subject_id))
    if record is None:
        raise NotFound(f"no Achievement {subject_id!r} here")
    return Subject(record.url, str(record.document["name"]))


def endorse(
    session: Session,
    issuer: Issuer,
    endorser: IssuerIdentity,
    subject: Subject,
    comment: str,
    *,
    actor: User | None = None,
    now: datetime | None = None,
) -> EndorsementRecord:
    """`endorser` signs an EndorsementCredential about `subject` with its own keys (its
    Data Integrity proofs, as its identity is configured), and it is stored as signed."""
    now = now or datetime.now(UTC)
    comment = limits.check_text(
        comment.strip(), "the comment", limits.ENDORSEMENT_COMMENT, multiline=True
    )
    if not comment:
        raise InvalidInput("say what the endorsement is for: --comment is empty")
    if endorser.did == issuer.identity.did:
        raise InvalidInput("an issuer cannot endorse itself: sign with the endorser's own keys")
    endorsement_id = str(uuid.uuid4())
    unsigned = endorsement_credential(
        endorsement_id=endorsement_url(issuer, endorsement_id),
        subject_id=subject.id,
        endorser=endorser.profile.to_json(),
        comment=comment,
        subject_name=subject.name,
        valid_from=now,
    )
    signed = endorser.sign(unsigned, created=now)
    return _store(session, endorsement_id, signed, subject, actor, now)


def add_signed(
    session: Session,
    issuer: Issuer,
    data: bytes,
    *,
    trusted: Iterable[str],
    fetcher: Fetcher,
    actor: User | None = None,
    now: datetime | None = None,
) -> EndorsementRecord:
    """Store an EndorsementCredential signed elsewhere, once it verifies, conforms to its OB 3.0
    JSON Schema, is from an endorser in `trusted` (ISSUER_ENDORSERS), and endorses one of our
    Achievements or our Profile. InvalidInput saying which of these fails."""
    now = now or datetime.now(UTC)
    if len(data) > limits.ENDORSEMENT_BYTES:
        raise InvalidInput(f"an endorsement is at most {limits.ENDORSEMENT_BYTES} bytes")
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError):
        raise InvalidInput("an endorsement must be a JSON EndorsementCredential") from None
    if not isinstance(document, dict):
        raise InvalidInput("an endorsement must be a JSON object")
    types = document.get("type")
    if ENDORSEMENT_TYPE not in (types if isinstance(types, list) else [types]):
        raise InvalidInput(f"this is not an {ENDORSEMENT_TYPE}")
    problems = endorsement_conformance_problems(document)
    if problems:
        raise InvalidInput(f"not an OB 3.0 EndorsementCredential: {problems[0]}")
    endorser_id = _issuer_id(document)
    if endorser_id not in set(trusted):
        raise InvalidInput(
            f"{endorser_id} is not a trusted endorser: add it to ISSUER_ENDORSERS to accept "
            "its endorsements"
        )
    subject = _subject_of(session, issuer, document)
    own_id = document.get("id")
    if isinstance(own_id, str) and own_id.startswith(f"{issuer.base_url}/"):
        raise InvalidInput(f"an endorsement signed elsewhere cannot have this issuer's {own_id!r}")
    if any(json.loads(e.document).get("id") == own_id for e in _in_force(session, subject.id)):
        raise Conflict(f"this endorsement ({own_id}) is already embedded")
    report = verify_input(
        data,
        session=None,
        issuer=None,
        fetcher=fetcher,
        now=now,
        options=VerifyOptions(checks=UPLOAD_CHECKS),
    )
    if not report.verified:
        failed = report.failed or report.not_checked
        reasons = "; ".join(f"{c.name}: {c.message}" for c in failed[:3])
        raise InvalidInput(f"the endorsement does not verify ({reasons})")
    return _store(session, str(uuid.uuid4()), document, subject, actor, now)


def profile_id(issuer: Issuer) -> str:
    """The id of our published Profile (`/issuer`), the `creator` of every Achievement: what
    an endorsement of the issuer endorses. (Credentials name the issuer by its DID, which
    changes with a did:key's key; the Profile's address does not.)"""
    return f"{issuer.base_url}/issuer"


def endorsed_achievement(
    achievement: JsonObject, found: Mapping[str, list[JsonObject]]
) -> JsonObject:
    """`achievement` with the endorsements in `found` of itself and of its creator embedded."""
    document = with_endorsements(achievement, found.get(str(achievement.get("id")), []))
    creator = document.get("creator")
    if isinstance(creator, dict):
        endorsed = with_endorsements(creator, found.get(str(creator.get("id")), []))
        if endorsed is not creator:
            document = {**document, "creator": endorsed}
    return document


def endorsement_url(issuer: Issuer, endorsement_id: str) -> str:
    return f"{issuer.base_url}/endorsements/{endorsement_id}"


def embedded(session: Session, subject_ids: Iterable[str]) -> dict[str, list[JsonObject]]:
    """The signed endorsements in force of each of `subject_ids`, oldest first: what is
    embedded in the `endorsement` list of that Achievement or Profile."""
    found: dict[str, list[JsonObject]] = {}
    rows = session.scalars(
        select(EndorsementRecord)
        .where(
            EndorsementRecord.subject_id.in_(list(subject_ids)),
            EndorsementRecord.withdrawn_at.is_(None),
        )
        .order_by(EndorsementRecord.created_at, EndorsementRecord.id)
    )
    for row in rows:
        found.setdefault(row.subject_id, []).append(json.loads(row.document))
    return found


def with_endorsements(node: JsonObject, endorsements: list[JsonObject]) -> JsonObject:
    """`node` (an Achievement or a Profile) carrying `endorsements`; `node` itself unchanged."""
    if not endorsements:
        return node
    return {**node, "endorsement": [*node.get("endorsement", []), *endorsements]}


def _in_force(session: Session, subject_id: str) -> list[EndorsementRecord]:
    return list(
        session.scalars(
            select(EndorsementRecord).where(
                EndorsementRecord.subject_id == subject_id,
                EndorsementRecord.withdrawn_at.is_(None),
            )
        )
    )


def listed(session: Session) -> list[EndorsementRecord]:
    """Every endorsement, in force or withdrawn, newest first."""
    return list(
        session.scalars(
            select(EndorsementRecord).order_by(
                EndorsementRecord.created_at.desc(), EndorsementRecord.id
            )
        )
    )


def published(session: Session, endorsement_id: str) -> EndorsementRecord:
    """An endorsement by its id, withdrawn or not (credentials issued with it refer to it)."""
    record = session.get(EndorsementRecord, endorsement_id)
    if record is None:
        raise NotFound("no such endorsement")
    return record


def withdraw(
    session: Session, endorsement_id: str, *, actor: User | None = None, now: datetime | None = None
) -> EndorsementRecord:
    """Stop embedding the endorsement in what is issued from now on; Conflict if it already is."""
    record = published(session, endorsement_id)
    withdrawn = session.execute(
        update(EndorsementRecord)
        .where(EndorsementRecord.id == endorsement_id, EndorsementRecord.withdrawn_at.is_(None))
        .values(withdrawn_at=now or datetime.now(UTC))
    )
    if not getattr(withdrawn, "rowcount", 0):
        raise Conflict("this endorsement was already withdrawn")
    session.refresh(record)
    audit.record(session, actor, "endorsement.withdrawn", record.subject_id, endorsement=record.id)
    return record


def _store(
    session: Session,
    endorsement_id: str,
    document: JsonObject,
    subject: Subject,
    actor: User | None,
    now: datetime,
) -> EndorsementRecord:
    record = EndorsementRecord(
        id=endorsement_id,
        subject_id=subject.id,
        endorser_id=_issuer_id(document),
        endorser_name=endorser_name(document),
        comment=endorsement_comment(document),
        document=json.dumps(document, ensure_ascii=False),
        created_at=now,
    )
    session.add(record)
    audit.record(
        session,
        actor,
        "endorsement.added",
        subject.id,
        endorsement=endorsement_id,
        endorser=record.endorser_id,
    )
    return record


def _issuer_id(document: JsonObject) -> str:
    issuer = document.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(issuer_id, str) or not issuer_id:
        raise InvalidInput("the endorsement names no issuer id")
    return issuer_id


def _subject_of(session: Session, issuer: Issuer, document: JsonObject) -> Subject:
    subject = document.get("credentialSubject")
    subject_id = subject.get("id") if isinstance(subject, dict) else None
    if not isinstance(subject_id, str):
        raise InvalidInput("the endorsement's credentialSubject has no id")
    try:
        return subject_by_id(session, issuer, subject_id)
    except NotFound:
        raise InvalidInput(
            f"the endorsement is about {subject_id!r}, which is none of this issuer's "
            "Achievements nor its Profile"
        ) from None
