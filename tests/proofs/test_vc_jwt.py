"""VC-JWT: EdDSA signing in both forms; EdDSA, ES256 and RS256 verification."""

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from issuer.dids import did_key, resolve_did_key
from issuer.keys import SigningKey
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, decode_vc_jwt, encode_vc_jwt


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
