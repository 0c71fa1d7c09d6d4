"""The forgery that once verified through the VC-API and the verify page: an attacker's did:web
document (on a loopback HTTPS server) lists the attacker's key with OUR did:key as controller,
and the credential names us as its issuer. It must never say "verified" or "signed by the
issuer", in any proof format."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.dids import DID_V1, MULTIKEY_V1, did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, encode_vc_jwt
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.conftest import prepare_database
from tests.https_server import HttpsServer, https_server

__all__ = ["https_server"]

ATTACKER = SigningKey.from_seed(b"\x33" * 32)


@pytest.fixture
def app(settings: Settings) -> TestClient:
    configured = replace(settings, allow_private_fetch=True)
    prepare_database(configured)
    KeyRing(configured.keys_dir).generate(None, dev=True)
    return TestClient(create_app(configured))


def our_did(settings: Settings) -> str:
    return did_key(KeyRing(settings.keys_dir).load(None).multikey)


@pytest.mark.parametrize("form", ["di", OB3_JWT, VC_JOSE])
def test_a_forged_controller_never_verifies_as_our_issuer(
    app: TestClient,
    settings: Settings,
    https_server: HttpsServer,
    unsigned_credential: dict[str, Any],
    form: str,
) -> None:
    ours = our_did(settings)
    forged = f"{https_server.did_web}#key-1"
    https_server.documents["/.well-known/did.json"] = {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": https_server.did_web,
        "verificationMethod": [
            {
                "id": forged,
                "type": "Multikey",
                "controller": ours,
                "publicKeyMultibase": ATTACKER.multikey,
            }
        ],
        "assertionMethod": [forged],
    }
    credential = {**unsigned_credential, "issuer": {"id": ours, "type": ["Profile"], "name": "Us"}}
    secured: Any
    if form == "di":
        secured = add_proof(
            credential,
            key=ATTACKER,
            verification_method=forged,
            created=datetime.now(UTC),
            loader=load_document,
        )
    else:
        secured = encode_vc_jwt(credential, key=ATTACKER, kid=forged, form=form)
    answer = app.post("/credentials/verify", json={"verifiableCredential": secured})
    assert answer.status_code == 400
    body = answer.json()
    assert body["verified"] is False
    assert "issuer" not in body["checks"]
    assert any(e["code"] == "INVALID_VERIFICATION_METHOD" for e in body["errors"])
    text = secured if isinstance(secured, str) else json.dumps(secured)
    page = app.post("/verify", data={"credential": text}, headers={"accept": "text/html"})
    assert "✘ Not verified" in page.text
    assert "signed by a key that" not in page.text
