"""Claim links: on issuance the learner gets an e-mail with a single-use, expiring link that
signs them in to their credential page; coordinators can re-send it."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from issuer.errors import NotFound
from issuer.services import audit, mail
from issuer.services.accounts import token_hash
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
    mail.queue(
        session,
        to=learner.email,
        subject=f"Your badge: {name}",
        body=(
            f'Hello {learner.name},\n\nYou have earned the Open Badge "{name}".\n\n'
            f"Open it (this link signs you in once and works for {CLAIM_LIFETIME.days} days):\n"
            f"{base_url}/claim/{token}\n\n"
            "From there you can download it, add it to a wallet or to LinkedIn.\n"
        ),
        now=now,
    )
    if actor is not None:
        audit.record(session, actor, "claim.resent", record.id)


def redeem(session: Session, token: str, now: datetime | None = None) -> ClaimToken:
    """Use a claim link once; NotFound for unknown, used or expired ones (all alike)."""
    now = now or datetime.now(UTC)
    claim = session.get(ClaimToken, token_hash(token))
    if claim is None or claim.used_at is not None or claim.expires_at <= now:
        raise NotFound("this link was used or has expired; ask for a new one")
    claim.used_at = now
    return claim
