"""Bulk award jobs: a queued import of sign-off records (records_import.py) applied in the
background, by the worker process (issuer/worker.py) or in-process by the CLI.

A run first records the file's confirmations in one transaction (a Core INSERT of every valid
row, ON CONFLICT DO NOTHING), then issues every level they complete, BATCH at a time: each
batch is signed in a read transaction (signing is most of the work, and on SQLite a write
transaction would hold up every other writer meanwhile) and stored in one short write
transaction through `awards.store_imported`, the same store, claim e-mail and audit as a live
attestation. Progress is recounted from the database after each batch, and what is left to
issue is read from it when a run starts: a run killed midway loses at most its uncommitted
batch, and the next run (after the lease, LEASE) issues exactly what is missing. Nothing is
issued twice: a credential consumes its confirmations, and the database admits one current
credential per learner and level.
"""

from __future__ import annotations

import json
import multiprocessing
import uuid
from collections import defaultdict
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from multiprocessing.pool import Pool

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, defer, lazyload, sessionmaker

from issuer.errors import IssuerError, NotFound
from issuer.services import audit, awards, endorsing, records_import
from issuer.services.issuing import Issuer
from issuer.services.signoff import renewable
from issuer.store.db import transaction
from issuer.store.models import (
    AchievementRecord,
    BulkAwardJob,
    Confirmation,
    CredentialRecord,
    FrameworkRecord,
    User,
)
from issuer.types import JsonObject

BATCH = 100  # credentials per write transaction: what a crash can lose, and the bar's step
LEASE = timedelta(minutes=2)  # a running job whose runner was silent this long is taken over
ERRORS_KEPT = 200
ROUNDS = 3  # passes over what is left: a credential that lost a race is signed anew
IN_CHUNK = 5_000
Pair = tuple[int, int]  # learner id, achievement id


def claim(sessions: sessionmaker[Session], *, now: datetime | None = None) -> int | None:
    """Take the oldest queued job, or a running one whose lease ran out; its id, or None.

    `FOR UPDATE SKIP LOCKED` on PostgreSQL, as mail.deliver_due: two workers never take the
    same job at once (SQLite has one writer at a time anyway)."""
    now = now or datetime.now(UTC)
    with transaction(sessions) as session:
        job = session.scalars(
            select(BulkAwardJob)
            .where(_claimable(now))
            .order_by(BulkAwardJob.id)
            .limit(1)
            .options(lazyload(BulkAwardJob.coordinator), defer(BulkAwardJob.csv))
            .with_for_update(skip_locked=True)
        ).first()
        if job is None:
            return None
        job.status, job.updated_at = "running", now
        return job.id


def waiting(read_sessions: sessionmaker[Session], *, now: datetime | None = None) -> bool:
    """Whether a job waits to be claimed: the worker's cheap look before it loads its keys."""
    now = now or datetime.now(UTC)
    with transaction(read_sessions) as session:
        return session.scalar(select(BulkAwardJob.id).where(_claimable(now)).limit(1)) is not None


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        BulkAwardJob.status == "queued",
        and_(BulkAwardJob.status == "running", BulkAwardJob.updated_at < now - LEASE),
    )


def run(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    issuer: Issuer,
    job_id: int,
    *,
    batch: int = BATCH,
    processes: int = 1,
) -> BulkAwardJob:
    """Apply the job to the end (or from where an earlier run stopped); the job as left.

    `processes` > 1 signs each batch in that many forked processes (the worker and the CLI
    pass the cores they have; a web process, which has threads, signs in-process). Our own
    errors (a full status list, say) fail the job with their message; anything else (the
    database gone) leaves it running, to be taken over once its lease runs out."""
    with Signer(issuer, processes) as signer:
        try:
            return _run(sessions, read_sessions, issuer, signer, job_id, batch)
        except IssuerError as error:
            return _finish(sessions, job_id, "failed", str(error))


def _run(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    issuer: Issuer,
    signer: Signer,
    job_id: int,
    batch: int,
) -> BulkAwardJob:
    pending = _start(sessions, job_id)
    for _ in range(ROUNDS):
        issued = 0
        for chunk in _batches(pending, batch):
            issued += _issue(sessions, read_sessions, issuer, signer, job_id, chunk)
        with transaction(read_sessions) as session:
            pending = _pending(session, job_id)
        if not pending or not issued:
            break
    return _finish(sessions, job_id, "done")


class Signer:
    """Signs a batch of documents: in this process, or split over forked processes that
    inherit the issuer's keys (nothing secret is pickled; each gets documents, returns proofs).
    Signing is ~3.5 ms a credential, most of a job's work; two cores halve it."""

    def __init__(self, issuer: Issuer, processes: int) -> None:
        self.issuer, self.processes = issuer, processes
        self.pool: Pool | None = None

    def __enter__(self) -> Signer:
        if self.processes > 1:
            global _FORKED_ISSUER
            _FORKED_ISSUER = self.issuer
            self.pool = multiprocessing.get_context("fork").Pool(self.processes)
        return self

    def __exit__(self, *_: object) -> None:
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()

    def sign(self, documents: list[JsonObject], now: datetime) -> list[JsonObject]:
        if self.pool is None or len(documents) < 2:
            return [self.issuer.identity.sign(d, created=now) for d in documents]
        size = -(-len(documents) // self.processes)
        return self.pool.map(_sign_forked, [(d, now) for d in documents], chunksize=size)


_FORKED_ISSUER: Issuer | None = None


def _sign_forked(item: tuple[JsonObject, datetime]) -> JsonObject:
    document, now = item
    if _FORKED_ISSUER is None:
        raise RuntimeError("no issuer: the pool must be forked from Signer")
    return _FORKED_ISSUER.identity.sign(document, created=now)


def job(session: Session, job_id: int) -> BulkAwardJob:
    found = session.get(BulkAwardJob, job_id)
    if found is None:
        raise NotFound(f"no import job {job_id}")
    return found


def jobs(session: Session, limit: int = 20) -> list[BulkAwardJob]:
    """The latest jobs, newest first (without their files)."""
    return list(
        session.scalars(
            select(BulkAwardJob)
            .options(defer(BulkAwardJob.csv))
            .order_by(BulkAwardJob.id.desc())
            .limit(limit)
        )
    )


def issued(session: Session, job_id: int, limit: int = 500) -> list[CredentialRecord]:
    """The credentials the job issued (those its confirmations went into), newest first."""
    ids = select(Confirmation.consumed_by).where(
        Confirmation.import_job_id == job_id, Confirmation.consumed_by.is_not(None)
    )
    return list(
        session.scalars(
            select(CredentialRecord)
            .where(CredentialRecord.id.in_(ids))
            .options(defer(CredentialRecord.document))
            .order_by(CredentialRecord.issued_at.desc(), CredentialRecord.id)
            .limit(limit)
        )
    )


# ── a run ──


def _start(sessions: sessionmaker[Session], job_id: int) -> list[Pair]:
    """Record the file's confirmations (again: the plan skips what is stored) and count."""
    now = datetime.now(UTC)
    with transaction(sessions) as session:
        found = job(session, job_id)
        coordinator = found.coordinator
        rows = records_import.parse(found.csv.encode())
        checked = records_import.plan(session, rows, coordinator, now.date())
        _record(session, found, coordinator, checked.records, now)
        pending = _pending(session, job_id)
        found.confirmations = _count(session, job_id, Confirmation.id)
        found.done = _count(session, job_id, Confirmation.consumed_by)
        found.total = found.done + len(pending)
        found.errors = [
            {"row": r.row, "status": r.status, "message": r.message}
            for r in checked.errors()[:ERRORS_KEPT]
        ]
        found.status, found.updated_at = "running", now
        return pending


def _record(
    session: Session,
    found: BulkAwardJob,
    coordinator: User,
    records: list[records_import.Record],
    now: datetime,
) -> None:
    """One INSERT of every valid row (Core, executemany). A confirmation made meanwhile
    (live, or by another run of this job) wins: the active-per-statement index refuses the
    row, and DO NOTHING skips it instead of failing the batch."""
    if not records:
        return
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Confirmation)
    session.execute(
        insert.on_conflict_do_nothing(),
        [
            {
                "learner_id": r.learner_id,
                "achievement_id": r.achievement_id,
                "statement_index": r.statement_index,
                "supervisor_id": r.supervisor_id,
                "observed_on": r.observed_on,
                "method": r.method,
                "setting": r.setting,
                "confirmed_at": now,
                "imported_by_id": coordinator.id,
                "import_job_id": found.id,
            }
            for r in records
        ],
    )


def _pending(session: Session, job_id: int) -> list[Pair]:
    """The levels of the job's learners that every statement now confirms: what is left."""
    touched = set(
        session.execute(
            select(Confirmation.learner_id, Confirmation.achievement_id)
            .where(Confirmation.import_job_id == job_id)
            .distinct()
        ).tuples()
    )
    sizes = {
        a.id: len(a.document["resultDescription"])
        for a in session.scalars(select(AchievementRecord))
    }
    learners = sorted({learner for learner, _ in touched})
    counts: dict[Pair, int] = defaultdict(int)
    # By learner ids in chunks (the active-confirmation index leads with them): a join on a
    # subquery of the job's rows ran 2 s on PostgreSQL before its statistics caught up.
    for start in range(0, len(learners), IN_CHUNK):
        for learner, achievement in session.execute(
            select(Confirmation.learner_id, Confirmation.achievement_id).where(
                Confirmation.learner_id.in_(learners[start : start + IN_CHUNK]),
                Confirmation.withdrawn_at.is_(None),
                Confirmation.consumed_by.is_(None),
            )
        ).tuples():
            counts[(learner, achievement)] += 1
    return sorted(pair for pair in touched if counts.get(pair) == sizes[pair[1]])


def _count(session: Session, job_id: int, column: object) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(column))).where(Confirmation.import_job_id == job_id)
        )
        or 0
    )


def _batches(pairs: list[Pair], size: int) -> Iterator[list[Pair]]:
    for start in range(0, len(pairs), size):
        yield pairs[start : start + size]


def _issue(
    sessions: sessionmaker[Session],
    read_sessions: sessionmaker[Session],
    issuer: Issuer,
    signer: Signer,
    job_id: int,
    pairs: list[Pair],
) -> int:
    """Sign a batch (no write lock held), then store it in one transaction; how many stored."""
    with transaction(read_sessions) as session:
        coordinator_id = job(session, job_id).coordinator_id
        signed = _sign(session, issuer, signer, coordinator_id, pairs, datetime.now(UTC))
    with transaction(sessions) as session:
        coordinator = session.get_one(User, coordinator_id)
        # Held, so that they stay in the (weak) identity map: storing each credential and
        # queueing its claim e-mail then reads no learner, level or framework one by one.
        held = [
            *session.scalars(select(User).where(User.id.in_({s.learner_id for s in signed}))),
            *session.scalars(select(AchievementRecord)),
            *session.scalars(select(FrameworkRecord)),
        ]
        stored = sum(
            awards.store_imported(session, coordinator, item, issuer.base_url) is not None
            for item in signed
        )
        found = job(session, job_id)
        found.done = _count(session, job_id, Confirmation.consumed_by)
        found.updated_at = datetime.now(UTC)  # renews the lease
        del held
    return stored


def _sign(
    session: Session,
    issuer: Issuer,
    signer: Signer,
    coordinator_id: int,
    pairs: list[Pair],
    now: datetime,
) -> list[awards.SignedAward]:
    coordinator = session.get_one(User, coordinator_id)
    learners = {
        u.id: u for u in session.scalars(select(User).where(User.id.in_({p[0] for p in pairs})))
    }
    achievements = {a.id: a for a in session.scalars(select(AchievementRecord))}
    confirmed = _confirmations(session, pairs)
    current = _current(session, pairs)
    indexes = awards.free_status_indexes(session, len(pairs))
    endorsements = {
        a: endorsing.embedded(session, [achievements[a].url, endorsing.profile_id(issuer)])
        for a in {p[1] for p in pairs}
    }
    built = []
    for (learner_id, achievement_id), index in zip(pairs, indexes, strict=True):
        predecessor = current.get((learner_id, achievement_id))
        if predecessor is not None and not renewable(predecessor, now):
            continue  # issued meanwhile (live): nothing to do
        award = _award(
            learners[learner_id],
            achievements[achievement_id],
            confirmed[(learner_id, achievement_id)],
            coordinator,
            endorsements[achievement_id],
            now,
        )
        if award is not None:
            credential_id = str(uuid.uuid4())
            document = awards.unsigned_credential(
                issuer, award, credential_id, index, predecessor, now
            )
            built.append((award, credential_id, index, predecessor, document))
    documents = signer.sign([document for *_, document in built], now)
    return [
        _signed(award, coordinator, credential_id, index, predecessor, document, now)
        for (award, credential_id, index, predecessor, _), document in zip(
            built, documents, strict=True
        )
    ]


def _award(
    learner: User,
    achievement: AchievementRecord,
    confirmed: dict[int, Confirmation],
    coordinator: User,
    endorsements: Mapping[str, list[JsonObject]],
    now: datetime,
) -> awards.Award | None:
    statements = [d["name"] for d in achievement.document["resultDescription"]]
    if len(confirmed) != len(statements):
        return None  # a confirmation withdrawn since the run started
    confirmations = [confirmed[index] for index in range(len(statements))]
    validity = achievement.framework.validity_days
    return awards.Award(
        learner=learner,
        supervisor=confirmations[0].supervisor,
        achievement=achievement,
        confirmations=confirmations,
        evidence=awards.statement_evidence(statements, confirmations),
        valid_until=now + timedelta(days=validity) if validity else None,
        endorsements=endorsements,
        imported_by=coordinator,
        records_of=tuple(dict.fromkeys(c.supervisor.name for c in confirmations)),
    )


def _signed(
    award: awards.Award,
    coordinator: User,
    credential_id: str,
    index: int,
    predecessor: CredentialRecord | None,
    document: JsonObject,
    now: datetime,
) -> awards.SignedAward:
    return awards.SignedAward(
        supervisor_id=coordinator.id,  # attested_by: who caused the issuance
        learner_id=award.learner.id,
        learner_email=award.learner.email,
        soc=award.achievement.framework.soc,
        level=award.achievement.level_key,
        achievement_id=award.achievement.id,
        achievement_url=award.achievement.url,
        confirmation_ids=tuple(c.id for c in award.confirmations),
        predecessor_id=predecessor.id if predecessor else None,
        credential_id=credential_id,
        status_list_index=index,
        document=json.dumps(document, ensure_ascii=False),
        issued_at=now,
        valid_until=award.valid_until,
    )


def _confirmations(session: Session, pairs: list[Pair]) -> dict[Pair, dict[int, Confirmation]]:
    wanted = set(pairs)
    grouped: dict[Pair, dict[int, Confirmation]] = defaultdict(dict)
    for confirmation in session.scalars(
        select(Confirmation).where(
            Confirmation.learner_id.in_({p[0] for p in pairs}),
            Confirmation.withdrawn_at.is_(None),
            Confirmation.consumed_by.is_(None),
        )
    ):
        pair = (confirmation.learner_id, confirmation.achievement_id)
        if pair in wanted:
            grouped[pair][confirmation.statement_index] = confirmation
    return grouped


def _current(session: Session, pairs: list[Pair]) -> dict[Pair, CredentialRecord]:
    wanted = set(pairs)
    found = session.scalars(
        select(CredentialRecord)
        .where(
            CredentialRecord.learner_id.in_({p[0] for p in pairs}),
            CredentialRecord.copy_of.is_(None),
            CredentialRecord.revoked_at.is_(None),
            CredentialRecord.superseded_at.is_(None),
        )
        .options(defer(CredentialRecord.document))
    )
    return {
        (r.learner_id, r.achievement_id): r
        for r in found
        if (r.learner_id, r.achievement_id) in wanted
    }


def _finish(
    sessions: sessionmaker[Session], job_id: int, status: str, failure: str | None = None
) -> BulkAwardJob:
    with transaction(sessions) as session:
        found = job(session, job_id)
        found.done = _count(session, job_id, Confirmation.consumed_by)
        found.status, found.failure, found.updated_at = status, failure, datetime.now(UTC)
        audit.record(
            session,
            found.coordinator,
            "records.imported" if status == "done" else "records.import_failed",
            found.file_name,
            job=found.id,
            confirmations=found.confirmations,
            credentials=found.done,
            errors=len(found.errors),
            **({"failure": failure} if failure else {}),
        )
        return found
