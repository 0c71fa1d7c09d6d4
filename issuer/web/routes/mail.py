"""Mail that could not be delivered, for coordinators: the JSON list and retry, and the page.

A message is given up after mail.MAX_ATTEMPTS (a mail server refusing it, an address it cannot
take); until a coordinator looks here nobody would know the learner never got it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer.errors import Conflict
from issuer.services import mail
from issuer.store.models import OutboxMessage
from issuer.web.deps import (
    CoordinatorDep,
    CoordinatorPage,
    CurrentUser,
    Page,
    SessionDep,
    deliver_mail,
    flash,
)
from issuer.web.templating import render

router = APIRouter(tags=["coordinator"])
# Database integers are 32-bit on every backend: larger ids are refused as input, not a 500.
MessageId = Annotated[int, Path(ge=1, le=2_147_483_647)]
SHOWN = 200


def dead_letter_out(message: OutboxMessage) -> dict[str, Any]:
    return {
        "id": message.id,
        "recipient": message.recipient,
        "subject": message.subject,
        "attempts": message.attempts,
        "last_error": message.last_error,
        "created": message.created_at.isoformat(),
        "given_up": message.dead_at.isoformat() if message.dead_at else None,
        "retryable": message.secrets_erased_at is None,
    }


@router.get("/api/mail/dead-letters")
def dead_letters(
    session: SessionDep,
    user: CoordinatorDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = SHOWN,
) -> list[dict[str, Any]]:
    """Messages given up after every attempt failed, most recent first."""
    return [dead_letter_out(m) for m in mail.dead_letters(session, limit=limit)]


@router.post("/api/mail/dead-letters/{message_id}/retry", status_code=202)
def retry(
    message_id: MessageId,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> dict[str, Any]:
    """Put a message back in the queue (409 if its one-time link or code was erased)."""
    message = mail.retry(session, message_id, user)
    background.add_task(deliver_mail, request.app)
    return {"id": message.id, "status": "queued"}


@router.get("/coordinator/mail")
def mail_page(request: Request, session: SessionDep, page: CoordinatorPage) -> Response:
    return _page(request, session, page, {})


@router.post("/coordinator/mail/{message_id}/retry")
def retry_from_page(
    message_id: MessageId,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorPage,
    user: CurrentUser,
) -> Response:
    try:
        mail.retry(session, message_id, user)
    except Conflict as error:
        return _page(request, session, page, {"error": str(error)}, status_code=409)
    background.add_task(deliver_mail, request.app)
    flash(request, session, "message queued again")
    return RedirectResponse("/coordinator/mail", status_code=303)


def _page(
    request: Request,
    session: Session,
    page: Page,
    context: dict[str, str],
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "pages/coordinator/mail.html",
        {"page": page, "messages": mail.dead_letters(session, limit=SHOWN), **context},
        status_code=status_code,
    )
