"""What was issued and what happened: who holds what, revocation and suspension, claim links,
the audit log, and the mail that could not be delivered; JSON and pages side by side.

Revoking or suspending from a page takes two steps: the first shows what will happen (a
confirmation page, the reason required); only a post that says `confirm=yes` changes anything.
Either way the learner is e-mailed the reason.

A message is given up after mail.MAX_ATTEMPTS (a mail server refusing it, an address it cannot
take); until a coordinator looks at `/coordinator/mail` nobody would know the learner never
got it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer import limits
from issuer.errors import Conflict, InvalidInput
from issuer.services import audit, awards, catalog, mail, register
from issuer.store.models import OutboxMessage, User
from issuer.web.deps import (
    CoordinatorAction,
    CoordinatorDep,
    CoordinatorPage,
    Page,
    SessionDep,
    deliver_mail,
    flash,
)
from issuer.web.listing import Listing, Sort
from issuer.web.schemas import (
    AuditEventOut,
    CredentialOut,
    DeadLetterOut,
    Queued,
    Revoke,
    credential_out,
)
from issuer.web.templating import render

router = APIRouter()
# Database integers are 32-bit on every backend: larger ids are refused as input, not a 500.
MessageId = Annotated[int, Path(ge=1, le=2_147_483_647)]
Text = Annotated[str, Form(max_length=2000)]
Filter = Annotated[str, Query(max_length=limits.EMAIL)]
CREDENTIALS_PER_PAGE = 100
MAIL_SHOWN = 200
# The audit log's actions in words (the code stays beside them: the API filters by it).
AUDIT_WORDS = {
    "login.failed": "Sign-in refused",
    "login.sso": "Signed in with single sign-on",
    "login.link": "Signed in with an e-mailed link",
    "confirmation.created": "Confirmed a statement",
    "confirmation.withdrawn": "Withdrew a confirmation",
    "level.attested": "Attested a level",
    "credential.issued": "Issued a credential",
    "credential.revoked": "Revoked a credential",
    "credential.suspended": "Suspended a credential",
    "credential.unsuspended": "Lifted a suspension",
    "credential.bound": "Gave a wallet a copy",
    "credential.visibility": "Changed who sees a credential",
    "claim.resent": "Re-sent a claim link",
    "framework.imported": "Imported a framework",
    "enrolment.applied": "Enrolled learners from a CSV file",
    "records.import_queued": "Queued an import of sign-off records",
    "records.imported": "Imported sign-off records and issued their levels",
    "records.import_failed": "An import of sign-off records failed",
    "assignment.created": "Assigned a supervisor",
    "mail.retried": "Queued a message again",
    "user.created": "Added a person",
    "user.invited": "Invited a person",
    "user.invitation_accepted": "Accepted an invitation",
    "user.role_added": "Gave a role",
    "user.role_removed": "Removed a role",
    "user.password_changed": "Changed a password",
    "user.reset_requested": "Asked for a password reset",
    "user.renamed": "Renamed a person",
    "user.email_change_requested": "Asked to change an e-mail address",
    "user.email_changed": "Changed an e-mail address",
    "user.deactivated": "Deactivated a person",
    "user.reactivated": "Reactivated a person",
}


# ── JSON ──


@router.get("/api/credentials")
def list_credentials(
    session: SessionDep,
    user: CoordinatorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[CredentialOut]:
    """Newest first; page with `offset`."""
    return [credential_out(r) for r in awards.credentials(session, limit=limit, offset=offset)]


@router.get("/api/credentials/expiring")
def expiring_credentials(
    session: SessionDep, user: CoordinatorDep, days: Annotated[int, Query(ge=0, le=3650)] = 30
) -> list[CredentialOut]:
    """Current credentials that expire within `days` (or have expired): who needs re-assessment."""
    return [credential_out(r) for r in awards.expiring(session, within=timedelta(days=days))]


@router.post("/api/credentials/{credential_id}/revoke")
def revoke(
    credential_id: str,
    body: Revoke,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> CredentialOut:
    """Revoke (reason required; idempotent). The learner is e-mailed the reason."""
    record = awards.revoke(session, user, credential_id, body.reason)
    background.add_task(deliver_mail, request.app)
    return credential_out(record)


@router.post("/api/credentials/{credential_id}/suspend")
def suspend(
    credential_id: str,
    body: Revoke,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> CredentialOut:
    """Suspend (reason required); lift it with /unsuspend. Needs ISSUER_SUSPENSION at issuance.
    The learner is e-mailed the reason, and again when it is lifted."""
    record = awards.suspend(session, user, credential_id, suspended=True, reason=body.reason)
    background.add_task(deliver_mail, request.app)
    return credential_out(record)


@router.post("/api/credentials/{credential_id}/unsuspend")
def unsuspend(
    credential_id: str,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> CredentialOut:
    record = awards.suspend(session, user, credential_id, suspended=False)
    background.add_task(deliver_mail, request.app)
    return credential_out(record)


@router.post("/api/credentials/{credential_id}/resend", status_code=202)
def resend(
    credential_id: str,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> Queued:
    """Send the learner a new claim link (earlier ones stay valid until they expire); 409 for
    a revoked credential."""
    _send_claim(request, background, session, credential_id, user)
    return Queued()


@router.get("/api/audit")
def audit_log(
    session: SessionDep,
    user: CoordinatorDep,
    action: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AuditEventOut]:
    return [
        AuditEventOut(at=e.at, actor=e.actor, action=e.action, subject=e.subject, detail=e.detail)
        for e in audit.events(session, action=action, limit=limit)
    ]


@router.get("/api/mail/dead-letters")
def dead_letters(
    session: SessionDep,
    user: CoordinatorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = MAIL_SHOWN,
) -> list[DeadLetterOut]:
    """Messages given up after every attempt failed, most recent first."""
    return [_dead_letter(m) for m in mail.dead_letters(session, limit=limit)]


@router.post("/api/mail/dead-letters/{message_id}/retry", status_code=202)
def retry(
    message_id: MessageId,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> Queued:
    """Put a message back in the queue (409 if its one-time link or code was erased)."""
    mail.retry(session, message_id, user)
    background.add_task(deliver_mail, request.app)
    return Queued()


def _dead_letter(message: OutboxMessage) -> DeadLetterOut:
    return DeadLetterOut(
        id=message.id,
        recipient=message.recipient,
        subject=message.subject,
        attempts=message.attempts,
        last_error=message.last_error,
        created=message.created_at,
        given_up=message.dead_at,
        retryable=message.secrets_erased_at is None,
    )


def _send_claim(
    request: Request,
    background: BackgroundTasks,
    session: Session,
    credential_id: str,
    user: User,
) -> None:
    awards.resend_claim(session, user, credential_id, request.app.state.settings.base_url)
    background.add_task(deliver_mail, request.app)


# ── pages ──


@router.get("/coordinator/credentials", tags=["pages"])
def credentials_page(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    q: Filter = "",
    status: Filter = "",
    achievement: Filter = "",
    sort: Filter = "",
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Who holds what: found by learner, one Achievement or one status, sorted by learner,
    Achievement or date (newest first by default), a page of CREDENTIALS_PER_PAGE at a time."""
    order = Sort.parse(sort, register.SORTS, "-issued")
    status = status if status in register.STATUSES else ""
    achievement_id = int(achievement) if achievement.isdigit() else None
    found = register.browse(
        session,
        now=datetime.now(UTC),
        search=q,
        state=status,
        achievement_id=achievement_id,
        sort=order.key,
        descending=order.descending,
        page=number,
        per_page=CREDENTIALS_PER_PAGE,
    )
    listing = Listing(
        "/coordinator/credentials",
        {"q": q.strip(), "status": status, "achievement": str(achievement_id or "")},
        order,
        "-issued",
        page=found.page,
        has_next=found.has_next,
        descending_first=("issued",),
    )
    context = {
        "page": page,
        "section": "credentials",
        "found": found,
        "listing": listing,
        "statuses": register.STATUSES,
        "achievements": [a for f in catalog.imported(session) for a in f.record.achievements],
        "suspension": request.app.state.settings.suspension,
    }
    return render(request, "pages/coordinator/credentials.html", context)


def _to(request: Request, session: Session, path: str, message: str) -> Response:
    flash(request, session, message)
    return RedirectResponse(path, status_code=303)


@router.get("/coordinator/credentials/{credential_id}/revoke", tags=["pages"])
def revoke_confirmation(
    request: Request, session: SessionDep, page: CoordinatorPage, credential_id: str
) -> Response:
    """What revoking will do, and the form that does it (nothing changes yet)."""
    return _confirmation(request, session, page, credential_id, "revoke")


@router.post("/coordinator/credentials/{credential_id}/revoke", tags=["pages"])
def revoke_from_page(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    credential_id: str,
    reason: Text = "",
    confirm: Text = "",
) -> Response:
    """Revoke once confirmed; without `confirm=yes`, the confirmation page (nothing changes)."""
    return _change(request, background, session, page, credential_id, "revoke", reason, confirm)


@router.get("/coordinator/credentials/{credential_id}/suspend", tags=["pages"])
def suspend_confirmation(
    request: Request, session: SessionDep, page: CoordinatorPage, credential_id: str
) -> Response:
    return _confirmation(request, session, page, credential_id, "suspend")


@router.post("/coordinator/credentials/{credential_id}/suspend", tags=["pages"])
def suspend_from_page(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    credential_id: str,
    reason: Text = "",
    confirm: Text = "",
) -> Response:
    """Suspend once confirmed; without `confirm=yes`, the confirmation page."""
    return _change(request, background, session, page, credential_id, "suspend", reason, confirm)


@router.post("/coordinator/credentials/{credential_id}/unsuspend", tags=["pages"])
def unsuspend_from_page(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    credential_id: str,
) -> Response:
    """Lift a suspension: it restores the credential, so it needs no confirmation step."""
    awards.suspend(session, page.user, credential_id, suspended=False)
    background.add_task(deliver_mail, request.app)
    return _to(
        request,
        session,
        "/coordinator/credentials",
        "suspension lifted; the learner is told by e-mail",
    )


def _change(
    request: Request,
    background: BackgroundTasks,
    session: Session,
    page: Page,
    credential_id: str,
    action: str,
    reason: str,
    confirm: str,
) -> Response:
    if confirm != "yes":
        return _confirmation(request, session, page, credential_id, action, reason=reason)
    try:
        if action == "revoke":
            awards.revoke(session, page.user, credential_id, reason)
        else:
            awards.suspend(session, page.user, credential_id, suspended=True, reason=reason)
    except InvalidInput as error:
        return _confirmation(
            request, session, page, credential_id, action, reason=reason, error=str(error)
        )
    background.add_task(deliver_mail, request.app)
    done = "revoked" if action == "revoke" else "suspended"
    return _to(
        request, session, "/coordinator/credentials", f"{done}; the learner is told by e-mail"
    )


def _confirmation(
    request: Request,
    session: Session,
    page: Page,
    credential_id: str,
    action: str,
    *,
    reason: str = "",
    error: str | None = None,
) -> Response:
    """The confirmation page of `action` (revoke or suspend); 422 when it shows an error."""
    record = awards.award_of(session, awards.credential(session, credential_id))
    done = record.revoked_at if action == "revoke" else record.suspended_at
    return render(
        request,
        "pages/coordinator/confirm.html",
        {
            "page": page,
            "section": "credentials",
            "action": action,
            "record": record,
            "name": record.achievement.document["name"],
            "copies": len(awards.copies(session, record)),
            "done": done,
            "possible": action == "revoke" or awards.suspendable(record),
            "reason": reason,
            "error": error,
        },
        status_code=422 if error else 200,
    )


@router.post("/coordinator/credentials/{credential_id}/resend", tags=["pages"])
def resend_from_page(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    credential_id: str,
) -> Response:
    _send_claim(request, background, session, credential_id, page.user)
    return _to(request, session, "/coordinator/credentials", "claim link re-sent")


@router.get("/coordinator/audit", tags=["pages"])
def audit_page(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    action: Filter = "",
    actor: Filter = "",
    subject: Filter = "",
    since: Filter = "",
    until: Filter = "",
    sort: Filter = "",
    number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    """Who did what to whom: by action, by actor (e-mail address or part of a name), about
    what, between two days; newest first (or oldest), 50 a page."""
    order = Sort.parse(sort, ("at",), "-at")
    action = action if action in audit.ACTIONS else ""
    first, last = _day(since), _day(until)
    found = audit.log(
        session,
        action=action,
        actor=actor,
        subject=subject,
        since=first,
        until=last,
        oldest_first=not order.descending,
        page=number,
    )
    filters = {"action": action, "actor": actor.strip(), "subject": subject.strip()}
    filters |= {
        "since": first.isoformat() if first else "",
        "until": last.isoformat() if last else "",
    }
    context = {
        "page": page,
        "section": "audit",
        "found": found,
        "listing": Listing(
            "/coordinator/audit",
            filters,
            order,
            "-at",
            page=found.page,
            has_next=found.has_next,
            descending_first=("at",),
        ),
        "filters": filters,
        "actions": sorted(audit.ACTIONS),
        "words": AUDIT_WORDS,
    }
    return render(request, "pages/coordinator/audit.html", context)


def _day(text: str) -> date | None:
    """A YYYY-MM-DD filter; anything else (an empty field) is no filter at all."""
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        return None


@router.get("/coordinator/mail", tags=["pages"])
def mail_page(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    return _mail_page(request, session, page, {})


@router.post("/coordinator/mail/{message_id}/retry", tags=["pages"])
def retry_from_page(
    message_id: MessageId,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
) -> Response:
    try:
        mail.retry(session, message_id, page.user)
    except Conflict as error:
        return _mail_page(request, session, page, {"error": str(error)}, status_code=409)
    background.add_task(deliver_mail, request.app)
    return _to(request, session, "/coordinator/mail", "message queued again")


def _mail_page(
    request: Request, session: Session, page: Page, context: dict[str, str], status_code: int = 200
) -> Response:
    return render(
        request,
        "pages/coordinator/mail.html",
        {
            "page": page,
            "section": "mail",
            "messages": mail.dead_letters(session, limit=MAIL_SHOWN),
            **context,
        },
        status_code=status_code,
    )
