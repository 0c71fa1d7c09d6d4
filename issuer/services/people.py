"""People, as coordinators keep them: find them, rename them, change their e-mail address (only
once the new address confirms it), deactivate and reactivate them. Every change is audited.

Deactivating someone shuts every door: their sessions end, their API tokens are revoked, their
e-mailed links stop working, and sign-in by password, link, claim link or single sign-on is
refused (accounts.open_session and sso.sign_in check it). What they were issued stays valid:
a credential is the learner's record, not a key to this service. Roles are added and removed
in accounts.py; nobody changes their own, nor deactivates themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from issuer import limits
from issuer.errors import Conflict, InvalidInput, PermissionDenied
from issuer.services import account_links as links
from issuer.services import accounts, audit, mail
from issuer.services.letters import Action, Letter
from issuer.store.models import ApiToken, Role, User

PER_PAGE = 50
EMAIL_DAYS = links.LIFETIMES[links.EMAIL].days


@dataclass(frozen=True, slots=True)
class Directory:
    """One page of people, by name, and how many match in all."""

    people: list[User]
    total: int
    page: int
    pages: int


STATES = ("invited", "active", "deactivated")
SORTS = ("name", "email", "state", "last_sign_in")


def directory(
    session: Session,
    *,
    search: str = "",
    page: int = 1,
    state: str = "",
    role: str = "",
    sort: str = "name",
    descending: bool = False,
) -> Directory:
    """People whose name or e-mail contains `search` (any case), in one of STATES if `state`
    names one, holding `role` if it names one, sorted by one of SORTS (then by name),
    PER_PAGE a page."""
    query = select(User)
    text = search.strip().lower()
    if text:
        query = query.where(
            or_(
                func.lower(User.name).contains(text, autoescape=True),
                User.email.contains(text, autoescape=True),  # stored lower-case
            )
        )
    if state in STATES:
        query = query.where(_state() == STATES.index(state))
    if role in accounts.ROLES:
        query = query.where(User.roles.any(Role.role == role))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    people = session.scalars(
        query.order_by(*_order(sort, descending), User.name, User.id)
        .offset((page - 1) * PER_PAGE)
        .limit(PER_PAGE)
    )
    return Directory(list(people), total, page, pages)


def _state() -> ColumnElement[int]:
    """User.state in SQL, as its index in STATES (so it sorts invited, active, deactivated)."""
    return case(
        (User.deactivated_at.is_not(None), 2),
        (and_(User.password_hash.is_(None), User.last_signed_in_at.is_(None)), 0),
        else_=1,
    )


def _order(sort: str, descending: bool) -> list[ColumnElement[Any]]:
    if sort == "last_sign_in":
        # Never signed in sorts last either way: "who signed in longest ago" means people who did.
        signed = User.last_signed_in_at
        return [signed.is_(None), signed.desc() if descending else signed.asc()]
    columns: dict[str, Any] = {"email": User.email, "state": _state()}
    column = columns.get(sort, func.lower(User.name))
    return [column.desc() if descending else column.asc()]


def rename(session: Session, user: User, name: str, *, actor: User) -> User:
    name = limits.check_text(name.strip(), "the name", limits.PERSON_NAME)
    if not name:
        raise InvalidInput("a name is required")
    if name != user.name:
        audit.record(session, actor, "user.renamed", user.email, old=user.name, new=name)
        user.name = name
    return user


def request_email_change(
    session: Session, user: User, new_email: str, base_url: str, *, actor: User
) -> str | None:
    """Send a confirmation link to `new_email`; the address changes when it is followed. The
    old address is told. Returns the address written to, or None when nothing changes."""
    new_email = accounts.normalize_email(new_email)
    if new_email == user.email:
        return None
    _free(session, new_email)
    if user.deactivated_at is not None:
        raise Conflict(f"{user.email} is deactivated: reactivate them first")
    link = links.issue(session, user, links.EMAIL, base_url, new_email=new_email)
    mail.queue(
        session,
        to=new_email,
        subject="Confirm your new e-mail address",
        letter=Letter(
            greeting=f"Hello {user.name},",
            before=(
                "A coordinator of the Open Badges issuer changed your sign-in address from "
                f"{user.email} to this one.",
            ),
            action=Action(
                "Confirm this address", link, f"This link works once, for {EMAIL_DAYS} days."
            ),
            after=("Until then you sign in with the old address. If this is not you, ignore it.",),
            reason="You receive this e-mail because a coordinator entered this address for "
            "your account.",
        ),
        secrets=[link],
    )
    mail.queue(
        session,
        to=user.email,
        subject="Your sign-in address is about to change",
        letter=Letter(
            greeting=f"Hello {user.name},",
            before=(
                "A coordinator asked to change your sign-in address at the Open Badges issuer "
                f"to {new_email}. It changes once that address confirms it.",
                "If you did not expect this, tell your training coordinator.",
            ),
            reason="You receive this e-mail because it is your sign-in address.",
        ),
    )
    audit.record(session, actor, "user.email_change_requested", user.email, new=new_email)
    return new_email


def email_change(session: Session, token: str) -> tuple[User, str]:
    """(the person, the new address) of a live confirmation link; looking never spends it."""
    link = links.peek(session, token, links.EMAIL)
    return link.user, link.new_email or ""


def confirm_email_change(session: Session, token: str) -> User:
    """Spend the confirmation link once: the person's sign-in address becomes the new one."""
    link = links.spend(session, token, links.EMAIL)
    user, new_email = link.user, link.new_email or ""
    _free(session, new_email)  # someone may have been given it since the link was sent
    audit.record(session, user, "user.email_changed", user.email, new=new_email)
    user.email = new_email
    return user


def _free(session: Session, email: str) -> None:
    if session.scalar(select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"{email} already has an account")


def deactivate(session: Session, user: User, *, actor: User) -> User:
    """Shut every way in (see the module's docstring); the credentials stay valid."""
    if actor.id == user.id:
        raise PermissionDenied("another coordinator must deactivate you")
    if user.deactivated_at is None:
        user.deactivated_at = datetime.now(UTC)
        accounts.end_sessions(session, user)
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))
        links.void(session, user)
        audit.record(session, actor, "user.deactivated", user.email)
    return user


def reactivate(session: Session, user: User, *, actor: User) -> User:
    """Let them in again: with their password if they have one, else by an invitation or a
    reset link (their old links and tokens stay void)."""
    if user.deactivated_at is not None:
        user.deactivated_at = None
        audit.record(session, actor, "user.reactivated", user.email)
    return user


def change(
    session: Session,
    user: User,
    *,
    name: str | None,
    email: str | None,
    base_url: str,
    actor: User,
) -> str | None:
    """A coordinator's edit of a person: the name at once, the e-mail address once confirmed.
    Returns the new address a confirmation link went to, if any."""
    if name is not None:
        rename(session, user, name, actor=actor)
    if email is None:
        return None
    return request_email_change(session, user, email, base_url, actor=actor)
