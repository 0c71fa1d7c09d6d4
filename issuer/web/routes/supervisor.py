"""The supervisor's routes, JSON and pages side by side: the learners assigned to them, each
level's checklist, confirming and withdrawing statements, and attesting a level.

On the checklist page, htmx confirms and withdraws a statement in place: the same form posts
answer its request with an HTML fragment, and any other with the page again (POST/redirect/GET),
so the page works as well without JavaScript.

A supervisor sees only their own learners (anything else is 404) and never acts for
themselves (403). Attesting, by page or by API, goes through `_attest`: the credential is
checked and signed in a read-only session and stored in a short write transaction that
rechecks (awards.SignedAward), so SQLite's write lock is never held while signing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer import limits
from issuer.credentials import METHODS
from issuer.errors import Conflict, InvalidInput, IssuerError, NotFound
from issuer.services import awards, roster, signoff
from issuer.services.issuing import Issuer
from issuer.store.db import transaction
from issuer.store.models import CredentialRecord, User
from issuer.web.deps import (
    Page,
    ReadingSupervisorAction,
    ReadingSupervisorDep,
    ReadSessionDep,
    SessionDep,
    SigningIssuerDep,
    SupervisorAction,
    SupervisorDep,
    SupervisorPage,
    deliver_mail,
    flash,
)
from issuer.web.errors import status_for
from issuer.web.schemas import (
    AssignedLearnerOut,
    Attest,
    Confirm,
    ConfirmationOut,
    CredentialOut,
    IssuedCredential,
    LevelProgressOut,
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
) -> tuple[CredentialRecord, str]:
    """Sign in the read-only session, then store in a short write transaction (with the
    message for the next page when `announce`); the record and its Achievement's URL."""
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
        if announce:
            flash(request, session, "level attested: the credential is issued")
    return record, signed.achievement_url


def _issued(record: CredentialRecord, issuer: Issuer, achievement_url: str) -> Response:
    """The IssuedCredential, with the signed document spliced in as it was stored: parsing
    13 KB of JSON to have it serialized again cost the hot path more than a millisecond."""
    fields = CredentialOut(
        id=record.id,
        url=issuer.credential_url(record.id),
        learner_id=record.learner_id,
        achievement=achievement_url,
        issued_at=record.issued_at,
        valid_until=record.valid_until,
        revoked_at=None,
        revocation_reason=None,
        superseded_at=None,
        suspended_at=None,
        predecessor_id=record.predecessor_id,
    ).model_dump_json()
    body = f'{fields[:-1]},"credential":{record.document}}}'
    return Response(body.encode(), status_code=201, media_type="application/json")


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


@router.post(
    "/api/supervisor/learners/{learner_id}/attestations",
    status_code=201,
    response_model=IssuedCredential,
)
def attest(
    learner_id: Id,
    body: Attest,
    request: Request,
    background: BackgroundTasks,
    reading: ReadSessionDep,
    user: ReadingSupervisorDep,
    issuer: SigningIssuerDep,
) -> Response:
    """Attest the whole level: every statement is confirmed; this issues the signed credential."""
    record, achievement_url = _attest(
        request, reading, user, issuer, learner_id=learner_id, soc=body.soc, level=body.level
    )
    background.add_task(deliver_mail, request.app)
    return _issued(record, issuer, achievement_url)


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
    learner_id: Id,
    soc: str,
    level: str,
    next_statement: Annotated[int | None, Query(alias="next", ge=1, le=1000)] = None,
) -> Response:
    """`?next=N`: the statement to unfold (the next one after a form post without
    JavaScript), else the first still to confirm."""
    found = signoff.checklist(
        session, page.user, learner_id=learner_id, soc=soc, level=level, today=date.today()
    )
    context = _context(page, found) | {"current": found.next_to_confirm(next_statement or 1)}
    return render(request, "pages/supervisor/checklist.html", context)


def _context(page: Page, found: signoff.Checklist) -> dict[str, Any]:
    return {
        "page": page,
        "checklist": found,
        "today": date.today(),
        "methods": METHODS,
        "limits": {"setting": limits.SETTING, "note": limits.NOTE},
    }


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What a confirmation or withdrawal did to one statement, for the page or the fragment."""

    statement: int
    done: str = ""
    error: IssuerError | None = None
    # What the form sent, shown again beside its error so nothing has to be typed twice.
    entered: signoff.Defaults | None = None
    note: str = ""


def _answer(
    request: Request,
    session: Session,
    page: Page,
    learner_id: Id,
    soc: str,
    level: str,
    outcome: _Outcome,
) -> Response:
    """htmx's requests (`HX-Request: true`) get the statement's new item, the counter and the
    attest section (out of band) and where focus goes next; the others the page again
    (POST/redirect/GET), at the next statement to confirm (unfolded) or at the summary, with
    the message left for it; after an error, at the top, where the message is."""
    found = signoff.checklist(
        session, page.user, learner_id=learner_id, soc=soc, level=level, today=date.today()
    )
    following = found.next_to_confirm(outcome.statement)
    if request.headers.get("hx-request") != "true":
        return _back_to_page(request, session, found, outcome, following)
    if outcome.statement > len(found.level.statements):
        raise outcome.error or InvalidInput("no such statement")
    focus = f"statement-{following}-text" if following else "attest-title"
    context = _context(page, found) | {
        "item": found.level.statements[outcome.statement - 1],
        "outcome": outcome,
        "focus": f"statement-{outcome.statement}-error" if outcome.error else focus,
    }
    status = status_for(outcome.error) if outcome.error else 200
    return render(request, "pages/supervisor/_update.html", context, status)


def _back_to_page(
    request: Request,
    session: Session,
    found: signoff.Checklist,
    outcome: _Outcome,
    following: int | None,
) -> RedirectResponse:
    """Without JavaScript: the message for the next page, and that page at the next statement
    (`#` scrolls to it, `?next=` unfolds it), as close as a page load gets to moving focus."""
    if outcome.error:
        flash(request, session, str(outcome.error)[:300], "error")
        where = ""
    else:
        flash(request, session, outcome.done)
        where = f"?next={following}#statement-{following}" if following else "#attest"
    url = f"/supervisor/learners/{found.learner.id}/{found.soc}/{found.level.level}"
    return RedirectResponse(url + where, status_code=303)


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/confirm", tags=["pages"])
def confirm_from_page(
    request: Request,
    session: SessionDep,
    page: SupervisorAction,
    learner_id: Id,
    soc: str,
    level: str,
    statement: Statement,
    observed_on: Annotated[date, Form()],
    method: Text,
    setting: Text,
    note: Text = "",
) -> Response:
    outcome = _Outcome(statement, f"statement {statement} confirmed")
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
        entered = signoff.Defaults(observed_on, method, setting)
        outcome = _Outcome(statement, error=error, entered=entered, note=note)
    return _answer(request, session, page, learner_id, soc, level, outcome)


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/withdraw", tags=["pages"])
def withdraw_from_page(
    request: Request,
    session: SessionDep,
    page: SupervisorAction,
    learner_id: Id,
    soc: str,
    level: str,
    statement: Statement,
) -> Response:
    outcome = _Outcome(statement, f"statement {statement} withdrawn")
    try:
        with session.begin_nested():
            signoff.withdraw_confirmation(
                session, page.user, learner_id=learner_id, soc=soc, level=level, statement=statement
            )
    # NotFound: withdrawn already (another tab); for someone else's learner the page is a 404.
    except (InvalidInput, Conflict, NotFound) as error:
        outcome = _Outcome(statement, error=error)
    return _answer(request, session, page, learner_id, soc, level, outcome)


@router.post("/supervisor/learners/{learner_id}/{soc}/{level}/attest", tags=["pages"])
def attest_from_page(
    request: Request,
    background: BackgroundTasks,
    reading: ReadSessionDep,
    page: ReadingSupervisorAction,
    issuer: SigningIssuerDep,
    learner_id: Id,
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
    return RedirectResponse(f"/supervisor/learners/{learner_id}/{soc}/{level}", status_code=303)
