from dataclasses import replace
from pathlib import Path

from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app


def app_with(settings: Settings, did: str | None) -> TestClient:
    ring = KeyRing(settings.keys_dir)
    ring.generate(None, dev=True)
    ring.rotate(None, dev=True)
    return TestClient(create_app(replace(settings, did=did)))


def test_serves_the_did_web_document_with_every_key(settings: Settings) -> None:
    client = app_with(settings, "did:web:badges.example.org")
    response = client.get("/.well-known/did.json")
    assert response.status_code == 200
    document = response.json()
    assert document["id"] == "did:web:badges.example.org"
    assert len(document["assertionMethod"]) == 2
    assert {m["type"] for m in document["verificationMethod"]} == {"Multikey"}


def test_serves_a_path_did_web_at_its_path(settings: Settings) -> None:
    client = app_with(settings, "did:web:example.org:issuers:radiology")
    assert client.get("/issuers/radiology/did.json").json()["id"].endswith(":radiology")
    assert client.get("/.well-known/did.json").status_code == 404


def test_no_did_document_for_did_key(settings: Settings, tmp_path: Path) -> None:
    assert app_with(settings, None).get("/.well-known/did.json").status_code == 404
