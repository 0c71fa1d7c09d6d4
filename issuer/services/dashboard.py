"""The coordinator's dashboard figures, each one query (they must stay fast at 100k credentials):
the counts at the top of the overview, each cohort's progress by level, and the credentials
issued in each of the last twelve months (the overview draws both as charts, issuer/charts.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import and_, case, distinct, exists, func, select
from sqlalchemy.orm import Session

from issuer.store.models import (
    AchievementRecord,
    Assignment,
    Confirmation,
    CredentialRecord,
    FrameworkRecord,
    Role,
    User,
)


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


# ── cohorts by level ──


@dataclass(frozen=True, slots=True)
class LevelCount:
    """Of a cohort's `learners` in a framework: how many hold this level's credential and how
    many have at least one statement of it confirmed but no credential yet."""

    label: str
    learners: int
    earned: int
    in_progress: int

    @property
    def not_started(self) -> int:
        return max(self.learners - self.earned - self.in_progress, 0)


@dataclass(frozen=True, slots=True)
class CohortProgress:
    cohort: str | None  # None: learners enrolled without a cohort
    framework: str
    soc: str
    learners: int
    levels: list[LevelCount]


def cohort_progress(session: Session) -> list[CohortProgress]:
    """Each (cohort, framework) of the assignments with its learners' progress by level.

    A learner counts once per cohort and framework however many supervisors they have. A
    credential counts while it is current (not revoked, not replaced, not a wallet copy: the
    columns of the partial index `uq_credentials_active`, so it is read from the index);
    "in progress" is a level with an active confirmation and no current credential."""
    learners = {
        (cohort, framework_id): count
        for cohort, framework_id, count in session.execute(
            select(
                Assignment.cohort,
                Assignment.framework_id,
                func.count(distinct(Assignment.learner_id)),
            ).group_by(Assignment.cohort, Assignment.framework_id)
        )
    }
    earned = _per_level(
        session,
        CredentialRecord,
        CredentialRecord.learner_id,
        CredentialRecord.achievement_id,
        _current(),
    )
    in_progress = _per_level(
        session,
        Confirmation,
        Confirmation.learner_id,
        Confirmation.achievement_id,
        and_(
            Confirmation.withdrawn_at.is_(None),
            Confirmation.consumed_by.is_(None),
            ~exists().where(
                CredentialRecord.learner_id == Confirmation.learner_id,
                CredentialRecord.achievement_id == Confirmation.achievement_id,
                _current(),
            ),
        ),
    )
    frameworks = {f.id: f for f in session.scalars(select(FrameworkRecord))}
    found = [
        CohortProgress(
            cohort,
            frameworks[framework_id].title,
            frameworks[framework_id].soc,
            count,
            [
                LevelCount(
                    a.label,
                    count,
                    earned.get((cohort, a.id), 0),
                    in_progress.get((cohort, a.id), 0),
                )
                for a in frameworks[framework_id].achievements
            ],
        )
        for (cohort, framework_id), count in learners.items()
    ]
    return sorted(found, key=lambda c: (c.cohort is None, c.cohort or "", c.framework))


def _current() -> Any:
    return and_(
        CredentialRecord.revoked_at.is_(None),
        CredentialRecord.superseded_at.is_(None),
        CredentialRecord.copy_of.is_(None),
    )


def _per_level(
    session: Session, table: Any, learner: Any, achievement: Any, condition: Any
) -> dict[tuple[str | None, int], int]:
    """Distinct learners per (cohort, Achievement) among the rows of `table` meeting
    `condition`, each row joined to its learner's assignment in the Achievement's framework."""
    query = (
        select(Assignment.cohort, achievement, func.count(distinct(learner)))
        .select_from(table)
        .join(AchievementRecord, AchievementRecord.id == achievement)
        .join(
            Assignment,
            and_(
                Assignment.framework_id == AchievementRecord.framework_id,
                Assignment.learner_id == learner,
            ),
        )
        .where(condition)
        .group_by(Assignment.cohort, achievement)
    )
    return {
        (cohort, achievement_id): count for cohort, achievement_id, count in session.execute(query)
    }


# ── credentials per month ──


@dataclass(frozen=True, slots=True)
class MonthCount:
    month: date  # its first day
    issued: int


def issued_per_month(session: Session, now: datetime, months: int = 12) -> list[MonthCount]:
    """Credentials issued (awards, not wallet copies; revoked ones too: they were issued) in
    each of the last `months` calendar months, this one included, oldest first. One query,
    one sum per month: portable where date functions are not (SQLite and PostgreSQL)."""
    starts = _month_starts(now, months)
    edges = [datetime(d.year, d.month, 1, tzinfo=UTC) for d in starts] + [
        datetime(*_next_month(starts[-1].year, starts[-1].month), 1, tzinfo=UTC)
    ]
    issued = CredentialRecord.issued_at
    sums = [
        func.coalesce(func.sum(case((and_(issued >= low, issued < high), 1), else_=0)), 0)
        for low, high in pairwise(edges)
    ]
    counts = session.execute(
        select(*sums).where(
            issued >= edges[0], issued < edges[-1], CredentialRecord.copy_of.is_(None)
        )
    ).one()
    return [MonthCount(start, int(count)) for start, count in zip(starts, counts, strict=True)]


def _month_starts(now: datetime, months: int) -> list[date]:
    year, month = now.year, now.month
    found = []
    for _ in range(months):
        found.append(date(year, month, 1))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return found[::-1]


def _next_month(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)
