"""Signing in and out, and one's own account: the sign-in page and `POST /api/login` side by
side, for every audience.

Sign-in is rate limited per account and per address (failures only), refuses cross-site posts
(`SameOrigin`) and opens a new session id each time; a password change ends every other
session of that person.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from issuer.errors import InvalidInput
from issuer.services import accounts
from issuer.store.models import User
from issuer.web.deps import (
    SESSION_COOKIE,
    CurrentUser,
    PageAction,
    PageDep,
    SameOrigin,
    SessionDep,
    flash,
    set_session_cookie,
)
from issuer.web.negotiation import safe_next
from issuer.web.ratelimit import request_address, sign_in_attempt
from issuer.web.schemas import Login, LoginOut, UserOut, user_out
from issuer.web.templating import render

router = APIRouter(tags=["sign-in"])
Text = Annotated[str, Form(max_length=2000)]
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
    return render(request, "pages/password.html", {"page": page})


@router.post("/account/password", tags=["pages"])
def change_password(
    request: Request, session: SessionDep, page: PageAction, current: Text, new: Text
) -> Response:
    user = page.user
    if accounts.authenticate(session, user.email, current) is None:
        return render(
            request,
            "pages/password.html",
            {"page": page, "error": "The current password is wrong."},
            status_code=422,
        )
    try:
        accounts.change_password(session, user, new, keep=request.cookies.get(SESSION_COOKIE))
    except InvalidInput as error:
        return render(
            request, "pages/password.html", {"page": page, "error": str(error)}, status_code=422
        )
    flash(request, session, "password changed")
    return RedirectResponse("/account/password", status_code=303)
