"""Invitations: a person a coordinator adds (one by one or from a CSV file) is e-mailed a
single-use link, valid 7 days, to set their first password; a coordinator can send a new one.
Before this, a supervisor added from the console could never sign in (issue 16).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from issuer import passwords
from issuer.errors import Conflict
from issuer.services import account_links as links
from issuer.services import accounts, audit, mail
from issuer.services.letters import Action, Letter
from issuer.store.models import User

DAYS = links.LIFETIMES[links.INVITATION].days


def add_person(
    session: Session,
    *,
    email: str,
    name: str,
    roles: Sequence[str],
    base_url: str,
    password: str | None = None,
    actor: User | None = None,
) -> User:
    """A new account, invited by e-mail to set a password, unless one is given here (the API's
    `password`, for a coordinator scripting accounts who hands the passwords over themselves)."""
    user = accounts.create_user(
        session, email=email, name=name, roles=list(roles), password=password, actor=actor
    )
    if password is None:
        invite(session, user, base_url, actor=actor, first=True)
    return user


def invite(
    session: Session,
    user: User,
    base_url: str,
    *,
    actor: User | None,
    now: datetime | None = None,
    first: bool = False,
) -> None:
    """Queue the invitation e-mail (in the caller's transaction); earlier ones stop working
    (`first`: a new account, which has none)."""
    link = links.issue(session, user, links.INVITATION, base_url, now=now, first=first)
    roles = " and ".join(sorted(r.role for r in user.roles))
    mail.queue(
        session,
        to=user.email,
        subject="You are invited to the Open Badges issuer",
        letter=Letter(
            greeting=f"Hello {user.name},",
            before=(f"You have been added to the Open Badges issuer as {roles}.",),
            action=Action("Choose your password", link, f"This link works once, for {DAYS} days."),
            after=(
                "Your sign-in name is this e-mail address. If you did not expect this message, "
                "you can ignore it.",
            ),
            reason="You receive this e-mail because a coordinator added this address.",
        ),
        secrets=[link],
        now=now,
    )
    audit.record(session, actor, "user.invited", user.email)


def resend(session: Session, user: User, base_url: str, *, actor: User) -> None:
    """A new invitation for someone who has not set a password yet; Conflict otherwise (they
    can reset their password from the sign-in page, and a deactivated person gets nothing)."""
    if user.deactivated_at is not None:
        raise Conflict(f"{user.email} is deactivated: reactivate them first")
    if user.password_hash is not None:
        raise Conflict(
            f"{user.email} has set a password already; they can reset it from the sign-in page"
        )
    invite(session, user, base_url, actor=actor)


def invitee(session: Session, token: str) -> User:
    """Whom a live invitation is for (the GET of its page: looking never spends it)."""
    return links.peek(session, token, links.INVITATION).user


def accept(session: Session, token: str, password: str) -> User:
    """Spend the invitation once and set the person's password (audited).

    The password is checked before the link is spent, so a refused one leaves the link
    usable; it is hashed after, so requests racing for one link pay for one Argon2 hash.
    """
    invited = invitee(session, token)
    passwords.check(password, email=invited.email, name=invited.name)
    user = links.spend(session, token, links.INVITATION).user
    accounts.set_password(user, password)
    links.void(session, user, links.INVITATION, links.RESET)
    audit.record(session, user, "user.invitation_accepted", user.email)
    return user
