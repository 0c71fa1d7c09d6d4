"""Statement-by-statement sign-off: confirm, withdraw, and see progress.

A supervisor confirms each statement of a level for a learner assigned to them, with the date
observed, the method and the setting. Nobody confirms for themselves, nothing is deleted
(withdrawn confirmations stay, marked), and nothing changes once the level's credential exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from issuer import limits
from issuer.credentials import METHODS
from issuer.errors import AlreadyIssued, Conflict, InvalidInput, NotFound
from issuer.services import audit
from issuer.services.catalog import achievement_record, framework_record
from issuer.services.roster import assigned_learner
from issuer.store.models import AchievementRecord, Confirmation, CredentialRecord, User

# Clinical competency is re-assessed on a cycle: sign-off for the successor credential opens
# this long before the current one expires.
RENEWAL_WINDOW = timedelta(days=30)


def confirm_statement(
    session: Session,
    supervisor: User,
    *,
    learner_id: int,
    soc: str,
    level: str,
    statement: int,
    observed_on: date,
    method: str,
    setting: str,
    note: str | None = None,
    now: datetime | None = None,
) -> Confirmation:
    """Record that `supervisor` saw the learner meet statement number `statement` (from 1)."""
    now = now or datetime.now(UTC)
    learner = assigned_learner(session, supervisor, learner_id, soc)
    achievement = achievement_record(session, soc, level)
    _statement_index(achievement, statement)
    if method not in METHODS:
        raise InvalidInput(f"method must be one of {', '.join(METHODS)}")
    if not setting.strip():
        raise InvalidInput("the setting where it was observed is required")
    setting = limits.check_text(setting.strip(), "the setting", limits.SETTING)
    note = limits.check_text((note or "").strip(), "the note", limits.NOTE, multiline=True)
    if observed_on > now.date():
        raise InvalidInput("the date observed cannot be in the future")
    _refuse_after_issuance(session, learner.id, achievement, now)
    confirmation = Confirmation(
        learner_id=learner.id,
        achievement_id=achievement.id,
        statement_index=statement - 1,
        supervisor_id=supervisor.id,
        observed_on=observed_on,
        method=method,
        setting=setting,
        note=note or None,
        confirmed_at=now,
    )
    try:
        with session.begin_nested():
            session.add(confirmation)
    except IntegrityError:
        raise Conflict(f"statement {statement} is already confirmed") from None
    audit.record(
        session,
        supervisor,
        "confirmation.created",
        learner.email,
        achievement=achievement.url,
        statement=statement,
        method=method,
    )
    return confirmation


def withdraw_confirmation(
    session: Session, supervisor: User, *, learner_id: int, soc: str, level: str, statement: int
) -> Confirmation:
    """Withdraw the active confirmation of a statement, only before the level is issued."""
    learner = assigned_learner(session, supervisor, learner_id, soc)
    achievement = achievement_record(session, soc, level)
    index = _statement_index(achievement, statement)
    _refuse_after_issuance(session, learner.id, achievement, datetime.now(UTC))
    confirmation = session.scalar(
        select(Confirmation).where(
            Confirmation.learner_id == learner.id,
            Confirmation.achievement_id == achievement.id,
            Confirmation.statement_index == index,
            Confirmation.withdrawn_at.is_(None),
            Confirmation.consumed_by.is_(None),
        )
    )
    if confirmation is None:
        raise NotFound(f"statement {statement} has no confirmation to withdraw")
    confirmation.withdrawn_at = datetime.now(UTC)
    audit.record(
        session,
        supervisor,
        "confirmation.withdrawn",
        learner.email,
        achievement=achievement.url,
        statement=statement,
    )
    return confirmation


# Built once (services/claims.py says why): these run on every attestation.
_ACTIVE_CONFIRMATIONS = (
    select(Confirmation)
    .where(
        Confirmation.learner_id == bindparam("learner"),
        Confirmation.achievement_id == bindparam("achievement"),
        Confirmation.withdrawn_at.is_(None),
        Confirmation.consumed_by.is_(None),
    )
    # The supervisors' names, not their roles (a query more, on the issuance path).
    .options(joinedload(Confirmation.supervisor).lazyload(User.roles))
)
_ACTIVE_CREDENTIAL = select(CredentialRecord).where(
    CredentialRecord.learner_id == bindparam("learner"),
    CredentialRecord.achievement_id == bindparam("achievement"),
    CredentialRecord.copy_of.is_(None),
    CredentialRecord.revoked_at.is_(None),
    CredentialRecord.superseded_at.is_(None),
)


def active_confirmations(
    session: Session, learner_id: int, achievement_id: int
) -> dict[int, Confirmation]:
    """Statement index -> its active confirmation (not withdrawn, not yet in a credential)."""
    rows = session.scalars(
        _ACTIVE_CONFIRMATIONS, {"learner": learner_id, "achievement": achievement_id}
    )
    return {row.statement_index: row for row in rows}


@dataclass(frozen=True, slots=True)
class StatementProgress:
    number: int
    text: str
    confirmed_by: str | None
    observed_on: date | None
    method: str | None
    setting: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class LevelProgress:
    level: str
    label: str
    statements: list[StatementProgress]
    credential_id: str | None

    @property
    def confirmed(self) -> int:
        return sum(1 for s in self.statements if s.confirmed_by)


def progress(session: Session, learner_id: int, soc: str) -> list[LevelProgress]:
    """Per level and per statement: who confirmed what, and the credential if issued."""
    return [
        level_progress(session, learner_id, achievement)
        for achievement in framework_record(session, soc).achievements
    ]


def level_progress(
    session: Session, learner_id: int, achievement: AchievementRecord
) -> LevelProgress:
    """One level of `progress`."""
    credential = active_credential(session, learner_id, achievement.id)
    # Fresh confirmations (a renewal under way) first, else those in the current credential.
    confirmed = _consumed_by(session, credential.id) if credential else {}
    confirmed.update(active_confirmations(session, learner_id, achievement.id))
    statements = [
        StatementProgress(
            number=index + 1,
            text=description["name"],
            confirmed_by=confirmed[index].supervisor.name if index in confirmed else None,
            observed_on=confirmed[index].observed_on if index in confirmed else None,
            method=confirmed[index].method if index in confirmed else None,
            setting=confirmed[index].setting if index in confirmed else None,
            note=confirmed[index].note if index in confirmed else None,
        )
        for index, description in enumerate(achievement.document["resultDescription"])
    ]
    return LevelProgress(
        achievement.level_key,
        achievement.label,
        statements,
        credential.id if credential else None,
    )


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a new confirmation's form starts with. A supervisor usually sees several
    statements on one day, in one place and in one way: on a phone, retyping them for each
    of ten statements is most of the work."""

    observed_on: date
    method: str
    setting: str = ""


@dataclass(frozen=True, slots=True)
class Checklist:
    """One learner's level as their supervisor works through it: the statements, the
    Achievement that attesting issues, and what a new confirmation's form starts with."""

    learner: User
    soc: str
    level: LevelProgress
    achievement_name: str
    defaults: Defaults

    def next_to_confirm(self, start: int) -> int | None:
        """The first statement still to confirm from number `start` on, wrapping round."""
        numbers = [s.number for s in self.level.statements if not s.confirmed_by]
        return next((n for n in numbers if n >= start), numbers[0] if numbers else None)


def checklist(
    session: Session, supervisor: User, *, learner_id: int, soc: str, level: str, today: date
) -> Checklist:
    """The supervisor's checklist of one level for a learner assigned to them."""
    learner = assigned_learner(session, supervisor, learner_id, soc)
    achievement = achievement_record(session, soc, level)
    return Checklist(
        learner,
        soc,
        level_progress(session, learner.id, achievement),
        achievement.document["name"],
        confirmation_defaults(session, supervisor, learner.id, achievement.id, today),
    )


def confirmation_defaults(
    session: Session, supervisor: User, learner_id: int, achievement_id: int, today: date
) -> Defaults:
    """The date, method and setting of the last confirmation `supervisor` made for this
    learner and level in the sign-off under way; else `today` and the first method.

    Withdrawn confirmations are passed over (a withdrawal usually corrects a slip, which
    should not come back as the default), and so are those already in a credential (the
    previous renewal cycle's date is never today's)."""
    last = session.scalar(
        select(Confirmation)
        .where(
            Confirmation.learner_id == learner_id,
            Confirmation.achievement_id == achievement_id,
            Confirmation.supervisor_id == supervisor.id,
            Confirmation.withdrawn_at.is_(None),
            Confirmation.consumed_by.is_(None),
        )
        .order_by(Confirmation.confirmed_at.desc(), Confirmation.id.desc())
        .limit(1)
    )
    if last is None:
        return Defaults(today, next(iter(METHODS)))
    return Defaults(last.observed_on, last.method, last.setting)


def _statement_index(achievement: AchievementRecord, statement: int) -> int:
    count = len(achievement.document["resultDescription"])
    if not 1 <= statement <= count:
        raise InvalidInput(f"statement must be between 1 and {count}")
    return statement - 1


def _consumed_by(session: Session, credential_id: str) -> dict[int, Confirmation]:
    rows = session.scalars(select(Confirmation).where(Confirmation.consumed_by == credential_id))
    return {row.statement_index: row for row in rows}


def active_credential(
    session: Session, learner_id: int, achievement_id: int
) -> CredentialRecord | None:
    """The learner's current credential for this Achievement (not revoked, not superseded)."""
    return session.scalar(
        _ACTIVE_CREDENTIAL, {"learner": learner_id, "achievement": achievement_id}
    )


def renewable(credential: CredentialRecord, now: datetime) -> bool:
    """Within RENEWAL_WINDOW of its validUntil (or past it): re-assessment may begin."""
    return credential.valid_until is not None and credential.valid_until - now <= RENEWAL_WINDOW


def _refuse_after_issuance(
    session: Session, learner_id: int, achievement: AchievementRecord, now: datetime
) -> None:
    credential = active_credential(session, learner_id, achievement.id)
    if credential is not None and not renewable(credential, now):
        raise AlreadyIssued(
            f"the {achievement.label} credential is already issued; sign-off is closed"
            + (
                f" until {(credential.valid_until - RENEWAL_WINDOW):%Y-%m-%d}"
                if credential.valid_until
                else ""
            )
        )
