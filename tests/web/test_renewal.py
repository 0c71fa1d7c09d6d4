"""Expiry and re-validation: who expires soon, and the successor credential."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services import catalog
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.app import create_app
from tests.web.helpers import SOC, World, bearer, build_world


def world_with_validity(settings: Settings, days: int) -> Iterator[World]:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        catalog.framework_record(session, SOC).validity_days = days
    engine.dispose()
    with TestClient(create_app(settings)) as client:
        yield build_world(client, settings)


@pytest.fixture
def short(db_settings: Settings) -> Iterator[World]:
    """Credentials valid 20 days: inside the 30-day renewal window from the start."""
    yield from world_with_validity(db_settings, 20)


@pytest.fixture
def long(db_settings: Settings) -> Iterator[World]:
    yield from world_with_validity(db_settings, 365)


def test_sign_off_stays_closed_outside_the_renewal_window(long: World) -> None:
    long.confirm_all()
    assert long.attest().status_code == 201
    closed = long.confirm(1)
    assert closed.status_code == 409 and "closed until" in closed.json()["detail"]
    assert (
        long.client.get("/api/credentials/expiring", headers=bearer(long.coordinator)).json() == []
    )


def test_expiring_credentials_are_listed_and_the_successor_names_its_predecessor(
    short: World,
) -> None:
    short.confirm_all()
    first = short.attest().json()
    expiring = short.client.get(
        "/api/credentials/expiring", headers=bearer(short.coordinator)
    ).json()
    assert [c["id"] for c in expiring] == [first["id"]]
    mine = short.client.get("/api/me/expiring", headers=bearer(short.learner)).json()
    assert [c["id"] for c in mine] == [first["id"]]

    # Re-assessment: every statement confirmed afresh, then the supervisor re-attests.
    assert short.attest().status_code == 422
    short.confirm_all()
    second = short.attest()
    assert second.status_code == 201, second.text
    successor = second.json()
    assert successor["predecessor_id"] == first["id"]
    renewal = successor["credential"]["evidence"][-1]
    assert renewal["id"] == first["url"] and renewal["genre"] == "Renewal"
    listed = {
        c["id"]: c
        for c in short.client.get("/api/credentials", headers=bearer(short.coordinator)).json()
    }
    assert listed[first["id"]]["superseded_at"] is not None
    assert listed[successor["id"]]["superseded_at"] is None
    expiring = short.client.get(
        "/api/credentials/expiring", headers=bearer(short.coordinator)
    ).json()
    assert [c["id"] for c in expiring] == [successor["id"]]
    # The superseded credential still verifies, with a note that it was renewed.
    body = short.client.post(
        "/credentials/verify", json={"verifiableCredential": first["credential"]}
    ).json()
    assert body["verified"] is True
    assert any(w["check"] == "records" and "superseded" in w["message"] for w in body["warnings"])
    progress = short.client.get(
        f"/api/learners/{short.learner_id}/progress",
        params={"soc": SOC},
        headers=bearer(short.coordinator),
    ).json()
    assert (
        next(level for level in progress if level["level"] == "proficient")["credential_id"]
        == successor["id"]
    )
    assert datetime.fromisoformat(successor["valid_until"]) > datetime.now(UTC)
