"""Claim links: on issuance the learner gets an e-mail with a single-use, expiring link that
signs them in to their credential page; coordinators can re-send it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from issuer.badge_images import BadgeFace
from issuer.errors import NotFound
from issuer.services import audit, mail
from issuer.services.accounts import token_hash
from issuer.services.letters import Action, Letter
from issuer.store.models import (
    AchievementRecord,
    ClaimToken,
    CredentialRecord,
    FrameworkRecord,
    OutboxMessage,
    User,
)
from issuer.store.rows import insert_rows

CLAIM_LIFETIME = timedelta(days=14)


def send_claim(
    session: Session,
    record: CredentialRecord,
    base_url: str,
    *,
    actor: User | None = None,
    now: datetime | None = None,
) -> None:
    """Queue the claim e-mail for `record` (in the caller's transaction)."""
    facts = claim_facts(session, record.learner_id, record.achievement_id)
    queue_claim(session, prepare_claim(facts, record.id, base_url, now=now))
    if actor is not None:
        audit.record(session, actor, "claim.resent", record.id)


@dataclass(frozen=True, slots=True)
class PreparedClaim:
    """A claim link and its e-mail, composed but stored nowhere yet (not in any session)."""

    token: ClaimToken
    message: OutboxMessage


def prepare_claim(
    facts: ClaimFacts, credential_id: str, base_url: str, *, now: datetime | None = None
) -> PreparedClaim:
    """The claim link and e-mail for a credential about to be stored: composed before the
    issuance takes the write lock (composing is most of queueing it), added under it."""
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    link = f"{base_url}/claim/{token}"
    message = mail.compose(
        to=facts.email,
        subject=f"Your badge: {facts.badge_name}",
        letter=Letter(
            greeting=f"Hello {facts.name},",
            before=(f'You have earned the Open Badge "{facts.badge_name}".',),
            action=Action(
                "Open your badge",
                link,
                f"This link signs you in once and works for {CLAIM_LIFETIME.days} days.",
            ),
            after=("From there you can download it, add it to a wallet or to LinkedIn.",),
            reason="You receive this e-mail because this badge was issued to you.",
            badge=facts.badge,
        ),
        secrets=[link],  # erased from the stored message once delivered
        now=now,
    )
    claim = ClaimToken(
        token_hash=token_hash(token),
        user_id=facts.learner_id,
        credential_id=credential_id,
        expires_at=now + CLAIM_LIFETIME,
    )
    return PreparedClaim(claim, message)


def queue_claim(session: Session, prepared: PreparedClaim) -> None:
    """Store a prepared claim link and queue its e-mail (in the caller's transaction), with
    one INSERT each: nothing reads them back in that transaction."""
    insert_rows(session, [prepared.token, prepared.message])


@dataclass(frozen=True, slots=True)
class ClaimFacts:
    """Who a claim e-mail goes to, and the badge it shows."""

    learner_id: int
    email: str
    name: str
    badge_name: str
    badge: BadgeFace


def facts_of(learner: User, achievement: AchievementRecord) -> ClaimFacts:
    """`claim_facts` from what an attestation has loaded already (catalog.achievement_record
    counts the levels): no query."""
    framework = achievement.framework
    if framework.levels is None:
        raise ValueError("the Achievement was loaded without its framework's number of levels")
    badge = BadgeFace(
        title=framework.title,
        label=achievement.label,
        soc=framework.soc,
        position=achievement.position + 1,
        count=framework.levels,
    )
    name = achievement.document["name"]
    return ClaimFacts(learner.id, learner.email, learner.name, str(name), badge)


def claim_facts(session: Session, learner_id: int, achievement_id: int) -> ClaimFacts:
    """What the claim e-mail needs, in one query (loading the learner, Achievement and
    framework as objects took five, with the framework's every Achievement to count them)."""
    row = session.execute(
        _CLAIM_FACTS, {"learner": learner_id, "achievement": achievement_id}
    ).one()
    email, name, badge_name, label, position, title, soc, count = row
    badge = BadgeFace(title=title, label=label, soc=soc, position=position + 1, count=count)
    return ClaimFacts(learner_id, email, name, badge_name, badge)


# Built once: a statement built per call costs more to build and key for the compiled-SQL
# cache (~0.2 ms) than to run.
_LEVELS = (
    select(func.count())
    .where(AchievementRecord.framework_id == FrameworkRecord.id)
    .correlate(FrameworkRecord)
    .scalar_subquery()
)
_CLAIM_FACTS = (
    select(
        User.email,
        User.name,
        AchievementRecord.document["name"].as_string(),
        AchievementRecord.label,
        AchievementRecord.position,
        FrameworkRecord.title,
        FrameworkRecord.soc,
        _LEVELS,
    )
    .select_from(AchievementRecord)
    .join(FrameworkRecord, FrameworkRecord.id == AchievementRecord.framework_id)
    .join(User, User.id == bindparam("learner"))
    .where(AchievementRecord.id == bindparam("achievement"))
)


def redeem(session: Session, token: str, now: datetime | None = None) -> ClaimToken:
    """Use a claim link once; NotFound for unknown, used or expired ones (all alike).

    One conditional UPDATE both checks and spends the link. Reading it first and then setting
    `used_at` let 12 of 16 racing requests open a session on PostgreSQL: each read the link
    unused before any wrote. Here the database re-checks the WHERE clause against the row a
    concurrent winner left behind, so exactly one request gets the row back.
    """
    now = now or datetime.now(UTC)
    claim = session.scalars(
        update(ClaimToken)
        .where(
            ClaimToken.token_hash == token_hash(token),
            ClaimToken.used_at.is_(None),
            ClaimToken.expires_at > now,
        )
        .values(used_at=now)
        .returning(ClaimToken)
    ).one_or_none()
    if claim is None:
        raise NotFound("this link was used or has expired; ask for a new one")
    return claim
