"""Signing in and out, and one's own account: the sign-in page and `POST /api/login` side by
side, for every audience; and the pages of the links we e-mail (invitation, password reset, a
learner's sign-in link, a new e-mail address to confirm).

Sign-in is rate limited per account and per address (failures only), refuses cross-site posts
(`SameOrigin`) and opens a new session id each time; a password change ends every other
session of that person. Asking for a reset or a sign-in link is counted on every request (each
may send an e-mail) and answers the same whether or not the address has an account. A link's
GET shows a page and never spends it (mail scanners open links); its POST spends it once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Path, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer import limits, passwords
from issuer.errors import InvalidInput, NotFound
from issuer.services import accounts, invitations, people, recovery
from issuer.store.models import User
from issuer.web.deps import (
    SESSION_COOKIE,
    CurrentUser,
    PageAction,
    PageDep,
    SameOrigin,
    SessionDep,
    deliver_mail,
    flash,
    set_session_cookie,
)
from issuer.web.negotiation import safe_next
from issuer.web.ratelimit import RateLimiter, request_address, sign_in_attempt
from issuer.web.schemas import Login, LoginOut, UserOut, user_out
from issuer.web.templating import render

router = APIRouter(tags=["sign-in"])
MINIMUM = passwords.MIN_LENGTH
Text = Annotated[str, Form(max_length=2000)]
NewPassword = Annotated[str, Form(max_length=limits.PASSWORD)]
Token = Annotated[str, Path(max_length=limits.RANDOM_TOKEN)]
# The URL of a link's page holds its secret: never cached. The app's Referrer-Policy
# (strict-origin-when-cross-origin) already keeps the path from other sites; "no-referrer", as
# claim links have, would make the browser send `Origin: null` with the page's own form, which
# SameOrigin (rightly) refuses as cross-site: a real browser could not use the link.
PRIVATE = {"cache-control": "no-store"}
HOME = {"coordinator": "/coordinator", "supervisor": "/supervisor", "learner": "/learner"}


def home_of(roles: list[str]) -> str:
    return next((HOME[r] for r in ("coordinator", "supervisor", "learner") if r in roles), "/")


def _signed_in(request: Request, email: str, password: str, session: SessionDep) -> User | None:
    """The person, once their attempt is counted and their password checked (None: refused)."""
    attempt = sign_in_attempt(request, email)
    user = accounts.authenticate(session, email, password, client=request_address(request))
    if user is not None:
        attempt.succeeded()
    return user


@router.post("/api/login", response_model=LoginOut, dependencies=[SameOrigin])
def api_login(body: Login, request: Request, session: SessionDep) -> Response:
    """Sign in: sets an HttpOnly, SameSite session cookie and returns the CSRF token."""
    user = _signed_in(request, body.email, body.password, session)
    if user is None:
        # Returned, not raised: the failed attempt's audit entry must be committed.
        return JSONResponse({"detail": "wrong email or password"}, status_code=401)
    cookie, csrf = accounts.open_session(session, user)
    out = LoginOut(csrf_token=csrf, user=user_out(user))
    response = JSONResponse(out.model_dump(mode="json"))
    set_session_cookie(response, request, cookie)
    return response


@router.post("/api/logout", status_code=204)
def api_logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _signed_out(request, session, Response(status_code=204))


@router.get("/api/whoami")
def whoami(user: CurrentUser) -> UserOut:
    return user_out(user)


@router.get("/login", tags=["pages"])
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "pages/login.html", {"next": safe_next(next)})


def _signed_in_page(
    request: Request,
    session: Session,
    user: User,
    target: str,
    message: str,
    scope: list[str] | None = None,
) -> Response:
    """A new session for `user` (see accounts.open_session), and off to `target` with a message."""
    cookie, _ = accounts.open_session(session, user, scope=scope)
    accounts.set_flash(session, cookie, "done", message)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie)
    return response


@router.post("/login", dependencies=[SameOrigin], tags=["pages"])
def login(
    request: Request, session: SessionDep, email: Text, password: Text, next: Text = ""
) -> Response:
    user = _signed_in(request, email, password, session)
    if user is None:
        return render(
            request,
            "pages/login.html",
            {"next": next, "error": "Wrong email or password.", "email": email},
            status_code=401,
        )
    cookie, _ = accounts.open_session(session, user)
    target = safe_next(next) or home_of([r.role for r in user.roles])
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie)
    return response


@router.post("/logout", tags=["pages"])
def logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    return _signed_out(request, session, RedirectResponse("/login", status_code=303))


def _signed_out(request: Request, session: SessionDep, response: Response) -> Response:
    accounts.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password", tags=["pages"])
def password_form(request: Request, page: PageDep) -> Response:
    return render(request, "pages/password.html", {"page": page, "minimum": MINIMUM})


@router.post("/account/password", tags=["pages"])
def change_password(
    request: Request, session: SessionDep, page: PageAction, current: Text, new: Text
) -> Response:
    user = page.user
    if accounts.authenticate(session, user.email, current) is None:
        return render(
            request,
            "pages/password.html",
            {"page": page, "error": "The current password is wrong.", "minimum": MINIMUM},
            status_code=422,
        )
    try:
        accounts.change_password(session, user, new, keep=request.cookies.get(SESSION_COOKIE))
    except InvalidInput as error:
        context = {"page": page, "error": f"{_sentence(error)}", "minimum": MINIMUM}
        return render(request, "pages/password.html", context, status_code=422)
    flash(request, session, "password changed")
    return RedirectResponse("/account/password", status_code=303)


def _sentence(error: Exception) -> str:
    text = str(error)
    return f"{text[:1].upper()}{text[1:]}."


# ── the links we e-mail: invitation, password reset, sign-in link, new e-mail address ──


def _link_page(
    request: Request, name: str, context: dict[str, object], status: int = 200
) -> Response:
    response = render(request, f"pages/account/{name}.html", context, status_code=status)
    response.headers.update(PRIVATE)
    return response


def _gone(request: Request, purpose: str) -> Response:
    """The page for a link that was used, has expired, or never was: what to do instead."""
    return _link_page(request, "link_gone", {"purpose": purpose}, status=404)


def _password_form(
    request: Request, purpose: str, user: User, token: str, error: str = "", status: int = 200
) -> Response:
    context = {"purpose": purpose, "person": user, "token": token, "minimum": MINIMUM}
    return _link_page(request, "set_password", {**context, "error": error}, status)


@router.get("/invitations/{token}", tags=["pages"])
def invitation_form(request: Request, session: SessionDep, token: Token) -> Response:
    """The invitation's page: choose a password (looking never spends the link)."""
    try:
        user = invitations.invitee(session, token)
    except NotFound:
        return _gone(request, "invitation")
    return _password_form(request, "invitation", user, token)


@router.post("/invitations/{token}", dependencies=[SameOrigin], tags=["pages"])
def accept_invitation(
    request: Request, session: SessionDep, token: Token, password: NewPassword, repeat: NewPassword
) -> Response:
    """Spend the invitation once: the password is set and the person signed in."""
    return _set_password(request, session, "invitation", token, password, repeat)


@router.get("/account/reset", tags=["pages"])
def reset_form(request: Request) -> Response:
    return render(request, "pages/account/forgot.html", {})


@router.post("/account/reset", dependencies=[SameOrigin], tags=["pages"])
def request_reset(
    request: Request, session: SessionDep, background: BackgroundTasks, email: Text
) -> Response:
    """Always the same answer: whether the address has an account is not ours to tell."""
    _count_request(request, "reset", email)
    recovery.request_reset(session, email, request.app.state.settings.base_url)
    background.add_task(deliver_mail, request.app)
    return render(request, "pages/account/link_sent.html", {"purpose": "reset"})


@router.get("/account/reset/{token}", tags=["pages"])
def new_password_form(request: Request, session: SessionDep, token: Token) -> Response:
    try:
        user = recovery.resetting(session, token)
    except NotFound:
        return _gone(request, "reset")
    return _password_form(request, "reset", user, token)


@router.post("/account/reset/{token}", dependencies=[SameOrigin], tags=["pages"])
def reset_password(
    request: Request, session: SessionDep, token: Token, password: NewPassword, repeat: NewPassword
) -> Response:
    """Spend the reset link once: a new password, every session ended, this one opened."""
    return _set_password(request, session, "reset", token, password, repeat)


SETTERS = {"invitation": invitations.accept, "reset": recovery.reset_password}
LOOKUPS = {"invitation": invitations.invitee, "reset": recovery.resetting}


def _set_password(
    request: Request, session: Session, purpose: str, token: str, password: str, repeat: str
) -> Response:
    try:
        if password != repeat:
            user = LOOKUPS[purpose](session, token)
            return _password_form(
                request, purpose, user, token, "The two passwords differ.", status=422
            )
        user = SETTERS[purpose](session, token, password)
    except NotFound:
        return _gone(request, purpose)
    except InvalidInput as error:
        user = LOOKUPS[purpose](session, token)
        return _password_form(request, purpose, user, token, _sentence(error), status=422)
    target = home_of([r.role for r in user.roles])
    return _signed_in_page(request, session, user, target, "your password is set")


@router.post("/account/sign-in-link", dependencies=[SameOrigin], tags=["pages"])
def request_sign_in_link(
    request: Request, session: SessionDep, background: BackgroundTasks, email: Text
) -> Response:
    """A learner's sign-in link by e-mail; the same answer whoever asks."""
    _count_request(request, "sign-in link", email)
    recovery.request_sign_in_link(session, email, request.app.state.settings.base_url)
    background.add_task(deliver_mail, request.app)
    return render(request, "pages/account/link_sent.html", {"purpose": "sign-in"})


@router.get("/account/sign-in/{token}", tags=["pages"])
def sign_in_link_page(request: Request, token: Token) -> Response:
    """A page with one button: the link is spent by the POST only."""
    return _link_page(request, "continue", {"purpose": "sign-in", "token": token})


@router.post("/account/sign-in/{token}", dependencies=[SameOrigin], tags=["pages"])
def sign_in_by_link(request: Request, session: SessionDep, token: Token) -> Response:
    """Spend the link once: a session for the learner's own pages, as a claim link opens."""
    try:
        user = recovery.sign_in_by_link(session, token)
    except NotFound:
        return _gone(request, "sign-in")
    return _signed_in_page(request, session, user, "/learner", "signed in", scope=["learner"])


@router.get("/account/email/{token}", tags=["pages"])
def email_change_page(request: Request, session: SessionDep, token: Token) -> Response:
    try:
        user, new_email = people.email_change(session, token)
    except NotFound:
        return _gone(request, "email")
    context = {"purpose": "email", "token": token, "person": user, "new_email": new_email}
    return _link_page(request, "continue", context)


@router.post("/account/email/{token}", dependencies=[SameOrigin], tags=["pages"])
def confirm_email_change(request: Request, session: SessionDep, token: Token) -> Response:
    """Spend the link once: the person's sign-in address becomes the one it was sent to."""
    try:
        user = people.confirm_email_change(session, token)
    except NotFound:
        return _gone(request, "email")
    return _link_page(request, "email_changed", {"person": user})


def _count_request(request: Request, kind: str, email: str) -> None:
    """Each request counts, per typed address and per client address (it may send an e-mail);
    RateLimited over ISSUER_LOGIN_RATE_LIMIT a minute. A known and an unknown address are
    counted alike, so the limit says nothing about who has an account."""
    per_minute: int = request.app.state.settings.login_rate_limit
    if per_minute <= 0:
        return
    limiter: RateLimiter = request.app.state.rate_limiter
    keys = [
        (f"{kind} account", accounts.sign_in_name(email)),
        (f"{kind} address", request_address(request)),
    ]
    limiter.count(keys, per_minute)
