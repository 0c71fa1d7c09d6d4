"""Issuer binding: a key speaks for a controller only when the document resolved for it says so.

The attacks run against real documents on a loopback HTTPS server, for every proof format.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from issuer.checks import INVALID_ISSUER
from issuer.controllers import (
    INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID,
    INVALID_RELATIONSHIP,
    INVALID_VERIFICATION_METHOD,
    bind_verification_method,
    controller_url,
)
from issuer.dids import DID_V1, MULTIKEY_V1, did_key, resolve_locally
from issuer.errors import KeyNotBound
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, encode_vc_jwt
from issuer.services.fetching import Fetcher
from issuer.services.identity import make_resolver
from issuer.verification import verify_credential
from tests.https_server import HttpsServer, https_server

__all__ = ["https_server"]

NOW = datetime(2026, 11, 23, tzinfo=UTC)
VICTIM = SigningKey.from_seed(b"\x11" * 32)
ATTACKER = SigningKey.from_seed(b"\x22" * 32)
VICTIM_DID = did_key(VICTIM.multikey)
FORMS = ["di", OB3_JWT, VC_JOSE]


def resolver() -> Any:
    return make_resolver(None, Fetcher(allow_private=True))


def method(method_id: str, controller: str, key: SigningKey) -> dict[str, str]:
    return {
        "id": method_id,
        "type": "Multikey",
        "controller": controller,
        "publicKeyMultibase": key.multikey,
    }


def publish(server: HttpsServer, path: str, document: dict[str, Any]) -> None:
    server.documents[path] = {"@context": [DID_V1, MULTIKEY_V1], **document}


def secure(credential: dict[str, Any], form: str, key: SigningKey, method_id: str) -> Any:
    if form == "di":
        return add_proof(
            credential, key=key, verification_method=method_id, created=NOW, loader=load_document
        )
    return encode_vc_jwt(credential, key=key, kid=method_id, form=form)


def verify(secured: Any) -> Any:
    return verify_credential(secured, now=NOW, resolve=resolver(), loader=load_document)


@pytest.fixture
def credential(unsigned_credential: dict[str, Any]) -> dict[str, Any]:
    unsigned_credential["issuer"] = VICTIM_DID
    unsigned_credential["validFrom"] = "2026-01-01T00:00:00Z"
    return unsigned_credential


@pytest.mark.parametrize("form", FORMS)
def test_fails_to_verify_if_a_did_web_document_claims_the_victim_as_controller(
    https_server: HttpsServer, credential: dict[str, Any], form: str
) -> None:
    """The attack that once verified: the attacker's did:web document lists the attacker's key
    with our did:key as its `controller`, and the credential names our did:key as issuer."""
    did = https_server.did_web
    forged = f"{did}#key-1"
    publish(
        https_server,
        "/.well-known/did.json",
        {"id": did, "verificationMethod": [method(forged, VICTIM_DID, ATTACKER)]}
        | {"assertionMethod": [forged]},
    )
    report = verify(secure(credential, form, ATTACKER, forged))
    assert not report.verified
    proof = next(c for c in report.checks if c.name == "proof")
    assert proof.status == "failed" and proof.code == INVALID_VERIFICATION_METHOD
    assert "not the document it was found in" in proof.message
    assert report.verdict == "not verified"


@pytest.mark.parametrize("form", FORMS)
def test_a_key_its_did_web_publishes_verifies(
    https_server: HttpsServer, credential: dict[str, Any], form: str
) -> None:
    did = https_server.did_web
    own = f"{did}#key-1"
    publish(
        https_server,
        "/.well-known/did.json",
        {"id": did, "verificationMethod": [method(own, did, ATTACKER)], "assertionMethod": [own]},
    )
    credential["issuer"] = did
    report = verify(secure(credential, form, ATTACKER, own))
    assert report.verified, report.checks
    assert next(c for c in report.checks if c.name == "issuer").status == "passed"


@pytest.mark.parametrize("form", FORMS)
def test_an_https_controller_document_binds_its_keys(
    https_server: HttpsServer, credential: dict[str, Any], form: str
) -> None:
    """Controlled Identifiers 1.0: an https: identifier whose document lists the key."""
    controller = https_server.url("/issuers/radiology")
    own = f"{controller}#key-1"
    publish(
        https_server,
        "/issuers/radiology",
        {"id": controller, "verificationMethod": [method(own, controller, ATTACKER)]}
        | {"assertionMethod": [own]},
    )
    credential["issuer"] = controller
    assert verify(secure(credential, form, ATTACKER, own)).verified


def did_jwk(key: SigningKey) -> str:
    """The did:jwk of an Ed25519 key: its public JWK, base64url-encoded (did-jwk spec)."""
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(key.private_key.public_key(), as_dict=True)
    encoded = base64.urlsafe_b64encode(json.dumps(jwk, separators=(",", ":")).encode())
    return "did:jwk:" + encoded.decode().rstrip("=")


@pytest.mark.parametrize("form", FORMS)
def test_a_did_jwk_key_binds_to_its_did(credential: dict[str, Any], form: str) -> None:
    did = did_jwk(ATTACKER)
    credential["issuer"] = did
    report = verify(secure(credential, form, ATTACKER, f"{did}#0"))
    assert report.verified, report.checks
    issuer = next(c for c in report.checks if c.name == "issuer")
    assert issuer.status == "passed" and did in issuer.message


@pytest.mark.parametrize("form", FORMS)
def test_fails_to_verify_if_a_did_jwk_key_signs_for_another_issuer(
    credential: dict[str, Any], form: str
) -> None:
    """The key binds to its did:jwk, which is not the issuer the credential names."""
    did = did_jwk(ATTACKER)
    report = verify(secure(credential, form, ATTACKER, f"{did}#0"))
    assert not report.verified
    checks = {c.name: c for c in report.checks}
    assert checks["proof"].status == "passed"
    assert checks["issuer"].status == "failed" and checks["issuer"].code == INVALID_ISSUER
    assert f"signed by a key of {did}, not of the issuer {VICTIM_DID}" in checks["issuer"].message


def test_fails_to_verify_if_the_document_is_about_someone_else(
    https_server: HttpsServer, credential: dict[str, Any]
) -> None:
    controller = https_server.url("/issuers/radiology")
    own = f"{controller}#key-1"
    publish(
        https_server,
        "/issuers/radiology",
        {"id": VICTIM_DID, "verificationMethod": [method(own, controller, ATTACKER)]},
    )
    credential["issuer"] = controller
    report = verify(secure(credential, "di", ATTACKER, own))
    assert not report.verified
    assert "is not about" in report.checks[0].message


def test_fails_to_verify_if_the_key_is_listed_for_another_purpose(
    https_server: HttpsServer, credential: dict[str, Any]
) -> None:
    did = https_server.did_web
    own = f"{did}#key-1"
    publish(
        https_server,
        "/.well-known/did.json",
        {"id": did, "verificationMethod": [method(own, did, ATTACKER)], "authentication": [own]},
    )
    credential["issuer"] = did
    report = verify(secure(credential, "di", ATTACKER, own))
    assert report.checks[0].code == INVALID_RELATIONSHIP


def test_a_jwk_header_shows_the_signature_intact_but_never_the_issuer(
    credential: dict[str, Any],
) -> None:
    jwk = jwt.algorithms.OKPAlgorithm.to_jwk(ATTACKER.private_key.public_key(), as_dict=True)
    token = jwt.encode(
        {"vc": credential, "iss": VICTIM_DID},
        ATTACKER.private_key,
        algorithm="EdDSA",
        headers={"jwk": jwk},
    )
    report = verify(token)
    assert not report.verified
    checks = {c.name: c for c in report.checks}
    assert checks["proof"].status == "passed"
    assert checks["issuer"].status == "failed" and checks["issuer"].code == "ISSUER_NOT_PROVEN"
    assert "signature intact, issuer not proven" in checks["issuer"].message
    assert report.verdict == "issuer not proven"


@pytest.mark.parametrize("form", FORMS)
def test_a_key_in_the_fragment_of_an_unreachable_document_proves_no_issuer(
    credential: dict[str, Any], form: str
) -> None:
    unreachable = f"did:web:127.0.0.1%3A9#{ATTACKER.multikey}"  # nothing listens on port 9
    credential["issuer"] = "did:web:127.0.0.1%3A9"
    report = verify(secure(credential, form, ATTACKER, unreachable))
    assert not report.verified
    checks = {c.name: c for c in report.checks}
    assert checks["issuer"].code == "ISSUER_NOT_PROVEN"
    assert report.verdict == "issuer not proven"


def test_an_unreachable_key_is_not_checked_rather_than_failed(credential: dict[str, Any]) -> None:
    unreachable = "did:web:127.0.0.1%3A9#key-1"
    credential["issuer"] = "did:web:127.0.0.1%3A9"
    report = verify(secure(credential, "di", ATTACKER, unreachable))
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["proof"] == "not checked" and statuses["issuer"] == "not checked"
    assert not report.verified and report.failed == []
    assert report.verdict == "not checked"


def test_binding_refuses_a_method_that_names_another_controller() -> None:
    did = did_key(ATTACKER.multikey)
    document = resolve_locally(did)
    document["verificationMethod"][0]["controller"] = VICTIM_DID
    with pytest.raises(KeyNotBound) as refused:
        bind_verification_method(
            f"{did}#{ATTACKER.multikey}", lambda _: document, "assertionMethod"
        )
    assert refused.value.code == INVALID_VERIFICATION_METHOD


def test_binding_refuses_a_document_retrieved_for_another_url() -> None:
    did = did_key(ATTACKER.multikey)
    with pytest.raises(KeyNotBound) as refused:
        bind_verification_method(
            f"{did}#{ATTACKER.multikey}", lambda _: resolve_locally(VICTIM_DID), "assertionMethod"
        )
    assert refused.value.code == INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID


@pytest.mark.parametrize("bad", ["#key-1", "key-1", ""])
def test_a_relative_method_url_is_refused(bad: str) -> None:
    with pytest.raises(KeyNotBound):
        controller_url(bad)


def test_binding_accepts_methods_embedded_in_a_relationship() -> None:
    did = did_key(ATTACKER.multikey)
    document = resolve_locally(did)
    embedded = document.pop("verificationMethod")[0]
    document["assertionMethod"] = [embedded]
    bound = bind_verification_method(embedded["id"], lambda _: document, "assertionMethod")
    assert bound.controller == did
