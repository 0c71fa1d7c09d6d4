"""Awards: a supervisor's attestation of a whole level issues its signed credential; revocation
and suspension, each told to the learner by e-mail (queued in the same transaction, so a change
that rolls back sends nothing, and a repeated revocation, which changes nothing, sends nothing).

Exactly one active credential per learner and Achievement holds even when requests race: the
database's partial unique index decides, and the loser gets AlreadyIssued. Status list indexes
are drawn at random (herd privacy) from a 131,072-entry list and never reused (unique column).
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Update, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, make_transient_to_detached

from issuer import limits
from issuer.credentials import (
    Attestation,
    StatementEvidence,
    build_credential,
    status_entry,
)
from issuer.dates import human_date
from issuer.errors import AlreadyIssued, Conflict, InvalidInput, NotFound
from issuer.services import audit, claims, endorsing, mail
from issuer.services.catalog import achievement_to_sign
from issuer.services.endorsing import endorsed_achievement
from issuer.services.issuing import (
    STATUS_LIST_SIZE,
    SUSPENSION_LIST_ID,
    Issuer,
)
from issuer.services.letters import Action, Letter, badge_of
from issuer.services.roster import assigned_learner, ensure_assigned
from issuer.services.signoff import active_confirmations, active_credential, renewable
from issuer.store.models import AchievementRecord, Confirmation, CredentialRecord, User
from issuer.store.rows import insert_rows, insert_unless_taken
from issuer.types import JsonObject

MAX_INDEX_ATTEMPTS = 20
RANDOM_PROBES = 24


class IndexOdds:
    """How often, in this process, a status index drawn without a probe was found taken when
    the credential was stored. While the list is sparse a blind draw is almost always free and
    the credential's INSERT (its unique index) is the probe: one query less an issuance. A
    taken index costs a second signature, so once more than one recent blind draw in ten was
    refused, this process probes first again; the list only fills, so it stays that way.

    Recent: the counts are halved every WINDOW draws, so a process that drew blind while the
    list went from empty to a tenth full sees today's odds, not its lifetime's."""

    WINDOW = 200

    def __init__(self) -> None:
        self.drawn = 0
        self.refused = 0

    def worth_a_probe(self) -> bool:
        return self.refused >= 3 and self.refused * 10 > self.drawn

    def record(self, refused: bool) -> None:
        self.drawn += 1
        self.refused += refused
        if self.drawn >= self.WINDOW:
            self.drawn //= 2
            self.refused //= 2


INDEX_ODDS = IndexOdds()


@dataclass(frozen=True, slots=True)
class Award:
    """Everything one issuance needs, gathered from the sign-off."""

    learner: User
    supervisor: User
    achievement: AchievementRecord
    confirmations: list[Confirmation]
    evidence: list[StatementEvidence]
    valid_until: datetime | None
    # The endorsements in force, by the id of what they endorse (the Achievement's URL, the
    # issuer Profile's, its creator): embedded in the credential's Achievement as signed.
    endorsements: Mapping[str, list[JsonObject]] = field(default_factory=dict)
    # Issued from imported records (services/bulk_awards.py), not attested live: the
    # coordinator who imported them, and the supervisors whose records they are.
    imported_by: User | None = None
    records_of: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SignedAward:
    """An attestation checked and its credential signed; nothing stored yet.

    Signing is most of an issuance's work. SQLite has one writer at a time, so the API signs in
    a read transaction and stores in a short write transaction; `attest_level` rechecks there
    that nothing this was based on has changed. Plain values only (and the claim's rows, not
    yet in any session): it crosses sessions.
    """

    supervisor_id: int
    learner_id: int
    learner_email: str
    soc: str
    level: str
    achievement_id: int
    achievement_url: str
    confirmation_ids: tuple[int, ...]
    predecessor_id: str | None
    credential_id: str
    status_list_index: int
    document: str
    issued_at: datetime
    valid_until: datetime | None
    # Its claim link and e-mail, composed with it (outside the write lock), or None: then
    # they are composed when it is stored.
    claim: claims.PreparedClaim | None = None
    # Its status index was drawn without a probe (IndexOdds): storing it tells the odds.
    drawn_blind: bool = False


def sign_attestation(
    session: Session,
    supervisor: User,
    issuer: Issuer,
    *,
    learner_id: int,
    soc: str,
    level: str,
    now: datetime | None = None,
    probe: bool | None = None,
) -> SignedAward:
    """Check that `supervisor` may attest the level now (assigned, every statement confirmed, no
    current credential unless in its renewal window) and sign its credential; stores nothing.

    `probe`: look up whether the drawn status index is free before signing; None lets this
    process's IndexOdds decide."""
    now = now or datetime.now(UTC)
    learner = assigned_learner(session, supervisor, learner_id, soc)
    profile = endorsing.profile_id(issuer)
    achievement = achievement_to_sign(session, soc, level, profile)
    statements = [d["name"] for d in achievement.document["resultDescription"]]
    confirmed = active_confirmations(session, learner.id, achievement.id)
    missing = [n + 1 for n in range(len(statements)) if n not in confirmed]
    current = active_credential(session, learner.id, achievement.id)
    if current is not None and not renewable(current, now):
        raise AlreadyIssued(f"an active credential already exists for this level ({current.id})")
    if missing:
        raise InvalidInput(
            f"statements {missing} are not confirmed yet; confirm every statement first"
        )
    validity = achievement.framework.validity_days
    confirmations = [confirmed[index] for index in range(len(statements))]
    award = Award(
        learner=learner,
        supervisor=supervisor,
        achievement=achievement,
        confirmations=confirmations,
        evidence=statement_evidence(statements, confirmations),
        valid_until=now + timedelta(days=validity) if validity else None,
        endorsements=(
            # None (not asked for, or an ORM that leaves it unfilled on an object its session
            # held already): read them rather than assume there are none.
            {}
            if achievement.endorsed is False
            else endorsing.embedded(session, [achievement.url, profile])
        ),
    )
    credential_id = str(uuid.uuid4())
    blind = not (INDEX_ODDS.worth_a_probe() if probe is None else probe)
    index = secrets.randbelow(STATUS_LIST_SIZE) if blind else _free_status_index(session)
    signed = signed_credential(issuer, award, credential_id, index, current, now)
    return SignedAward(
        supervisor_id=supervisor.id,
        learner_id=learner.id,
        learner_email=learner.email,
        soc=soc,
        level=level,
        achievement_id=achievement.id,
        achievement_url=achievement.url,
        confirmation_ids=tuple(c.id for c in confirmations),
        predecessor_id=current.id if current else None,
        credential_id=credential_id,
        status_list_index=index,
        document=json.dumps(signed, ensure_ascii=False),
        issued_at=now,
        valid_until=award.valid_until,
        claim=claims.prepare_claim(
            claims.facts_of(learner, achievement),
            credential_id,
            issuer.base_url,
            now=now,
        ),
        drawn_blind=blind,
    )


def statement_evidence(
    statements: list[str], confirmations: list[Confirmation]
) -> list[StatementEvidence]:
    """How each statement was confirmed, in order; an imported confirmation says who imported
    it and when (credentials._imported_evidence), whoever attests the level."""
    return [
        StatementEvidence(
            number=index + 1,
            statement=statements[index],
            supervisor_name=confirmation.supervisor.name,
            observed_on=confirmation.observed_on,
            method=confirmation.method,
            setting=confirmation.setting,
            note=confirmation.note,
            imported_by=confirmation.imported_by.name if confirmation.imported_by else None,
            imported_on=confirmation.confirmed_at.date() if confirmation.imported_by else None,
        )
        for index, confirmation in enumerate(confirmations)
    ]


def attest_level(
    session: Session,
    supervisor: User,
    issuer: Issuer,
    *,
    learner_id: int,
    soc: str,
    level: str,
    now: datetime | None = None,
    signed: SignedAward | None = None,
) -> CredentialRecord:
    """The supervisor attests the level as a whole; that issues the signed credential.

    When the learner's current credential for the level is in its renewal window, this issues
    the successor, which names its predecessor; the predecessor is marked superseded.

    `signed` (from `sign_attestation` in an earlier transaction) is stored if the supervisor is
    still assigned and its confirmations and predecessor are as they were; if anything moved
    meanwhile, or its status index was taken, the credential is checked and signed anew here.
    """
    now = now or datetime.now(UTC)
    if signed is not None:
        if (signed.supervisor_id, signed.learner_id, signed.soc, signed.level) != (
            supervisor.id,
            learner_id,
            soc,
            level,
        ):
            raise ValueError("the signed award is for another attestation")
        ensure_assigned(session, supervisor, learner_id, soc)
    for _ in range(MAX_INDEX_ATTEMPTS):
        if signed is None:
            signed = sign_attestation(
                session,
                supervisor,
                issuer,
                learner_id=learner_id,
                soc=soc,
                level=level,
                now=now,
                probe=True,
            )
        record = _store(session, signed)
        if signed.drawn_blind:
            INDEX_ODDS.record(refused=record is None)
        if record is not None:
            break
        signed = None  # lost a race: the same award (refused next turn) or the status index
    else:
        raise Conflict("could not allocate a status list index; try again")
    if signed.claim is not None:
        claims.queue_claim(session, signed.claim)
    else:
        claims.send_claim(session, record, issuer.base_url, now=record.issued_at)
    events = (
        audit.event(
            supervisor, "level.attested", signed.learner_email, achievement=signed.achievement_url
        ),
        audit.event(
            supervisor,
            "credential.issued",
            signed.learner_email,
            credential=record.id,
            predecessor=record.predecessor_id,
        ),
    )
    insert_rows(session, events)
    return record


class _Moved(Exception):
    """What a signed award was based on changed before it could be stored."""


def _store(session: Session, signed: SignedAward) -> CredentialRecord | None:
    """Store `signed` if its basis still holds, else None. The database decides the races: the
    predecessor must still be current, the partial unique index admits one active credential
    per learner and level, the status index is unique, and the confirmations must still be
    neither withdrawn nor used."""
    record = CredentialRecord(
        id=signed.credential_id,
        learner_id=signed.learner_id,
        achievement_id=signed.achievement_id,
        attested_by=signed.supervisor_id,
        status_list_index=signed.status_list_index,
        document=signed.document,
        issued_at=signed.issued_at,
        valid_until=signed.valid_until,
        predecessor_id=signed.predecessor_id,
    )
    if signed.predecessor_id is None:
        return record if _stored_first(session, signed, record) else None
    try:
        with session.begin_nested():
            if signed.predecessor_id is not None:
                superseded = _changed(
                    session,
                    update(CredentialRecord)
                    .where(
                        CredentialRecord.id == signed.predecessor_id,
                        CredentialRecord.revoked_at.is_(None),
                        CredentialRecord.superseded_at.is_(None),
                    )
                    .values(superseded_at=signed.issued_at),
                )
                if superseded != 1:
                    raise _Moved
                session.execute(
                    update(CredentialRecord)
                    .where(CredentialRecord.copy_of == signed.predecessor_id)
                    .values(superseded_at=signed.issued_at)
                    .execution_options(synchronize_session=False)
                )
            session.add(record)
            session.flush()
            consumed = _consume(session, signed)
            if consumed != len(signed.confirmation_ids):
                raise _Moved
    except (IntegrityError, _Moved):
        return None
    return record


def _stored_first(session: Session, signed: SignedAward, record: CredentialRecord) -> bool:
    """`_store` for a first credential (no predecessor: the hot path), without a savepoint's
    two round trips. The INSERT does nothing if the status index is taken or the learner
    already holds the level (the unique indexes), and a lost race for the confirmations is
    undone by hand."""
    if not insert_unless_taken(session, record):
        return False
    if _consume(session, signed) != len(signed.confirmation_ids):
        session.execute(
            update(Confirmation)
            .where(Confirmation.consumed_by == record.id)
            .values(consumed_by=None)
            .execution_options(synchronize_session=False)
        )
        session.execute(delete(CredentialRecord).where(CredentialRecord.id == record.id))
        return False
    make_transient_to_detached(record)
    session.add(record)  # persistent, as a flush would have left it
    return True


def _consume(session: Session, signed: SignedAward) -> int:
    """Mark the award's confirmations used by its credential; how many still were unused."""
    return _changed(
        session,
        update(Confirmation)
        .where(
            Confirmation.id.in_(signed.confirmation_ids),
            # The learner and level as well, though the ids imply them: they let PostgreSQL
            # find the rows by the active-confirmations index even before a new table is
            # analyzed (by the ids alone it scanned all of that index: 1 ms a credential at
            # 6,000 confirmations, bench/http_load.py).
            Confirmation.learner_id == signed.learner_id,
            Confirmation.achievement_id == signed.achievement_id,
            Confirmation.withdrawn_at.is_(None),
            Confirmation.consumed_by.is_(None),
        )
        .values(consumed_by=signed.credential_id),
    )


def _changed(session: Session, statement: Update) -> int:
    """Rows an UPDATE changed (the ORM also refreshes the objects it holds)."""
    return cast(CursorResult[Any], session.execute(statement)).rowcount


def signed_credential(
    issuer: Issuer,
    award: Award,
    credential_id: str,
    index: int,
    predecessor: CredentialRecord | None,
    now: datetime,
) -> JsonObject:
    """The OpenBadgeCredential for `award`, signed; stores nothing (bench/scale.py seeds its
    100k stored credentials with it, in parallel)."""
    unsigned = unsigned_credential(issuer, award, credential_id, index, predecessor, now)
    return issuer.identity.sign(unsigned, created=now)


def unsigned_credential(
    issuer: Issuer,
    award: Award,
    credential_id: str,
    index: int,
    predecessor: CredentialRecord | None,
    now: datetime,
) -> JsonObject:
    """`signed_credential` before its proof (bulk_awards signs a batch in other processes)."""
    return build_credential(
        credential_id=issuer.credential_url(credential_id),
        achievement=endorsed_achievement(award.achievement.document, award.endorsements),
        issuer=issuer.identity.profile.to_json(),
        learner_email=award.learner.email,
        learner_name=award.learner.name,
        salt=secrets.token_hex(16),
        evidence=award.evidence,
        attestation=_attestation(award, now),
        valid_from=now,
        valid_until=award.valid_until,
        status=_status(issuer, index),
        predecessor=issuer.credential_url(predecessor.id) if predecessor else None,
        render_method=issuer.render_method,
    )


def _attestation(award: Award, now: datetime) -> Attestation:
    if award.imported_by is None:
        return Attestation(award.supervisor.name, now)
    records_of = " and ".join(award.records_of or (award.supervisor.name,))
    return Attestation(records_of, now, imported_by=award.imported_by.name)


def store_imported(
    session: Session, coordinator: User, signed: SignedAward, base_url: str
) -> CredentialRecord | None:
    """Store a credential signed from imported records (services/bulk_awards.py) as
    `attest_level` stores an attested one: the same races decided by the database (`_store`),
    the claim e-mail queued, the issuance audited. None if it lost a race (its status index
    taken, or its confirmations or predecessor changed): the caller signs it anew or drops it."""
    record = _store(session, signed)
    if record is None:
        return None
    claims.send_claim(session, record, base_url, now=record.issued_at)
    audit.record(
        session,
        coordinator,
        "credential.issued",
        signed.learner_email,
        credential=record.id,
        predecessor=record.predecessor_id,
        imported=True,
    )
    return record


def free_status_indexes(session: Session, count: int) -> list[int]:
    """`count` distinct random unused indexes in one query per round (`_free_status_index`,
    for a batch). A later insert may still find one taken by a concurrent issuance: the
    unique column refuses it and `_store` answers None."""
    chosen: set[int] = set()
    for _ in range(RANDOM_PROBES):
        wanted = count - len(chosen)
        if wanted <= 0:
            return list(chosen)
        drawn = {secrets.randbelow(STATUS_LIST_SIZE) for _ in range(wanted)} - chosen
        taken = set(
            session.scalars(
                select(CredentialRecord.status_list_index).where(
                    CredentialRecord.status_list_index.in_(drawn)
                )
            )
        )
        chosen |= drawn - taken
    for _ in range(count * MAX_INDEX_ATTEMPTS):  # a nearly full list: as one issuance does
        if len(chosen) == count:
            return list(chosen)
        chosen.add(_free_status_index(session))
    raise Conflict("the status list has fewer free indexes than this batch needs")


def _status(issuer: Issuer, index: int) -> JsonObject | list[JsonObject]:
    revocation = status_entry(issuer.status_list_url(), index)
    if not issuer.suspension:
        return revocation
    return [
        revocation,
        status_entry(issuer.status_list_url(SUSPENSION_LIST_ID), index, "suspension"),
    ]


def suspendable(record: CredentialRecord) -> bool:
    """Whether the credential was issued with a suspension status entry (ISSUER_SUSPENSION on
    at issuance): a verifier checks only the lists the signed credential names."""
    entries = json.loads(record.document).get("credentialStatus")
    return any(
        isinstance(e, dict) and e.get("statusPurpose") == "suspension"
        for e in (entries if isinstance(entries, list) else [entries])
    )


def suspend(
    session: Session, coordinator: User, credential_id: str, *, suspended: bool, reason: str = ""
) -> CredentialRecord:
    """Set or lift a suspension (idempotent); only for credentials with a suspension entry.
    The learner is told by e-mail each time the state changes."""
    record = award_of(session, credential(session, credential_id))
    if not suspendable(record):
        raise Conflict("this credential carries no suspension status entry; it can only be revoked")
    if suspended and record.revoked_at is not None:
        raise Conflict("this credential is revoked; a suspension would change nothing")
    if suspended and not reason.strip():
        raise InvalidInput("a reason is required to suspend a credential")
    reason = limits.check_text(reason.strip(), "the reason", limits.REASON, multiline=True)
    if suspended != (record.suspended_at is not None):
        now = datetime.now(UTC)
        record.suspended_at = now if suspended else None
        action = "credential.suspended" if suspended else "credential.unsuspended"
        audit.record(session, coordinator, action, record.id, reason=reason.strip())
        _tell_learner(session, record, SUSPENDED if suspended else REINSTATED, now, reason)
    _to_copies(session, record, suspended_at=record.suspended_at)
    return record


def expiring(
    session: Session,
    *,
    within: timedelta,
    learner_id: int | None = None,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[CredentialRecord]:
    """Current credentials whose validUntil falls within `within` from now (or has passed),
    soonest first; `limit` caps the list (the dashboard shows the soonest and the count)."""
    now = now or datetime.now(UTC)
    query = (
        select(CredentialRecord)
        .where(
            CredentialRecord.copy_of.is_(None),
            CredentialRecord.revoked_at.is_(None),
            CredentialRecord.superseded_at.is_(None),
            CredentialRecord.valid_until.is_not(None),
            CredentialRecord.valid_until <= now + within,
        )
        .order_by(CredentialRecord.valid_until)
    )
    if learner_id is not None:
        query = query.where(CredentialRecord.learner_id == learner_id)
    if limit is not None:
        query = query.limit(limit).options(defer(CredentialRecord.document))
    return list(session.scalars(query))


def _free_status_index(session: Session) -> int:
    """A random unused index (herd privacy). Random probes are cheap while the list has room;
    past RANDOM_PROBES misses (a list ~90 % full) the free indexes are read and one is drawn."""
    for _ in range(RANDOM_PROBES):
        index = secrets.randbelow(STATUS_LIST_SIZE)
        taken = session.scalar(
            select(CredentialRecord.id).where(CredentialRecord.status_list_index == index)
        )
        if taken is None:
            return index
    used = set(session.scalars(select(CredentialRecord.status_list_index)))
    free = [index for index in range(STATUS_LIST_SIZE) if index not in used]
    if not free:
        raise Conflict(
            f"the status list is full: all {STATUS_LIST_SIZE:,} indexes are used and indexes are "
            "never reused; issuing more needs a second status list, which this version lacks"
        )
    return free[secrets.randbelow(len(free))]


def revoke(
    session: Session, coordinator: User, credential_id: str, reason: str
) -> CredentialRecord:
    """Revoke: the status list shows it from the next request, and the learner is told by
    e-mail. Idempotent: revoking again changes nothing and sends nothing (the first reason and
    date stand)."""
    if not reason.strip():
        raise InvalidInput("a reason is required to revoke a credential")
    reason = limits.check_text(reason.strip(), "the reason", limits.REASON, multiline=True)
    record = award_of(session, credential(session, credential_id))
    if record.revoked_at is None:
        record.revoked_at = datetime.now(UTC)
        record.revocation_reason = reason.strip()
        audit.record(session, coordinator, "credential.revoked", record.id, reason=reason.strip())
        _tell_learner(session, record, REVOKED, record.revoked_at, record.revocation_reason)
    _to_copies(session, record, revoked_at=record.revoked_at, reason=record.revocation_reason)
    return record


# What the learner is told: (subject, what happened, what it means). Verifiers and wallets
# learn of a change from the status list, but nothing tells the learner, who is the one an
# employer will ask about it.
REVOKED = (
    "Your badge was revoked",
    "was revoked on {date}",
    "Verifiers now see it as revoked, and so are the copies in your wallets; it cannot be "
    "reinstated. If you think this is a mistake, ask your training coordinator.",
)
SUSPENDED = (
    "Your badge is suspended",
    "was suspended on {date}",
    "Until the suspension is lifted, verifiers see it as suspended, and so are the copies in "
    "your wallets. We will e-mail you again when it is lifted.",
)
REINSTATED = (
    "Your badge is valid again",
    "is no longer suspended (since {date})",
    "Verifiers see it as valid again, and so are the copies in your wallets.",
)


def _tell_learner(
    session: Session,
    record: CredentialRecord,
    change: tuple[str, str, str],
    when: datetime,
    reason: str | None,
) -> None:
    subject, happened, meaning = change
    name = record.achievement.document["name"]
    page_url = json.loads(record.document).get("id", "")
    because = (f"Reason: {reason}",) if reason else ()
    mail.queue(
        session,
        to=record.learner.email,
        subject=f"{subject}: {name}",
        letter=Letter(
            greeting=f"Hello {record.learner.name},",
            before=(
                f'Your Open Badge "{name}" {happened.format(date=human_date(when))}.',
                *because,
                meaning,
            ),
            action=Action("See your badge", page_url),
            reason="You receive this e-mail because this badge was issued to you and its "
            "status changed.",
            badge=badge_of(record),
        ),
    )


def resend_claim(
    session: Session, coordinator: User, credential_id: str, base_url: str
) -> CredentialRecord:
    """Send the learner a new claim link. Not for a revoked credential: the e-mail promises a
    badge to download, share and add to a wallet, and a revoked one offers none of that."""
    record = credential(session, credential_id)
    if award_of(session, record).revoked_at is not None:
        raise Conflict("this credential is revoked: there is nothing left to claim")
    claims.send_claim(session, record, base_url, actor=coordinator)
    return record


def credential(session: Session, credential_id: str) -> CredentialRecord:
    record = session.get(CredentialRecord, credential_id)
    if record is None:
        raise NotFound(f"no credential {credential_id}")
    return record


def credentials(
    session: Session,
    *,
    learner_id: int | None = None,
    limit: int = 500,
    offset: int = 0,
    documents: bool = True,
) -> list[CredentialRecord]:
    """Newest first, a page at a time. `documents=False` leaves the signed documents (~13 KB
    each) unread, for lists that show only who holds what."""
    query = (
        select(CredentialRecord)
        .where(CredentialRecord.copy_of.is_(None))  # awards, not their wallet copies
        .order_by(CredentialRecord.issued_at.desc(), CredentialRecord.id)
        .limit(limit)
        .offset(offset)
    )
    if not documents:
        query = query.options(defer(CredentialRecord.document))
    if learner_id is not None:
        query = query.where(CredentialRecord.learner_id == learner_id)
    return list(session.scalars(query))


# ── wallet copies ──


def award_of(session: Session, record: CredentialRecord) -> CredentialRecord:
    """The award a credential is, or is a wallet copy of."""
    return record if record.copy_of is None else credential(session, record.copy_of)


def copies(session: Session, award: CredentialRecord) -> list[CredentialRecord]:
    """The award's wallet copies, oldest first."""
    return list(
        session.scalars(
            select(CredentialRecord)
            .where(CredentialRecord.copy_of == award.id)
            .order_by(CredentialRecord.issued_at)
        )
    )


def bound_copy(
    session: Session, issuer: Issuer, record: CredentialRecord, holder: str, now: datetime
) -> CredentialRecord:
    """A copy of the award bound to a wallet's DID (credentialSubject.id = `holder`), with its
    own id and status index, signed now.

    Binding once re-signed and overwrote the stored credential, so the JSON, PNG and SVG the
    learner had already shared stopped matching our records. The award itself never changes:
    the copy shares its revocation, suspension and renewal (`revoke`, `suspend`, `_store`).
    """
    award = award_of(session, record)
    for _ in range(MAX_INDEX_ATTEMPTS):
        copy = _copy(session, issuer, award, holder, now)
        try:
            with session.begin_nested():
                session.add(copy)
                session.flush()
        except IntegrityError:  # another issuance took the status index first
            continue
        audit.record(session, None, "credential.bound", award.id, copy=copy.id, holder=holder)
        return copy
    raise Conflict("no free status index could be taken; try again")


def _copy(
    session: Session, issuer: Issuer, award: CredentialRecord, holder: str, now: datetime
) -> CredentialRecord:
    copy_id, index = str(uuid.uuid4()), _free_status_index(session)
    document = {k: v for k, v in json.loads(award.document).items() if k != "proof"}
    document["id"] = issuer.credential_url(copy_id)
    subject = {k: v for k, v in document["credentialSubject"].items() if k != "id"}
    document["credentialSubject"] = {"id": holder, **subject}
    document["credentialStatus"] = _restatus(document.get("credentialStatus"), index)
    signed = issuer.identity.sign(document, created=now)
    return CredentialRecord(
        id=copy_id,
        learner_id=award.learner_id,
        achievement_id=award.achievement_id,
        attested_by=award.attested_by,
        status_list_index=index,
        document=json.dumps(signed, ensure_ascii=False),
        issued_at=now,
        valid_until=award.valid_until,
        revoked_at=award.revoked_at,
        revocation_reason=award.revocation_reason,
        superseded_at=award.superseded_at,
        suspended_at=award.suspended_at,
        public=award.public,
        copy_of=award.id,
    )


def _restatus(entries: Any, index: int) -> Any:
    """The award's status entries (one per purpose), pointed at the copy's own index."""
    if entries is None:
        return None
    moved = [
        {
            **entry,
            "id": f"{entry['statusListCredential']}#{index}",
            "statusListIndex": str(index),
        }
        for entry in (entries if isinstance(entries, list) else [entries])
    ]
    return moved if isinstance(entries, list) else moved[0]


def _to_copies(session: Session, award: CredentialRecord, **state: Any) -> None:
    """Carry the award's revocation or suspension to its wallet copies."""
    values: dict[str, Any] = {}
    if "revoked_at" in state:
        values = {"revoked_at": state["revoked_at"], "revocation_reason": state["reason"]}
    if "suspended_at" in state:
        values = {"suspended_at": state["suspended_at"]}
    session.execute(
        update(CredentialRecord)
        .where(CredentialRecord.copy_of == award.id)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
