"""What a credential's page and its claim page show beyond the signed document: where the level
sits in its framework ("Level 3 of 4", with every level named), how each statement was
confirmed (method in words, date, setting, supervisor, from the sign-offs the award was issued
on), and, for a claim link not yet used, the badge and the name it leads to.

Nothing here is new to whoever sees it: the signed evidence already carries each confirmation,
and a claim link's page shows only what its e-mail said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer.credentials import METHODS
from issuer.services.accounts import token_hash
from issuer.services.awards import award_of
from issuer.services.sharing import CredentialView
from issuer.store.models import ClaimToken, Confirmation, CredentialRecord


@dataclass(frozen=True, slots=True)
class Level:
    """One level of the framework, 1-based; `current` is the credential's own."""

    position: int
    label: str
    current: bool


@dataclass(frozen=True, slots=True)
class ConfirmedStatement:
    """A statement of the level and how it was confirmed (None where no sign-off is on
    record: a credential issued before sign-offs were kept, say)."""

    number: int
    statement: str
    method: str | None = None
    observed_on: date | None = None
    setting: str | None = None
    supervisor: str | None = None
    note: str | None = None
    # Set when the statement came from existing records (records import), not a live sign-off.
    imported_by: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimPreview:
    """What a claim link leads to, shown before it is spent."""

    earner: str
    achievement: str
    image_url: str
    level: Level
    level_count: int


def levels(record: CredentialRecord) -> tuple[Level, ...]:
    """The framework's levels in order, the credential's marked."""
    ordered = sorted(record.achievement.framework.achievements, key=lambda a: a.position)
    return tuple(
        Level(number, a.label, a.id == record.achievement_id)
        for number, a in enumerate(ordered, start=1)
    )


def statements(session: Session, item: CredentialView) -> tuple[ConfirmedStatement, ...]:
    """Each statement once, in the level's order, with its confirmation."""
    names = [d.get("name", "") for d in item.achievement.get("resultDescription", [])]
    rows = session.scalars(
        select(Confirmation).where(Confirmation.consumed_by == award_of(session, item.record).id)
    )
    by_index = {row.statement_index: row for row in rows}
    found = []
    for index, name in enumerate(names):
        row = by_index.get(index)
        if row is None:
            found.append(ConfirmedStatement(index + 1, str(name)))
            continue
        found.append(
            ConfirmedStatement(
                number=index + 1,
                statement=str(name),
                method=METHODS.get(row.method, row.method),
                observed_on=row.observed_on,
                setting=row.setting,
                supervisor=row.supervisor.name,
                note=row.note,
                imported_by=row.imported_by.name if row.imported_by is not None else None,
            )
        )
    return tuple(found)


def claim_preview(session: Session, token: str, now: datetime | None = None) -> ClaimPreview | None:
    """The badge and earner behind a claim link that still works; None otherwise. Reading
    spends nothing: mail scanners open links before people do (claims.redeem spends it)."""
    now = now or datetime.now(UTC)
    claim = session.get(ClaimToken, token_hash(token))
    if claim is None or claim.used_at is not None or claim.expires_at <= now:
        return None
    record = session.get(CredentialRecord, claim.credential_id)
    if record is None:
        return None
    document = json.loads(record.document)
    achievement = document["credentialSubject"]["achievement"]
    ladder = levels(record)
    return ClaimPreview(
        earner=claim.user.name,
        achievement=str(document.get("name", "")),
        image_url=str(achievement.get("image", {}).get("id", "")),
        level=next(level for level in ladder if level.current),
        level_count=len(ladder),
    )
