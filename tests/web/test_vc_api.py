"""VC-API `POST /credentials/issue` (case by case: test_vc_api_conformance.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.dids import did_key
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.web.helpers import bearer, make_token


@pytest.fixture
def coordinator(client: TestClient, settings: Settings) -> Iterator[tuple[TestClient, str, str]]:
    """A coordinator's client and token, and the issuer's DID: with no ISSUER_DID set, the
    did:key of its signing key (no route serves a did:key document)."""
    key = KeyRing(settings.keys_dir).generate(None, dev=True)
    token = make_token(settings, "coord@example.org", "Casey", ["coordinator"])
    with TestClient(create_app(settings)) as fresh:
        yield fresh, token, did_key(key.multikey)


def test_issues_a_data_integrity_credential_as_sent(
    coordinator: tuple[TestClient, str, str], unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    client, token, did = coordinator
    unsigned_credential["issuer"] = {"id": did, "type": ["Profile"], "name": "Example Corp"}
    response = client.post(
        "/credentials/issue",
        json={"credential": unsigned_credential, "options": {}},
        headers=bearer(token),
    )
    assert response.status_code == 201
    signed = response.json()["verifiableCredential"]
    assert signed["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
    # Nothing rewritten or filled in: the issuer as sent, and no validFrom added.
    assert signed["issuer"] == unsigned_credential["issuer"] and "validFrom" not in signed
    assert client.post("/credentials/verify", json={"verifiableCredential": signed}).json()[
        "verified"
    ]


def test_bad_credentials_get_400_with_a_reason(
    coordinator: tuple[TestClient, str, str], unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    client, token, did = coordinator
    unsigned_credential["issuer"] = did
    unsigned_credential["credentialSubject"]["shoeSize"] = 44
    response = client.post(
        "/credentials/issue", json={"credential": unsigned_credential}, headers=bearer(token)
    )
    assert response.status_code == 400 and "shoeSize" in response.json()["detail"]
    del unsigned_credential["issuer"]
    response = client.post(
        "/credentials/issue", json={"credential": unsigned_credential}, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("$.credential.issuer: is missing")
    assert (
        client.post("/credentials/issue", json={"nothing": 1}, headers=bearer(token)).status_code
        == 422
    )
