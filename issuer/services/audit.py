"""The audit log: who did what to whom, when. Append-only: there is no update or delete here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, defer

from issuer.store.models import AuditEvent, CredentialRecord, User

ACTIONS = (
    "login.failed",
    "confirmation.created",
    "confirmation.withdrawn",
    "level.attested",
    "credential.issued",
    "credential.revoked",
    "framework.imported",
    "user.created",
    "assignment.created",
    "credential.suspended",
    "credential.unsuspended",
    "credential.bound",
    "credential.visibility",
    "claim.resent",
    "enrolment.applied",
    "mail.retried",
    "login.sso",
    "user.role_added",
    "user.password_changed",
    "user.invited",
    "user.invitation_accepted",
    "user.reset_requested",
    "login.link",
    "user.renamed",
    "user.email_change_requested",
    "user.email_changed",
    "user.role_removed",
    "user.deactivated",
    "user.reactivated",
    "records.import_queued",
    "records.imported",
    "records.import_failed",
)


def record(
    session: Session, actor: User | None, action: str, subject: str, **detail: Any
) -> AuditEvent:
    entry = event(actor, action, subject, **detail)
    session.add(entry)
    return entry


def event(actor: User | None, action: str, subject: str, **detail: Any) -> AuditEvent:
    """An audit event to store (`record` adds it to the session; a hot path may insert it
    with store.rows instead)."""
    return AuditEvent(
        at=datetime.now(UTC),
        actor_id=actor.id if actor else None,
        action=action,
        subject=subject,
        detail=detail,
    )


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str | None
    action: str
    subject: str
    detail: dict[str, Any]


def events(
    session: Session,
    *,
    action: str | None = None,
    actor: str | None = None,
    subject: str | None = None,
    limit: int = 200,
) -> list[AuditEntry]:
    """Newest first; optionally one kind of action, one actor (email), a subject's text."""
    query = (
        select(AuditEvent, User.email)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .order_by(AuditEvent.id.desc())
        .limit(min(limit, 1000))
    )
    if action:
        query = query.where(AuditEvent.action == action)
    if actor:
        query = query.where(User.email == actor.strip().lower())
    if subject:
        query = query.where(AuditEvent.subject.contains(subject.strip()))
    return [
        AuditEntry(event.at, email, event.action, event.subject, event.detail)
        for event, email in session.execute(query)
    ]


# ── the log as a coordinator reads it: names and reasons, not bare ids ──

PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class Person:
    id: int
    name: str
    email: str


@dataclass(frozen=True, slots=True)
class Credential:
    id: str
    name: str  # the Achievement's
    learner: str


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One event with whom it names resolved: the actor, the person or the credential it is
    about (None when the subject is neither, or no longer exists), and its reason if any."""

    at: datetime
    action: str
    subject: str
    actor: Person | None
    person: Person | None
    credential: Credential | None
    reason: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LogPage:
    entries: list[LogEntry]
    page: int
    has_next: bool


def log(
    session: Session,
    *,
    action: str = "",
    actor: str = "",
    subject: str = "",
    since: date | None = None,
    until: date | None = None,
    oldest_first: bool = False,
    page: int = 1,
) -> LogPage:
    """One page of events, newest first unless `oldest_first`. `actor` is an e-mail address
    (exactly) or part of a name; `since` and `until` are whole days, UTC, both included."""
    query = select(AuditEvent, User).outerjoin(User, User.id == AuditEvent.actor_id)
    if action:
        query = query.where(AuditEvent.action == action)
    if actor.strip():
        wanted = actor.strip().lower()
        query = query.where(
            User.email == wanted
            if "@" in wanted
            else func.lower(User.name).contains(wanted, autoescape=True)
        )
    if subject.strip():
        query = query.where(AuditEvent.subject.contains(subject.strip(), autoescape=True))
    if since is not None:
        query = query.where(AuditEvent.at >= datetime.combine(since, time(), UTC))
    if until is not None:
        query = query.where(AuditEvent.at < datetime.combine(until + timedelta(1), time(), UTC))
    order = AuditEvent.id.asc() if oldest_first else AuditEvent.id.desc()
    page = max(page, 1)
    rows = list(
        session.execute(query.order_by(order).limit(PER_PAGE + 1).offset((page - 1) * PER_PAGE))
    )
    shown = [(event, user) for event, user in rows[:PER_PAGE]]
    people, credentials = _named(session, [event for event, _ in shown])
    entries = [
        LogEntry(
            at=event.at,
            action=event.action,
            subject=event.subject,
            actor=Person(user.id, user.name, user.email) if user is not None else None,
            person=people.get(event.subject),
            credential=credentials.get(_credential_id(event) or ""),
            reason=_reason(event.detail),
            detail=event.detail,
        )
        for event, user in shown
    ]
    return LogPage(entries, page, len(rows) > PER_PAGE)


def _credential_id(event: AuditEvent) -> str | None:
    """The credential an event is about: its subject, or (an issuance, whose subject is the
    learner) the `credential` of its detail."""
    named = event.detail.get("credential") if isinstance(event.detail, dict) else None
    if isinstance(named, str):
        return named
    return event.subject if event.action.startswith(("credential.", "claim.")) else None


def _reason(detail: Any) -> str | None:
    reason = detail.get("reason") if isinstance(detail, dict) else None
    return reason if isinstance(reason, str) and reason else None


def _named(
    session: Session, events: list[AuditEvent]
) -> tuple[dict[str, Person], dict[str, Credential]]:
    """Everyone and every credential a page of events names, in two queries."""
    emails = {e.subject for e in events if "@" in e.subject}
    ids = {i for i in (_credential_id(e) for e in events) if i}
    # An empty IN matches nothing: no special case needed.
    people = {
        u.email: Person(u.id, u.name, u.email)
        for u in session.scalars(select(User).where(User.email.in_(emails)))
    }
    records = session.scalars(
        select(CredentialRecord)
        .options(defer(CredentialRecord.document))
        .where(CredentialRecord.id.in_(ids))
    )
    credentials = {
        r.id: Credential(r.id, str(r.achievement.document.get("name", "")), r.learner.name)
        for r in records
    }
    return people, credentials
