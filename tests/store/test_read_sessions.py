"""Read-only sessions: verification and status lists read beside a writer instead of queueing
behind it (SQLite), and such a session can never write."""

from __future__ import annotations

import sqlite3

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.store.db import make_engine, read_session_factory, transaction
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
