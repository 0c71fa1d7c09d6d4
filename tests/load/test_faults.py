"""Faults: a database that cannot be written gives a clear error and no half-written credential."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from issuer.config import Settings
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import Confirmation, CredentialRecord, OutboxMessage
from issuer.web.app import create_app
from tests.web.helpers import LEVEL, SOC, World, bearer


def counts(settings: Settings) -> tuple[int, int, int]:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        found = tuple(
            session.scalar(select(func.count()).select_from(model)) or 0
            for model in (CredentialRecord, Confirmation, OutboxMessage)
        )
    engine.dispose()
    return found  # type: ignore[return-value]


def read_only_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return f"{url}?options=-c%20default_transaction_read_only%3Don"


def test_a_read_only_database_refuses_clearly_and_stores_nothing(
    world: World, db_settings: Settings
) -> None:
    world.confirm_all()
    before = counts(db_settings)
    read_only = replace(db_settings, database_url=read_only_url(db_settings.database_url))
    with TestClient(create_app(read_only)) as client:
        response = client.post(
            f"/api/supervisor/learners/{world.learner_id}/attestations",
            json={"soc": SOC, "level": LEVEL},
            headers=bearer(world.supervisor),
        )
    assert response.status_code == 503
    assert response.json() == {"detail": "the database is read-only; nothing was stored"}
    assert counts(db_settings) == before  # no credential, no consumed confirmation, no mail
    assert world.attest().status_code == 201  # and once writable again, it works
    # The read-only URL is an SQLite URI ("file:/tmp/...?mode=ro"): read as a plain path, it
    # once left an empty `file:/tmp/pytest-of-.../` tree in the directory tests ran from.
    strays = sorted(p.name for p in Path.cwd().iterdir() if p.name.startswith("file:"))
    assert strays == [], f"{strays} left in {Path.cwd()}"
