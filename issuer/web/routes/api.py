"""The JSON API: sign-in, and one router per role. Routes check the role, call one service."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from issuer.services import (
    accounts,
    audit,
    awards,
    catalog,
    claims,
    enrolment,
    roster,
    signoff,
)
from issuer.store.db import transaction
from issuer.store.models import CredentialRecord, User
from issuer.web.deps import (
    SESSION_COOKIE,
    CoordinatorDep,
    CurrentUser,
    IssuerDep,
    LearnerDep,
    ReadingSupervisorDep,
    ReadSessionDep,
    SameOrigin,
    SessionDep,
    SupervisorDep,
    deliver_mail,
    set_session_cookie,
)
from issuer.web.ratelimit import request_address, sign_in_attempt
from issuer.web.schemas import (
    Attest,
    Confirm,
    Login,
    NewAssignment,
    NewRole,
    NewUser,
    Revoke,
    UserOut,
)

# Database integers are 32-bit on every backend: larger ids are refused as input, not a 500.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
auth = APIRouter(prefix="/api", tags=["sign-in"])
coordinator = APIRouter(prefix="/api", tags=["coordinator"])
supervisor = APIRouter(prefix="/api/supervisor", tags=["supervisor"])
learner = APIRouter(prefix="/api/me", tags=["learner"])


def user_out(user: User) -> UserOut:
    return UserOut(
        id=user.id, email=user.email, name=user.name, roles=sorted(r.role for r in user.roles)
    )


def credential_out(record: CredentialRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "url": json.loads(record.document)["id"],
        "learner_id": record.learner_id,
        "achievement": record.achievement.url,
        "issued_at": record.issued_at.isoformat(),
        "valid_until": record.valid_until.isoformat() if record.valid_until else None,
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
        "revocation_reason": record.revocation_reason,
        "superseded_at": record.superseded_at.isoformat() if record.superseded_at else None,
        "suspended_at": record.suspended_at.isoformat() if record.suspended_at else None,
        "predecessor_id": record.predecessor_id,
    }


@auth.post("/login", dependencies=[SameOrigin])
def login(body: Login, request: Request, session: SessionDep) -> Response:
    """Sign in: sets an HttpOnly, SameSite session cookie and returns the CSRF token."""
    attempt = sign_in_attempt(request, body.email)
    user = accounts.authenticate(
        session, body.email, body.password, client=request_address(request)
    )
    if user is None:
        # Returned, not raised: the failed attempt's audit entry must be committed.
        return JSONResponse({"detail": "wrong email or password"}, status_code=401)
    attempt.succeeded()
    cookie, csrf = accounts.open_session(session, user)
    response = JSONResponse({"csrf_token": csrf, "user": user_out(user).model_dump()})
    set_session_cookie(response, request, cookie)
    return response


@auth.post("/logout", status_code=204)
def logout(request: Request, session: SessionDep, user: CurrentUser) -> Response:
    accounts.close_session(session, request.cookies.get(SESSION_COOKIE, ""))
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@auth.get("/whoami")
def whoami(user: CurrentUser) -> UserOut:
    return user_out(user)


# ── coordinator ──


@coordinator.post("/frameworks", status_code=201)
async def import_framework(
    request: Request,
    session: SessionDep,
    user: CoordinatorDep,
    validity_days: Annotated[int | None, Query(ge=1, le=36500)] = None,
) -> dict[str, Any]:
    """Import a framework file (the request body) and its Achievements."""
    data = await request.body()
    settings = request.app.state.settings
    record = catalog.import_framework(
        session,
        data,
        "upload",
        base_url=settings.base_url,
        creator=settings.issuer_profile(),
        language=settings.language,
        validity_days=validity_days,
        actor=user,
    )
    return {
        "soc": record.soc,
        "title": record.title,
        "achievements": [a.url for a in record.achievements],
    }


@coordinator.get("/frameworks")
def list_frameworks(session: SessionDep, user: CoordinatorDep) -> list[dict[str, Any]]:
    return [
        {
            "soc": f.framework.occupation.soc,
            "title": f.framework.occupation.title,
            "level": f.level.key,
            "achievement": f.achievement["id"],
        }
        for f in catalog.stored_catalog(session).entries
    ]


@coordinator.post("/users", status_code=201)
def create_user(body: NewUser, session: SessionDep, user: CoordinatorDep) -> UserOut:
    """Create a learner, supervisor or coordinator; 409 when the e-mail has an account
    (give that person another role with `POST /api/users/{id}/roles`)."""
    created = accounts.create_user(
        session,
        email=body.email,
        name=body.name,
        roles=list(body.roles),
        password=body.password,
        actor=user,
    )
    return user_out(created)


@coordinator.post("/users/{user_id}/roles")
def add_role(
    user_id: Annotated[int, Path(ge=1, le=2_147_483_647)],
    body: NewRole,
    session: SessionDep,
    user: CoordinatorDep,
) -> UserOut:
    """Give an existing person another role (audited); never one's own (403)."""
    return user_out(
        accounts.add_role(session, accounts.user_by_id(session, user_id), body.role, actor=user)
    )


@coordinator.post("/enrolments")
async def enrol(
    request: Request,
    session: SessionDep,
    user: CoordinatorDep,
    dry_run: Annotated[bool, Query()] = True,
) -> dict[str, Any]:
    """Bulk enrolment from a CSV body (name, email, supervisor_email, framework[, cohort]).

    `dry_run=true` (the default) reports each row and writes nothing; `dry_run=false` writes
    the valid rows. Applying the same file again creates nothing new.
    """
    data = await request.body()
    plan = enrolment.dry_run if dry_run else enrolment.apply
    rows = plan(session, data, user)
    summary: dict[str, int] = {}
    for row in rows:
        summary[row.status] = summary.get(row.status, 0) + 1
    return {
        "applied": not dry_run,
        "summary": summary,
        "rows": [
            {"row": r.row, "email": r.email, "status": r.status, "message": r.message} for r in rows
        ],
    }


@coordinator.post("/assignments", status_code=201)
def assign(body: NewAssignment, session: SessionDep, user: CoordinatorDep) -> dict[str, Any]:
    assignment = roster.assign(
        session,
        user,
        learner_email=body.learner_email,
        supervisor_email=body.supervisor_email,
        soc=body.soc,
    )
    return {
        "id": assignment.id,
        "learner_id": assignment.learner_id,
        "supervisor_id": assignment.supervisor_id,
    }


@coordinator.get("/learners/{learner_id}/progress")
def learner_progress(
    learner_id: Id,
    soc: Annotated[str, Query(max_length=10)],
    session: SessionDep,
    user: CoordinatorDep,
) -> list[dict[str, Any]]:
    roster.learner(session, learner_id)
    return progress_out(signoff.progress(session, learner_id, soc))


@coordinator.get("/credentials")
def list_credentials(
    session: SessionDep,
    user: CoordinatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[dict[str, Any]]:
    """Newest first; page with `offset`."""
    return [
        credential_out(record) for record in awards.credentials(session, limit=limit, offset=offset)
    ]


@coordinator.get("/credentials/expiring")
def expiring_credentials(
    session: SessionDep, user: CoordinatorDep, days: Annotated[int, Query(ge=0, le=3650)] = 30
) -> list[dict[str, Any]]:
    """Current credentials that expire within `days` (or have expired): who needs re-assessment."""
    return [credential_out(r) for r in awards.expiring(session, within=timedelta(days=days))]


@coordinator.post("/credentials/{credential_id}/revoke")
def revoke(
    credential_id: str, body: Revoke, session: SessionDep, user: CoordinatorDep
) -> dict[str, Any]:
    return credential_out(awards.revoke(session, user, credential_id, body.reason))


@coordinator.post("/credentials/{credential_id}/suspend")
def suspend(
    credential_id: str, body: Revoke, session: SessionDep, user: CoordinatorDep
) -> dict[str, Any]:
    """Suspend (reason required); lift it with /unsuspend. Needs ISSUER_SUSPENSION at issuance."""
    record = awards.suspend(session, user, credential_id, suspended=True, reason=body.reason)
    return credential_out(record)


@coordinator.post("/credentials/{credential_id}/unsuspend")
def unsuspend(credential_id: str, session: SessionDep, user: CoordinatorDep) -> dict[str, Any]:
    return credential_out(awards.suspend(session, user, credential_id, suspended=False))


@coordinator.post("/credentials/{credential_id}/resend", status_code=202)
def resend(
    credential_id: str,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> dict[str, str]:
    """Send the learner a new claim link (earlier ones stay valid until they expire)."""
    record = awards.credential(session, credential_id)
    claims.send_claim(session, record, request.app.state.settings.base_url, actor=user)
    background.add_task(deliver_mail, request.app)
    return {"status": "queued"}


@coordinator.get("/audit")
def audit_log(
    session: SessionDep,
    user: CoordinatorDep,
    action: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return [
        {
            "at": e.at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "subject": e.subject,
            "detail": e.detail,
        }
        for e in audit.events(session, action=action, limit=limit)
    ]


# ── supervisor ──


@supervisor.get("/learners")
def my_learners(session: SessionDep, user: SupervisorDep) -> list[dict[str, Any]]:
    return [
        {
            "id": a.learner.id,
            "name": a.learner.name,
            "email": a.learner.email,
            "soc": a.framework.soc,
            "framework": a.framework.title,
        }
        for a in roster.learners_of(session, user)
    ]


@supervisor.get("/learners/{learner_id}/progress")
def assigned_progress(
    learner_id: Id,
    soc: Annotated[str, Query(max_length=10)],
    session: SessionDep,
    user: SupervisorDep,
) -> list[dict[str, Any]]:
    roster.assigned_learner(session, user, learner_id, soc)
    return progress_out(signoff.progress(session, learner_id, soc))


@supervisor.post("/learners/{learner_id}/confirmations", status_code=201)
def confirm(
    learner_id: Id, body: Confirm, session: SessionDep, user: SupervisorDep
) -> dict[str, Any]:
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
    return {
        "id": confirmation.id,
        "statement": body.statement,
        "confirmed_at": confirmation.confirmed_at.isoformat(),
    }


@supervisor.delete(
    "/learners/{learner_id}/confirmations/{soc}/{level}/{statement}", status_code=204
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


@supervisor.post("/learners/{learner_id}/attestations", status_code=201)
def attest(
    learner_id: Id,
    body: Attest,
    request: Request,
    background: BackgroundTasks,
    reading: ReadSessionDep,
    user: ReadingSupervisorDep,
    issuer: IssuerDep,
) -> dict[str, Any]:
    """Attest the whole level: every statement is confirmed; this issues the signed credential.

    Checked and signed in the read-only session, stored in a short write transaction that
    rechecks (awards.SignedAward): on SQLite the write lock is no longer held while signing.
    """
    signed = awards.sign_attestation(
        reading, user, issuer, learner_id=learner_id, soc=body.soc, level=body.level
    )
    with transaction(request.app.state.sessions) as session:
        record = awards.attest_level(
            session,
            user,
            issuer,
            learner_id=learner_id,
            soc=body.soc,
            level=body.level,
            now=signed.issued_at,
            signed=signed,
        )
        out = {**credential_out(record), "credential": json.loads(record.document)}
    background.add_task(deliver_mail, request.app)
    return out


# ── learner ──


@learner.get("/progress")
def my_progress(
    soc: Annotated[str, Query(max_length=10)], session: SessionDep, user: LearnerDep
) -> list[dict[str, Any]]:
    return progress_out(signoff.progress(session, user.id, soc))


@learner.get("/expiring")
def my_expiring(
    session: SessionDep, user: LearnerDep, days: Annotated[int, Query(ge=0, le=3650)] = 30
) -> list[dict[str, Any]]:
    return [
        credential_out(r)
        for r in awards.expiring(session, within=timedelta(days=days), learner_id=user.id)
    ]


@learner.get("/credentials")
def my_credentials(session: SessionDep, user: LearnerDep) -> list[dict[str, Any]]:
    return [credential_out(record) for record in awards.credentials(session, learner_id=user.id)]


def progress_out(levels: list[signoff.LevelProgress]) -> list[dict[str, Any]]:
    return [
        {
            "level": level.level,
            "label": level.label,
            "confirmed": level.confirmed,
            "of": len(level.statements),
            "credential_id": level.credential_id,
            "statements": [
                {
                    "number": s.number,
                    "text": s.text,
                    "confirmed_by": s.confirmed_by,
                    "observed_on": s.observed_on.isoformat() if s.observed_on else None,
                    "method": s.method,
                }
                for s in level.statements
            ],
        }
        for level in levels
    ]
