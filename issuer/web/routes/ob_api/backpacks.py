"""The learner's backpacks page: send one of their badges to a backpack that speaks the Open
Badges API (we are its Consumer), see what they sent, which apps hold access to their badges
here (and disconnect one), and the badges they keep here from elsewhere.

Sending talks to the backpack (discovery, registration, later the token and the upsert), so
these routes read in the read-only session and write in short transactions of their own:
no write lock is held while a backpack answers. The browser leaves for the backpack by a link
on our page, not by a redirect after the form post, which CSP `form-action` would stop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer import __version__
from issuer.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from issuer.services import accounts, awards
from issuer.services.obapi import consumer, resources, scopes, tokens
from issuer.store.db import transaction
from issuer.store.models import User
from issuer.web.deps import (
    SCOPED,
    SESSION_COOKIE,
    LearnerAction,
    LearnerPage,
    Page,
    ReadSessionDep,
    SessionDep,
    SignInRequired,
    flash,
    page_action,
)
from issuer.web.routes.ob_api.resources import about, logo_path, outbound
from issuer.web.templating import render

router = APIRouter(tags=["pages"])
logger = logging.getLogger(__name__)
HOME = "/learner/backpacks"
CALLBACK = HOME + "/callback"
NO_STORE = {"Cache-Control": "no-store"}
ReadingLearnerAction = Annotated[Page, Depends(page_action("learner", reading=True))]
Text = Annotated[str, Form(max_length=2000)]


def reading_learner(request: Request, session: ReadSessionDep) -> User:
    """The signed-in learner, read in the read-only session (no flash is taken here: the
    page this route redirects to shows it). Without a session: the sign-in page."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequired
    try:
        signed_in = accounts.session_user(session, cookie)
    except NotAuthenticated:
        raise SignInRequired from None
    if not signed_in.user.has_role("learner"):
        raise PermissionDenied("this page is for the learner role")
    if not signed_in.may_use("learner"):
        raise PermissionDenied(SCOPED)
    return signed_in.user


ReadingLearner = Annotated[User, Depends(reading_learner)]


@router.get(HOME)
def backpacks(request: Request, session: SessionDep, page: LearnerPage) -> Response:
    now = datetime.now(UTC)
    return _page(request, session, page, now)


def _page(
    request: Request, session: Session, page: Page, now: datetime, departure: object = None
) -> Response:
    credentials = [
        record
        for record in awards.credentials(session, learner_id=page.user.id)
        if record.revoked_at is None
    ]
    response = render(
        request,
        "pages/learner/backpacks.html",
        {
            "page": page,
            "credentials": credentials,
            "names": {record.id: record.achievement.document["name"] for record in credentials},
            "pushes": consumer.pushes(session, page.user),
            "connections": tokens.connections(session, page.user, now),
            "words": scopes.words,
            "held": resources.held_credentials(session, page.user),
            "departure": departure,
        },
    )
    response.headers.update(NO_STORE)
    return response


@dataclass(frozen=True, slots=True)
class Departure:
    """Where the learner goes next to approve the push, and what it is called."""

    url: str
    backpack: str


@router.post(HOME + "/send")
def send(
    request: Request,
    reading: ReadSessionDep,
    page: ReadingLearnerAction,
    credential_id: Text,
    backpack: Text,
) -> Response:
    """Discover the backpack, register with it once, and start the authorization: the page
    then offers the link to the backpack's consent page."""
    settings = request.app.state.settings
    now = datetime.now(UTC)
    fetcher = outbound(request).within(consumer.SEND_SECONDS)
    try:
        base_url = consumer.backpack_address(backpack, allow_loopback_http=fetcher.allow_http)
        described = consumer.discover(fetcher, base_url)
        known = consumer.provider(reading, base_url)
        client = None if known else consumer.register(fetcher, described, _me(request))
        with transaction(request.app.state.sessions) as session:
            record = known or consumer.remember(session, described, client or ("", ""), now)
            url = consumer.start_push(
                session, page.user, record, credential_id, settings.base_url + CALLBACK, now
            )
    except (InvalidInput, NotFound) as error:
        return _back(request, f"Nothing was sent: {error}", "error")
    return _page(request, reading, page, now, Departure(url, described.name))


def _me(request: Request) -> consumer.ClientProfile:
    """How we present ourselves to a backpack: on our own host, as OB 3.0 requires."""
    settings = request.app.state.settings
    ours = about(request)
    return consumer.ClientProfile(
        name=settings.issuer_name,
        version=__version__,
        client_uri=settings.base_url + "/",
        logo_uri=settings.base_url + logo_path(request),
        tos_uri=ours.terms_of_service,
        policy_uri=ours.privacy_policy,
        redirect_uri=settings.base_url + CALLBACK,
    )


@router.get(CALLBACK)
def callback(
    request: Request,
    user: ReadingLearner,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    """The backpack sends the learner back: with a code (we finish the push) or an error."""
    now = datetime.now(UTC)
    try:
        with transaction(request.app.state.sessions) as session:
            claimed = consumer.claim_push(session, user, state[:200], now)
    except NotFound as refused:
        return _back(request, str(refused), "error")
    if error or not code:
        outcome, message, kind = "denied", f"{claimed.backpack} did not take the badge", "error"
    else:
        outcome, message, kind = _deliver(request, claimed, code[:2000])
    with transaction(request.app.state.sessions) as session:
        consumer.finish(session, user, claimed, outcome, now)
        flash(request, session, message[:300], kind)
    return RedirectResponse(HOME, status_code=303)


def _deliver(request: Request, claimed: consumer.Claimed, code: str) -> tuple[str, str, str]:
    """(outcome, message, kind) of finishing a claimed push. The push was spent when it was
    claimed, so whatever happens here its outcome must be recorded: an error we did not
    foresee is logged and recorded as "failed" rather than left as a half-finished push."""
    redirect_uri = request.app.state.settings.base_url + CALLBACK
    try:
        outcome = consumer.deliver(outbound(request), claimed, code, redirect_uri)
    except InvalidInput as failed:
        return "failed", f"Nothing was sent: {failed}", "error"
    except Exception:
        logger.exception("sending a badge to %s failed", claimed.base_url)
        return "failed", f"Nothing was sent: {claimed.backpack} could not be talked to", "error"
    return outcome, f"{claimed.backpack} has your badge ({outcome})", "done"


@router.post(HOME + "/apps/{client_id}/disconnect")
def disconnect(
    request: Request, client_id: str, session: SessionDep, page: LearnerAction
) -> Response:
    """Take back an app's access to this learner's badges (every token it holds)."""
    count = tokens.disconnect(session, page.user, client_id[:64], datetime.now(UTC))
    flash(request, session, "disconnected" if count else "that app had no access any more")
    return RedirectResponse(HOME, status_code=303)


def _back(request: Request, message: str, kind: str) -> Response:
    with transaction(request.app.state.sessions) as session:
        flash(request, session, message[:300], kind)
    return RedirectResponse(HOME, status_code=303)
