"""Proofs sign everything they state: every proof option is in the signed configuration, on
VC 1.1 and VC 2.0; proof sets and chains (VC Data Integrity 1.0 §4.3–4.5) verify, each with
its own bound key."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from hashlib import sha256
from typing import Any

import pytest

from issuer.dids import did_key, resolve_did_key
from issuer.errors import ProofError
from issuer.jsonld.canonize import canonize
from issuer.jsonld.loader import CREDENTIALS_V1, DATA_INTEGRITY_V2, load_document
from issuer.keys import SigningKey
from issuer.proofs import eddsa_rdfc_2022 as suite
from issuer.proofs.data_integrity import (
    ProofExpectations,
    add_proof,
    add_proof_to_set,
    verify_proof,
    verify_proofs,
)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
SECOND = SigningKey.from_seed(b"\x05" * 32)


def method(key: SigningKey) -> str:
    return f"{did_key(key.multikey)}#{key.multikey}"


def vc_1_1(issuer: str) -> dict[str, Any]:
    return {
        "@context": [CREDENTIALS_V1],
        "id": "urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }


def verify(document: dict[str, Any], **expect: Any) -> list[Any]:
    return verify_proofs(
        document,
        resolve=resolve_did_key,
        loader=load_document,
        expect=ProofExpectations(**{"now": NOW, **expect}),
    )


@pytest.fixture
def signed_vc_1_1(signing_key: SigningKey) -> dict[str, Any]:
    return add_proof(
        vc_1_1(did_key(signing_key.multikey)),
        key=signing_key,
        verification_method=method(signing_key),
        created=NOW,
        loader=load_document,
        challenge="c-1",
        domain="example.org",
    )


def test_signing_a_vc_1_1_credential_adds_the_data_integrity_context(
    signed_vc_1_1: dict[str, Any],
) -> None:
    assert signed_vc_1_1["@context"] == [CREDENTIALS_V1, DATA_INTEGRITY_V2]
    assert all(r.verified for r in verify(signed_vc_1_1))


PROOF_TAMPERS = {
    "created": "2027-01-01T00:00:00Z",
    "expires": "2099-01-01T00:00:00Z",
    "challenge": "c-2",
    "domain": "evil.example",
    "proofPurpose": "authentication",
    "verificationMethod": f"{did_key(SECOND.multikey)}#{SECOND.multikey}",
    "cryptosuite": "eddsa-2022",
}


@pytest.mark.parametrize("version", ["1.1", "2.0"])
@pytest.mark.parametrize("field", PROOF_TAMPERS)
def test_fails_to_verify_if_a_proof_option_changes(
    signing_key: SigningKey, unsigned_credential: dict[str, Any], version: str, field: str
) -> None:
    issuer = did_key(signing_key.multikey)
    if version == "2.0":
        document = {**unsigned_credential, "issuer": issuer, "validFrom": "2026-01-01T00:00:00Z"}
    else:
        document = vc_1_1(issuer)
    signed = add_proof(
        document,
        key=signing_key,
        verification_method=method(signing_key),
        created=NOW,
        loader=load_document,
        challenge="c-1",
        domain="example.org",
    )
    assert all(r.verified for r in verify(signed))
    signed["proof"][field] = PROOF_TAMPERS[field]
    purpose = "authentication" if field == "proofPurpose" else "assertionMethod"
    results = verify(signed, purpose=purpose)
    assert not any(r.verified for r in results), (field, results)


def _lenient_proof(document: dict[str, Any], key: SigningKey) -> dict[str, Any]:
    """A proof made the way a careless signer makes it: its configuration canonicalized
    leniently, so options the contexts don't define are silently left out of the hash."""
    options = {
        "type": "DataIntegrityProof",
        "created": "2026-11-23T12:00:00Z",
        "verificationMethod": method(key),
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
    }
    configuration = canonize({**options, "@context": document["@context"]}, load_document)
    data = (
        sha256(configuration.encode()).digest()
        + sha256(canonize(document, load_document).encode()).digest()
    )
    return {
        **document,
        "proof": {**options, "proofValue": suite.serialize_proof_value(key.sign(data))},
    }


def test_fails_to_verify_if_the_proof_configuration_has_undefined_terms(
    signing_key: SigningKey,
) -> None:
    """A VC 1.1 credential without the Data Integrity context: its proof configuration once
    canonicalized to nothing, so `created` could be changed at will."""
    document = vc_1_1(did_key(signing_key.multikey))
    forged = _lenient_proof(document, signing_key)
    forged["proof"]["created"] = "1999-01-01T00:00:00Z"
    result = verify_proof(forged, resolve=resolve_did_key, loader=load_document)
    assert not result.verified
    assert result.code == "MALFORMED_PROOF_ERROR"
    assert "not defined" in result.reason


def test_an_undefined_extra_proof_option_is_refused(signed_vc_1_1: dict[str, Any]) -> None:
    signed_vc_1_1["proof"]["shoeSize"] = 44
    result = verify_proof(signed_vc_1_1, resolve=resolve_did_key, loader=load_document)
    assert not result.verified and "shoeSize" in result.reason


def _signed_with(document: dict[str, Any], key: SigningKey, **options: str) -> dict[str, Any]:
    """`document` signed with these proof options, exactly as given."""
    options = {
        "type": "DataIntegrityProof",
        "created": "2026-11-23T12:00:00Z",
        "verificationMethod": method(key),
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
        **options,
    }
    document = {**document, "@context": [CREDENTIALS_V1, DATA_INTEGRITY_V2]}
    data = suite.hash_data(
        suite.configure_proof(options, document["@context"], load_document),
        suite.transform(document, load_document),
    )
    proof_value = suite.serialize_proof_value(key.sign(data))
    return {**document, "proof": {**options, "proofValue": proof_value}}


def test_an_expired_proof_fails(signing_key: SigningKey) -> None:
    document = vc_1_1(did_key(signing_key.multikey))
    live = _signed_with(document, signing_key, expires="2026-12-01T00:00:00Z")
    assert verify(live)[0].verified
    expired = _signed_with(document, signing_key, expires="2026-11-01T00:00:00Z")
    [result] = verify(expired)
    assert not result.verified and "expired" in result.reason


def test_challenge_and_domain_are_checked_when_expected(signed_vc_1_1: dict[str, Any]) -> None:
    assert verify(signed_vc_1_1, challenge="c-1", domain="example.org")[0].verified
    assert verify(signed_vc_1_1, challenge="c-9")[0].code == "INVALID_CHALLENGE_ERROR"
    assert verify(signed_vc_1_1, domain="other.example")[0].code == "INVALID_DOMAIN_ERROR"


def test_the_legacy_cryptosuite_name_verifies_with_a_warning(signing_key: SigningKey) -> None:
    document = vc_1_1(did_key(signing_key.multikey))
    [result] = verify(_signed_with(document, signing_key, cryptosuite="eddsa-2022"))
    assert result.verified
    assert "eddsa-2022" in result.warnings[0]


@pytest.fixture
def chain(signing_key: SigningKey, unsigned_credential: dict[str, Any]) -> dict[str, Any]:
    """Two proofs: the issuer's, then a second key's signing over the first (a chain)."""
    document = {
        **unsigned_credential,
        "issuer": did_key(signing_key.multikey),
        "validFrom": "2026-01-01T00:00:00Z",
    }
    first = add_proof_to_set(
        document,
        key=signing_key,
        verification_method=method(signing_key),
        created=NOW,
        loader=load_document,
        proof_id="urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544",
    )
    return add_proof_to_set(
        first,
        key=SECOND,
        verification_method=method(SECOND),
        created=NOW,
        loader=load_document,
        proof_id="urn:uuid:8cc9022b-6b14-4cf3-8571-74972c5feb54",
        previous_proof="urn:uuid:26329423-bec9-4b2e-88cb-a7c7d9dc4544",
    )


def test_a_proof_chain_verifies_with_each_key_bound(chain: dict[str, Any]) -> None:
    results = verify(chain)
    assert [r.verified for r in results] == [True, True]
    assert results[1].controller == did_key(SECOND.multikey)


def test_fails_to_verify_if_the_previous_proof_is_missing(chain: dict[str, Any]) -> None:
    chain["proof"] = chain["proof"][1:]
    [result] = verify(chain)
    assert not result.verified and "missing" in result.reason


def test_fails_to_verify_if_the_previous_proof_changes(chain: dict[str, Any]) -> None:
    """The second proof signs the first: changing the first breaks both."""
    chain["proof"][0]["created"] = "2026-11-24T12:00:00Z"
    assert [r.verified for r in verify(chain)] == [False, False]


def test_fails_to_verify_if_previous_proof_is_retargeted(chain: dict[str, Any]) -> None:
    chain["proof"][1]["previousProof"] = "urn:uuid:00000000-0000-4000-8000-000000000000"
    assert not verify(chain)[1].verified


def test_a_proof_set_verifies_each_proof_independently(
    signing_key: SigningKey, unsigned_credential: dict[str, Any]
) -> None:
    document = {**unsigned_credential, "issuer": did_key(signing_key.multikey)}
    one = add_proof_to_set(
        document,
        key=signing_key,
        verification_method=method(signing_key),
        created=NOW,
        loader=load_document,
    )
    both = add_proof_to_set(
        one, key=SECOND, verification_method=method(SECOND), created=NOW, loader=load_document
    )
    assert [r.verified for r in verify(both)] == [True, True]
    dropped = copy.deepcopy(both)
    dropped["proof"] = dropped["proof"][:1]
    assert [r.verified for r in verify(dropped)] == [True]


def test_refuses_a_chain_to_a_proof_that_is_not_there(
    signing_key: SigningKey, unsigned_credential: dict[str, Any]
) -> None:
    with pytest.raises(ProofError):
        add_proof_to_set(
            unsigned_credential,
            key=signing_key,
            verification_method=method(signing_key),
            created=NOW,
            loader=load_document,
            previous_proof="urn:uuid:nothing",
        )
