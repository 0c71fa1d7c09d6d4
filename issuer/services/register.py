"""The register of issued credentials, as coordinators browse it: who holds what, found by the
learner's name or e-mail, one Achievement or one status, sorted, a page at a time.

Awards only, never their wallet copies. The signed documents (~13 KB each) stay unread. There
is no total: on SQLite every column stored after the document is reached through its overflow
pages, so counting 100k rows by their status would read them all (bench/scale.py); a page
asks for one row more than it shows to know whether there is a next one, and each status
filter matches a partial index (models.CredentialRecord). For the same reason the status is a
filter, not a sort key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, defer

from issuer.store.models import AchievementRecord, CredentialRecord, FrameworkRecord, User

STATUSES = ("active", "expired", "suspended", "revoked", "renewed")
SORTS = ("issued", "learner", "achievement")
PER_PAGE = 100


@dataclass(frozen=True, slots=True)
class Entry:
    record: CredentialRecord
    status: str  # one of STATUSES


@dataclass(frozen=True, slots=True)
class RegisterPage:
    entries: list[Entry]
    page: int
    has_next: bool


def status(record: CredentialRecord, now: datetime) -> str:
    """What the credential is now, in the order that wins: revoked, suspended, renewed (a newer
    credential replaces it), expired, or active."""
    if record.revoked_at is not None:
        return "revoked"
    if record.suspended_at is not None:
        return "suspended"
    if record.superseded_at is not None:
        return "renewed"
    if record.valid_until is not None and record.valid_until < now:
        return "expired"
    return "active"


def browse(
    session: Session,
    *,
    now: datetime,
    search: str = "",
    state: str = "",
    achievement_id: int | None = None,
    sort: str = "issued",
    descending: bool = True,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> RegisterPage:
    """One page of awards matching every filter given (empty ones are ignored)."""
    query = _filtered(
        select(CredentialRecord).options(defer(CredentialRecord.document)),
        now=now,
        search=search,
        state=state,
        achievement_id=achievement_id,
    )
    rows = list(
        session.scalars(
            _sorted(query, sort, descending)
            .limit(per_page + 1)
            .offset((max(page, 1) - 1) * per_page)
        )
    )
    entries = [Entry(record, status(record, now)) for record in rows[:per_page]]
    return RegisterPage(entries, max(page, 1), len(rows) > per_page)


def _filtered(
    query: Select[Any],
    *,
    now: datetime,
    search: str,
    state: str,
    achievement_id: int | None,
) -> Select[Any]:
    query = query.where(CredentialRecord.copy_of.is_(None))
    text = search.strip().lower()
    if text:
        learners = select(User.id).where(
            or_(
                func.lower(User.name).contains(text, autoescape=True),
                User.email.contains(text, autoescape=True),
            )
        )
        query = query.where(CredentialRecord.learner_id.in_(learners))
    if achievement_id is not None:
        query = query.where(CredentialRecord.achievement_id == achievement_id)
    if state in STATUSES:
        query = query.where(_in_state(state, now))
    return query


def _in_state(state: str, now: datetime) -> ColumnElement[bool]:
    record = CredentialRecord
    live = and_(record.revoked_at.is_(None), record.suspended_at.is_(None))
    current = and_(live, record.superseded_at.is_(None))
    lapsed = and_(record.valid_until.is_not(None), record.valid_until < now)
    return {
        "revoked": record.revoked_at.is_not(None),
        "suspended": and_(record.revoked_at.is_(None), record.suspended_at.is_not(None)),
        "renewed": and_(live, record.superseded_at.is_not(None)),
        "expired": and_(current, lapsed),
        "active": and_(current, or_(record.valid_until.is_(None), record.valid_until >= now)),
    }[state]


def _sorted(query: Select[Any], sort: str, descending: bool) -> Select[Any]:
    def way(column: Any) -> Any:
        return column.desc() if descending else column.asc()

    if sort == "learner":
        query = query.join(User, User.id == CredentialRecord.learner_id)
        keys = [way(func.lower(User.name)), way(User.email)]
    elif sort == "achievement":
        query = query.join(
            AchievementRecord, AchievementRecord.id == CredentialRecord.achievement_id
        ).join(FrameworkRecord, FrameworkRecord.id == AchievementRecord.framework_id)
        keys = [way(FrameworkRecord.title), way(AchievementRecord.position)]
    else:
        keys = []
    # Newest first within a learner or an Achievement; the id makes every page stable.
    return query.order_by(
        *keys,
        way(CredentialRecord.issued_at) if not keys else CredentialRecord.issued_at.desc(),
        CredentialRecord.id,
    )
