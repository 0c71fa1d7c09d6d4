"""P-256 both ways with the reference stack: ecdsa-rdfc-2019 (@digitalbazaar/ecdsa-rdfc-2019-
cryptosuite and ecdsa-multikey), proof sets mixing it with eddsa-rdfc-2022, and ES256 VC-JWTs
(panva/jose, the key taken from the DID document by Digital Bazaar's key library). What we sign
verifies there, what it signs verifies here, and tampering fails on both sides."""

from __future__ import annotations

import copy
import json
import os
from datetime import UTC, datetime
from typing import Any

import base58
import pytest

from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import P256_PRIV_PREFIX, P256SigningKey, SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs.data_integrity import add_proof
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, decode_vc_jwt
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import verify_credential
from tests.conftest import VECTORS
from tests.interop.reference import missing, run_reference

pytestmark = pytest.mark.interop
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
SEED = bytes(range(32))
DID_WEB = "did:web:badges.example.org"
ECDSA = "ecdsa-rdfc-2019"
EDDSA = "eddsa-rdfc-2022"
ED25519_KEY = SigningKey.from_seed(SEED)
P256_KEY = P256SigningKey.from_secret(SEED)
P256_SECRET = {
    "secretKeyMultibase": "z" + base58.b58encode(P256_PRIV_PREFIX + SEED).decode(),
    "publicKeyMultibase": P256_KEY.multikey,
}


@pytest.fixture(scope="module", autouse=True)
def reference_stack() -> None:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the interoperability tests must run in CI: {reason}")
    if reason:
        pytest.skip(reason)


def identity(proofs: tuple[str, ...] = (EDDSA, ECDSA)) -> IssuerIdentity:
    return IssuerIdentity(
        DID_WEB,
        ED25519_KEY,
        (ED25519_KEY.multikey, P256_KEY.multikey),
        IssuerProfile(id=DID_WEB, name="St Example — Radiology"),
        P256_KEY,
        proofs,
    )


def documents(issuer: IssuerIdentity) -> dict[str, Any]:
    """The did:web document and each of its methods, for the reference's offline loader."""
    document = issuer.did_document()
    served: dict[str, Any] = {issuer.did: document}
    for method in document["verificationMethod"]:
        served[method["id"]] = {"@context": "https://w3id.org/security/multikey/v1", **method}
    return served


def ours(credential: Any, issuer: IssuerIdentity) -> Any:
    return verify_credential(
        credential, now=NOW, resolve=make_resolver(issuer, Fetcher()), loader=load_document
    )


def theirs(credential: Any, issuer: IssuerIdentity, **options: Any) -> Any:
    return run_reference("verify", credential=credential, documents=documents(issuer), **options)


def unsigned(realistic: dict[str, Any], issuer: IssuerIdentity) -> dict[str, Any]:
    return {**realistic, "issuer": issuer.profile.to_json(), "validFrom": "2026-01-01T00:00:00Z"}


def reference_signs(credential: dict[str, Any], suite: str, issuer: IssuerIdentity) -> Any:
    key = P256_SECRET if suite == ECDSA else {"seedHex": SEED.hex()}
    return run_reference(
        "sign",
        credential=credential,
        suite=suite,
        controller=issuer.did,
        documents=documents(issuer),
        **key,
    )


# ── ecdsa-rdfc-2019 ───────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("proofs", [(ECDSA,), (EDDSA, ECDSA), (ECDSA, EDDSA)])
def test_what_we_sign_verifies_in_the_reference_stack(
    realistic_credential: dict[str, Any], proofs: tuple[str, ...]
) -> None:
    issuer = identity(proofs)
    signed = sign_credential(realistic_credential, issuer, form="di", now=NOW)
    assert [p["cryptosuite"] for p in signed["proof"]] == list(proofs)  # type: ignore[index]
    assert theirs(signed, issuer) == {"verified": True, "errors": []}


def test_ecdsa_over_did_key_verifies_in_the_reference_stack() -> None:
    own = did_key(P256_KEY.multikey)
    credential = json.loads((VECTORS / "w3c-vc-di-ecdsa/unsigned.json").read_text())
    credential["issuer"] = own
    signed = add_proof(
        credential,
        key=P256_KEY,
        verification_method=f"{own}#{P256_KEY.multikey}",
        created=NOW,
        loader=load_document,
    )
    assert run_reference("verify", credential=signed) == {"verified": True, "errors": []}


def test_the_reference_verifies_the_w3c_vector_and_its_high_s() -> None:
    """The specification's own signature has s > n/2: WebCrypto verifies it, as we do. (Its
    issuer is not the key's controller, so only the proof is checked there.)"""
    signed = json.loads(
        (VECTORS / "w3c-vc-di-ecdsa/ecdsa-rdfc-2019-p256/signedECDSAP256.json").read_text()
    )
    assert run_reference("verifyProof", document=signed) == {"verified": True}
    signed["credentialSubject"]["alumniOf"] = "Another University"
    assert run_reference("verifyProof", document=signed) == {"verified": False}


def test_what_the_reference_signs_with_ecdsa_verifies_here(
    realistic_credential: dict[str, Any],
) -> None:
    issuer = identity()
    signed = reference_signs(unsigned(realistic_credential, issuer), ECDSA, issuer)
    assert signed["proof"]["cryptosuite"] == ECDSA
    assert signed["proof"]["verificationMethod"] == f"{DID_WEB}#{P256_KEY.multikey}"
    report = ours(signed, issuer)
    assert report.verified, report.failed


@pytest.mark.parametrize("order", [(ECDSA, EDDSA), (EDDSA, ECDSA)])
def test_a_two_suite_proof_set_signed_there_verifies_here(
    realistic_credential: dict[str, Any], order: tuple[str, str]
) -> None:
    issuer = identity()
    once = reference_signs(unsigned(realistic_credential, issuer), order[0], issuer)
    twice = reference_signs(once, order[1], issuer)
    assert [p["cryptosuite"] for p in twice["proof"]] == list(order)
    report = ours(twice, issuer)
    assert report.verified, report.failed


def test_tampering_fails_on_both_sides(realistic_credential: dict[str, Any]) -> None:
    issuer = identity()
    mine = sign_credential(realistic_credential, issuer, form="di", now=NOW)
    single = reference_signs(unsigned(realistic_credential, issuer), ECDSA, issuer)
    pair = reference_signs(single, EDDSA, issuer)
    for signed in (mine, single, pair):
        tampered = copy.deepcopy(signed)
        tampered["credentialSubject"]["result"][3]["status"] = "Failed"  # type: ignore[index]
        assert theirs(tampered, issuer)["verified"] is False
        assert not ours(tampered, issuer).verified


def test_a_broken_ecdsa_proof_in_a_set_fails_here_and_is_caught_there_per_proof(
    realistic_credential: dict[str, Any],
) -> None:
    """VC Data Integrity §4.5 verifies every proof of a set, and so do we. The reference
    (jsonld-signatures 11.6, ProofSet.verify) reports each proof but calls the set verified
    when at least one proof verifies, and examines only proofs whose suite it is given: a
    verifier of our two-proof credentials must look at every proof."""
    issuer = identity()
    signed: Any = sign_credential(realistic_credential, issuer, form="di", now=NOW)
    value = bytearray(base58.b58decode(signed["proof"][1]["proofValue"][1:]))
    value[10] ^= 1
    signed["proof"][1]["proofValue"] = "z" + base58.b58encode(bytes(value)).decode()
    assert not ours(signed, issuer).verified
    there = theirs(signed, issuer, proofResults=True)
    assert there["proofs"] == [
        {"cryptosuite": EDDSA, "verified": True},
        {"cryptosuite": ECDSA, "verified": False},
    ]
    assert there["verified"] is True  # the reference's leniency, not ours
    eddsa_only = theirs(signed, issuer, suites=[EDDSA], proofResults=True)
    assert eddsa_only["proofs"] == [{"cryptosuite": EDDSA, "verified": True}]


# ── ES256 VC-JWTs ─────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("form", "typ"), [(OB3_JWT, "JWT"), (VC_JOSE, "vc+jwt")])
def test_our_es256_jwts_verify_in_jose_with_the_issuers_key(
    realistic_credential: dict[str, Any], form: str, typ: str
) -> None:
    issuer = identity()
    token = sign_credential(realistic_credential, issuer, form=form, now=NOW)
    answer = run_reference(
        "verifyJwt", token=token, documents=documents(issuer), now=NOW.isoformat()
    )
    assert (answer["verified"], answer["alg"], answer["typ"]) == (True, "ES256", typ)
    assert answer["controller"] == DID_WEB
    issuer_id = answer["payload"]["iss"] if form == OB3_JWT else answer["payload"]["issuer"]["id"]
    assert issuer_id == DID_WEB


def test_a_tampered_es256_jwt_fails_on_both_sides(realistic_credential: dict[str, Any]) -> None:
    issuer = identity()
    token = sign_credential(realistic_credential, issuer, form=OB3_JWT, now=NOW)
    assert isinstance(token, str)
    header, payload, signature = token.split(".")
    forged = f"{header}.{payload[:-8]}AAAAAAAA.{signature}"
    answer = run_reference("verifyJwt", token=forged, documents=documents(issuer))
    assert answer["verified"] is False
    assert not decode_vc_jwt(forged, resolve=make_resolver(issuer, Fetcher()), now=NOW).verified


def test_an_es256_jwt_signed_by_jose_verifies_here(realistic_credential: dict[str, Any]) -> None:
    issuer = identity()
    credential = unsigned(realistic_credential, issuer)
    claims = {
        "vc": credential,
        "iss": DID_WEB,
        "jti": credential["id"],
        "nbf": int(datetime(2026, 1, 1, tzinfo=UTC).timestamp()),
    }
    token = run_reference("signJwt", claims=claims, controller=DID_WEB, **P256_SECRET)
    result = decode_vc_jwt(token, resolve=make_resolver(issuer, Fetcher()), now=NOW)
    assert result.verified and result.controller == DID_WEB, result.reason
    assert result.reason.startswith("JWT (ES256)") and not result.claim_problems
    report = ours(token, issuer)
    assert report.verified, report.failed
