"""Claim links: on issuance the learner gets an e-mail with a single-use, expiring link that
signs them in to their credential page; coordinators can re-send it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from issuer.errors import NotFound
from issuer.services import audit, mail
from issuer.services.accounts import token_hash
from issuer.services.letters import Action, Letter, badge_of
from issuer.store.models import ClaimToken, CredentialRecord, User

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
    now = now or datetime.now(UTC)
    token = secrets.token_urlsafe(32)
    session.add(
        ClaimToken(
            token_hash=token_hash(token),
            user_id=record.learner_id,
            credential_id=record.id,
            expires_at=now + CLAIM_LIFETIME,
        )
    )
    learner = record.learner
    name = record.achievement.document["name"]
    link = f"{base_url}/claim/{token}"
    mail.queue(
        session,
        to=learner.email,
        subject=f"Your badge: {name}",
        letter=Letter(
            greeting=f"Hello {learner.name},",
            before=(f'You have earned the Open Badge "{name}".',),
            action=Action(
                "Open your badge",
                link,
                f"This link signs you in once and works for {CLAIM_LIFETIME.days} days.",
            ),
            after=("From there you can download it, add it to a wallet or to LinkedIn.",),
            reason="You receive this e-mail because this badge was issued to you.",
            badge=badge_of(record),
        ),
        secrets=[link],  # erased from the stored message once delivered
        now=now,
    )
    if actor is not None:
        audit.record(session, actor, "claim.resent", record.id)


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
