"""The audit log: who did what to whom, when. Append-only: there is no update or delete here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.store.models import AuditEvent, User

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
)


def record(
    session: Session, actor: User | None, action: str, subject: str, **detail: Any
) -> AuditEvent:
    event = AuditEvent(
        at=datetime.now(UTC),
        actor_id=actor.id if actor else None,
        action=action,
        subject=subject,
        detail=detail,
    )
    session.add(event)
    return event


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
