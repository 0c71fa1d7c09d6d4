"""Pooled PostgreSQL connections whose server went away are replaced before use, without a
round trip per checkout (store/db.py `_refuse_dropped`, instead of pool_pre_ping)."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine, text

from issuer.store.db import make_engine, session_factory, transaction


def test_a_connection_the_server_dropped_is_replaced_before_a_statement_runs(
    database_url: str,
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server to go away")
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    admin = create_engine(engine.url, isolation_level="AUTOCOMMIT")
    try:
        with transaction(sessions) as session:
            before = session.scalar(text("SELECT pg_backend_pid()"))
        # What a restart of PostgreSQL does to every pooled connection.
        with admin.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": before})
            # pg_terminate_backend only signals: wait (bounded) until the backend has gone
            for _ in range(200):
                gone = connection.scalar(
                    text("SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = :pid"),
                    {"pid": before},
                )
                if gone:
                    break
                time.sleep(0.01)
        with transaction(sessions) as session:
            after = session.scalar(text("SELECT pg_backend_pid()"))
            session.execute(text("SELECT 1"))
        assert after != before
    finally:
        admin.dispose()
        engine.dispose()


def test_a_healthy_pooled_connection_is_kept(database_url: str) -> None:
    engine = make_engine(database_url)
    sessions = session_factory(engine)
    try:
        with transaction(sessions) as session:
            session.execute(text("SELECT 1"))
        with transaction(sessions) as session:
            session.execute(text("SELECT 1"))
        assert engine.pool.checkedin() == 1  # one connection, used twice
    finally:
        engine.dispose()
