"""Accounts, roles, passwords (Argon2), bearer tokens and browser sessions.

Secrets are stored only as hashes: Argon2 for passwords, SHA-256 for random tokens (they have
256 bits of entropy, so a fast hash is enough and lookups stay indexed). Every way in (password,
e-mailed link, claim link, single sign-on) ends in `open_session`, which is where a deactivated
person is stopped and the sign-in is recorded; tokens and sessions of a deactivated person are
refused as well (people.deactivate also deletes them).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import Session, joinedload

from issuer import limits, passwords
from issuer.errors import Conflict, InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from issuer.services import audit
from issuer.store.models import ApiToken, Role, User, WebSession

ROLES = ("coordinator", "supervisor", "learner")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SESSION_LIFETIME = timedelta(hours=12)
_hasher = PasswordHasher()
DEACTIVATED = "this account has been deactivated: ask a coordinator"
# A real hash to compare against when the account does not exist, so that a failed login
# takes as long whether or not the email is known (no account enumeration by timing).
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > limits.EMAIL or limits.has_control_character(email):
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
    """A new account with `roles`. An e-mail that already has an account is a Conflict: once,
    this silently reset that person's password (another coordinator's included) and was
    audited as a creation. Giving an existing person a role is `add_role`, its own action."""
    email = normalize_email(email)
    _check_roles(roles)
    if not name.strip():
        raise InvalidInput("a name is required")
    name = limits.check_text(name.strip(), "the name", limits.PERSON_NAME)
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"{email} already has an account; give it another role instead")
    user = User(email=email, name=name, created_at=datetime.now(UTC))
    session.add(user)
    user.roles.extend(Role(role=role) for role in dict.fromkeys(roles))
    if password is not None:
        set_password(user, password)
    session.flush()
    audit.record(session, actor, "user.created", email, roles=sorted(set(roles)))
    return user


def add_role(session: Session, user: User, role: str, *, actor: User | None) -> User:
    """Give an existing person another role (audited). Nobody changes their own roles: a
    coordinator who is also a learner could otherwise make themselves a supervisor."""
    _check_roles([role])
    _not_oneself(user, actor)
    if not user.has_role(role):
        user.roles.append(Role(role=role))
        session.flush()
        audit.record(session, actor, "user.role_added", user.email, role=role)
    return user


def remove_role(session: Session, user: User, role: str, *, actor: User | None) -> User:
    """Take a role away (audited); never one's own, and never the last: a person without a
    role could sign in to nothing, which is what deactivating them says plainly."""
    _check_roles([role])
    _not_oneself(user, actor)
    if user.has_role(role):
        if len(user.roles) == 1:
            raise Conflict(f"{role} is the only role of {user.email}: deactivate them instead")
        user.roles[:] = [r for r in user.roles if r.role != role]
        session.flush()
        audit.record(session, actor, "user.role_removed", user.email, role=role)
    return user


def _not_oneself(user: User, actor: User | None) -> None:
    if actor is not None and actor.id == user.id:
        raise PermissionDenied("another coordinator must change your own roles")


def _check_roles(roles: list[str]) -> None:
    unknown = [role for role in roles if role not in ROLES]
    if unknown or not roles:
        raise InvalidInput(f"roles must be among {', '.join(ROLES)}; got {roles}")


def sign_in_name(email: str) -> str:
    """The account an attempt to sign in as `email` is for, as sign-in looks it up (and as the
    rate limit counts it), without the checks of `normalize_email`: any text is an attempt."""
    return email.strip().lower()[: limits.EMAIL]


def set_password(user: User, password: str) -> None:
    """Hash and keep `password` once it passes the policy (passwords.py): at least 12
    characters, and neither common, breached nor made of the person's own e-mail or name."""
    passwords.check(password, email=user.email, name=user.name)
    user.password_hash = _hasher.hash(password)


def authenticate(
    session: Session, email: str, password: str, *, client: str | None = None
) -> User | None:
    """The user with this email and password, or None (recorded in the audit log).

    Returns rather than raises, so that the edge can commit the audit entry of a failure. The
    entry names the client's address and the e-mail only when it is one (normalized): what
    people type into a sign-in box is sometimes their password.
    """
    user = session.scalar(select(User).where(User.email == sign_in_name(email)))
    try:
        _hasher.verify(user.password_hash if user and user.password_hash else _DUMMY_HASH, password)
        if user is None or user.password_hash is None:
            raise VerificationError
    except (VerificationError, InvalidHashError):
        _failed(session, email, client)
        return None
    if user.deactivated_at is not None:
        # The same answer as a wrong password: the page says nothing about the account.
        _failed(session, email, client, reason="deactivated")
        return None
    return user


def _failed(session: Session, email: str, client: str | None, **detail: str) -> None:
    typed = sign_in_name(email)
    valid = EMAIL.match(typed) and not limits.has_control_character(typed)
    subject = typed if valid else "(not an e-mail address)"
    audit.record(session, None, "login.failed", subject, client=client or "unknown", **detail)


def user_by_id(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no person {user_id}")
    return user


def user_by_email(session: Session, email: str) -> User:
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise NotFound(f"no user {email!r}")
    return user


def create_token(session: Session, user: User, name: str = "api") -> str:
    """A new bearer token for `user`; only its hash is stored: this is the one time it is seen."""
    name = limits.check_text(name, "the token name", limits.TOKEN_NAME)
    token = "iss_" + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            user_id=user.id, token_hash=token_hash(token), name=name, created_at=datetime.now(UTC)
        )
    )
    return token


_TOKEN_USER = (  # built once: every API request runs it (services/claims.py says why)
    select(User)
    .join(ApiToken, ApiToken.user_id == User.id)
    .where(ApiToken.token_hash == bindparam("hash"))
    .options(joinedload(User.roles))
)


def user_for_token(session: Session, token: str) -> User:
    """The person an API token belongs to, with their roles (one query: every API request
    starts here)."""
    user = session.scalars(_TOKEN_USER, {"hash": token_hash(token)}).unique().one_or_none()
    if user is None or user.deactivated_at is not None:
        raise NotAuthenticated("unknown bearer token")
    return user


def open_session(
    session: Session, user: User, *, scope: Sequence[str] | None = None
) -> tuple[str, str]:
    """A browser session: (cookie value, CSRF token); a new id at every login (no fixation).

    `scope` limits the session to some of the person's roles: a claim link opens a session
    for the learner's own pages only, whatever else that person may be. Every way in comes
    here, so here a deactivated person is turned away and the sign-in is recorded.
    """
    if user.deactivated_at is not None:
        raise NotAuthenticated(DEACTIVATED)
    user.last_signed_in_at = datetime.now(UTC)
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    session.add(
        WebSession(
            id_hash=token_hash(cookie),
            user_id=user.id,
            csrf_token=csrf,
            expires_at=datetime.now(UTC) + SESSION_LIFETIME,
            scope=" ".join(scope) if scope is not None else None,
        )
    )
    return cookie, csrf


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A live browser session: who, their CSRF token, and the roles it may use."""

    user: User
    csrf: str
    scope: frozenset[str] | None

    def may_use(self, role: str) -> bool:
        return self.user.has_role(role) and (self.scope is None or role in self.scope)


def session_user(session: Session, cookie: str) -> SignedIn:
    """The user, CSRF token and scope of a live browser session."""
    record = session.get(WebSession, token_hash(cookie))
    if record is None or record.expires_at <= datetime.now(UTC):
        raise NotAuthenticated("not signed in")
    user = session.get(User, record.user_id)
    if user is None or user.deactivated_at is not None:
        raise NotAuthenticated("not signed in")
    scope = frozenset(record.scope.split()) if record.scope is not None else None
    return SignedIn(user, record.csrf_token, scope)


def change_password(
    session: Session, user: User, password: str, *, keep: str | None, via: str = "account page"
) -> None:
    """A new password, and every other session of that person ended: whoever had signed in
    with the old one (a shared computer, a thief) is out. `keep` is the current cookie."""
    set_password(user, password)
    end_sessions(session, user, keep=keep)
    audit.record(session, user, "user.password_changed", user.email, via=via)


def end_sessions(session: Session, user: User, *, keep: str | None = None) -> None:
    """Sign `user` out everywhere (but the session whose cookie is `keep`)."""
    ended = delete(WebSession).where(WebSession.user_id == user.id)
    if keep is not None:
        ended = ended.where(WebSession.id_hash != token_hash(keep))
    session.execute(ended)


def set_flash(session: Session, cookie: str, kind: str, text: str) -> None:
    """A message for the next page this session shows (after a redirect): kept server-side,
    so no one can put words in the app's mouth through a link."""
    record = session.get(WebSession, token_hash(cookie))
    if record is not None:
        record.flash = json.dumps({"kind": kind, "text": text[:500]})


def take_flash(session: Session, cookie: str) -> tuple[str, str] | None:
    """The waiting message, once."""
    record = session.get(WebSession, token_hash(cookie))
    if record is None or record.flash is None:
        return None
    message = json.loads(record.flash)
    record.flash = None
    return str(message["kind"]), str(message["text"])


def close_session(session: Session, cookie: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id_hash == token_hash(cookie)))


def has_role_holder(session: Session, role: str) -> bool:
    return session.scalar(select(Role.user_id).where(Role.role == role).limit(1)) is not None
