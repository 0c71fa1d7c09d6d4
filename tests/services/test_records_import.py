"""Bulk award from existing records (issue 19, item 5): the dry run, the job, its evidence,
and a job killed midway that resumes to exactly the credentials it owed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from issuer import worker
from issuer.config import Settings
from issuer.errors import PermissionDenied
from issuer.services import accounts, bulk_awards, records_import, roster
from issuer.services.issuing import Issuer
from issuer.store.db import make_engine, read_session_factory, session_factory, transaction
from issuer.store.models import BulkAwardJob, Confirmation, CredentialRecord, User
from tests.web.helpers import LEVEL, SOC

HEADER = "learner_email,framework,level,statement,date,method,setting,supervisor_email\n"


def rows(learner: str, statements: Iterator[int] | range = range(1, 11), **values: str) -> str:
    row = {
        "framework": SOC,
        "level": LEVEL,
        "date": "2026-11-02",
        "method": "clinical-practice",
        "setting": "CT suite",
        "supervisor": "sam@example.org",
        **values,
    }
    return "".join(
        f"{learner},{row['framework']},{row['level']},{n},{row['date']},{row['method']},"
        f"{row['setting']},{row['supervisor']}\n"
        for n in statements
    )


@dataclass
class Db:
    settings: Settings
    sessions: sessionmaker[Session]
    reads: sessionmaker[Session]
    issuer: Issuer

    def user(self, email: str) -> User:
        with transaction(self.sessions) as session:
            return accounts.user_by_email(session, email)

    def count(self, what: object, *where: object) -> int:
        with transaction(self.reads) as session:
            return int(session.scalar(select(func.count()).select_from(what).where(*where)) or 0)

    def apply(self, csv: str, actor: str = "casey@example.org", batch: int = 100) -> BulkAwardJob:
        with transaction(self.sessions) as session:
            user = accounts.user_by_email(session, actor)
            job_id = records_import.queue(session, user, csv.encode(), "records.csv").id
        return bulk_awards.run(self.sessions, self.reads, self.issuer, job_id, batch=batch)

    def dry_run(self, csv: str, actor: str = "casey@example.org") -> records_import.Plan:
        with transaction(self.sessions) as session:
            user = accounts.user_by_email(session, actor)
            return records_import.dry_run(session, csv.encode(), user)


@pytest.fixture
def db(db_settings: Settings) -> Iterator[Db]:
    """Casey (coordinator), Dr Sam Müller and Pat (supervisors), learners Lee and Ana assigned
    to Sam, Cleo (coordinator and learner) assigned to Sam; Vic assigned to Pat only."""
    engine = make_engine(db_settings.database_url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        casey = accounts.create_user(
            session, email="casey@example.org", name="Casey Coordinator", roles=["coordinator"]
        )
        accounts.create_user(
            session, email="sam@example.org", name="Dr Sam Müller", roles=["supervisor"]
        )
        accounts.create_user(session, email="pat@example.org", name="Pat", roles=["supervisor"])
        accounts.create_user(session, email="lee@example.org", name="Lee", roles=["learner"])
        accounts.create_user(session, email="ana@example.org", name="Ana", roles=["learner"])
        accounts.create_user(session, email="vic@example.org", name="Vic", roles=["learner"])
        accounts.create_user(
            session, email="cleo@example.org", name="Cleo", roles=["coordinator", "learner"]
        )
        for learner, supervisor in (
            ("lee", "sam"),
            ("ana", "sam"),
            ("cleo", "sam"),
            ("vic", "pat"),
        ):
            roster.assign(
                session,
                casey,
                learner_email=f"{learner}@example.org",
                supervisor_email=f"{supervisor}@example.org",
                soc=SOC,
            )
    yield Db(db_settings, sessions, read_session_factory(engine), worker.issuer(db_settings))
    engine.dispose()


def test_dry_run_reports_each_row_and_writes_nothing(db: Db) -> None:
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    csv = HEADER + (
        rows("lee@example.org", [1])
        + rows("lee@example.org", [1])
        + rows("nobody@example.org", [2])
        + rows("vic@example.org", [2])
        + rows("lee@example.org", [3], supervisor="ana@example.org")
        + rows("lee@example.org", [3], framework="99-9999.99")
        + rows("lee@example.org", [3], level="expert")
        + rows("lee@example.org", [11])
        + rows("lee@example.org", [3], date="02/11/2026")
        + rows("lee@example.org", [3], date=tomorrow)
        + rows("lee@example.org", [3], method="hearsay")
        + rows("lee@example.org", [3], setting="x" * 301)
        + rows("lee@example.org", [3], setting="ward\x07")
        + rows("lee@example.org", [3], date="2026-02-30")
    )
    plan = db.dry_run(csv)
    assert [(r.row, r.status) for r in plan.rows] == [
        (2, "valid"),
        (3, "duplicate"),
        (4, "unknown learner"),
        (5, "not assigned"),
        (6, "not a supervisor"),
        (7, "unknown framework"),
        (8, "unknown level"),
        (9, "bad statement"),
        (10, "bad date"),
        (11, "future date"),
        (12, "unknown method"),
        (13, "too long"),
        (14, "control character"),
        (15, "bad date"),
    ]
    (level,) = plan.levels
    assert (level.learner_email, level.complete, level.missing) == (
        "lee@example.org",
        False,
        tuple(range(2, 11)),
    )
    assert db.count(Confirmation) == 0 and db.count(BulkAwardJob) == 0


def test_apply_issues_exactly_the_complete_levels(db: Db) -> None:
    csv = HEADER + rows("lee@example.org") + rows("ana@example.org", range(1, 6))
    plan = db.dry_run(csv)
    assert plan.complete == 1 and len(plan.records) == 15
    job = db.apply(csv)
    assert (job.status, job.total, job.done, job.confirmations, job.errors) == (
        "done",
        1,
        1,
        15,
        [],
    )
    lee, ana = db.user("lee@example.org"), db.user("ana@example.org")
    assert db.count(CredentialRecord, CredentialRecord.learner_id == lee.id) == 1
    assert db.count(CredentialRecord, CredentialRecord.learner_id == ana.id) == 0
    active = (Confirmation.learner_id == ana.id, Confirmation.consumed_by.is_(None))
    assert db.count(Confirmation, *active) == 5
    with transaction(db.reads) as session:
        (issued,) = bulk_awards.issued(session, job.id)
        assert issued.attested_by == db.user("casey@example.org").id


def test_the_evidence_says_the_records_were_imported_by_whom(db: Db) -> None:
    db.apply(HEADER + rows("lee@example.org"))
    with transaction(db.reads) as session:
        document = json.loads(session.scalars(select(CredentialRecord.document)).one())
        today = session.scalars(select(Confirmation.confirmed_at)).first()
    assert today is not None
    evidence = document["evidence"]
    assert evidence[0]["name"] == "Statement 1 imported from records"
    assert evidence[0]["narrative"].startswith("Statement 1 (") and evidence[0][
        "narrative"
    ].endswith(
        ") was imported from the records of Dr Sam Müller, supervisor, by coordinator Casey "
        f"Coordinator on {today.date().isoformat()}. The records say: Observed in clinical "
        "practice on 2026-11-02, setting: CT suite."
    )
    assert evidence[-1]["name"] == "Level issued from imported records"
    assert evidence[-1]["narrative"].startswith(
        "No supervisor attested this level live. Coordinator Casey Coordinator issued it on "
    )
    assert "of Dr Sam Müller, supervisor" in evidence[-1]["narrative"]
    text = json.dumps(evidence)
    assert "was confirmed by" not in text and "attested on" not in text
    assert document["proof"]


def test_reapplying_the_same_file_is_a_no_op(db: Db) -> None:
    csv = HEADER + rows("lee@example.org") + rows("ana@example.org", range(1, 4))
    first = db.apply(csv)
    confirmations, credentials = db.count(Confirmation), db.count(CredentialRecord)
    assert {r.status for r in db.dry_run(csv).rows} == {"already issued", "already confirmed"}
    second = db.apply(csv)
    again = bulk_awards.run(db.sessions, db.reads, db.issuer, first.id)  # the first job re-run
    assert (second.status, second.done, second.confirmations, again.done) == ("done", 0, 0, 1)
    assert (db.count(Confirmation), db.count(CredentialRecord)) == (confirmations, credentials)


def test_imports_complete_a_level_begun_live(db: Db) -> None:
    from datetime import date

    from issuer.services import signoff

    with transaction(db.sessions) as session:
        sam = accounts.user_by_email(session, "sam@example.org")
        lee = accounts.user_by_email(session, "lee@example.org")
        for n in (1, 2):
            signoff.confirm_statement(
                session,
                sam,
                learner_id=lee.id,
                soc=SOC,
                level=LEVEL,
                statement=n,
                observed_on=date(2026, 10, 1),
                method="simulation",
                setting="Skills lab",
            )
    plan = db.dry_run(HEADER + rows("lee@example.org"))
    assert [r.status for r in plan.rows[:3]] == ["already confirmed"] * 2 + ["valid"]
    assert plan.levels[0].confirmed_before == 2 and plan.complete == 1
    assert db.apply(HEADER + rows("lee@example.org")).done == 1
    with transaction(db.reads) as session:
        evidence = json.loads(session.scalars(select(CredentialRecord.document)).one())["evidence"]
    assert evidence[0]["narrative"].startswith("Statement 1 (")
    assert (
        "was confirmed by Dr Sam Müller, supervisor. Observed in simulation"
        in (evidence[0]["narrative"])
    )
    assert evidence[2]["name"] == "Statement 3 imported from records"


def test_only_coordinators_import(db: Db) -> None:
    with pytest.raises(PermissionDenied):
        db.dry_run(HEADER + rows("lee@example.org"), actor="sam@example.org")
    with pytest.raises(PermissionDenied):
        db.apply(HEADER + rows("lee@example.org"), actor="sam@example.org")
    assert db.count(BulkAwardJob) == 0


def test_a_coordinator_cannot_import_records_for_themselves(db: Db) -> None:
    job = db.apply(HEADER + rows("cleo@example.org"), actor="cleo@example.org")
    assert (job.done, job.confirmations) == (0, 0)
    assert {e["status"] for e in job.errors} == {"yourself"}
    assert db.count(Confirmation) == 0
    assert db.apply(HEADER + rows("cleo@example.org")).done == 1  # another coordinator may


def test_the_worker_issues_as_the_web_app_does(db_settings: Settings) -> None:
    from issuer.web.app import create_app

    app = create_app(db_settings)
    assert app.state.render_method is not None
    assert worker.issuer(db_settings).render_method == app.state.render_method
    app.state.engine.dispose()


def learners(db: Db, count: int) -> str:
    with transaction(db.sessions) as session:
        casey = accounts.user_by_email(session, "casey@example.org")
        for n in range(count):
            accounts.create_user(
                session, email=f"l{n}@example.org", name=f"Learner {n}", roles=["learner"]
            )
            roster.assign(
                session,
                casey,
                learner_email=f"l{n}@example.org",
                supervisor_email="sam@example.org",
                soc=SOC,
            )
    return HEADER + "".join(rows(f"l{n}@example.org") for n in range(count))


def test_a_job_killed_midway_resumes_to_exactly_its_credentials(db: Db) -> None:
    """The worker process is SIGKILLed after its first batch committed; once the lease runs
    out the job is taken over and ends with exactly one credential per learner."""
    count = 300
    csv = learners(db, count)
    with transaction(db.sessions) as session:
        casey = accounts.user_by_email(session, "casey@example.org")
        job_id = records_import.queue(session, casey, csv.encode(), "big.csv").id
    settings = db.settings
    env = {
        **os.environ,
        "ISSUER_BASE_URL": settings.base_url,
        "ISSUER_DATABASE_URL": settings.database_url,
        "ISSUER_KEYS_DIR": str(settings.keys_dir),
        "ISSUER_DATA_DIR": str(settings.data_dir),
    }
    process = subprocess.Popen([sys.executable, "-m", "issuer", "worker"], env=env)
    try:
        done = 0
        for _ in range(3000):
            done = db.count(CredentialRecord)
            if done >= bulk_awards.BATCH:
                break
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(30)
    killed_at = db.count(CredentialRecord)
    assert bulk_awards.BATCH <= killed_at < count, killed_at
    with transaction(db.reads) as session:
        assert bulk_awards.job(session, job_id).status == "running"
    assert bulk_awards.claim(db.sessions) is None  # its lease still holds
    later = datetime.now(UTC) + bulk_awards.LEASE + timedelta(seconds=1)
    assert bulk_awards.claim(db.sessions, now=later) == job_id
    job = bulk_awards.run(db.sessions, db.reads, db.issuer, job_id)
    assert (job.status, job.done, job.total) == ("done", count, count)
    assert db.count(CredentialRecord) == count
    with transaction(db.reads) as session:
        holders = session.scalars(select(CredentialRecord.learner_id)).all()
        assert len(set(holders)) == count
        indexes = session.scalars(select(CredentialRecord.status_list_index)).all()
        assert len(set(indexes)) == count
    assert db.count(Confirmation) == 10 * count
    assert db.count(Confirmation, Confirmation.consumed_by.is_(None)) == 0
