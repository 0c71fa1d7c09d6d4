"""Data Integrity: sign, verify, and every way a proof must fail (as a result, not a raise)."""

import copy
import json
from datetime import UTC, datetime

import pytest

from issuer.dids import did_key, resolve_did_key
from issuer.errors import JsonLdInvalid, ProofError
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof, verify_proof
from tests.conftest import VECTORS

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def sign(document: dict, key: SigningKey, method: str | None = None) -> dict:  # type: ignore[type-arg]
    did = did_key(key.multikey)
    return add_proof(
        document,
        key=key,
        verification_method=method or f"{did}#{key.multikey}",
        created=NOW,
        loader=load_document,
    )


def verify(document: dict):  # type: ignore[no-untyped-def,type-arg]
    return verify_proof(document, resolve=resolve_did_key, loader=load_document)


@pytest.mark.parametrize(
    "vector", ["eddsa-rdfc-2022/signedDataInt.json", "Ed25519Signature2020/signedEdSig.json"]
)
def test_verifies_the_w3c_vectors(vector: str) -> None:
    document = json.loads((VECTORS / "w3c-vc-di-eddsa" / vector).read_text())
    assert verify(document).verified
    document["credentialSubject"]["alumniOf"] = "Another School"
    result = verify(document)
    assert not result.verified
    assert result.reason == "the signature does not match the document"


def test_round_trip(signing_key: SigningKey, unsigned_credential: dict) -> None:  # type: ignore[type-arg]
    unsigned_credential["issuer"] = did_key(signing_key.multikey)
    unsigned_credential["validFrom"] = "2026-01-01T00:00:00Z"
    signed = sign(unsigned_credential, signing_key)
    assert signed["proof"]["created"] == "2026-11-23T12:00:00Z"
    assert verify(signed).verified


@pytest.fixture
def signed(signing_key: SigningKey, unsigned_credential: dict) -> dict:  # type: ignore[type-arg]
    unsigned_credential["issuer"] = did_key(signing_key.multikey)
    unsigned_credential["validFrom"] = "2026-01-01T00:00:00Z"
    return sign(unsigned_credential, signing_key)


TAMPERS = {
    "name": lambda d: d.__setitem__("name", "Teamwork Badge!"),
    "achievement": lambda d: d["credentialSubject"]["achievement"].__setitem__(
        "name", "Leadership"
    ),
    "subject": lambda d: d["credentialSubject"].__setitem__("id", "did:example:mallory"),
    "validFrom": lambda d: d.__setitem__("validFrom", "2025-01-01T00:00:00Z"),
    "added property": lambda d: d.__setitem__("description", "added later"),
    "removed property": lambda d: d.pop("name"),
    "created": lambda d: d["proof"].__setitem__("created", "2026-11-24T12:00:00Z"),
}


@pytest.mark.parametrize("field", TAMPERS)
def test_fails_to_verify_if_a_field_is_tampered(signed: dict, field: str) -> None:  # type: ignore[type-arg]
    TAMPERS[field](signed)
    assert not verify(signed).verified


def test_reordering_properties_changes_nothing(signed: dict) -> None:  # type: ignore[type-arg]
    reordered = dict(reversed(list(signed.items())))
    assert verify(reordered).verified


def test_fails_to_verify_if_signed_by_another_key(
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
) -> None:
    mallory = SigningKey.from_seed(b"\x07" * 32)
    victim = did_key(signing_key.multikey)
    forged = sign(unsigned_credential, mallory, method=f"{victim}#{signing_key.multikey}")
    result = verify(forged)
    assert not result.verified and "does not match" in result.reason


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda p: p.__setitem__("cryptosuite", "ecdsa-sd-2023"), "unsupported proof type"),
        (lambda p: p.__setitem__("cryptosuite", "ecdsa-rdfc-2019"), "not the P-256 key"),
        (lambda p: p.__setitem__("proofPurpose", "authentication"), "proofPurpose"),
        (lambda p: p.__setitem__("proofValue", "z1234"), "64-byte"),
        (lambda p: p.__setitem__("proofValue", "u" + p["proofValue"][1:]), "base58btc"),
        (lambda p: p.__setitem__("verificationMethod", "did:key:z6MkBAD#x"), "Multikey"),
    ],
)
def test_fails_to_verify_if_the_proof_is_malformed(signed: dict, change, reason: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    change(signed["proof"])
    result = verify(signed)
    assert not result.verified and reason in result.reason


def test_fails_to_verify_without_a_proof(signed: dict) -> None:  # type: ignore[type-arg]
    del signed["proof"]
    assert verify(signed).reason == "the document has no proof"


def test_refuses_to_sign_undefined_terms(
    signing_key: SigningKey, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    unsigned_credential["credentialSchema"] = [
        {"id": "https://example.com/s.json", "type": "1EdTechJsonSchemaValidator2019"}
    ]
    with pytest.raises(JsonLdInvalid, match="1EdTechJsonSchemaValidator2019"):
        sign(unsigned_credential, signing_key)
    unsigned_credential.pop("credentialSchema")
    unsigned_credential["credentialSubject"]["grade"] = "A"
    with pytest.raises(JsonLdInvalid, match="grade"):
        sign(unsigned_credential, signing_key)


def test_refuses_to_sign_a_signed_document(signed: dict, signing_key: SigningKey) -> None:  # type: ignore[type-arg]
    with pytest.raises(ProofError):
        sign(signed, signing_key)


def test_signs_and_verifies_control_characters(
    signing_key: SigningKey, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    unsigned_credential["name"] = "Bell\x07 back\b form\f del\x7f"
    signed = sign(copy.deepcopy(unsigned_credential), signing_key)
    assert verify(signed).verified
