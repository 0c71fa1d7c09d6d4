"""Bulk enrolment from CSV: name, email, supervisor email, framework (SOC code), optional cohort.

A dry run reports every row (valid, unchanged, duplicate, unknown supervisor, bad email, too
long, ...) before anything is written; applying writes only valid rows and is idempotent: the
same file twice creates nothing new. Lookups are done in bulk, so 2,000 rows take one request.
Each account it creates is invited by e-mail to set a password (services/invitations.py).
A row is valid only if what it stores fits its column (limits.py): one over-long name must
cost that row, not the whole file, which one failed INSERT would on PostgreSQL.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer import limits
from issuer.errors import InvalidInput
from issuer.services import audit, csv_files, invitations
from issuer.services.accounts import EMAIL
from issuer.store.models import Assignment, FrameworkRecord, Role, User

COLUMNS = ("name", "email", "supervisor_email", "framework")
MAX_ROWS = limits.ENROLMENT_ROWS
MAX_BYTES = limits.ENROLMENT_FILE_BYTES


@dataclass(frozen=True, slots=True)
class RowReport:
    row: int  # the line in the file, header = 1
    email: str
    # valid, unchanged, duplicate, bad email, missing name, too long, control character,
    # unknown supervisor, not a supervisor, unknown framework
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    name: str
    email: str
    supervisor: str
    soc: str
    cohort: str | None


def parse(data: bytes) -> list[_Row]:
    """The rows of a CSV file; InvalidInput when it is not one we can read."""
    reader = csv_files.reader(
        data, COLUMNS, max_bytes=MAX_BYTES, optional=" (and optionally cohort)"
    )
    rows = []
    try:
        for number, raw in enumerate(reader, start=2):
            if number - 1 > MAX_ROWS:
                raise InvalidInput(f"more than {MAX_ROWS} rows")
            value = {
                k: (v or "").strip()
                for k, v in raw.items()
                if isinstance(k, str) and isinstance(v, str)
            }
            if not any(value.values()):
                continue
            rows.append(
                _Row(
                    number,
                    value.get("name", ""),
                    value.get("email", "").lower(),
                    value.get("supervisor_email", "").lower(),
                    value.get("framework", ""),
                    value.get("cohort") or None,
                )
            )
    except csv.Error as error:
        raise InvalidInput(f"malformed CSV: {error}") from None
    return rows


def dry_run(session: Session, data: bytes, actor: User) -> list[RowReport]:
    return _plan(session, parse(data), actor)[0]


def apply(session: Session, data: bytes, actor: User, *, base_url: str) -> list[RowReport]:
    """Write the valid rows (learners and assignments) and invite the new learners; returns
    the same report as a dry run."""
    reports, valid = _plan(session, parse(data), actor)
    now = datetime.now(UTC)
    users = {
        u.email: u
        for u in session.scalars(select(User).where(User.email.in_({r.email for r in valid})))
    }
    supervisors = {
        u.email: u
        for u in session.scalars(select(User).where(User.email.in_({r.supervisor for r in valid})))
    }
    frameworks = {f.soc: f for f in session.scalars(select(FrameworkRecord))}
    invited: list[User] = []
    for row in valid:
        learner = users.get(row.email)
        if learner is None:
            learner = User(email=row.email, name=row.name, created_at=now)
            session.add(learner)
            users[row.email] = learner
            invited.append(learner)
        if not learner.has_role("learner"):
            learner.roles.append(Role(role="learner"))
            if learner.id is not None:  # an existing person becomes a learner too: say so
                audit.record(session, actor, "user.role_added", learner.email, role="learner")
        session.flush()
        session.add(
            Assignment(
                learner_id=learner.id,
                supervisor_id=supervisors[row.supervisor].id,
                framework_id=frameworks[row.soc].id,
                cohort=row.cohort,
                created_at=now,
            )
        )
    for learner in invited:
        invitations.invite(session, learner, base_url, actor=actor, now=now, first=True)
    if valid:
        audit.record(session, actor, "enrolment.applied", f"{len(valid)} rows", rows=len(valid))
    return [_done(report) for report in reports]


def _done(report: RowReport) -> RowReport:
    """What an applied row says: done, not "will be"."""
    if report.status != "valid":
        return report
    message = "enrolled" if report.message == "will be enrolled" else "enrolled: " + report.message
    return replace(report, status="enrolled", message=message)


def _plan(session: Session, rows: list[_Row], actor: User) -> tuple[list[RowReport], list[_Row]]:
    emails = {r.email for r in rows} | {r.supervisor for r in rows}
    known = {u.email: u for u in session.scalars(select(User).where(User.email.in_(emails)))}
    frameworks = {f.soc: f for f in session.scalars(select(FrameworkRecord))}
    existing = {
        (learner, supervisor, framework)
        for learner, supervisor, framework in session.execute(
            select(Assignment.learner_id, Assignment.supervisor_id, Assignment.framework_id)
        )
    }
    seen: set[tuple[str, str]] = set()
    reports, valid = [], []
    for row in rows:
        status, message = _check(row, known, frameworks, existing, seen)
        if status == "valid" and row.email == actor.email:
            # A coordinator who is also a learner would otherwise pick their own supervisor.
            status, message = "yourself", "another coordinator must enrol you"
        reports.append(RowReport(row.line, row.email, status, message))
        if status == "valid":
            valid.append(row)
    return reports, valid


def _check(
    row: _Row,
    known: dict[str, User],
    frameworks: dict[str, FrameworkRecord],
    existing: set[tuple[int, int, int]],
    seen: set[tuple[str, str]],
) -> tuple[str, str]:
    if not row.name:
        return "missing name", "the name is empty"
    problem = _text_problem(row)
    if problem is not None:
        return problem
    if not EMAIL.match(row.email):
        return "bad email", f"{row.email!r} is not an email address"
    if (row.email, row.soc) in seen:
        return "duplicate", "the same learner and framework appear earlier in the file"
    seen.add((row.email, row.soc))
    supervisor = known.get(row.supervisor)
    if supervisor is None:
        return "unknown supervisor", f"no account {row.supervisor!r}"
    if not supervisor.has_role("supervisor"):
        return "not a supervisor", f"{row.supervisor} does not have the supervisor role"
    if supervisor.deactivated_at is not None:
        return "deactivated", f"the supervisor {row.supervisor} is deactivated"
    if row.supervisor == row.email:
        return "not a supervisor", "a learner cannot be their own supervisor"
    framework = frameworks.get(row.soc)
    if framework is None:
        return "unknown framework", f"no framework {row.soc!r} has been imported"
    learner = known.get(row.email)
    if learner is not None and learner.deactivated_at is not None:
        return "deactivated", f"{row.email} is deactivated; reactivate them first"
    if learner is not None and (learner.id, supervisor.id, framework.id) in existing:
        return "unchanged", "already enrolled with this supervisor"
    return "valid", "will be enrolled" if learner is None else "existing account, new assignment"


def _text_problem(row: _Row) -> tuple[str, str] | None:
    """(status, message) for the first text of the row that does not fit its column: the
    status "too long" or "control character", the message naming the field. None if all fit."""
    fields = (
        ("name", row.name, limits.PERSON_NAME),
        ("email", row.email, limits.EMAIL),
        ("cohort", row.cohort or "", limits.COHORT),
    )
    for field, value, max_length in fields:
        problem = limits.text_problem(value, max_length)
        if problem is not None:
            return problem, f"the {field} {limits.describe(problem, max_length)}"
    return None
