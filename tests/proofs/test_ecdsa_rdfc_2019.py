"""The W3C vc-di-ecdsa vectors (ecdsa-rdfc-2019, P-256), reproduced byte for byte, and the
suite's own edges: deterministic signatures, high-S, P-384, proof sets with eddsa-rdfc-2022."""

import copy
import json
from datetime import UTC, datetime

import base58
import pytest

from issuer.dids import resolve_locally
from issuer.jsonld.loader import load_document
from issuer.keys import P256_PRIV_PREFIX, P256SigningKey, SigningKey
from issuer.proofs import ecdsa_rdfc_2019 as suite
from issuer.proofs.data_integrity import (
    UNSUPPORTED_CRYPTOSUITE,
    Signer,
    add_proof,
    add_proofs,
    verify_proof,
    verify_proofs,
)
from tests.conftest import VECTORS

W3C = VECTORS / "w3c-vc-di-ecdsa"
P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def text(relative: str) -> str:
    return (W3C / relative).read_text(encoding="utf-8")


def vector(name: str) -> str:
    return text(f"ecdsa-rdfc-2019-p256/{name}").strip()


def w3c_key() -> P256SigningKey:
    raw = base58.b58decode(json.loads(text("p256KeyPair.json"))["secretKeyMultibase"][1:])
    assert raw[:2] == P256_PRIV_PREFIX
    return P256SigningKey.from_secret(bytes(raw[2:]))


def test_w3c_key_pair_is_our_p256_multikey() -> None:
    assert w3c_key().multikey == json.loads(text("p256KeyPair.json"))["publicKeyMultibase"]


def test_w3c_vector_step_by_step() -> None:
    unsigned = json.loads(text("unsigned.json"))
    options = json.loads(text("ecdsa-rdfc-2019-p256/proofConfigECDSAP256.json"))
    canonical_document = suite.transform(unsigned, load_document)
    canonical_config = suite.configure_proof(options, unsigned["@context"], load_document)
    assert canonical_document == text("ecdsa-rdfc-2019-p256/canonDocECDSAP256.txt")
    assert canonical_config == text("ecdsa-rdfc-2019-p256/proofCanonECDSAP256.txt")
    data = suite.hash_data(canonical_config, canonical_document)
    assert data[:32].hex() == vector("proofHashECDSAP256.txt")
    assert data[32:].hex() == vector("docHashECDSAP256.txt")
    assert data.hex() == vector("combinedHashECDSAP256.txt")
    # Deterministic ECDSA (RFC 6979), as the vectors were made: the very same 64 bytes.
    signature = w3c_key().sign(data)
    assert signature.hex() == vector("sigHexECDSAP256.txt")
    assert suite.serialize_proof_value(signature) == vector("sigBTC58ECDSAP256.txt")


def test_w3c_vector_signed_document() -> None:
    expected = json.loads(text("ecdsa-rdfc-2019-p256/signedECDSAP256.json"))
    signed = add_proof(
        json.loads(text("unsigned.json")),
        key=w3c_key(),
        verification_method=expected["proof"]["verificationMethod"],
        created=datetime.fromisoformat(expected["proof"]["created"]),
        loader=load_document,
    )
    assert signed == expected


def test_w3c_signed_document_verifies_with_the_w3c_public_key() -> None:
    signed = json.loads(text("ecdsa-rdfc-2019-p256/signedECDSAP256.json"))
    result = verify_proof(signed, resolve=resolve_locally, loader=load_document)
    assert result.verified, result.reason
    assert result.controller == "did:key:zDnaepBuvsQ8cpsWrVKw8fbpGpvPeNSjVPTWoq6cRqaYzBKVP"


def test_w3c_signature_has_a_high_s_and_both_forms_verify() -> None:
    """vc-di-ecdsa §4.1: ECDSA is not strongly unforgeable, and the spec asks for plain
    FIPS 186-5 verification; its own vector carries s > n/2, so a low-S rule would refuse the
    specification's example. (r, n − s) verifies too: only the proofValue's bytes change."""
    signed = json.loads(text("ecdsa-rdfc-2019-p256/signedECDSAP256.json"))
    signature = suite.parse_proof_value(signed["proof"]["proofValue"])
    r, s = signature[:32], int.from_bytes(signature[32:], "big")
    assert s > P256_ORDER // 2
    twin = copy.deepcopy(signed)
    low_s = r + (P256_ORDER - s).to_bytes(32, "big")
    twin["proof"]["proofValue"] = suite.serialize_proof_value(low_s)
    assert verify_proof(twin, resolve=resolve_locally, loader=load_document).verified


def did_key_signer(key: P256SigningKey | SigningKey) -> Signer:
    return Signer(key, f"did:key:{key.multikey}#{key.multikey}")


@pytest.fixture
def p256() -> P256SigningKey:
    return P256SigningKey.from_secret(bytes(range(32)))


def test_signing_twice_gives_the_same_proof(p256: P256SigningKey) -> None:
    unsigned = json.loads(text("unsigned.json"))
    first = add_proofs(unsigned, [did_key_signer(p256)], created=NOW, loader=load_document)
    second = add_proofs(unsigned, [did_key_signer(p256)], created=NOW, loader=load_document)
    assert first == second


def test_fails_to_verify_if_the_document_changed(p256: P256SigningKey) -> None:
    signed = add_proofs(
        json.loads(text("unsigned.json")), [did_key_signer(p256)], created=NOW, loader=load_document
    )
    signed["credentialSubject"]["alumniOf"] = "Another University"
    result = verify_proof(signed, resolve=resolve_locally, loader=load_document)
    assert not result.verified and "does not match" in result.reason


@pytest.mark.parametrize(
    ("proof_value", "reason"),
    [
        ("z" + base58.b58encode(b"\x01" * 63).decode(), "not a P-256 signature"),
        ("u" + "A" * 86, "base58btc"),
        ("z" + base58.b58encode(b"\x00" * 64).decode(), "does not match"),
    ],
)
def test_fails_to_verify_if_the_proof_value_is_malformed(
    p256: P256SigningKey, proof_value: str, reason: str
) -> None:
    signed = add_proofs(
        json.loads(text("unsigned.json")), [did_key_signer(p256)], created=NOW, loader=load_document
    )
    signed["proof"]["proofValue"] = proof_value
    result = verify_proof(signed, resolve=resolve_locally, loader=load_document)
    assert not result.verified and result.checked and reason in result.reason


def test_a_p384_signature_is_not_checked(p256: P256SigningKey) -> None:
    signed = add_proofs(
        json.loads(text("unsigned.json")), [did_key_signer(p256)], created=NOW, loader=load_document
    )
    signed["proof"]["proofValue"] = "z" + base58.b58encode(b"\x01" * 96).decode()
    [result] = verify_proofs(signed, resolve=resolve_locally, loader=load_document)
    assert not result.checked and result.code == UNSUPPORTED_CRYPTOSUITE


def test_fails_to_verify_if_an_ed25519_key_claims_the_ecdsa_suite(p256: P256SigningKey) -> None:
    ed25519 = SigningKey.from_seed(bytes(range(32)))
    signed = add_proofs(
        json.loads(text("unsigned.json")),
        [did_key_signer(ed25519)],
        created=NOW,
        loader=load_document,
    )
    signed["proof"]["cryptosuite"] = suite.NAME
    result = verify_proof(signed, resolve=resolve_locally, loader=load_document)
    assert not result.verified and "not the P-256 key" in result.reason


def test_a_proof_set_of_both_suites_each_proof_standing_alone(p256: P256SigningKey) -> None:
    """VC Data Integrity §4.3 without previousProof: each proof signs the document alone, so
    either verifies without the other."""
    ed25519 = SigningKey.from_seed(bytes(range(32)))
    signers = [did_key_signer(ed25519), did_key_signer(p256)]
    signed = add_proofs(
        json.loads(text("unsigned.json")), signers, created=NOW, loader=load_document
    )
    assert [p["cryptosuite"] for p in signed["proof"]] == ["eddsa-rdfc-2022", suite.NAME]
    results = verify_proofs(signed, resolve=resolve_locally, loader=load_document)
    assert [r.verified for r in results] == [True, True]
    for proof in signed["proof"]:
        alone = {**signed, "proof": proof}
        assert verify_proof(alone, resolve=resolve_locally, loader=load_document).verified
    signed["name"] = "Tampered"
    results = verify_proofs(signed, resolve=resolve_locally, loader=load_document)
    assert [r.verified for r in results] == [False, False]
