"""Who supervises whom: assignments, from the API and from the pages (the Enrolment page's
form, or a learner's own page, which returns to that page)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from issuer.errors import IssuerError
from issuer.services import roster
from issuer.web.deps import CoordinatorAction, CoordinatorDep, SessionDep, flash
from issuer.web.errors import status_for
from issuer.web.routes.coordinator.console import enrolment_form
from issuer.web.routes.coordinator.people import person_with_error
from issuer.web.schemas import AssignmentOut, NewAssignment

router = APIRouter()
Text = Annotated[str, Form(max_length=2000)]
# The learner's page the form was sent from, if any (their id: never a URL to redirect to).
FromPerson = Annotated[int | None, Form(ge=1, le=2_147_483_647)]


@router.post("/api/assignments", status_code=201)
def assign(body: NewAssignment, session: SessionDep, user: CoordinatorDep) -> AssignmentOut:
    assignment = roster.assign(
        session,
        user,
        learner_email=body.learner_email,
        supervisor_email=body.supervisor_email,
        soc=body.soc,
    )
    return AssignmentOut(
        id=assignment.id,
        learner_id=assignment.learner_id,
        supervisor_id=assignment.supervisor_id,
    )


@router.post("/coordinator/assignments", tags=["pages"])
def add_assignment(
    request: Request,
    session: SessionDep,
    page: CoordinatorAction,
    learner_email: Text,
    supervisor_email: Text,
    soc: Text,
    person: FromPerson = None,
) -> Response:
    try:
        with session.begin_nested():
            roster.assign(
                session,
                page.user,
                learner_email=learner_email,
                supervisor_email=supervisor_email,
                soc=soc,
            )
    except IssuerError as error:
        if person is not None:
            return person_with_error(request, session, page, person, str(error), status_for(error))
        return enrolment_form(request, session, page, str(error), status_for(error))
    flash(request, session, "supervisor assigned")
    back = f"/coordinator/people/{person}" if person is not None else "/coordinator/enrolment"
    return RedirectResponse(back, status_code=303)
