"""Ways back in without the password: a password reset for anyone, a sign-in link for learners.

Both requests take an e-mail address and answer the same whether or not it has an account
(the edge says "if an account exists, we sent a link"): mail goes only to an active account
(and a sign-in link only to a learner), at most once a minute per person, so asking again and
again neither tells anything nor fills a mailbox. A reset link (1 hour) sets a new password and
ends every session of that person; a sign-in link (15 minutes) opens a session for the
learner's own pages only, as a claim link does.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer import passwords
from issuer.errors import Conflict
from issuer.services import account_links as links
from issuer.services import accounts, audit, mail
from issuer.services.letters import Action, Letter
from issuer.store.models import User

AGAIN_AFTER = timedelta(minutes=1)
RESET_MINUTES = int(links.LIFETIMES[links.RESET].total_seconds() // 60)
SIGN_IN_MINUTES = int(links.LIFETIMES[links.SIGN_IN].total_seconds() // 60)


def _active(session: Session, email: str) -> User | None:
    user = session.scalar(select(User).where(User.email == accounts.sign_in_name(email)))
    return user if user is not None and user.deactivated_at is None else None


def request_reset(session: Session, email: str, base_url: str) -> None:
    """E-mail a reset link if `email` is an active account's (nothing is said either way)."""
    user = _active(session, email)
    if user is None or links.recently_sent(session, user, links.RESET, AGAIN_AFTER):
        return
    link = links.issue(session, user, links.RESET, base_url)
    mail.queue(
        session,
        to=user.email,
        subject="Reset your password",
        letter=Letter(
            greeting=f"Hello {user.name},",
            before=(
                f"Someone, probably you, asked to reset the password of {user.email} at the "
                "Open Badges issuer.",
            ),
            action=Action(
                "Choose a new password", link, f"This link works once, for {RESET_MINUTES} minutes."
            ),
            after=("If it was not you, ignore this message: your password stays as it is.",),
            reason="You receive this e-mail because a password reset was asked for this address.",
        ),
        secrets=[link],
    )
    audit.record(session, None, "user.reset_requested", user.email)


def operator_reset_link(session: Session, user: User, base_url: str) -> str:
    """A reset link for the operator to hand over (`issuer users reset-password`), not mailed."""
    if user.deactivated_at is not None:
        raise Conflict(f"{user.email} is deactivated: a coordinator must reactivate them")
    link = links.issue(session, user, links.RESET, base_url)
    audit.record(session, None, "user.reset_requested", user.email, by="operator")
    return link


def resetting(session: Session, token: str) -> User:
    """Whose password a live reset link sets (the GET of its page never spends it)."""
    return links.peek(session, token, links.RESET).user


def reset_password(session: Session, token: str, password: str) -> User:
    """Spend the reset link once, set the new password and end every session of that person.

    As with an invitation, the password is checked before the link is spent and hashed after.
    """
    owner = resetting(session, token)
    passwords.check(password, email=owner.email, name=owner.name)
    user = links.spend(session, token, links.RESET).user
    accounts.change_password(session, user, password, keep=None, via="reset link")
    links.void(session, user, links.RESET, links.INVITATION)
    return user


def request_sign_in_link(session: Session, email: str, base_url: str) -> None:
    """E-mail a learner a sign-in link if `email` is an active learner's (nothing is said)."""
    user = _active(session, email)
    if user is None or not user.has_role("learner"):
        return
    if links.recently_sent(session, user, links.SIGN_IN, AGAIN_AFTER):
        return
    link = links.issue(session, user, links.SIGN_IN, base_url)
    mail.queue(
        session,
        to=user.email,
        subject="Your sign-in link",
        letter=Letter(
            greeting=f"Hello {user.name},",
            before=("Sign in to see your badges and your progress.",),
            action=Action("Sign in", link, f"This link works once, for {SIGN_IN_MINUTES} minutes."),
            after=("If you did not ask for it, ignore this message.",),
            reason="You receive this e-mail because a sign-in link was asked for this address.",
        ),
        secrets=[link],
    )


def sign_in_by_link(session: Session, token: str) -> User:
    """Spend a sign-in link once: the learner it was sent to (audited `login.link`)."""
    user = links.spend(session, token, links.SIGN_IN).user
    audit.record(session, user, "login.link", user.email)
    return user
