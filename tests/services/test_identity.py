"""What the issuer signs with: Ed25519 and P-256 keys, the DID that publishes them, one proof
per configured cryptosuite, VC-JWTs in ES256 (or EdDSA), and the OpenID4VCI metadata that says
so. Keys come from fixed seeds; every signature is real and verified by our verifier."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest

from issuer.controllers import bind_verification_method
from issuer.dids import did_key
from issuer.errors import InvalidInput, KeyMaterialError
from issuer.jsonld.loader import load_document
from issuer.keys import P256, P256SigningKey, SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs.data_integrity import ASSERTION_METHOD
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE
from issuer.services.exchanges import JWT_VC_JSON, LDP_VC, credential_issuer_metadata
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, load_identity, make_resolver, sign_credential
from issuer.services.issuing import Issuer
from issuer.services.keyring import KeyRing
from issuer.verification import verify_credential
from tests.conftest import SEED

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DID_WEB = "did:web:badges.example.org"
BOTH = ("eddsa-rdfc-2022", "ecdsa-rdfc-2019")
ED25519_KEY = SigningKey.from_seed(SEED)
P256_KEY = P256SigningKey.from_secret(SEED)


def identity(
    did: str = DID_WEB,
    *,
    p256: bool = True,
    proofs: tuple[str, ...] = ("eddsa-rdfc-2022",),
    jwt_algorithm: str | None = None,
) -> IssuerIdentity:
    keys = (ED25519_KEY.multikey, P256_KEY.multikey) if p256 else (ED25519_KEY.multikey,)
    return IssuerIdentity(
        did,
        ED25519_KEY,
        keys,
        IssuerProfile(id=did, name="St Example"),
        P256_KEY if p256 else None,
        proofs,
        jwt_algorithm,
    )


def verdict(signed: Any, issuer: IssuerIdentity) -> Any:
    return verify_credential(
        signed, now=NOW, resolve=make_resolver(issuer, Fetcher()), loader=load_document
    )


def test_did_web_publishes_both_keys_as_multikeys() -> None:
    document = identity().did_document()
    keys = [m["publicKeyMultibase"] for m in document["verificationMethod"]]
    assert keys == [ED25519_KEY.multikey, P256_KEY.multikey]
    assert {m["type"] for m in document["verificationMethod"]} == {"Multikey"}
    assert document["assertionMethod"] == [f"{DID_WEB}#{key}" for key in keys]


def test_did_key_names_the_ed25519_key_only() -> None:
    own = did_key(ED25519_KEY.multikey)
    document = identity(own).did_document()
    assert [m["publicKeyMultibase"] for m in document["verificationMethod"]] == [
        ED25519_KEY.multikey
    ]


@pytest.mark.parametrize("form", [OB3_JWT, VC_JOSE])
def test_jwts_are_es256_by_default_and_their_kid_binds_to_the_issuer(
    unsigned_credential: dict[str, Any], form: str
) -> None:
    issuer = identity()
    token = sign_credential(unsigned_credential, issuer, form=form, now=NOW)
    assert isinstance(token, str)
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "ES256" and header["kid"] == f"{DID_WEB}#{P256_KEY.multikey}"
    bound = bind_verification_method(
        header["kid"], make_resolver(issuer, Fetcher()), ASSERTION_METHOD
    )
    assert bound.controller == DID_WEB
    report = verdict(token, issuer)
    assert report.verified, report.failed
    assert {c.name: c.status for c in report.checks}["issuer"] == "passed"


def test_jwts_stay_eddsa_when_asked_or_without_a_p256_key(
    unsigned_credential: dict[str, Any],
) -> None:
    for issuer in (identity(jwt_algorithm="EdDSA"), identity(p256=False)):
        token = sign_credential(unsigned_credential, issuer, form=OB3_JWT, now=NOW)
        assert isinstance(token, str) and jwt.get_unverified_header(token)["alg"] == "EdDSA"
        assert verdict(token, issuer).verified


def test_under_did_key_jwts_stay_eddsa_even_with_a_p256_key(
    unsigned_credential: dict[str, Any],
) -> None:
    """A did:key names one key: an ES256 `kid` could never resolve to a key of the issuer."""
    issuer = identity(did_key(ED25519_KEY.multikey))
    token = sign_credential(unsigned_credential, issuer, form=OB3_JWT, now=NOW)
    assert isinstance(token, str) and jwt.get_unverified_header(token)["alg"] == "EdDSA"
    assert verdict(token, issuer).verified


@pytest.mark.parametrize(
    ("settings", "error", "message"),
    [
        ({"jwt_algorithm": "ES256"}, InvalidInput, "did:web"),
        ({"proofs": BOTH}, InvalidInput, "did:web"),
    ],
)
def test_refuses_p256_under_did_key(settings: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        identity(did_key(ED25519_KEY.multikey), **settings)


def test_refuses_ecdsa_or_es256_without_a_p256_key() -> None:
    with pytest.raises(KeyMaterialError, match="issuer keys generate --type p256"):
        identity(p256=False, proofs=BOTH)
    with pytest.raises(KeyMaterialError, match="issuer keys generate --type p256"):
        identity(p256=False, jwt_algorithm="ES256")
    with pytest.raises(InvalidInput, match="RS256"):
        identity(jwt_algorithm="RS256")
    with pytest.raises(InvalidInput, match="unknown cryptosuite"):
        identity(proofs=("ecdsa-sd-2023",))


def test_two_suites_give_a_two_proof_set_that_verifies(
    unsigned_credential: dict[str, Any],
) -> None:
    issuer = identity(proofs=BOTH)
    signed = sign_credential(unsigned_credential, issuer, form="di", now=NOW)
    assert isinstance(signed, dict)
    assert [(p["cryptosuite"], p["verificationMethod"]) for p in signed["proof"]] == [
        ("eddsa-rdfc-2022", f"{DID_WEB}#{ED25519_KEY.multikey}"),
        ("ecdsa-rdfc-2019", f"{DID_WEB}#{P256_KEY.multikey}"),
    ]
    assert all("previousProof" not in p for p in signed["proof"])
    report = verdict(signed, issuer)
    assert report.verified, report.failed
    conformance = {c.name: c for c in report.checks}["conformance"]
    assert conformance.status == "passed", conformance.message  # the OB 3.0 schema allows it
    signed["credentialSubject"]["achievement"]["name"] = "Tampered"
    assert not verdict(signed, issuer).verified


def test_one_suite_keeps_the_proof_array_of_an_open_badge(
    unsigned_credential: dict[str, Any],
) -> None:
    signed = sign_credential(
        unsigned_credential, identity(proofs=("ecdsa-rdfc-2019",)), form="di", now=NOW
    )
    assert isinstance(signed, dict) and len(signed["proof"]) == 1
    assert signed["proof"][0]["cryptosuite"] == "ecdsa-rdfc-2019"


def test_metadata_advertises_what_we_sign_with() -> None:
    def supported(issuer: IssuerIdentity) -> tuple[list[str], list[str]]:
        metadata = credential_issuer_metadata(Issuer(issuer, "https://badges.example.org"), "X")
        configurations = metadata["credential_configurations_supported"]
        return (
            configurations[LDP_VC]["credential_signing_alg_values_supported"],
            configurations[JWT_VC_JSON]["credential_signing_alg_values_supported"],
        )

    assert supported(identity(proofs=BOTH)) == (list(BOTH), ["ES256"])
    assert supported(identity(p256=False)) == (["eddsa-rdfc-2022"], ["EdDSA"])


def test_load_identity_reads_both_keys_from_the_ring(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path)
    ed25519 = ring.generate(None, dev=True)
    p256 = ring.generate(None, dev=True, key_type=P256)
    profile = IssuerProfile(id="https://badges.example.org/issuer", name="X")
    loaded = load_identity(tmp_path, None, DID_WEB, profile, proofs=BOTH)
    assert loaded.p256_key is not None and loaded.p256_key.multikey == p256.multikey
    assert [s.verification_method for s in loaded.signers()] == [
        f"{DID_WEB}#{ed25519.multikey}",
        f"{DID_WEB}#{p256.multikey}",
    ]
    assert loaded.jwt_signer().key.jwt_algorithm == "ES256"
