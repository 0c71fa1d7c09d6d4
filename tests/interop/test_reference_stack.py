"""Both ways with the Digital Bazaar reference stack (jsonld.js safe mode): what we sign
verifies there, what it signs verifies here, and tampering fails on both sides."""

from __future__ import annotations

import copy
import os
from datetime import UTC, datetime

import pytest

from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import verify_credential
from tests.interop.reference import missing, run_reference

pytestmark = pytest.mark.interop
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SEED = bytes(range(32))


@pytest.fixture(scope="module", autouse=True)
def reference_stack() -> None:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the interoperability tests must run in CI: {reason}")
    if reason:
        pytest.skip(reason)


def identity(did: str | None = None) -> IssuerIdentity:
    key = SigningKey.from_seed(SEED)
    own = did or did_key(key.multikey)
    return IssuerIdentity(
        own, key, (key.multikey,), IssuerProfile(id=own, name="St Example — Radiology")
    )


def our_verdict(credential: dict, issuer: IssuerIdentity) -> bool:  # type: ignore[type-arg]
    report = verify_credential(
        credential, now=NOW, resolve=make_resolver(issuer, Fetcher()), loader=load_document
    )
    return report.verified


def test_what_we_sign_verifies_in_the_reference_stack(realistic_credential: dict) -> None:  # type: ignore[type-arg]
    signed = sign_credential(realistic_credential, identity(), form="di", now=NOW)
    assert run_reference("verify", credential=signed) == {"verified": True, "errors": []}


def test_what_we_sign_as_did_web_verifies_there(realistic_credential: dict) -> None:  # type: ignore[type-arg]
    issuer = identity("did:web:badges.example.org")
    signed = sign_credential(realistic_credential, issuer, form="di", now=NOW)
    documents = {issuer.did: issuer.did_document()}
    method = issuer.did_document()["verificationMethod"][0]
    documents[method["id"]] = {"@context": "https://w3id.org/security/multikey/v1", **method}
    assert run_reference("verify", credential=signed, documents=documents)["verified"] is True


def test_what_the_reference_signs_verifies_here(realistic_credential: dict) -> None:  # type: ignore[type-arg]
    issuer = identity()
    unsigned = {
        **realistic_credential,
        "issuer": issuer.profile.to_json(),
        "validFrom": "2026-01-01T00:00:00Z",
    }
    signed = run_reference("sign", credential=unsigned, seedHex=SEED.hex())
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert our_verdict(signed, issuer)


def test_tampering_fails_on_both_sides(realistic_credential: dict) -> None:  # type: ignore[type-arg]
    issuer = identity()
    ours = sign_credential(realistic_credential, issuer, form="di", now=NOW)
    assert isinstance(ours, dict)
    unsigned = {
        **realistic_credential,
        "issuer": issuer.profile.to_json(),
        "validFrom": "2026-01-01T00:00:00Z",
    }
    theirs = run_reference("sign", credential=unsigned, seedHex=SEED.hex())
    for signed in (ours, theirs):
        tampered = copy.deepcopy(signed)
        tampered["credentialSubject"]["result"][3]["status"] = "Failed"
        assert run_reference("verify", credential=tampered)["verified"] is False
        assert not our_verdict(tampered, issuer)


@pytest.mark.parametrize("did", [None, "did:web:issuer.example.org"])
@pytest.mark.parametrize("revoked", [False, True])
def test_reference_credentials_with_status_verify_here(
    realistic_credential: dict,
    did: str | None,
    revoked: bool,  # type: ignore[type-arg]
) -> None:
    from issuer.proofs.data_integrity import add_proof
    from issuer.status_list import StatusList, status_list_credential

    issuer = identity(did)
    list_url = "https://issuer.example.org/status/7"
    entry = {
        **realistic_credential["credentialStatus"],
        "statusListCredential": list_url,
        "id": f"{list_url}#94567",
    }
    unsigned = {
        **realistic_credential,
        "credentialStatus": entry,
        "issuer": issuer.profile.to_json(),
        "validFrom": "2026-01-01T00:00:00Z",
    }
    documents = {issuer.did: issuer.did_document()}
    method = issuer.did_document()["verificationMethod"][0]
    documents[method["id"]] = {"@context": "https://w3id.org/security/multikey/v1", **method}
    signed = run_reference(
        "sign", credential=unsigned, seedHex=SEED.hex(), controller=did, documents=documents
    )
    listing = add_proof(
        status_list_credential(
            list_url=list_url,
            issuer=issuer.did,
            purpose="revocation",
            status_list=StatusList.with_set([94567] if revoked else []),
            valid_from=NOW,
        ),
        key=issuer.key,
        verification_method=issuer.verification_method,
        created=NOW,
        loader=load_document,
    )
    report = verify_credential(
        signed,
        now=NOW,
        resolve=lambda d: documents[d] if d in documents else make_resolver(None, Fetcher())(d),
        loader=load_document,
        fetch={list_url: listing}.__getitem__,
    )
    assert report.verdict == ("revoked" if revoked else "verified"), report.failed


def vc_1_1(issuer: str) -> dict:  # type: ignore[type-arg]
    return {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "id": "urn:uuid:3c9d9f4e-2d0b-4d8a-9b8e-5a7f0c1e2d3b",
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }


def test_vc_1_1_gets_the_data_integrity_context_and_verifies_both_ways() -> None:
    from issuer.proofs.data_integrity import add_proof

    issuer = identity()
    ours = add_proof(
        vc_1_1(issuer.did),
        key=issuer.key,
        verification_method=issuer.verification_method,
        created=NOW,
        loader=load_document,
    )
    theirs = run_reference("sign", credential=vc_1_1(issuer.did), seedHex=SEED.hex())
    assert ours["@context"] == theirs["@context"]
    assert run_reference("verify", credential=ours) == {"verified": True, "errors": []}
    assert our_verdict(theirs, issuer)
    for signed in (ours, theirs):
        signed["proof"]["created"] = "2020-01-01T00:00:00Z"
        assert run_reference("verify", credential=signed)["verified"] is False
        assert not our_verdict(signed, issuer)


def test_a_proof_set_signed_there_verifies_here(realistic_credential: dict) -> None:  # type: ignore[type-arg]
    issuer = identity()
    unsigned = {**realistic_credential, "issuer": issuer.profile.to_json()}
    once = run_reference("sign", credential=unsigned, seedHex=SEED.hex())
    twice = run_reference("sign", credential=once, seedHex=bytes(range(1, 33)).hex())
    assert len(twice["proof"]) == 2
    report = verify_credential(
        twice, now=NOW, resolve=make_resolver(issuer, Fetcher()), loader=load_document
    )
    assert report.verified, report.failed


def test_a_two_proof_chain_verifies_here_and_the_reference_misreads_it() -> None:
    """VC Data Integrity §4.5: the second proof signs the document with the first proof in
    it. The reference (jsonld-signatures 11.6) verifies every proof against the document
    without proofs, so it finds the chained signature invalid."""
    from issuer.proofs.data_integrity import add_proof_to_set

    issuer = identity()
    second = SigningKey.from_seed(bytes(range(1, 33)))
    first = add_proof_to_set(
        vc_1_1(issuer.did),
        key=issuer.key,
        verification_method=issuer.verification_method,
        created=NOW,
        loader=load_document,
        proof_id="urn:uuid:6a1c3e51-94b3-4b8e-9d7c-0f5d2a8e4c11",
    )
    chain = add_proof_to_set(
        first,
        key=second,
        verification_method=f"{did_key(second.multikey)}#{second.multikey}",
        created=NOW,
        loader=load_document,
        proof_id="urn:uuid:0b7e2f93-5d41-4c6a-8e2b-9f1d3c7a5e20",
        previous_proof="urn:uuid:6a1c3e51-94b3-4b8e-9d7c-0f5d2a8e4c11",
    )
    assert our_verdict(chain, issuer)
    assert run_reference("verify", credential=chain)["errors"] == ["Invalid signature."]
    del chain["proof"][0]
    assert not our_verdict(chain, issuer)
