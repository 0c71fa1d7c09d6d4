"""Access and refresh tokens of the Open Badges API: stored as SHA-256, looked up, spent and
revoked; and the learner's view of them (which apps hold access, and disconnecting one).

An access token lives an hour (OB 3.0 §7.1.2.4 recommends 3600 s); its refresh token 30 days,
and is spent by use: each refresh issues a new pair (rotation). A refresh token presented a
second time means two parties hold it, so the whole family (every token descending from the
same authorization code) is revoked, the honest client's included (OAuth 2.0 Security BCP
§4.14.2); a revoked refresh token takes its family with it too (RFC 7009 §2.1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc6749 import TokenMixin
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from issuer.services import audit
from issuer.services.accounts import token_hash
from issuer.services.obapi import scopes
from issuer.store.models import ObClient, ObToken, User

ACCESS_SECONDS = 3600
REFRESH_LIFETIME = timedelta(days=30)


class IssuedToken(TokenMixin):  # type: ignore[misc]
    """A stored token as Authlib's grants and endpoints ask about it. `presented` says which
    of the pair was presented (revocation treats a refresh token as the whole grant)."""

    def __init__(self, record: ObToken, presented: str = "access_token") -> None:
        self.record = record
        self.presented = presented

    def check_client(self, client: Any) -> bool:
        return bool(self.record.client_id == client.get_client_id())

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return ACCESS_SECONDS

    def is_revoked(self) -> bool:
        return self.record.revoked_at is not None

    def is_expired(self) -> bool:
        return False  # every lookup here asks for unexpired tokens only


def save(
    session: Session,
    token: dict[str, Any],
    *,
    client_id: str,
    user_id: int,
    grant_id: str,
    now: datetime,
) -> ObToken:
    """Keep a freshly issued pair (its hashes, never the tokens)."""
    refresh = token.get("refresh_token")
    record = ObToken(
        client_id=client_id,
        user_id=user_id,
        grant_id=grant_id,
        access_token_hash=token_hash(token["access_token"]),
        refresh_token_hash=token_hash(refresh) if refresh else None,
        scope=token["scope"],
        issued_at=now,
        expires_at=now + timedelta(seconds=ACCESS_SECONDS),
        refresh_expires_at=now + REFRESH_LIFETIME if refresh else None,
    )
    session.add(record)
    return record


def access(session: Session, presented: str, now: datetime) -> ObToken | None:
    """The live access token presented, if any: unexpired, unrevoked, its client unrevoked,
    its learner not deactivated."""
    return session.scalar(
        select(ObToken)
        .join(ObClient, ObClient.client_id == ObToken.client_id)
        .join(User, User.id == ObToken.user_id)
        .where(
            ObToken.access_token_hash == token_hash(presented),
            ObToken.expires_at > now,
            ObToken.revoked_at.is_(None),
            ObClient.revoked_at.is_(None),
            User.deactivated_at.is_(None),
        )
    )


def live_refresh(session: Session, presented: str, client_id: str, now: datetime) -> ObToken | None:
    """The usable refresh token presented by this client. One already spent is a replay: its
    family is revoked, and None returned."""
    record = session.scalar(
        select(ObToken).where(
            ObToken.refresh_token_hash == token_hash(presented), ObToken.client_id == client_id
        )
    )
    if record is None:
        return None
    if record.refresh_used_at is not None:
        revoke_family(session, record.grant_id, now)
        return None
    if record.revoked_at is not None or (record.refresh_expires_at or now) <= now:
        return None
    return record


def spend_refresh(session: Session, record: ObToken, now: datetime) -> bool:
    """Use the refresh token once. The WHERE clause is checked again against the row as a
    concurrent refresh left it, so of two racing refreshes exactly one wins; the loser is a
    replay like any other and revokes the family, the winner's new pair included."""
    spent = session.scalar(
        update(ObToken)
        .where(
            ObToken.id == record.id,
            ObToken.refresh_used_at.is_(None),
            ObToken.revoked_at.is_(None),
            ObToken.refresh_expires_at > now,
        )
        .values(refresh_used_at=now)
        .returning(ObToken.id)
    )
    if spent is None:
        # On PostgreSQL this UPDATE waited for the winner to commit; READ COMMITTED gives the
        # next statement a fresh snapshot, in which the winner's new pair is visible.
        revoke_family(session, record.grant_id, now)
    return spent is not None


def find(session: Session, presented: str, hint: str | None) -> IssuedToken | None:
    """The token (access or refresh, the hinted kind first) for revocation, live or not."""
    digest = token_hash(presented)
    kinds = [
        ("access_token", ObToken.access_token_hash),
        ("refresh_token", ObToken.refresh_token_hash),
    ]
    if hint == "refresh_token":
        kinds.reverse()
    for kind, column in kinds:
        record = session.scalar(select(ObToken).where(column == digest))
        if record is not None:
            return IssuedToken(record, kind)
    return None


def revoke(session: Session, token: IssuedToken, now: datetime) -> None:
    """RFC 7009: an access token with its refresh token; a refresh token with its family."""
    if token.presented == "refresh_token":
        revoke_family(session, token.record.grant_id, now)
    elif token.record.revoked_at is None:
        token.record.revoked_at = now


def revoke_family(session: Session, grant_id: str, now: datetime) -> None:
    session.execute(
        update(ObToken)
        .where(ObToken.grant_id == grant_id, ObToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


@dataclass(frozen=True, slots=True)
class Connection:
    """An app holding access to a learner's badges: what it may do, since when."""

    client: ObClient
    scopes: list[str]
    since: datetime


def connections(session: Session, user: User, now: datetime) -> list[Connection]:
    """Apps with a token of this learner's that still works (or can still be refreshed)."""
    rows = session.execute(
        select(ObClient, ObToken.scope, ObToken.issued_at)
        .join(ObToken, ObToken.client_id == ObClient.client_id)
        .where(
            ObToken.user_id == user.id,
            ObToken.revoked_at.is_(None),
            ObClient.revoked_at.is_(None),
            or_(
                ObToken.expires_at > now,
                (ObToken.refresh_used_at.is_(None)) & (ObToken.refresh_expires_at > now),
            ),
        )
        .order_by(ObToken.issued_at)
    ).all()
    found: dict[str, Connection] = {}
    for client, scope, issued_at in rows:
        earlier = found.get(client.client_id)
        granted = scopes.parse(" ".join([*(earlier.scopes if earlier else []), scope]))
        since = earlier.since if earlier else issued_at
        found[client.client_id] = Connection(client, granted, since)
    return list(found.values())


def disconnect(session: Session, user: User, client_id: str, now: datetime) -> int:
    """Revoke every token this learner gave the app (audited); how many there were.

    A refresh racing the disconnect must not leave a token behind. On PostgreSQL the rows are
    locked first: a refresh that spent one of them holds its lock until it commits, so the
    lock waits for it, and the UPDATE that follows (a new statement, a new snapshot under READ
    COMMITTED) sees the pair it inserted; a refresh that comes later finds its token revoked.
    SQLite lets one writer at a time in, which gives the same order."""
    mine = (
        ObToken.user_id == user.id,
        ObToken.client_id == client_id,
        ObToken.revoked_at.is_(None),
    )
    session.execute(select(ObToken.id).where(*mine).with_for_update())
    result = session.execute(
        update(ObToken).where(*mine).values(revoked_at=now).returning(ObToken.id)
    )
    count = len(result.all())
    if count:
        audit.record(session, user, "ob_client.disconnected", client_id[:100])
    return count
