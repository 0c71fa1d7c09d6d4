"""Sign-off records imported from CSV: what a coordinator holds already (paper, another
system), checked row by row and queued as one bulk award job (services/bulk_awards.py).

Columns: learner_email, framework (SOC code), level, statement (its number, from 1), date
(YYYY-MM-DD, the day it was observed), method, setting, supervisor_email. A dry run reports
every row and, per learner and level, whether the level would be complete; it writes nothing.
Lookups are made in bulk (a query per kind of thing, never per row), so 10,000 rows are one
request. The same checks run again when the job applies the file: what changed in between
(a confirmation made live, a level issued meanwhile) is skipped, never duplicated.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from issuer import limits
from issuer.credentials import METHODS
from issuer.errors import InvalidInput, PermissionDenied
from issuer.services import audit, csv_files
from issuer.services.signoff import RENEWAL_WINDOW
from issuer.store.models import (
    UPLOAD_NAME,
    AchievementRecord,
    Assignment,
    BulkAwardJob,
    Confirmation,
    CredentialRecord,
    FrameworkRecord,
    User,
)

COLUMNS = (
    "learner_email",
    "framework",
    "level",
    "statement",
    "date",
    "method",
    "setting",
    "supervisor_email",
)
MAX_ROWS = 50_000  # 5,000 learners × one level of ten statements
MAX_BYTES = limits.ENROLMENT_FILE_BYTES
# What a row that changes nothing says; not an error (re-applying a file is a no-op).
SKIPPED = ("already confirmed", "already issued")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_IN_CHUNK = 5_000  # ids per IN (...): SQLite's default cap on bound parameters is 32,766
T = TypeVar("T")
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class RowReport:
    row: int  # the line in the file, header = 1
    learner_email: str
    framework: str
    level: str
    statement: str
    # valid, unknown learner, yourself, not a supervisor, not assigned, unknown framework,
    # unknown level, bad statement, bad date, future date, unknown method, missing setting,
    # too long, control character, duplicate, already confirmed, already issued
    status: str
    message: str


@dataclass(frozen=True, slots=True)
class LevelReport:
    """One learner's level as the file leaves it: complete levels are issued on apply."""

    learner_email: str
    framework: str
    level: str
    confirmed_before: int  # active confirmations already stored
    imported: int  # valid rows of the file for it
    missing: tuple[int, ...]  # statement numbers still unconfirmed afterwards

    @property
    def complete(self) -> bool:
        return not self.missing


@dataclass(frozen=True, slots=True)
class Record:
    """A valid row, resolved to ids: one confirmation to store."""

    line: int
    learner_id: int
    supervisor_id: int
    achievement_id: int
    statement_index: int
    observed_on: date
    method: str
    setting: str


@dataclass(frozen=True, slots=True)
class Plan:
    rows: list[RowReport]
    levels: list[LevelReport]
    records: list[Record]

    def summary(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for row in self.rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts

    @property
    def complete(self) -> int:
        return sum(1 for level in self.levels if level.complete)

    def errors(self) -> list[RowReport]:
        return [r for r in self.rows if r.status != "valid" and r.status not in SKIPPED]


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    learner: str
    soc: str
    level: str
    statement: str
    date: str
    method: str
    setting: str
    supervisor: str


def parse(data: bytes) -> list[_Row]:
    """The rows of a CSV file; InvalidInput when it is not one we can read."""
    reader = csv_files.reader(data, COLUMNS, max_bytes=MAX_BYTES)
    try:
        return list(_rows(reader))
    except csv.Error as error:
        raise InvalidInput(f"malformed CSV: {error}") from None


def _rows(reader: csv.DictReader[str]) -> Iterator[_Row]:
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
        yield _Row(
            number,
            value.get("learner_email", "").lower(),
            value.get("framework", ""),
            value.get("level", "").lower(),
            value.get("statement", ""),
            value.get("date", ""),
            value.get("method", ""),
            value.get("setting", ""),
            value.get("supervisor_email", "").lower(),
        )


def dry_run(session: Session, data: bytes, actor: User, *, today: date | None = None) -> Plan:
    """Every row's report and every level's outcome; writes nothing."""
    require_coordinator(actor)
    return plan(session, parse(data), actor, today or datetime.now(UTC).date())


def queue(
    session: Session, actor: User, data: bytes, file_name: str, *, now: datetime | None = None
) -> BulkAwardJob:
    """Queue the file as a bulk award job (a worker, or the CLI, applies it) after the same
    checks as a dry run; InvalidInput for a file that cannot be read."""
    require_coordinator(actor)
    now = now or datetime.now(UTC)
    checked = plan(session, parse(data), actor, now.date())
    job = BulkAwardJob(
        coordinator_id=actor.id,
        file_name=(file_name or "upload.csv")[:UPLOAD_NAME],
        csv=data.decode("utf-8-sig"),
        status="queued",
        total=checked.complete,
        errors=[],
        summary=checked.summary(),
        created_at=now,
        updated_at=now,
    )
    session.add(job)
    session.flush()
    audit.record(
        session,
        actor,
        "records.import_queued",
        job.file_name,
        job=job.id,
        rows=len(checked.rows),
        valid=len(checked.records),
        complete_levels=checked.complete,
        errors=len(checked.errors()),
    )
    return job


def require_coordinator(actor: User) -> None:
    if not actor.has_role("coordinator"):
        raise PermissionDenied("only a coordinator may import sign-off records")


def plan(session: Session, rows: list[_Row], actor: User, today: date) -> Plan:
    """Check each row against the database (read in bulk) and the rows before it."""
    known = _Known.load(session, rows)
    seen: set[tuple[int, int, int]] = set()
    reports, records = [], []
    for row in rows:
        status, message, record = _check(row, known, actor, today, seen)
        reports.append(
            RowReport(row.line, row.learner, row.soc, row.level, row.statement, status, message)
        )
        if record is not None:
            records.append(record)
    return Plan(reports, _levels(known, records), records)


@dataclass(slots=True)
class _Known:
    """What the rows name, read in a few queries."""

    users: dict[str, User]
    achievements: dict[tuple[str, str], AchievementRecord]
    assignments: set[tuple[int, int, int]]  # learner, supervisor, framework
    confirmed: set[tuple[int, int, int]]  # learner, achievement, statement index (active)
    issued: set[tuple[int, int]]  # learner, achievement: a current credential, not renewable

    @classmethod
    def load(cls, session: Session, rows: list[_Row]) -> _Known:
        emails = {r.learner for r in rows} | {r.supervisor for r in rows}
        users = {
            u.email: u
            for chunk in _chunks(sorted(emails))
            for u in session.scalars(select(User).where(User.email.in_(chunk)))
        }
        achievements = {
            (framework.soc, achievement.level_key): achievement
            for framework in session.scalars(select(FrameworkRecord))
            for achievement in framework.achievements
        }
        ids = sorted({users[r.learner].id for r in rows if r.learner in users})
        return cls(
            users,
            achievements,
            set(_select_in(session, ids, _assignments)),
            set(_select_in(session, ids, _active_confirmations)),
            set(_select_in(session, ids, _current_credentials)),
        )


def _check(
    row: _Row, known: _Known, actor: User, today: date, seen: set[tuple[int, int, int]]
) -> tuple[str, str, Record | None]:
    problem = _text_problem(row)
    if problem is not None:
        return (*problem, None)
    learner = known.users.get(row.learner)
    if learner is None or not learner.has_role("learner"):
        return "unknown learner", f"no learner {row.learner!r}", None
    if learner.id == actor.id:
        return "yourself", "another coordinator must import records for you", None
    supervisor = known.users.get(row.supervisor)
    if supervisor is None or not supervisor.has_role("supervisor"):
        return "not a supervisor", f"{row.supervisor!r} is not a supervisor's account", None
    if supervisor.id == learner.id:
        return "not a supervisor", "a learner cannot confirm their own statements", None
    achievement = known.achievements.get((row.soc, row.level))
    if achievement is None:
        if not any(soc == row.soc for soc, _ in known.achievements):
            return "unknown framework", f"no framework {row.soc!r} has been imported", None
        return "unknown level", f"framework {row.soc} has no level {row.level!r}", None
    if (learner.id, supervisor.id, achievement.framework_id) not in known.assignments:
        message = f"{row.learner} is not assigned to {row.supervisor} for {row.soc}"
        return "not assigned", message, None
    return _check_values(row, learner, supervisor, achievement, known, today, seen)


def _check_values(
    row: _Row,
    learner: User,
    supervisor: User,
    achievement: AchievementRecord,
    known: _Known,
    today: date,
    seen: set[tuple[int, int, int]],
) -> tuple[str, str, Record | None]:
    count = len(achievement.document["resultDescription"])
    if not row.statement.isdigit() or not 1 <= int(row.statement) <= count:
        return "bad statement", f"statement must be a number from 1 to {count}", None
    index = int(row.statement) - 1
    if not _DATE.fullmatch(row.date):
        return "bad date", f"{row.date!r} is not a date as YYYY-MM-DD", None
    try:
        observed_on = date.fromisoformat(row.date)
    except ValueError:
        return "bad date", f"{row.date!r} is not a date as YYYY-MM-DD", None
    if observed_on > today:
        return "future date", f"{row.date} is in the future", None
    if row.method not in METHODS:
        return "unknown method", f"method must be one of {', '.join(METHODS)}", None
    if not row.setting:
        return "missing setting", "the setting where it was observed is required", None
    key = (learner.id, achievement.id, index)
    if key in seen:
        return "duplicate", "the same learner, level and statement appear earlier", None
    seen.add(key)
    if (learner.id, achievement.id) in known.issued:
        return "already issued", f"the {achievement.label} credential is already issued", None
    if key in known.confirmed:
        return "already confirmed", f"statement {index + 1} is confirmed already", None
    record = Record(
        row.line,
        learner.id,
        supervisor.id,
        achievement.id,
        index,
        observed_on,
        row.method,
        row.setting,
    )
    return "valid", "will be confirmed", record


def _text_problem(row: _Row) -> tuple[str, str] | None:
    """(status, message) for the first field that does not fit its column, or None."""
    fields = (
        ("learner_email", row.learner, limits.EMAIL),
        ("framework", row.soc, limits.SOC),
        ("level", row.level, limits.LEVEL_KEY),
        ("statement", row.statement, 4),
        ("date", row.date, 10),
        ("method", row.method, limits.METHOD),
        ("setting", row.setting, limits.SETTING),
        ("supervisor_email", row.supervisor, limits.EMAIL),
    )
    for field, value, max_length in fields:
        problem = limits.text_problem(value, max_length)
        if problem is not None:
            return problem, f"the {field} {limits.describe(problem, max_length)}"
    return None


def _levels(known: _Known, records: list[Record]) -> list[LevelReport]:
    imported: dict[tuple[int, int], set[int]] = {}
    for record in records:
        imported.setdefault((record.learner_id, record.achievement_id), set()).add(
            record.statement_index
        )
    emails = {user.id: user.email for user in known.users.values()}
    by_id = {a.id: a for a in known.achievements.values()}
    reports = []
    for (learner_id, achievement_id), indexes in imported.items():
        achievement = by_id[achievement_id]
        before = {
            index
            for index in range(len(achievement.document["resultDescription"]))
            if (learner_id, achievement_id, index) in known.confirmed
        }
        count = len(achievement.document["resultDescription"])
        reports.append(
            LevelReport(
                emails[learner_id],
                achievement.framework.soc,
                achievement.level_key,
                len(before),
                len(indexes),
                tuple(n + 1 for n in range(count) if n not in before | indexes),
            )
        )
    return reports


# ── bulk reads: one query per kind and per _IN_CHUNK learners ──


def _chunks(values: list[T]) -> Iterator[list[T]]:
    for start in range(0, len(values), _IN_CHUNK):
        yield values[start : start + _IN_CHUNK]


def _select_in(
    session: Session, ids: list[int], query: Callable[[Session, list[int]], Iterable[Key]]
) -> Iterator[Key]:
    for chunk in _chunks(ids):
        yield from query(session, chunk)


def _assignments(session: Session, ids: list[int]) -> Iterable[Key]:
    return session.execute(
        select(Assignment.learner_id, Assignment.supervisor_id, Assignment.framework_id).where(
            Assignment.learner_id.in_(ids)
        )
    ).tuples()


def _active_confirmations(session: Session, ids: list[int]) -> Iterable[Key]:
    return session.execute(
        select(
            Confirmation.learner_id, Confirmation.achievement_id, Confirmation.statement_index
        ).where(
            Confirmation.learner_id.in_(ids),
            Confirmation.withdrawn_at.is_(None),
            Confirmation.consumed_by.is_(None),
        )
    ).tuples()


def _current_credentials(session: Session, ids: list[int]) -> Iterable[Key]:
    """(learner, achievement) of each current credential outside its renewal window: the
    level is issued, and sign-off for it is closed (signoff._refuse_after_issuance)."""
    closes = datetime.now(UTC) + RENEWAL_WINDOW
    rows = session.execute(
        select(
            CredentialRecord.learner_id,
            CredentialRecord.achievement_id,
            CredentialRecord.valid_until,
        ).where(
            CredentialRecord.learner_id.in_(ids),
            CredentialRecord.copy_of.is_(None),
            CredentialRecord.revoked_at.is_(None),
            CredentialRecord.superseded_at.is_(None),
        )
    ).tuples()
    return [
        (learner, achievement)
        for learner, achievement, valid_until in rows
        if valid_until is None or valid_until > closes
    ]
