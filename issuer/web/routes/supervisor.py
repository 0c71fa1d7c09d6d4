"""The supervisor's routes, JSON and pages side by side: the learners assigned to them, each
level's checklist, confirming and withdrawing statements, and attesting a level.

A supervisor sees only their own learners (anything else is 404) and never acts for
themselves (403). Attesting, by page or by API, goes through `_attest`: the credential is
checked and signed in a read-only session and stored in a short write transaction that
rechecks (awards.SignedAward), so SQLite's write lock is never held while signing.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer.credentials import METHODS
from issuer.errors import Conflict, InvalidInput
from issuer.services import awards, roster, signoff
from issuer.services.issuing import Issuer
from issuer.store.db import transaction
from issuer.store.models import CredentialRecord, User
from issuer.web.deps import (
    IssuerDep,
    ReadingSupervisorAction,
    ReadingSupervisorDep,
    ReadSessionDep,
    SessionDep,
    SupervisorAction,
    SupervisorDep,
    SupervisorPage,
    deliver_mail,
    flash,
)
from issuer.web.schemas import (
    AssignedLearnerOut,
    Attest,
    Confirm,
    ConfirmationOut,
    IssuedCredential,
    LevelProgressOut,
    credential_out,
    progress_out,
)
from issuer.web.templating import render

router = APIRouter(tags=["supervisor"])
# Database integers are 32-bit on every backend: larger ids are refused as input, not a 500.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Soc = Annotated[str, Query(max_length=10)]
Text = Annotated[str, Form(max_length=2000)]
Statement = Annotated[int, Form(ge=1, le=1000)]


def _attest(
    request: Request,
    reading: Session,
    supervisor: User,
    issuer: Issuer,
    *,
    learner_id: int,
    soc: str,
    level: str,
    announce: bool = False,
) -> tuple[CredentialRecord, IssuedCredential]:
    """Sign in the read-only session, then store in a short write transaction (with the
    message for the next page when `announce`)."""
    signed = awards.sign_attestation(
        reading, supervisor, issuer, learner_id=learner_id, soc=soc, level=level
    )
    with transaction(request.app.state.sessions) as session:
        record = awards.attest_level(
            session,
            supervisor,
            issuer,
            learner_id=learner_id,
            soc=soc,
            level=level,
            now=signed.issued_at,
            signed=signed,
        )
        out = IssuedCredential(
            **credential_out(record).model_dump(), credential=json.loads(record.document)
        )
        if announce:
            flash(request, session, "level attested: the credential is issued")
    return record, out


# ── JSON ──


@router.get("/api/supervisor/learners")
def my_learners(session: SessionDep, user: SupervisorDep) -> list[AssignedLearnerOut]:
    return [
        AssignedLearnerOut(
            id=a.learner.id,
            name=a.learner.name,
            email=a.learner.email,
            soc=a.framework.soc,
            framework=a.framework.title,
        )
        for a in roster.learners_of(session, user)
    ]


@router.get("/api/supervisor/learners/{learner_id}/progress")
def assigned_progress(
    learner_id: Id, soc: Soc, session: SessionDep, user: SupervisorDep
) -> list[LevelProgressOut]:
    roster.assigned_learner(session, user, learner_id, soc)
    return progress_out(signoff.progress(session, learner_id, soc))


@router.post("/api/supervisor/learners/{learner_id}/confirmations", status_code=201)
def confirm(
    learner_id: Id, body: Confirm, session: SessionDep, user: SupervisorDep
) -> ConfirmationOut:
    confirmation = signoff.confirm_statement(
        session,
        user,
        learner_id=learner_id,
        soc=body.soc,
        level=body.level,
        statement=body.statement,
        observed_on=body.observed_on,
        method=body.method,
        setting=body.setting,
        note=body.note,
    )
    return ConfirmationOut(
        id=confirmation.id, statement=body.statement, confirmed_at=confirmation.confirmed_at
    )


@router.delete(
    "/api/supervisor/learners/{learner_id}/confirmations/{soc}/{level}/{statement}",
    status_code=204,
)
def withdraw(
    learner_id: Id,
    soc: str,
    level: str,
    statement: Annotated[int, Path(ge=1, le=1000)],
    session: SessionDep,
    user: SupervisorDep,
) -> Response:
    signoff.withdraw_confirmation(
        session, user, learner_id=learner_id, soc=soc, level=level, statement=statement
    )
    return Response(status_code=204)


@router.post("/api/supervisor/learners/{learner_id}/attestations", status_code=201)
def attest(
    learner_id: Id,
    body: Attest,
    request: Request,
    background: BackgroundTasks,
    reading: ReadSessionDep,
    user: ReadingSupervisorDep,
    issuer: IssuerDep,
) -> IssuedCredential:
    """Attest the whole level: every statement is confirmed; this issues the signed credential."""
    _, out = _attest(
        request, reading, user, issuer, learner_id=learner_id, soc=body.soc, level=body.level
    )
    background.add_task(deliver_mail, request.app)
    return out


# ── pages ──


@router.get("/supervisor", tags=["pages"])
def supervisor_home(request: Request, session: SessionDep, page: SupervisorPage) -> Response:
    rows = [
        (a, signoff.progress(session, a.learner.id, a.framework.soc))
        for a in roster.learners_of(session, page.user)
    ]
    return render(request, "pages/supervisor/home.html", {"page": page, "rows": rows})


@router.get("/supervisor/learners/{learner_id}/{soc}/{level}", tags=["pages"])
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


def _checklist(learner_id: int, soc: str, level: str) -> RedirectResponse:
    return RedirectResponse(f"/supervisor/learners/{learner_id}/{soc}/{level}", status_code=303)


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/confirm", tags=["pages"])
def confirm_from_page(
    request: Request,
    session: SessionDep,
    page: SupervisorAction,
    learner_id: int,
    soc: str,
    level: str,
    statement: Statement,
    observed_on: Annotated[date, Form()],
    method: Text,
    setting: Text,
    note: Text = "",
) -> Response:
    try:
        with session.begin_nested():
            signoff.confirm_statement(
                session,
                page.user,
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
        flash(request, session, str(error)[:300], "error")
    else:
        flash(request, session, f"statement {statement} confirmed")
    return _checklist(learner_id, soc, level)


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/withdraw", tags=["pages"])
def withdraw_from_page(
    request: Request,
    session: SessionDep,
    page: SupervisorAction,
    learner_id: int,
    soc: str,
    level: str,
    statement: Statement,
) -> Response:
    signoff.withdraw_confirmation(
        session, page.user, learner_id=learner_id, soc=soc, level=level, statement=statement
    )
    flash(request, session, f"statement {statement} withdrawn")
    return _checklist(learner_id, soc, level)


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/attest", tags=["pages"])
def attest_from_page(
    request: Request,
    background: BackgroundTasks,
    reading: ReadSessionDep,
    page: ReadingSupervisorAction,
    issuer: IssuerDep,
    learner_id: int,
    soc: str,
    level: str,
) -> Response:
    try:
        _attest(
            request,
            reading,
            page.user,
            issuer,
            learner_id=learner_id,
            soc=soc,
            level=level,
            announce=True,
        )
    except (InvalidInput, Conflict) as error:
        with transaction(request.app.state.sessions) as session:
            flash(request, session, str(error)[:300], "error")
    else:
        background.add_task(deliver_mail, request.app)
    return _checklist(learner_id, soc, level)
