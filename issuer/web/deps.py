"""Typed dependencies: one transaction per request, the signed-in user, and role checks.

A request authenticates with a bearer token (`Authorization: Bearer …`, the JSON API) or the
session cookie (browsers). Cookie-authenticated requests that change state must echo the
session's CSRF token (`X-CSRF-Token` header or `csrf_token` form field).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from issuer.errors import KeyMaterialError, NotAuthenticated, PermissionDenied
from issuer.services import accounts, mail
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity
from issuer.services.issuing import Issuer
from issuer.store.db import transaction
from issuer.store.models import User

SESSION_COOKIE = "issuer_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.sessions) as session:
        yield session


# scope="function": commit (or roll back) before the response leaves, so a client never reads
# a result that was not stored.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def get_read_session(request: Request) -> Iterator[Session]:
    with transaction(request.app.state.read_sessions) as session:
        yield session


# For routes that only read (verification, status lists): on SQLite they take no write lock,
# so verifications no longer queue behind issuances.
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]


async def csrf_form_token(request: Request) -> str | None:
    """The CSRF token of a browser form post. A bearer-token request needs none, and its
    body may be anything (`curl --data-binary @file.csv` sends a CSV labelled as a form)."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return None
    if request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        with contextlib.suppress(RuntimeError):  # the form was parsed already (Form fields)
            await request.body()  # kept by the request, so the route can still read the body
        form = await request.form()
        value = form.get("csrf_token")
        return value if isinstance(value, str) else None
    return None


def current_user(
    request: Request,
    session: SessionDep,
    form_token: Annotated[str | None, Depends(csrf_form_token)],
) -> User:
    return _authenticated(request, session, form_token)


def reading_user(
    request: Request,
    session: ReadSessionDep,
    form_token: Annotated[str | None, Depends(csrf_form_token)],
) -> User:
    """The same checks as `current_user`, in the request's read-only session (for a route that
    opens its own short write transaction)."""
    return _authenticated(request, session, form_token)


def _authenticated(request: Request, session: Session, form_token: str | None) -> User:
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return accounts.user_for_token(session, authorization[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise NotAuthenticated("sign in, or send a bearer token")
    signed_in = accounts.session_user(session, cookie)
    if request.method not in SAFE_METHODS:
        sent = request.headers.get(CSRF_HEADER) or form_token
        if sent != signed_in.csrf:
            raise PermissionDenied("missing or wrong CSRF token")
    request.state.scope = signed_in.scope
    return signed_in.user


CurrentUser = Annotated[User, Depends(current_user)]


def optional_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in user on a public page, if any (reading needs no CSRF token)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    try:
        if request.headers.get("authorization", "").lower().startswith("bearer "):
            return accounts.user_for_token(session, request.headers["authorization"][7:].strip())
        return accounts.session_user(session, cookie).user if cookie else None
    except NotAuthenticated:
        return None


OptionalUser = Annotated[User | None, Depends(optional_user)]


def role(name: str, *, reading: bool = False) -> Callable[..., Awaitable[User]]:
    # Async: the check reads only the user's roles, loaded with the user (no query), so it
    # needs no hop to a worker thread and back, as a plain function would take.
    async def require(request: Request, user: CurrentUser) -> User:
        return _holding(request, user, name)

    async def require_reading(
        request: Request, user: Annotated[User, Depends(reading_user)]
    ) -> User:
        return _holding(request, user, name)

    return require_reading if reading else require


def _holding(request: Request, user: User, name: str) -> User:
    if not user.has_role(name):
        raise PermissionDenied(f"this needs the {name} role")
    scope = getattr(request.state, "scope", None)
    if scope is not None and name not in scope:
        raise PermissionDenied(SCOPED)
    return user


SCOPED = "this sign-in (a link from an e-mail) opens only your own badges: sign in for the rest"


CoordinatorDep = Annotated[User, Depends(role("coordinator"))]
SupervisorDep = Annotated[User, Depends(role("supervisor"))]
# The supervisor, from the read-only session: for the attestation, which signs before it writes.
ReadingSupervisorDep = Annotated[User, Depends(role("supervisor", reading=True))]
LearnerDep = Annotated[User, Depends(role("learner"))]


# How stale the key ring's version may be where we only sign (services/key_versions.py).
SIGNING_KEY_AGE = 1.0


def issuer_identity(request: Request, max_age: float = 0.0) -> IssuerIdentity | None:
    """The issuer's keys as recorded at most `max_age` seconds ago (reloaded after `issuer
    keys rotate`), or None before a signing key exists."""
    identity: IssuerIdentity | None = request.app.state.identity.get(max_age)
    return identity


def optional_issuer(request: Request, max_age: float = 0.0) -> Issuer | None:
    """Who this app issues as, or None before a signing key exists. Up to date by default:
    verification resolves our own DID from these keys."""
    identity = issuer_identity(request, max_age)
    settings = request.app.state.settings
    if identity is None:
        return None
    return Issuer(
        identity,
        settings.base_url,
        suspension=settings.suspension,
        render_method=request.app.state.render_method,
    )


def current_issuer(request: Request) -> Issuer | None:
    """`optional_issuer` as a dependency: up to date, and no parameter a client could set."""
    return optional_issuer(request)


def require_issuer(request: Request) -> Issuer:
    return _required(optional_issuer(request))


async def signing_issuer(request: Request) -> Issuer:
    """For routes that only sign (attestations): the keys as known up to a second ago, which
    spares the hot path a query; a key rotated meanwhile stays published, so it verifies.
    Async: nearly always answered from memory, so the request needs no worker thread for it
    (the version's query, once a second, goes to one)."""
    if request.app.state.identity.fresh(SIGNING_KEY_AGE):
        return _required(optional_issuer(request, SIGNING_KEY_AGE))
    return _required(await run_in_threadpool(optional_issuer, request, SIGNING_KEY_AGE))


def _required(issuer: Issuer | None) -> Issuer:
    if issuer is None:
        raise KeyMaterialError("the issuer has no signing key: run `issuer keys generate`")
    return issuer


def fetcher(request: Request) -> Fetcher:
    """The bounded fetcher for user-supplied addresses (private ones only if configured)."""
    return Fetcher(allow_private=request.app.state.settings.allow_private_fetch)


IssuerDep = Annotated[Issuer, Depends(require_issuer)]
SigningIssuerDep = Annotated[Issuer, Depends(signing_issuer)]
OptionalIssuerDep = Annotated[Issuer | None, Depends(current_issuer)]
FetcherDep = Annotated[Fetcher, Depends(fetcher)]


_delivering = threading.Lock()
_more_mail = threading.Event()


async def deliver_mail(app: Any) -> None:
    """Background task after a response: send what is due, unless a mail worker does that
    (ISSUER_MAIL_WORKER); whatever cannot go now (mail server down, database busy) stays
    queued for the next run. Async so that, with a mail worker, it costs the request no hop
    to a worker thread."""
    if not app.state.settings.mail_worker:
        await run_in_threadpool(send_due_mail, app)


def send_due_mail(app: Any) -> None:
    """`deliver_mail`'s run, in a worker thread (a caller that is one already calls this).

    One run at a time per process. A request that finds a run under way leaves a note and
    returns; the run goes round once more, so mail queued after it claimed its batch is not
    left waiting for some later request.
    """
    _more_mail.set()
    while _more_mail.is_set():
        if not _delivering.acquire(blocking=False):
            return  # the run under way sees the note
        try:
            _more_mail.clear()
            settings = app.state.settings
            mail.deliver_due(
                app.state.sessions, app.state.mail_transport, sender=settings.mail_from
            )
        except OperationalError:
            pass  # the database is busy with issuances: the queue keeps the mail
        finally:
            _delivering.release()


def set_session_cookie(response: Response, request: Request, cookie: str) -> None:
    """The browser session cookie: HttpOnly, SameSite=Lax, Secure when served over https."""
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="lax",
        secure=request.app.state.settings.base_url.startswith("https://"),
        max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
        path="/",
    )


@dataclass(frozen=True, slots=True)
class Page:
    """A signed-in browser user, the CSRF token their forms must carry, what this session may
    use (`scope`, see accounts.open_session) and the message left for this page, if any."""

    user: User
    csrf: str
    scope: frozenset[str] | None = None
    flash: tuple[str, str] | None = None

    def has_role(self, role: str) -> bool:
        return self.user.has_role(role) and (self.scope is None or role in self.scope)


class SignInRequired(Exception):
    """Raised for pages without a session: the app redirects to /login."""


def page_user(request: Request, session: SessionDep) -> Page:
    return _page(request, session)


def reading_page_user(request: Request, session: ReadSessionDep) -> Page:
    """The same, in the request's read-only session (a form post that signs before it opens
    its own short write transaction: the attestation)."""
    return _page(request, session)


def _page(request: Request, session: Session) -> Page:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        raise SignInRequired
    try:
        signed_in = accounts.session_user(session, cookie)
    except NotAuthenticated:
        raise SignInRequired from None
    # A page being shown takes the message the last action left for it (POST/redirect/GET).
    flash = accounts.take_flash(session, cookie) if request.method in SAFE_METHODS else None
    request.state.scope = signed_in.scope
    return Page(signed_in.user, signed_in.csrf, signed_in.scope, flash)


def flash(request: Request, session: Session, text: str, kind: str = "done") -> None:
    """Leave `text` for the next page of this browser session (`done` or `error`)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        accounts.set_flash(session, cookie, kind, text)


PageDep = Annotated[Page, Depends(page_user)]
ReadingPageDep = Annotated[Page, Depends(reading_page_user)]
FormToken = Annotated[str | None, Depends(csrf_form_token)]


def page_role(name: str) -> Callable[[Page], Page]:
    def require(page: Annotated[Page, Depends(page_user)]) -> Page:
        return _page_holding(page, name)

    return require


def _page_holding(page: Page, name: str | None) -> Page:
    if name is not None and not page.user.has_role(name):
        raise PermissionDenied(f"this page is for the {name} role")
    if name is not None and not page.has_role(name):
        raise PermissionDenied(SCOPED)
    return page


def page_action(name: str | None, *, reading: bool = False) -> Callable[..., Page]:
    """A signed-in page's form post, in one dependency: a live session (else the sign-in
    page), the role (`None`: any signed-in person) and the form's CSRF token."""

    def require(request: Request, page: PageDep, form_token: FormToken) -> Page:
        return _acting(request, page, form_token, name)

    def require_reading(request: Request, page: ReadingPageDep, form_token: FormToken) -> Page:
        return _acting(request, page, form_token, name)

    return require_reading if reading else require


def _acting(request: Request, page: Page, form_token: str | None, name: str | None) -> Page:
    if (request.headers.get(CSRF_HEADER) or form_token) != page.csrf:
        raise PermissionDenied("missing or wrong CSRF token")
    return _page_holding(page, name)


CoordinatorPage = Annotated[Page, Depends(page_role("coordinator"))]
SupervisorPage = Annotated[Page, Depends(page_role("supervisor"))]
LearnerPage = Annotated[Page, Depends(page_role("learner"))]
# Form posts of the pages: session, role and CSRF token checked together.
PageAction = Annotated[Page, Depends(page_action(None))]
CoordinatorAction = Annotated[Page, Depends(page_action("coordinator"))]
SupervisorAction = Annotated[Page, Depends(page_action("supervisor"))]
# The attestation signs in the read-only session before its own short write transaction.
ReadingSupervisorAction = Annotated[Page, Depends(page_action("supervisor", reading=True))]


def same_origin(request: Request) -> None:
    """Refuse a cross-site form post (login CSRF: signing a victim into the attacker's
    account). Browsers name the page that sent a POST in `Origin` (or at least `Referer`);
    it must be this app, at its public address or the address the request came to. A client
    that sends neither (curl, a script) is not a browser that can be tricked."""
    sent = request.headers.get("origin") or request.headers.get("referer")
    if not sent:
        return
    ours = {_origin(request.app.state.settings.base_url), _origin(str(request.base_url))}
    if _origin(sent) not in ours:
        raise PermissionDenied("this form was sent from another site")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


SameOrigin = Depends(same_origin)


def optional_page(request: Request, session: SessionDep) -> Page | None:
    """The signed-in browser user of a page anyone may open, for the header (their name, their
    pages, Sign out) and the message their last action left; None for everyone else."""
    try:
        return page_user(request, session)
    except SignInRequired:
        return None


OptionalPage = Annotated[Page | None, Depends(optional_page)]
# The owner's form posts on their credential page: session, learner role and CSRF token.
LearnerAction = Annotated[Page, Depends(page_action("learner"))]


def signed_in(request: Request) -> dict[str, Page | None]:
    """Every page's header: who is signed in (`viewer` in templates), from the browser session
    in a short read-only transaction. No flash: that belongs to the page whose route shows it."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie or not hasattr(request.app.state, "read_sessions"):
        return {"viewer": None}
    try:
        with transaction(request.app.state.read_sessions) as session:
            # User.roles loads with the user (selectin): usable after the session closes.
            found = accounts.session_user(session, cookie)
    except NotAuthenticated:
        return {"viewer": None}
    return {"viewer": Page(found.user, found.csrf, found.scope)}
