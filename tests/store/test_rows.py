"""Rows written by Core INSERTs (issuer/store/rows.py): `insert_unless_taken` writes a row
unless a unique index refuses it, with one statement SQLAlchemy compiles once per process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine.interfaces import CacheStats

from issuer.config import Settings
from issuer.services import accounts
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import AchievementRecord, CredentialRecord
from issuer.store.rows import insert_unless_taken

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def credential(learner_id: int, achievement_id: int, index: int, number: int) -> CredentialRecord:
    return CredentialRecord(
        id=f"00000000-0000-4000-8000-{number:012d}",
        learner_id=learner_id,
        achievement_id=achievement_id,
        attested_by=learner_id,
        status_list_index=index,
        document="{}",
        issued_at=AT,
        valid_until=AT + timedelta(days=365),
    )


def test_a_row_goes_in_unless_a_unique_index_refuses_it_and_compiles_once(
    db_settings: Settings,
) -> None:
    engine = make_engine(db_settings.database_url)
    caching: list[Any] = []

    def seen(_conn: Any, _cursor: Any, sql: str, _params: Any, context: Any, _many: Any) -> None:
        if sql.startswith("INSERT INTO credentials"):
            caching.append(context.cache_hit)

    event.listen(engine, "after_cursor_execute", seen)
    try:
        with transaction(session_factory(engine)) as session:
            learners = [
                accounts.create_user(
                    session, email=f"r{n}@example.org", name=f"R {n}", roles=["learner"]
                )
                for n in range(3)
            ]
            achievements = session.scalars(select(AchievementRecord.id).limit(2)).all()
            session.flush()
            first, second, third = learners
            assert insert_unless_taken(session, credential(first.id, achievements[0], 7, 1))
            # the status index is taken: refused, nothing written
            assert not insert_unless_taken(session, credential(second.id, achievements[0], 7, 2))
            # the learner already holds the level: refused
            assert not insert_unless_taken(session, credential(first.id, achievements[0], 8, 3))
            assert insert_unless_taken(session, credential(third.id, achievements[1], 9, 4))
        with session_factory(engine)() as session:
            stored = session.scalars(select(CredentialRecord).order_by(CredentialRecord.id)).all()
            assert [(r.id[-1], r.status_list_index) for r in stored] == [("1", 7), ("4", 9)]
            assert stored[0].issued_at == AT and stored[0].valid_until == AT + timedelta(days=365)
            assert stored[0].public is True  # the column's Python-side default
    finally:
        engine.dispose()
    # Compiled at most once (by an earlier test in this process, or here), then reused:
    # SQLAlchemy's dialect INSERT had no cache key and was compiled for every issuance.
    assert caching[1:] == [CacheStats.CACHE_HIT] * 3, caching
