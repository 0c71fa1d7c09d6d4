"""Read-only sessions: verification and status lists read beside a writer instead of queueing
behind it (SQLite), and such a session can never write."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient
from psycopg.pq import TransactionStatus
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from issuer.config import Settings
from issuer.store.db import make_engine, read_session_factory, session_factory, transaction
from issuer.store.models import User
from issuer.web.app import create_app
from tests.web.helpers import World


def test_verification_runs_while_a_writer_holds_the_sqlite_lock(
    world: World, db_settings: Settings
) -> None:
    if not db_settings.database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL readers never wait for writers")
    world.confirm_all()
    credential = world.attest().json()["credential"]
    writer = sqlite3.connect(db_settings.database_url.removeprefix("sqlite:///"), timeout=1)
    writer.execute("BEGIN IMMEDIATE")  # another process in the middle of an issuance
    try:
        # (Had these requests needed the write lock, they would wait out the 30 s busy
        # timeout and answer 503.)
        with TestClient(create_app(db_settings)) as client:
            verified = client.post("/credentials/verify", json={"verifiableCredential": credential})
            status = client.get("/status/1")
    finally:
        writer.rollback()
        writer.close()
    assert verified.status_code == 200 and verified.json()["verified"] is True
    assert status.status_code == 200


def test_a_read_only_session_refuses_to_write(db_settings: Settings) -> None:
    engine = make_engine(db_settings.database_url)
    with pytest.raises(RuntimeError, match="read-only session"):
        with transaction(read_session_factory(engine)) as session:
            session.add(User(email="y@example.org", name="Y"))
    engine.dispose()


def test_postgresql_reads_open_no_transaction_and_writes_still_do(db_settings: Settings) -> None:
    """A read-only session on PostgreSQL sends its SELECTs without BEGIN and ROLLBACK (each
    statement has its own snapshot at READ COMMITTED either way); a write session still runs
    in one transaction, and a connection the pool hands from one to the other keeps neither's
    mode."""
    if not db_settings.database_url.startswith("postgresql"):
        pytest.skip("SQLite's readers take no write lock; their BEGIN is what keeps them apart")
    engine = make_engine(db_settings.database_url)
    try:
        for _ in range(2):  # the second round reuses the pooled connection
            with transaction(read_session_factory(engine)) as reading:
                reading.scalar(select(func.count()).select_from(User))
                assert _status(reading) == TransactionStatus.IDLE
            with transaction(session_factory(engine)) as writing:
                writing.scalar(select(func.count()).select_from(User))
                assert _status(writing) == TransactionStatus.INTRANS
    finally:
        engine.dispose()


def _status(session: Session) -> TransactionStatus:
    """The server-side transaction state of the session's connection (psycopg's view)."""
    connection = session.connection().connection.dbapi_connection
    assert connection is not None
    return TransactionStatus(connection.info.transaction_status)
