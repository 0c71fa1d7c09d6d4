"""The coordinator's dashboard figures, each one query (they must stay fast at 100k credentials)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from issuer.store.models import Confirmation, CredentialRecord, Role, User


@dataclass(frozen=True, slots=True)
class Dashboard:
    learners: int
    supervisors: int
    issued_this_month: int
    pending_sign_offs: int
    expiring_soon: int


def dashboard(session: Session, now: datetime | None = None) -> Dashboard:
    now = now or datetime.now(UTC)
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def people(role: str) -> int:
        return session.scalar(select(func.count()).select_from(Role).where(Role.role == role)) or 0

    current = (
        CredentialRecord.copy_of.is_(None),
        CredentialRecord.revoked_at.is_(None),
        CredentialRecord.superseded_at.is_(None),
    )
    pending = session.scalar(
        select(
            func.count(distinct(Confirmation.learner_id * 1_000_000 + Confirmation.achievement_id))
        ).where(Confirmation.withdrawn_at.is_(None), Confirmation.consumed_by.is_(None))
    )
    return Dashboard(
        learners=people("learner"),
        supervisors=people("supervisor"),
        issued_this_month=session.scalar(
            select(func.count())
            .select_from(CredentialRecord)
            .where(CredentialRecord.issued_at >= month, CredentialRecord.copy_of.is_(None))
        )
        or 0,
        pending_sign_offs=pending or 0,
        expiring_soon=session.scalar(
            select(func.count())
            .select_from(CredentialRecord)
            .where(
                *current,
                CredentialRecord.valid_until.is_not(None),
                CredentialRecord.valid_until <= now + timedelta(days=30),
            )
        )
        or 0,
    )


def people(session: Session, role: str, limit: int = 500) -> list[User]:
    """The first `limit` holders of `role`, by name (the dashboard shows a sample and counts)."""
    return list(
        session.scalars(
            select(User).join(Role).where(Role.role == role).order_by(User.name).limit(limit)
        )
    )
