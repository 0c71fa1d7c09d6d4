"""The pages people use: sign-in, and the coordinator's, supervisor's and learner's screens.

Server-rendered, working without JavaScript. Every form carries the session's CSRF token
(checked by `current_user`); a state change answers with a redirect (POST/redirect/GET).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer.credentials import METHODS
from issuer.errors import Conflict, InvalidInput, IssuerError
from issuer.services import (
    accounts,
    audit,
    awards,
    catalog,
    claims,
    dashboard,
    enrolment,
    mail,
    roster,
    signoff,
)
from issuer.web.deps import (
    SESSION_COOKIE,
    CoordinatorPage,
    CurrentUser,
    IssuerDep,
    LearnerPage,
    Page,
    PageDep,
    SameOrigin,
    SessionDep,
    SupervisorPage,
    deliver_mail,
    flash,
    set_session_cookie,
)
from issuer.web.errors import status_for
from issuer.web.ratelimit import request_address, sign_in_attempt
from issuer.web.templating import render

router = APIRouter(include_in_schema=True, tags=["pages"])
CREDENTIALS_PER_PAGE = 100
EXPIRING_SHOWN = 50
PEOPLE_SHOWN = 200
HOME = {"coordinator": "/coordinator", "supervisor": "/supervisor", "learner": "/learner"}
Text = Annotated[str, Form(max_length=2000)]


def back(
    request: Request, session: Session, path: str, message: str = "", kind: str = "done"
) -> Response:
    """POST/redirect/GET, the message kept in the server-side session for the next page
    (`?done=` in the URL once let any link show attacker text as the app's own words)."""
    if message:
        flash(request, session, message, kind)
    return RedirectResponse(path, status_code=303)


def home_of(roles: list[str]) -> str:
    return next((HOME[r] for r in ("coordinator", "supervisor", "learner") if r in roles), "/")


# ── sign-in ──


@router.get("/login")
def login_form(request: Request, next: str = "") -> Response:
    return render(request, "pages/login.html", {"next": next if next.startswith("/") else ""})


@router.post("/login", dependencies=[SameOrigin])
def login(
    request: Request, session: SessionDep, email: Text, password: Text, next: Text = ""
) -> Response:
    attempt = sign_in_attempt(request, email)
    user = accounts.authenticate(session, email, password, client=request_address(request))
    if user is None:
        return render(
            request,
            "pages/login.html",
            {"next": next, "error": "Wrong email or password.", "email": email},
            status_code=401,
        )
    attempt.succeeded()
    cookie, _ = accounts.open_session(session, user)
    target = (
        next
        if next.startswith("/") and not next.startswith("//")
        else home_of([r.role for r in user.roles])
    )
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, request, cookie)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account/password")
def password_form(request: Request, page: PageDep) -> Response:
    return render(request, "pages/password.html", {"page": page})


@router.post("/account/password")
def change_password(
    request: Request,
    session: SessionDep,
    page: PageDep,
    user: CurrentUser,
    current: Text,
    new: Text,
) -> Response:
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
    return back(request, session, "/account/password", "password changed")


# ── coordinator ──


def _home(session: SessionDep, page: CoordinatorPage) -> dict[str, object]:
    return {
        "page": page,
        "figures": dashboard.dashboard(session),
        "frameworks": catalog.stored_catalog(session).frameworks(),
        "learners": dashboard.people(session, "learner", PEOPLE_SHOWN),
        "supervisors": dashboard.people(session, "supervisor", PEOPLE_SHOWN),
        "expiring": awards.expiring(session, within=timedelta(days=30), limit=EXPIRING_SHOWN),
        "dead_letters": mail.count_dead_letters(session),
    }


@router.get("/coordinator")
def coordinator_home(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    return render(request, "pages/coordinator/home.html", _home(session, page))


@router.post("/coordinator/frameworks")
async def upload_framework(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    file: Annotated[UploadFile, File()],
) -> Response:
    settings = request.app.state.settings
    data = await file.read(1_000_001)
    try:
        with session.begin_nested():
            catalog.import_framework(
                session,
                data,
                file.filename or "upload",
                base_url=settings.base_url,
                creator=settings.issuer_profile(),
                language=settings.language,
                actor=user,
            )
    except IssuerError as error:
        return _with_error(
            request, session, page, f"The framework was not imported. {error}", status_for(error)
        )
    return back(request, session, "/coordinator", "framework imported")


@router.post("/coordinator/people")
def add_person(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    name: Text,
    email: Text,
    role: Text,
) -> Response:
    try:
        with session.begin_nested():
            accounts.create_user(session, email=email, name=name, roles=[role], actor=user)
    except IssuerError as error:
        return _with_error(request, session, page, str(error), status_for(error))
    return back(request, session, "/coordinator", f"{role} added")


@router.post("/coordinator/people/roles")
def add_role(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    email: Text,
    role: Text,
) -> Response:
    """Give an existing person another role (never oneself: another coordinator must)."""
    try:
        with session.begin_nested():
            person = accounts.user_by_email(session, email)
            accounts.add_role(session, person, role, actor=user)
    except IssuerError as error:
        return _with_error(request, session, page, str(error), status_for(error))
    return back(request, session, "/coordinator", f"{role} role given to {person.email}")


@router.post("/coordinator/assignments")
def add_assignment(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    learner_email: Text,
    supervisor_email: Text,
    soc: Text,
) -> Response:
    try:
        with session.begin_nested():
            roster.assign(
                session,
                user,
                learner_email=learner_email,
                supervisor_email=supervisor_email,
                soc=soc,
            )
    except IssuerError as error:
        return _with_error(request, session, page, str(error), status_for(error))
    return back(request, session, "/coordinator", "supervisor assigned")


def _with_error(
    request: Request, session: SessionDep, page: CoordinatorPage, message: str, status: int
) -> Response:
    """The dashboard again with the error shown in place (the failed step's savepoint is gone)."""
    context = {**_home(session, page), "error": message}
    return render(request, "pages/coordinator/home.html", context, status_code=status)


@router.post("/coordinator/enrolment")
async def enrol(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    file: Annotated[UploadFile | None, File()] = None,
    content: Annotated[str, Form(max_length=6_000_000)] = "",
    apply: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    """Upload → dry-run report; the report's "Enrol" button sends the same file back to apply."""
    data = (
        await file.read(enrolment.MAX_BYTES + 1)
        if file is not None and file.filename
        else content.encode()
    )
    try:
        with session.begin_nested():
            plan = enrolment.apply if apply else enrolment.dry_run
            rows = plan(session, data, user)
    except IssuerError as error:
        return _with_error(request, session, page, str(error), status_for(error))
    valid = sum(1 for row in rows if row.status == "valid")
    return render(
        request,
        "pages/coordinator/enrolment.html",
        {
            "page": page,
            "rows": rows,
            "applied": bool(apply),
            "valid": valid,
            "content": data.decode("utf-8-sig", "replace"),
        },
    )


@router.get("/coordinator/learners/{learner_id}")
def learner_matrix(
    request: Request, session: SessionDep, page: CoordinatorPage, learner_id: int, soc: str
) -> Response:
    learner = roster.learner(session, learner_id)
    return render(
        request,
        "pages/progress.html",
        {
            "page": page,
            "learner": learner,
            "soc": soc,
            "levels": signoff.progress(session, learner_id, soc),
        },
    )


@router.get("/coordinator/credentials")
def credentials_page(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Who holds what, newest first, a page of CREDENTIALS_PER_PAGE at a time."""
    return _credentials_page(request, session, page, number, {})


def _credentials_page(
    request: Request,
    session: Session,
    page: Page,
    number: int,
    context: dict[str, str],
    status_code: int = 200,
) -> Response:
    found = awards.credentials(
        session,
        limit=CREDENTIALS_PER_PAGE + 1,
        offset=(number - 1) * CREDENTIALS_PER_PAGE,
        documents=False,
    )
    return render(
        request,
        "pages/coordinator/credentials.html",
        {
            **context,
            "page": page,
            "credentials": found[:CREDENTIALS_PER_PAGE],
            "number": number,
            "older": len(found) > CREDENTIALS_PER_PAGE,
        },
        status_code=status_code,
    )


@router.post("/coordinator/credentials/{credential_id}/revoke")
def revoke(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    credential_id: str,
    reason: Text = "",
) -> Response:
    try:
        awards.revoke(session, user, credential_id, reason)
    except InvalidInput as error:
        return _credentials_page(request, session, page, 1, {"error": str(error)}, 422)
    return back(request, session, "/coordinator/credentials", "revoked")


@router.post("/coordinator/credentials/{credential_id}/resend")
def resend(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
    credential_id: str,
) -> Response:
    claims.send_claim(
        session,
        awards.credential(session, credential_id),
        request.app.state.settings.base_url,
        actor=user,
    )
    background.add_task(deliver_mail, request.app)
    return back(request, session, "/coordinator/credentials", "claim link re-sent")


@router.get("/coordinator/audit")
def audit_page(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    action: str = "",
    actor: str = "",
    subject: str = "",
) -> Response:
    return render(
        request,
        "pages/coordinator/audit.html",
        {
            "page": page,
            "action": action,
            "actions": audit.ACTIONS,
            "actor": actor,
            "subject": subject,
            "events": audit.events(
                session, action=action or None, actor=actor or None, subject=subject or None
            ),
        },
    )


# ── supervisor ──


@router.get("/supervisor")
def supervisor_home(request: Request, session: SessionDep, page: SupervisorPage) -> Response:
    rows = [
        (a, signoff.progress(session, a.learner.id, a.framework.soc))
        for a in roster.learners_of(session, page.user)
    ]
    return render(request, "pages/supervisor/home.html", {"page": page, "rows": rows})


@router.get("/supervisor/learners/{learner_id}/{soc}/{level}")
def checklist(
    request: Request,
    session: SessionDep,
    page: SupervisorPage,
    learner_id: int,
    soc: str,
    level: str,
) -> Response:
    learner = roster.assigned_learner(session, page.user, learner_id, soc)
    levels = {lp.level: lp for lp in signoff.progress(session, learner_id, soc)}
    if level not in levels:
        raise InvalidInput(f"no level {level!r} in framework {soc}")
    return render(
        request,
        "pages/supervisor/checklist.html",
        {
            "page": page,
            "learner": learner,
            "soc": soc,
            "level": levels[level],
            "today": date.today().isoformat(),
            "methods": METHODS,
        },
    )


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/confirm")
def confirm(
    request: Request,
    session: SessionDep,
    page: SupervisorPage,
    user: CurrentUser,
    learner_id: int,
    soc: str,
    level: str,
    statement: Annotated[int, Form(ge=1, le=1000)],
    observed_on: Annotated[date, Form()],
    method: Text,
    setting: Text,
    note: Text = "",
) -> Response:
    path = f"/supervisor/learners/{learner_id}/{soc}/{level}"
    try:
        signoff.confirm_statement(
            session,
            user,
            learner_id=learner_id,
            soc=soc,
            level=level,
            statement=statement,
            observed_on=observed_on,
            method=method,
            setting=setting,
            note=note,
        )
    except (InvalidInput, Conflict) as error:
        return back(request, session, path, str(error)[:300], "error")
    return back(request, session, path, f"statement {statement} confirmed")


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/withdraw")
def withdraw(
    request: Request,
    session: SessionDep,
    page: SupervisorPage,
    user: CurrentUser,
    learner_id: int,
    soc: str,
    level: str,
    statement: Annotated[int, Form(ge=1, le=1000)],
) -> Response:
    signoff.withdraw_confirmation(
        session, user, learner_id=learner_id, soc=soc, level=level, statement=statement
    )
    path = f"/supervisor/learners/{learner_id}/{soc}/{level}"
    return back(request, session, path, f"statement {statement} withdrawn")


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/attest")
def attest(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: SupervisorPage,
    user: CurrentUser,
    issuer: IssuerDep,
    learner_id: int,
    soc: str,
    level: str,
) -> Response:
    path = f"/supervisor/learners/{learner_id}/{soc}/{level}"
    try:
        awards.attest_level(session, user, issuer, learner_id=learner_id, soc=soc, level=level)
    except (InvalidInput, Conflict) as error:
        return back(request, session, path, str(error)[:300], "error")
    background.add_task(deliver_mail, request.app)
    return back(request, session, path, "level attested: the credential is issued")


# ── learner ──


@router.get("/learner")
def learner_home(request: Request, session: SessionDep, page: LearnerPage) -> Response:
    frameworks = {a.framework.soc for a in roster.assignments_of(session, page.user)}
    progress = {soc: signoff.progress(session, page.user.id, soc) for soc in sorted(frameworks)}
    return render(
        request,
        "pages/learner/home.html",
        {
            "page": page,
            "progress": progress,
            "credentials": awards.credentials(session, learner_id=page.user.id),
            "names": {
                r.id: json.loads(r.document)["name"]
                for r in awards.credentials(session, learner_id=page.user.id)
            },
        },
    )
