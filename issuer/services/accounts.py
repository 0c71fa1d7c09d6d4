"""Accounts, roles, passwords (Argon2), bearer tokens and browser sessions.

Secrets are stored only as hashes: Argon2 for passwords, SHA-256 for random tokens (they have
256 bits of entropy, so a fast hash is enough and lookups stay indexed).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from issuer.errors import InvalidInput, NotAuthenticated, NotFound
from issuer.services import audit
from issuer.store.models import ApiToken, Role, User, WebSession

ROLES = ("coordinator", "supervisor", "learner")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()
# A real hash to compare against when the account does not exist, so that a failed login
# takes as long whether or not the email is known (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 320:
        raise InvalidInput(f"{email!r} is not an email address")
    return email


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    roles: list[str],
    password: str | None = None,
    actor: User | None = None,
) -> User:
    """A new account with `roles`; an existing email gains the roles (one person, many roles)."""
    email = normalize_email(email)
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles:
        raise InvalidInput(f"roles must be among {', '.join(ROLES)}; got {roles}")
    if not name.strip():
        raise InvalidInput("a name is required")
    user = session.scalar(select(User).where(User.email == email))
    if user is None:
        user = User(email=email, name=name.strip(), created_at=datetime.now(UTC))
        session.add(user)
    for role in roles:
        if not user.has_role(role):
            user.roles.append(Role(role=role))
    if password is not None:
        set_password(user, password)
    session.flush()
    audit.record(session, actor, "user.created", email, roles=sorted(r.role for r in user.roles))
    return user


def sign_in_name(email: str) -> str:
    """The account an attempt to sign in as `email` is for, as sign-in looks it up (and as the
    rate limit counts it), without the checks of `normalize_email`: any text is an attempt."""
    return email.strip().lower()[:320]


def set_password(user: User, password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = _hasher.hash(password)


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The user with this email and password, or None (recorded in the audit log).

    Returns rather than raises, so that the edge can commit the audit entry of a failure.
    """
    user = session.scalar(select(User).where(User.email == sign_in_name(email)))
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        if user is None or user.password_hash is None:
            raise VerificationError
    except (VerificationError, InvalidHashError):
        audit.record(session, None, "login.failed", sign_in_name(email))
        return None
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user


def create_token(session: Session, user: User, name: str = "api") -> str:
    """A new bearer token for `user`; only its hash is stored: this is the one time it is seen."""
    token = "iss_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id, token_hash=token_hash(token), name=name, created_at=datetime.now(UTC)
        )
    )
    return token


def user_for_token(session: Session, token: str) -> User:
    user = session.scalar(
        select(User)
        .join(ApiToken, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == token_hash(token))
    )
    if user is None:
        raise NotAuthenticated("unknown bearer token")
    return user


def open_session(session: Session, user: User) -> tuple[str, str]:
    """A browser session: (cookie value, CSRF token); a new id at every login (no fixation)."""
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=token_hash(cookie),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=datetime.now(UTC) + SESSION_LIFETIME,
        )
    )
    return cookie, csrf


def session_user(session: Session, cookie: str) -> tuple[User, str]:
    """The user and CSRF token of a live browser session."""
    record = session.get(WebSession, token_hash(cookie))
    if record is None or record.expires_at <= datetime.now(UTC):
        raise NotAuthenticated("not signed in")
    user = session.get(User, record.user_id)
    if user is None:
        raise NotAuthenticated("not signed in")
    return user, record.csrf_token


def close_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == token_hash(cookie)))


def has_role_holder(session: Session, role: str) -> bool:
    return session.scalar(select(Role.user_id).where(Role.role == role).limit(1)) is not None
