"""Suspension (statusPurpose suspension): set and lifted, shown by every verifier."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.status_list import StatusList
from issuer.web.app import create_app
from tests.web.helpers import World, bearer, build_world


@pytest.fixture
def suspending(db_settings: Settings) -> Iterator[World]:
    with TestClient(create_app(replace(db_settings, suspension=True))) as client:
        yield build_world(client, db_settings)


def verify(world: World, credential: dict) -> dict:  # type: ignore[type-arg]
    return world.client.post(
        "/credentials/verify", json={"verifiableCredential": credential}
    ).json()


def test_suspend_and_lift(suspending: World) -> None:
    suspending.confirm_all()
    issued = suspending.attest().json()
    credential = issued["credential"]
    entries = credential["credentialStatus"]
    assert [e["statusPurpose"] for e in entries] == ["revocation", "suspension"]
    assert entries[1]["statusListCredential"].endswith("/status/2")
    headers = bearer(suspending.coordinator)
    path = f"/api/credentials/{issued['id']}"
    assert (
        suspending.client.post(f"{path}/suspend", json={"reason": ""}, headers=headers).status_code
        == 422
    )
    assert (
        suspending.client.post(
            f"{path}/suspend", json={"reason": "under review"}, headers=headers
        ).status_code
        == 200
    )
    index = int(entries[1]["statusListIndex"])
    listing = suspending.client.get("/status/2").json()
    assert listing["credentialSubject"]["statusPurpose"] == "suspension"
    assert StatusList.decode(listing["credentialSubject"]["encodedList"]).get(index)
    body = verify(suspending, credential)
    assert (
        body["verified"] is False
        and {"check": "status", "message": "suspended by the issuer", "code": "SUSPENDED"}
        in body["errors"]
    )
    page = suspending.client.post(
        "/verify", data={"url": credential["id"]}, headers={"accept": "text/html"}
    )
    assert "✘ Suspended" in page.text
    assert suspending.client.post(f"{path}/unsuspend", headers=headers).status_code == 200
    assert (
        suspending.client.post(f"{path}/unsuspend", headers=headers).status_code == 200
    )  # idempotent
    assert verify(suspending, credential)["verified"] is True
    actions = [e["action"] for e in suspending.client.get("/api/audit", headers=headers).json()]
    assert (
        actions.count("credential.suspended") == 1 and actions.count("credential.unsuspended") == 1
    )


def test_a_credential_without_a_suspension_entry_cannot_be_suspended(world: World) -> None:
    world.confirm_all()
    issued = world.attest().json()
    response = world.client.post(
        f"/api/credentials/{issued['id']}/suspend",
        json={"reason": "x"},
        headers=bearer(world.coordinator),
    )
    assert response.status_code == 409 and "only be revoked" in response.json()["detail"]
