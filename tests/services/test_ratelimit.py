"""The shared rate-limit counters, on SQLite and PostgreSQL: the sliding-window estimate,
forgiving a hit, pruning, and hits racing from many connections counted exactly."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from issuer.errors import RateLimited
from issuer.services import ratelimit
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import RateLimitCounter

MINUTE = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)  # the start of a window


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return session_factory(engine)


def hit(
    sessions: sessionmaker[Session], at: datetime, key: str = "192.0.2.1", limit: int = 3
) -> int:
    """One hit in its own transaction, as the edge makes it: 0 when allowed, else Retry-After."""
    try:
        with transaction(sessions) as session:
            ratelimit.hit(session, "test", key, limit, at)
    except RateLimited as refused:
        return refused.retry_after
    return 0


def test_allows_the_limit_per_minute_then_refuses_until_the_window_has_slid(
    sessions: sessionmaker[Session],
) -> None:
    at = MINUTE + timedelta(seconds=10)
    assert [hit(sessions, at) for _ in range(4)] == [0, 0, 0, 70]
    assert hit(sessions, at, key="192.0.2.2") == 0  # another key has its own count
    # Just after the minute turns, the last minute's three hits still count almost fully.
    assert hit(sessions, MINUTE + timedelta(seconds=61)) > 0
    # 20 s into the next window a third of them has slid out: room for exactly one more.
    assert hit(sessions, MINUTE + timedelta(seconds=80)) == 0
    assert hit(sessions, MINUTE + timedelta(seconds=80)) > 0
    assert hit(sessions, MINUTE + timedelta(seconds=125)) == 0  # two windows on: all gone


def test_a_refused_hit_counts_nothing(sessions: sessionmaker[Session]) -> None:
    at = MINUTE + timedelta(seconds=5)
    for _ in range(10):
        hit(sessions, at)
    with transaction(sessions) as session:
        assert session.scalar(select(RateLimitCounter.hits)) == 3


def test_forgiving_takes_back_only_the_hits_given(sessions: sessionmaker[Session]) -> None:
    at = MINUTE + timedelta(seconds=5)
    assert hit(sessions, at) == 0
    with transaction(sessions) as session:
        mine = ratelimit.hit(session, "test", "192.0.2.1", 3, at)
        ratelimit.forgive(session, mine)
    assert [hit(sessions, at) for _ in range(3)] == [0, 0, 75]


def test_keys_are_stored_hashed(sessions: sessionmaker[Session]) -> None:
    hit(sessions, MINUTE, key="someone@example.org")
    with transaction(sessions) as session:
        row = session.scalars(select(RateLimitCounter)).one()
    assert "someone" not in row.key_hash and len(row.key_hash) == 64


def test_pruning_keeps_only_the_windows_an_estimate_reads(
    sessions: sessionmaker[Session],
) -> None:
    for minutes in range(5):
        hit(sessions, MINUTE + timedelta(minutes=minutes))
    with transaction(sessions) as session:
        ratelimit.prune(session, MINUTE + timedelta(minutes=4, seconds=30))
    with transaction(sessions) as session:
        kept = session.scalars(select(RateLimitCounter.window_start)).all()
    assert sorted(kept) == [MINUTE + timedelta(minutes=3), MINUTE + timedelta(minutes=4)]


def test_racing_hits_from_many_connections_are_counted_exactly(
    sessions: sessionmaker[Session],
) -> None:
    racers, limit = 30, 10
    barrier = threading.Barrier(racers, timeout=60)
    at = MINUTE + timedelta(seconds=30)

    def one(_: int) -> int:
        barrier.wait()
        return hit(sessions, at, limit=limit)

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(one, range(racers)))
    assert results.count(0) == limit
    with transaction(sessions) as session:
        assert session.scalar(select(RateLimitCounter.hits)) == limit


def test_retry_after_is_when_one_more_hit_fits() -> None:
    half, quarter = Fraction(1, 2), Fraction(1, 4)
    # Over the limit in this window: 20 s into the next, 3 × (1 - 1/3) + 1 = 3 fits again.
    assert ratelimit.retry_after(previous=0, hits=3, per_minute=3, elapsed=half) == 50
    # Room in this window 40 s in, once the previous window's 6 hits have faded to 2.
    assert ratelimit.retry_after(previous=6, hits=0, per_minute=3, elapsed=quarter) == 25
