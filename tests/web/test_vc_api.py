"""VC-API `POST /credentials/issue`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.web.helpers import bearer, make_token


@pytest.fixture
def coordinator(client: TestClient, settings: Settings) -> Iterator[tuple[TestClient, str]]:
    KeyRing(settings.keys_dir).generate(None, dev=True)
    token = make_token(settings, "coord@example.org", "Casey", ["coordinator"])
    with TestClient(create_app(settings)) as fresh:
        yield fresh, token


def test_issues_a_data_integrity_credential(
    coordinator: tuple[TestClient, str], unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    client, token = coordinator
    response = client.post(
        "/credentials/issue",
        json={"credential": unsigned_credential, "options": {}},
        headers=bearer(token),
    )
    assert response.status_code == 201
    signed = response.json()["verifiableCredential"]
    assert signed["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    assert signed["issuer"]["id"].startswith("did:key:")


def test_bad_credentials_get_400_with_a_reason(
    coordinator: tuple[TestClient, str], unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    client, token = coordinator
    unsigned_credential["credentialSubject"]["shoeSize"] = 44
    response = client.post(
        "/credentials/issue", json={"credential": unsigned_credential}, headers=bearer(token)
    )
    assert response.status_code == 400 and "shoeSize" in response.json()["detail"]
    assert (
        client.post("/credentials/issue", json={"nothing": 1}, headers=bearer(token)).status_code
        == 422
    )
