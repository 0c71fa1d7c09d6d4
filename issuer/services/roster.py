"""Learners, supervisors and who supervises whom for which framework."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session, aliased, lazyload

from issuer.errors import InvalidInput, NotFound, PermissionDenied, SelfConfirmation
from issuer.services import audit
from issuer.services.accounts import user_by_email
from issuer.services.catalog import framework_record
from issuer.store.models import Assignment, FrameworkRecord, User

# One answer for "no such learner" and "someone else's learner": it reveals nothing.
NOT_YOURS = "no such learner among yours"
AnySelect = TypeVar("AnySelect", bound=Select[Any])


def assign(
    session: Session, actor: User, *, learner_email: str, supervisor_email: str, soc: str
) -> Assignment:
    """Make `supervisor` responsible for `learner`'s sign-off in a framework (idempotent)."""
    learner = user_by_email(session, learner_email)
    supervisor = user_by_email(session, supervisor_email)
    if not learner.has_role("learner"):
        raise InvalidInput(f"{learner.email} is not a learner")
    if not supervisor.has_role("supervisor"):
        raise InvalidInput(f"{supervisor.email} is not a supervisor")
    if learner.id == supervisor.id:
        raise SelfConfirmation("a supervisor cannot be assigned to supervise themselves")
    for person in (learner, supervisor):
        if person.deactivated_at is not None:
            raise InvalidInput(f"{person.email} is deactivated; reactivate them first")
    if learner.id == actor.id:
        # A coordinator who is also a learner could otherwise pick their own supervisor.
        raise PermissionDenied("another coordinator must assign your own supervisor")
    framework = framework_record(session, soc)
    existing = session.scalar(
        select(Assignment).where(
            Assignment.learner_id == learner.id,
            Assignment.supervisor_id == supervisor.id,
            Assignment.framework_id == framework.id,
        )
    )
    if existing is not None:
        return existing
    assignment = Assignment(
        learner_id=learner.id,
        supervisor_id=supervisor.id,
        framework_id=framework.id,
        created_at=datetime.now(UTC),
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session, actor, "assignment.created", learner.email, supervisor=supervisor.email, soc=soc
    )
    return assignment


@dataclass(frozen=True, slots=True)
class AssignedLearner:
    learner: User
    framework: FrameworkRecord


def learners_of(session: Session, supervisor: User) -> list[AssignedLearner]:
    """Only the learners assigned to this supervisor."""
    rows = session.execute(
        select(User, FrameworkRecord)
        .join(Assignment, Assignment.learner_id == User.id)
        .join(FrameworkRecord, FrameworkRecord.id == Assignment.framework_id)
        .where(Assignment.supervisor_id == supervisor.id)
        .order_by(User.name, FrameworkRecord.soc)
    )
    return [AssignedLearner(user, framework) for user, framework in rows]


def assigned_learner(session: Session, supervisor: User, learner_id: int, soc: str) -> User:
    """The learner, if assigned to `supervisor` for `soc`.

    Acting on oneself is refused outright (403). A learner who does not exist and one assigned
    to someone else are the same NotFound, so the answer reveals nothing about other people.
    """
    if learner_id == supervisor.id:
        raise SelfConfirmation("supervisors cannot confirm or attest for themselves")
    learner = session.scalar(
        _ASSIGNED_LEARNER, {"learner": learner_id, "supervisor": supervisor.id, "soc": soc}
    )
    if learner is None:
        raise NotFound(NOT_YOURS)
    return learner


def ensure_assigned(session: Session, supervisor: User, learner_id: int, soc: str) -> None:
    """`assigned_learner` without loading the learner (a recheck inside a write transaction)."""
    if learner_id == supervisor.id:
        raise SelfConfirmation("supervisors cannot confirm or attest for themselves")
    found = session.scalar(
        _ASSIGNMENT, {"learner": learner_id, "supervisor": supervisor.id, "soc": soc}
    )
    if found is None:
        raise NotFound(NOT_YOURS)


def _assigned(query: AnySelect) -> AnySelect:
    return (
        query.select_from(User)
        .join(Assignment, Assignment.learner_id == User.id)
        .join(FrameworkRecord, FrameworkRecord.id == Assignment.framework_id)
        .where(
            User.id == bindparam("learner"),
            Assignment.supervisor_id == bindparam("supervisor"),
            FrameworkRecord.soc == bindparam("soc"),
        )
    )


# Built once (services/claims.py says why): they run on every confirmation and attestation.
_ASSIGNED_LEARNER = _assigned(select(User)).options(lazyload(User.roles))
_ASSIGNMENT = _assigned(select(Assignment.id))


def learner(session: Session, learner_id: int) -> User:
    user = session.get(User, learner_id)
    if user is None or not user.has_role("learner"):
        raise NotFound(f"no learner {learner_id}")
    return user


def assignments_of(session: Session, learner: User) -> list[Assignment]:
    return list(session.scalars(select(Assignment).where(Assignment.learner_id == learner.id)))


@dataclass(frozen=True, slots=True)
class Supervision:
    supervisor: User
    framework: FrameworkRecord
    cohort: str | None


def supervision(session: Session, learner: User) -> list[Supervision]:
    """Who supervises `learner` in which framework (and cohort), by framework then name."""
    supervisor = aliased(User)
    rows = session.execute(
        select(supervisor, FrameworkRecord, Assignment.cohort)
        .select_from(Assignment)
        .join(supervisor, supervisor.id == Assignment.supervisor_id)
        .join(FrameworkRecord, FrameworkRecord.id == Assignment.framework_id)
        .where(Assignment.learner_id == learner.id)
        .order_by(FrameworkRecord.title, supervisor.name)
    )
    return [Supervision(user, framework, cohort) for user, framework, cohort in rows]
