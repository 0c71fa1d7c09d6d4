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
from tests.test_data_model import CASES, build
from tests.web.test_vc_api_conformance import Api, api

__all__ = ["api"]

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


# ── through our HTTP routes (the VC-API of tests/web/test_vc_api_conformance.py) ─────────────

CHAIN_FIRST = "urn:uuid:5d3f0a2e-7c41-4b9e-8f6a-2e1c9b7d4a30"
VERSIONS = ["vc_2_0", "vc_1_1"]


def unsigned(version: str, issuer: str) -> dict:  # type: ignore[type-arg]
    """The VC-API cases' base credential (VC 2.0), or a VC 1.1 one, from `issuer`."""
    return build({}, ISSUER=issuer) if version == "vc_2_0" else vc_1_1(issuer)


def published(api: Api) -> dict:  # type: ignore[type-arg]
    """Our DID document and each of its verification methods, as the routes publish them:
    what the reference's offline loader needs to resolve our did:web."""
    document = api.client.get("/.well-known/did.json").json()
    documents = {document["id"]: document}
    for method in document["verificationMethod"]:
        documents[method["id"]] = {"@context": "https://w3id.org/security/multikey/v1", **method}
    return documents


@pytest.mark.parametrize("version", VERSIONS)
def test_what_our_vc_api_issues_verifies_in_the_reference_stack(api: Api, version: str) -> None:
    response = api.issue(unsigned(version, api.did))
    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    if version == "vc_1_1":  # the Data Integrity context added, as the reference adds it
        assert signed["@context"][-1] == "https://w3id.org/security/data-integrity/v2"
    verdict = run_reference("verify", credential=signed, documents=published(api))
    assert verdict == {"verified": True, "errors": []}


@pytest.mark.parametrize("version", VERSIONS)
def test_what_the_reference_signs_our_vc_api_verifies(api: Api, version: str) -> None:
    signer = identity()
    signed = run_reference("sign", credential=unsigned(version, signer.did), seedHex=SEED.hex())
    response = api.verify(signed)
    assert response.status_code == 200, response.json()
    assert response.json()["verified"] is True and response.json()["errors"] == []
    signed["proof"]["created"] = "2020-01-01T00:00:00Z"
    assert api.verify(signed).status_code == 400


def test_a_chain_on_a_reference_proof_verifies_through_our_vc_api(api: Api) -> None:
    """VC Data Integrity §4.5 through POST /credentials/verify: the reference signs the first
    proof (with an id), an endorser's key chains a second onto it; we verify the chain, the
    reference misreads it (it checks the second proof without the first), and without the
    proof it names the chain fails here."""
    from issuer.proofs.data_integrity import add_proof_to_set

    signer = identity()
    first = run_reference(
        "sign",
        credential=unsigned("vc_2_0", signer.did),
        seedHex=SEED.hex(),
        proof={"id": CHAIN_FIRST},
    )
    assert first["proof"]["id"] == CHAIN_FIRST
    endorser = SigningKey.from_seed(bytes(range(1, 33)))
    chain = add_proof_to_set(
        first,
        key=endorser,
        verification_method=f"{did_key(endorser.multikey)}#{endorser.multikey}",
        created=NOW,
        loader=load_document,
        previous_proof=CHAIN_FIRST,
    )
    response = api.verify(chain)
    assert response.status_code == 200, response.json()
    assert run_reference("verify", credential=chain)["errors"] == ["Invalid signature."]
    broken = {**chain, "proof": chain["proof"][1:]}
    assert api.verify(broken).status_code == 400


# What the reference signs though the data model forbids it (VC DM 2.0 and 1.1), one case of
# tests/vectors/vc-api/credential-cases.json each; the other cases it refuses, as we refuse all.
REFERENCE_SIGNS = {
    "credentialSubject_empty_list",
    "refreshService_without_type",
    "credentialSchema_without_type",
    "credentialSchema_without_id",
    "validFrom_without_a_time_zone",
    "validFrom_not_a_real_date",
    "validUntil_before_validFrom",
    "description_not_a_string",
    "relatedResource_not_objects",
    "relatedResource_without_id",
    "relatedResource_duplicate_id",
    "relatedResource_without_digest",
    "relatedResource_digestSRI_mismatch",
    "relatedResource_digestMultibase_mismatch",
    "relatedResource_digestSRI_malformed",
    "relatedResource_digestSRI_in_hex",
    "relatedResource_digestMultibase_not_a_multihash",
    "vc11_without_issuanceDate",
}


def test_the_reference_signs_what_the_data_model_forbids_and_we_refuse_it(api: Api) -> None:
    """The issue's "nine data-model checks" the reference fails, pinned case by case: the
    reference (@digitalbazaar/vc 7.3) issues the cases in REFERENCE_SIGNS, nine rules in all:
    (1) credentialSubject an empty list; (2) refreshService without type; (3) credentialSchema
    without type or id; (4) validFrom that is no dateTimeStamp (no time zone, 2023-02-29);
    (5) validUntil before validFrom; (6) a description that is not a string; (7) relatedResource
    entries that are not objects, lack an id, repeat one or carry no digest or a malformed one;
    (8) a relatedResource digest that does not match; (9) VC 1.1 without issuanceDate.
    POST /credentials/issue refuses every one with a 400 naming it. (The proof-chain case it
    misreads: test_a_chain_on_a_reference_proof_verifies_through_our_vc_api and
    test_a_two_proof_chain_verifies_here_and_the_reference_misreads_it.)"""
    signer = identity()
    cases = CASES["bad"]
    attempts = run_reference(
        "issueEach",
        credentials=[build(case, ISSUER=signer.did) for case in cases],
        seedHex=SEED.hex(),
    )
    signed_there = {
        case["cause"] for case, tried in zip(cases, attempts, strict=True) if tried["issued"]
    }
    assert signed_there == REFERENCE_SIGNS
    for case in cases:
        if case["cause"] in signed_there:
            response = api.issue(api.credential(case))
            assert response.status_code == 400, case["cause"]
            assert case["says"] in response.json()["detail"], case["cause"]
