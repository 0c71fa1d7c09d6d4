"""VC-JWT: EdDSA signing in both forms; EdDSA, ES256 and RS256 verification."""

from datetime import UTC, datetime

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from issuer.dids import did_key, resolve_did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, decode_vc_jwt, encode_vc_jwt
from issuer.verification import verify_credential


@pytest.fixture
def credential(signing_key: SigningKey, unsigned_credential: dict) -> dict:  # type: ignore[type-arg]
    unsigned_credential["issuer"] = {
        "id": did_key(signing_key.multikey),
        "type": ["Profile"],
        "name": "X",
    }
    unsigned_credential["validFrom"] = "2026-01-01T00:00:00Z"
    unsigned_credential["validUntil"] = "2030-01-01T00:00:00Z"
    return unsigned_credential


def kid(key: SigningKey) -> str:
    return f"{did_key(key.multikey)}#{key.multikey}"


def test_ob3_form_carries_the_registered_claims(signing_key: SigningKey, credential: dict) -> None:  # type: ignore[type-arg]
    token = encode_vc_jwt(credential, key=signing_key, kid=kid(signing_key), form=OB3_JWT)
    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "typ": "JWT", "kid": kid(signing_key)}
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["vc"] == credential
    assert claims["iss"] == credential["issuer"]["id"]
    assert claims["jti"] == credential["id"]
    assert claims["sub"] == credential["credentialSubject"]["id"]
    assert claims["nbf"] == 1767225600 and claims["exp"] == 1893456000
    result = decode_vc_jwt(token, resolve=resolve_did_key)
    assert result.verified and result.credential == credential


def test_vc_jose_form_is_the_credential_itself(signing_key: SigningKey, credential: dict) -> None:  # type: ignore[type-arg]
    token = encode_vc_jwt(credential, key=signing_key, kid=kid(signing_key), form=VC_JOSE)
    assert jwt.get_unverified_header(token)["typ"] == "vc+jwt"
    assert jwt.decode(token, options={"verify_signature": False}) == credential
    assert decode_vc_jwt(token, resolve=resolve_did_key).credential == credential


def test_fails_to_verify_if_the_payload_is_tampered(
    signing_key: SigningKey, credential: dict
) -> None:  # type: ignore[type-arg]
    token = encode_vc_jwt(credential, key=signing_key, kid=kid(signing_key))
    header, _, signature = token.split(".")
    forged_payload = jwt.encode({"vc": {**credential, "name": "Forged"}}, "k" * 32).split(".")[1]
    result = decode_vc_jwt(f"{header}.{forged_payload}.{signature}", resolve=resolve_did_key)
    assert not result.verified and result.credential is None


def test_fails_to_verify_if_signed_by_another_key(
    signing_key: SigningKey, credential: dict
) -> None:  # type: ignore[type-arg]
    mallory = SigningKey.from_seed(b"\x09" * 32)
    token = encode_vc_jwt(credential, key=mallory, kid=kid(signing_key))
    assert not decode_vc_jwt(token, resolve=resolve_did_key).verified


def test_refuses_alg_none_and_hmac(credential: dict, signing_key: SigningKey) -> None:  # type: ignore[type-arg]
    for token in (
        jwt.encode({"vc": credential}, None, algorithm="none", headers={"kid": kid(signing_key)}),
        jwt.encode(
            {"vc": credential}, "s" * 32, algorithm="HS256", headers={"kid": kid(signing_key)}
        ),
    ):
        result = decode_vc_jwt(token, resolve=resolve_did_key)
        assert not result.verified and "not accepted" in result.reason


@pytest.mark.parametrize(
    ("algorithm", "private_key"),
    [
        ("ES256", ec.generate_private_key(ec.SECP256R1())),
        ("RS256", rsa.generate_private_key(public_exponent=65537, key_size=2048)),
    ],
)
def test_verifies_es256_and_rs256_from_other_issuers(
    algorithm: str, private_key, credential: dict
) -> None:  # type: ignore[no-untyped-def,type-arg]
    did = "did:web:other-issuer.example"
    method = f"{did}#key-1"
    jwk = jwt.algorithms.get_default_algorithms()[algorithm].to_jwk(
        private_key.public_key(), as_dict=True
    )
    document = {
        "id": did,
        "verificationMethod": [
            {"id": method, "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}
        ],
        "assertionMethod": [method],
    }
    token = jwt.encode(
        {"vc": credential, "iss": did}, private_key, algorithm=algorithm, headers={"kid": method}
    )
    result = decode_vc_jwt(token, resolve=lambda _: document)
    assert result.verified, result.reason
    assert result.controller == did


NOW = datetime(2026, 11, 23, tzinfo=UTC)


def claims_token(signing_key: SigningKey, credential: dict, **claims: object) -> str:  # type: ignore[type-arg]
    payload = {
        "vc": credential,
        "iss": credential["issuer"]["id"],
        "jti": credential["id"],
        "nbf": 1767225600,
        "exp": 1893456000,
        **claims,
    }
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, signing_key.private_key, "EdDSA", headers={"kid": kid(signing_key)})


# Registered claims that contradict the credential or this verifier, and a word of the problem
# each is reported with (tests/web/test_vc_api_conformance.py posts them to the VC-API too).
CONTRADICTING_CLAIMS = [
    ({"iss": "did:example:someone-else"}, "iss"),
    ({"jti": "urn:uuid:other"}, "jti"),
    ({"sub": "did:example:other-subject"}, "sub"),
    ({"nbf": 1767225601}, "nbf"),
    ({"exp": 1893456001}, "exp"),
    ({"nbf": "yesterday"}, "nbf"),
    ({"iat": 2000000000}, "iat"),
    ({"aud": "https://another-verifier.example"}, "meant for"),
    ({"cnf": {"kid": "did:example:thief#key-1"}}, "cnf"),
]


@pytest.mark.parametrize(("claims", "problem"), CONTRADICTING_CLAIMS)
def test_fails_to_verify_if_a_registered_claim_contradicts_the_credential(
    signing_key: SigningKey,
    credential: dict,
    claims: dict,
    problem: str,  # type: ignore[type-arg]
) -> None:
    result = decode_vc_jwt(
        claims_token(signing_key, credential, **claims), resolve=resolve_did_key, now=NOW
    )
    assert result.intact and result.claim_problems, claims
    assert any(problem in text for text in result.claim_problems), result.claim_problems


def test_an_expired_jwt_and_an_audience_are_checked(
    signing_key: SigningKey, credential: dict
) -> None:  # type: ignore[type-arg]
    del credential["validUntil"]
    expired = claims_token(signing_key, credential, exp=1700000000)
    assert (
        "the JWT has expired (exp)"
        in decode_vc_jwt(expired, resolve=resolve_did_key, now=NOW).claim_problems
    )
    aimed = claims_token(signing_key, credential, exp=None, aud=["https://verifier.example"])
    assert (
        decode_vc_jwt(
            aimed, resolve=resolve_did_key, now=NOW, audience="https://verifier.example"
        ).claim_problems
        == ()
    )


def test_registered_claims_are_never_credential_properties(
    signing_key: SigningKey,
    credential: dict,  # type: ignore[type-arg]
) -> None:
    """VC-JOSE-COSE: the payload is the credential, but iat/exp/iss are claims about it."""
    payload = {**credential, "iat": 1767225600, "iss": credential["issuer"]["id"]}
    token = jwt.encode(
        payload,
        signing_key.private_key,
        "EdDSA",
        headers={"kid": kid(signing_key), "typ": "vc+jwt"},
    )
    result = decode_vc_jwt(token, resolve=resolve_did_key, now=NOW)
    assert result.verified and result.credential == credential
    report = verify_credential(token, now=NOW, resolve=resolve_did_key, loader=load_document)
    assert report.verified, report.failed


def test_an_alg_that_does_not_fit_the_key_is_refused(
    signing_key: SigningKey, credential: dict
) -> None:  # type: ignore[type-arg]
    """An ES256 header over an Ed25519 key: a clear failure, not a 500."""
    private = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode({"vc": credential}, private, "ES256", headers={"kid": kid(signing_key)})
    result = decode_vc_jwt(token, resolve=resolve_did_key)
    assert not result.verified and "does not fit" in result.reason
