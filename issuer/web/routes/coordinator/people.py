"""People, for the coordinator: the People pages (`/coordinator/people`) and the API beside
them. A person added here (or by enrolment) is e-mailed an invitation to set a password; a
person is renamed, given a new e-mail address (once it confirms), given or relieved of roles,
deactivated and reactivated; never by themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from issuer import limits
from issuer.errors import IssuerError
from issuer.services import (
    accounts,
    catalog,
    dashboard,
    invitations,
    people,
    roster,
)
from issuer.store.models import User
from issuer.web.deps import (
    CoordinatorAction,
    CoordinatorDep,
    CoordinatorPage,
    Page,
    SessionDep,
    deliver_mail,
    flash,
)
from issuer.web.errors import status_for
from issuer.web.listing import Listing, Sort
from issuer.web.routes.coordinator.console import public_base_url
from issuer.web.schemas import (
    NewRole,
    NewUser,
    PeoplePage,
    PersonChange,
    PersonChanged,
    PersonOut,
    Queued,
    RoleName,
    UserOut,
    person_out,
    user_out,
)
from issuer.web.templating import render

router = APIRouter()
# Database integers are 32-bit on every backend: larger ids are refused as input, not a 500.
Id = Annotated[int, Path(ge=1, le=2_147_483_647)]
Text = Annotated[str, Form(max_length=2000)]
Filter = Annotated[str, Query(max_length=limits.EMAIL)]
PEOPLE_SHOWN = 200  # in the pickers of the assignment form


@router.post("/api/users", status_code=201)
def create_user(
    body: NewUser,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> UserOut:
    """Create a learner, supervisor or coordinator, e-mailed an invitation to set a password
    (none when `password` is given); 409 when the e-mail has an account (give that person
    another role with `POST /api/users/{id}/roles`)."""
    created = invitations.add_person(
        session,
        email=body.email,
        name=body.name,
        roles=body.roles,
        base_url=public_base_url(request),
        password=body.password,
        actor=user,
    )
    background.add_task(deliver_mail, request.app)
    return user_out(created)


@router.post("/api/users/{user_id}/roles")
def add_role(user_id: Id, body: NewRole, session: SessionDep, user: CoordinatorDep) -> UserOut:
    """Give an existing person another role (audited); never one's own (403)."""
    person = accounts.user_by_id(session, user_id)
    return user_out(accounts.add_role(session, person, body.role, actor=user))


@router.get("/api/users")
def list_people(
    session: SessionDep,
    user: CoordinatorDep,
    q: Annotated[str, Query(max_length=limits.EMAIL)] = "",
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> PeoplePage:
    """Everyone, by name, 50 a page; `q` finds a part of a name or e-mail address."""
    found = people.directory(session, search=q, page=page)
    return PeoplePage(
        people=[person_out(p) for p in found.people],
        total=found.total,
        page=found.page,
        pages=found.pages,
    )


@router.get("/api/users/{user_id}")
def get_person(user_id: Id, session: SessionDep, user: CoordinatorDep) -> PersonOut:
    return person_out(accounts.user_by_id(session, user_id))


@router.patch("/api/users/{user_id}")
def change_person(
    user_id: Id,
    body: PersonChange,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> PersonChanged:
    """Rename at once; a new e-mail address changes when the link sent to it is followed."""
    person = accounts.user_by_id(session, user_id)
    sent_to = people.change(
        session,
        person,
        name=body.name,
        email=body.email,
        base_url=public_base_url(request),
        actor=user,
    )
    background.add_task(deliver_mail, request.app)
    return PersonChanged(**person_out(person).model_dump(), email_confirmation_sent_to=sent_to)


@router.post("/api/users/{user_id}/deactivate")
def deactivate(user_id: Id, session: SessionDep, user: CoordinatorDep) -> PersonOut:
    """No way in any more (sessions, tokens and links end); their credentials stay valid."""
    person = accounts.user_by_id(session, user_id)
    return person_out(people.deactivate(session, person, actor=user))


@router.post("/api/users/{user_id}/reactivate")
def reactivate(user_id: Id, session: SessionDep, user: CoordinatorDep) -> PersonOut:
    person = accounts.user_by_id(session, user_id)
    return person_out(people.reactivate(session, person, actor=user))


@router.delete("/api/users/{user_id}/roles/{role}")
def remove_role(
    user_id: Id, role: RoleName, session: SessionDep, user: CoordinatorDep
) -> PersonOut:
    """Take a role away (audited); never one's own (403), never the last (409)."""
    person = accounts.user_by_id(session, user_id)
    return person_out(accounts.remove_role(session, person, role, actor=user))


@router.post("/api/users/{user_id}/invitation", status_code=202)
def resend_invitation(
    user_id: Id,
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    user: CoordinatorDep,
) -> Queued:
    """A new invitation (the earlier one stops working); 409 once they have a password."""
    person = accounts.user_by_id(session, user_id)
    invitations.resend(session, person, public_base_url(request), actor=user)
    background.add_task(deliver_mail, request.app)
    return Queued()


@router.post("/coordinator/people", tags=["pages"])
def add_person(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    name: Text,
    email: Text,
    role: Text,
) -> Response:
    """Add a person; they are e-mailed an invitation to set their password."""
    try:
        with session.begin_nested():
            person = invitations.add_person(
                session,
                email=email,
                name=name,
                roles=[role],
                base_url=public_base_url(request),
                actor=page.user,
            )
    except IssuerError as error:
        return people_with_error(request, session, page, str(error), status_for(error))
    background.add_task(deliver_mail, request.app)
    return back_to_people(
        request, session, f"{role} added; an invitation was e-mailed to {person.email}"
    )


@router.post("/coordinator/people/roles", tags=["pages"])
def add_role_from_page(
    request: Request, session: SessionDep, page: CoordinatorAction, email: Text, role: Text
) -> Response:
    """Give an existing person another role (never oneself: another coordinator must)."""
    try:
        with session.begin_nested():
            person = accounts.user_by_email(session, email)
            accounts.add_role(session, person, role, actor=page.user)
    except IssuerError as error:
        return people_with_error(request, session, page, str(error), status_for(error))
    return back_to_people(request, session, f"{role} role given to {person.email}")


@router.get("/coordinator/people", tags=["pages"])
def people_page(
    request: Request,
    session: SessionDep,
    page: CoordinatorPage,
    q: Filter = "",
    state: Filter = "",
    role: Filter = "",
    sort: Filter = "",
    number: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
) -> Response:
    """Everyone, found by name or e-mail, filtered by state and role, sorted by any column,
    50 a page; and the forms that add a person and give a role."""
    return _people(request, session, page, _View(q.strip(), state, role, sort, number))


def people_with_error(
    request: Request, session: Session, page: Page, message: str, status: int
) -> Response:
    """The People page again with a form's error shown in place (its savepoint is gone)."""
    return _people(request, session, page, _View(), error=message, status=status)


def back_to_people(request: Request, session: Session, message: str) -> Response:
    """POST/redirect/GET to the People page, the message kept for it in the session."""
    flash(request, session, message)
    return RedirectResponse("/coordinator/people", status_code=303)


@dataclass(frozen=True, slots=True)
class _View:
    """The People table as asked for: the search, the filters, the sort and the page."""

    q: str = ""
    state: str = ""
    role: str = ""
    sort: str = ""
    number: int = 1


def _people(
    request: Request,
    session: Session,
    page: Page,
    view: _View,
    *,
    error: str = "",
    status: int = 200,
) -> Response:
    order = Sort.parse(view.sort, people.SORTS, "name")
    state = view.state if view.state in people.STATES else ""
    role = view.role if view.role in accounts.ROLES else ""
    found = people.directory(
        session,
        search=view.q,
        page=view.number,
        state=state,
        role=role,
        sort=order.key,
        descending=order.descending,
    )
    filters = {"q": view.q, "state": state, "role": role}
    listing = Listing(
        "/coordinator/people",
        filters,
        order,
        "name",
        page=found.page,
        has_next=found.page < found.pages,
        pages=found.pages,
        descending_first=("last_sign_in",),
    )
    context = {
        "page": page,
        "section": "people",
        "found": found,
        "listing": listing,
        "filters": filters,
        "states": people.STATES,
        "roles": accounts.ROLES,
        "error": error,
    }
    return render(request, "pages/coordinator/people.html", context, status_code=status)


@router.get("/coordinator/people/{user_id}", tags=["pages"])
def person_page(
    request: Request, session: SessionDep, page: CoordinatorPage, user_id: Id
) -> Response:
    return _person(request, session, page, user_id)


def person_with_error(
    request: Request, session: Session, page: Page, user_id: int, message: str, status: int
) -> Response:
    """A person's page again with a form's error shown in place."""
    return _person(request, session, page, user_id, message, status)


def _person(
    request: Request,
    session: Session,
    page: Page,
    user_id: int,
    error: str = "",
    status: int = 200,
) -> Response:
    person = accounts.user_by_id(session, user_id)
    context = {
        "page": page,
        "section": "people",
        "person": person,
        "roles": accounts.ROLES,
        "supervision": roster.supervision(session, person) if person.has_role("learner") else [],
        "supervisors": dashboard.people(session, "supervisor", PEOPLE_SHOWN),
        "frameworks": catalog.imported(session),
        "error": error,
    }
    return render(request, "pages/coordinator/person.html", context, status_code=status)


def _person_action(
    request: Request,
    session: Session,
    page: Page,
    user_id: int,
    action: Callable[[User], str],
) -> Response:
    """Run `action` on the person (in a savepoint); back to their page with its message, or
    their page again with the error in place."""
    try:
        with session.begin_nested():
            message = action(accounts.user_by_id(session, user_id))
    except IssuerError as error:
        return _person(request, session, page, user_id, str(error), status_for(error))
    flash(request, session, message)
    return RedirectResponse(f"/coordinator/people/{user_id}", status_code=303)


@router.post("/coordinator/people/{user_id}", tags=["pages"])
def edit_person(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    user_id: Id,
    name: Text,
    email: Text,
) -> Response:
    """The name changes at once; a new e-mail address once the link sent to it is followed."""

    def edit(person: User) -> str:
        sent_to = people.change(
            session,
            person,
            name=name,
            email=email,
            base_url=public_base_url(request),
            actor=page.user,
        )
        background.add_task(deliver_mail, request.app)
        return f"saved; a confirmation link was sent to {sent_to}" if sent_to else "saved"

    return _person_action(request, session, page, user_id, edit)


@router.post("/coordinator/people/{user_id}/roles", tags=["pages"])
def give_role(
    request: Request, session: SessionDep, page: CoordinatorAction, user_id: Id, role: Text
) -> Response:
    def give(person: User) -> str:
        accounts.add_role(session, person, role, actor=page.user)
        return f"{role} role given"

    return _person_action(request, session, page, user_id, give)


@router.post("/coordinator/people/{user_id}/roles/remove", tags=["pages"])
def take_role(
    request: Request, session: SessionDep, page: CoordinatorAction, user_id: Id, role: Text
) -> Response:
    def take(person: User) -> str:
        accounts.remove_role(session, person, role, actor=page.user)
        return f"{role} role removed"

    return _person_action(request, session, page, user_id, take)


@router.post("/coordinator/people/{user_id}/deactivate", tags=["pages"])
def deactivate_from_page(
    request: Request, session: SessionDep, page: CoordinatorAction, user_id: Id
) -> Response:
    def shut(person: User) -> str:
        people.deactivate(session, person, actor=page.user)
        return "deactivated: signed out everywhere, API tokens revoked; credentials stay valid"

    return _person_action(request, session, page, user_id, shut)


@router.post("/coordinator/people/{user_id}/reactivate", tags=["pages"])
def reactivate_from_page(
    request: Request, session: SessionDep, page: CoordinatorAction, user_id: Id
) -> Response:
    def reopen(person: User) -> str:
        people.reactivate(session, person, actor=page.user)
        return "reactivated"

    return _person_action(request, session, page, user_id, reopen)


@router.post("/coordinator/people/{user_id}/invitation", tags=["pages"])
def invite_again(
    request: Request,
    background: BackgroundTasks,
    session: SessionDep,
    page: CoordinatorAction,
    user_id: Id,
) -> Response:
    def invite(person: User) -> str:
        invitations.resend(session, person, public_base_url(request), actor=page.user)
        background.add_task(deliver_mail, request.app)
        return f"a new invitation was e-mailed to {person.email}"

    return _person_action(request, session, page, user_id, invite)
