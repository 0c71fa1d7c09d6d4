import base64
import json

import pytest

from issuer.controllers import authorizes, find_verification_method
from issuer.dids import (
    did_document,
    did_key,
    did_web_path,
    did_web_url,
    resolve_did_jwk,
    resolve_did_key,
)
from issuer.errors import InvalidInput
from issuer.keys import SigningKey


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000:user:alice", "https://example.com:3000/user/alice/did.json"),
    ],
)
def test_did_web_resolves_to_the_spec_url(did: str, url: str) -> None:
    assert did_web_url(did) == url


def test_did_web_path_is_where_our_app_serves_it() -> None:
    assert did_web_path("did:web:badges.example.org") == "/.well-known/did.json"
    assert did_web_path("did:web:example.org:issuers:rad") == "/issuers/rad/did.json"


@pytest.mark.parametrize("bad", ["did:web:", "did:key:z6Mk", "did:web:a%2Fb"])
def test_refuses_malformed_did_web(bad: str) -> None:
    with pytest.raises(InvalidInput):
        did_web_url(bad)


def test_did_key_document_lists_its_multikey_for_assertion(signing_key: SigningKey) -> None:
    did = did_key(signing_key.multikey)
    document = resolve_did_key(did)
    method_id = f"{did}#{signing_key.multikey}"
    method = find_verification_method(document, method_id)
    assert method == {
        "id": method_id,
        "type": "Multikey",
        "controller": did,
        "publicKeyMultibase": signing_key.multikey,
    }
    assert authorizes(document, method_id, "assertionMethod")


def test_document_keeps_every_key_and_resolves_relative_ids(signing_key: SigningKey) -> None:
    other = SigningKey.from_seed(b"\x01" * 32)
    document = did_document("did:web:example.org", [other.multikey, signing_key.multikey])
    assert len(document["assertionMethod"]) == 2
    relative = {**document, "assertionMethod": [f"#{signing_key.multikey}"]}
    assert authorizes(relative, f"did:web:example.org#{signing_key.multikey}", "assertionMethod")
    assert not authorizes(relative, f"did:web:example.org#{other.multikey}", "assertionMethod")


def test_did_jwk_document_has_one_json_web_key_for_signatures() -> None:
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    encoded = base64.urlsafe_b64encode(json.dumps(jwk).encode()).decode().rstrip("=")
    did = f"did:jwk:{encoded}"
    document = resolve_did_jwk(did)
    assert document["verificationMethod"] == [
        {"id": f"{did}#0", "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}
    ]
    assert authorizes(document, f"{did}#0", "assertionMethod")
    assert "keyAgreement" in document
    signing_only = f"did:jwk:{_b64({**jwk, 'use': 'sig'})}"
    assert "keyAgreement" not in resolve_did_jwk(signing_only)
    encrypting_only = resolve_did_jwk(f"did:jwk:{_b64({**jwk, 'use': 'enc'})}")
    assert "assertionMethod" not in encrypting_only


@pytest.mark.parametrize("bad", ["did:jwk:", "did:jwk:!!!", f"did:jwk:{'e30'}", "did:key:z6Mk"])
def test_refuses_malformed_did_jwk(bad: str) -> None:
    with pytest.raises(InvalidInput):
        resolve_did_jwk(bad)


def test_refuses_a_did_jwk_holding_a_private_key() -> None:
    with pytest.raises(InvalidInput, match="public JWK"):
        resolve_did_jwk(f"did:jwk:{_b64({'kty': 'OKP', 'crv': 'Ed25519', 'x': 'a', 'd': 'b'})}")


def _b64(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")
