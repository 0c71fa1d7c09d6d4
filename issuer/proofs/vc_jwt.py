"""Credentials as compact JWS: the OB 3.0 VC-JWT form and the VC-JOSE-COSE (`vc+jwt`) form.

OB 3.0 (https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof-format): header `alg`, `typ: JWT`,
`kid`; payload `{"vc": credential, "iss", "sub", "nbf", "jti", "exp"?}`. VC-JOSE-COSE
(https://www.w3.org/TR/vc-jose-cose/): header `typ: vc+jwt`, payload = the credential itself.
We sign with EdDSA; we verify EdDSA, ES256 and RS256, which other OB 3.0 issuers use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import base58
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from issuer.dids import authorized_method
from issuer.errors import CredentialInvalid, InvalidInput, IssuerError
from issuer.keys import SigningKey, decode_multikey
from issuer.proofs.data_integrity import ASSERTION_METHOD, Resolve
from issuer.types import JsonObject

OB3_JWT = "jwt"
VC_JOSE = "vc+jwt"
ALGORITHMS = ("EdDSA", "ES256", "RS256")
P256_MULTIKEY_PREFIX = b"\x80\x24"


@dataclass(frozen=True, slots=True)
class JwtResult:
    verified: bool
    reason: str
    credential: JsonObject | None = None
    verification_method: str | None = None
    controller: str | None = None


def encode_vc_jwt(credential: JsonObject, *, key: SigningKey, kid: str, form: str = OB3_JWT) -> str:
    """Sign `credential` (without a Data Integrity proof) as a compact JWS with EdDSA."""
    if "proof" in credential:
        raise CredentialInvalid("a VC-JWT secures the credential itself: remove its `proof`")
    if form == VC_JOSE:
        header = {"alg": "EdDSA", "typ": VC_JOSE, "kid": kid}
        payload: JsonObject = credential
    elif form == OB3_JWT:
        header = {"alg": "EdDSA", "typ": "JWT", "kid": kid}
        payload = _ob3_claims(credential)
    else:
        raise InvalidInput(f"unknown JWT form {form!r}; use {OB3_JWT!r} or {VC_JOSE!r}")
    return jwt.encode(payload, key.private_key, algorithm="EdDSA", headers=header)


def _ob3_claims(credential: JsonObject) -> JsonObject:
    issuer = credential.get("issuer")
    issuer_id = issuer.get("id") if isinstance(issuer, dict) else issuer
    subject = credential.get("credentialSubject")
    claims: JsonObject = {"vc": credential, "iss": issuer_id, "jti": credential.get("id")}
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    for claim, field in (("nbf", "validFrom"), ("nbf", "issuanceDate"), ("exp", "validUntil")):
        value = credential.get(field)
        if isinstance(value, str) and claim not in claims:
            claims[claim] = int(_parse_datetime(value).timestamp())
    return {k: v for k, v in claims.items() if v is not None}


def decode_vc_jwt(token: str, *, resolve: Resolve) -> JwtResult:
    """Verify a compact JWS credential; the result carries the credential when it verifies."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        return JwtResult(False, f"not a compact JWS: {error}")
    algorithm, kid = header.get("alg"), header.get("kid")
    if algorithm not in ALGORITHMS:
        return JwtResult(
            False, f"JWT algorithm {algorithm!r} is not accepted ({', '.join(ALGORITHMS)})"
        )
    if not isinstance(kid, str):
        return JwtResult(False, "the JWT header names no `kid` verification method")
    try:
        controller, public_key = _public_key(kid, resolve)
        payload = jwt.decode(
            token,
            key=public_key,
            algorithms=[algorithm],
            options={"verify_exp": False, "verify_nbf": False, "verify_aud": False},
        )
    except jwt.InvalidSignatureError:
        return JwtResult(False, "the JWT signature does not match", verification_method=kid)
    except (jwt.PyJWTError, IssuerError) as error:
        return JwtResult(False, str(error), verification_method=kid)
    credential = payload.get("vc", payload) if header.get("typ") != VC_JOSE else payload
    if not isinstance(credential, dict):
        return JwtResult(False, "the JWT carries no credential", verification_method=kid)
    return JwtResult(True, f"JWT ({algorithm}) signed by {kid}", credential, kid, controller)


def _public_key(kid: str, resolve: Resolve) -> tuple[str, Any]:
    return verification_key(kid, resolve, ASSERTION_METHOD)


def verification_key(kid: str, resolve: Resolve, relationship: str) -> tuple[str, Any]:
    """(controller, public key) of a verification method authorized for `relationship`:
    Ed25519 or P-256 Multikey, or a JWK (EC, RSA, OKP)."""
    method = authorized_method(resolve(kid.split("#", 1)[0]), kid, relationship)
    if "publicKeyJwk" in method:
        return str(method.get("controller")), jwt.PyJWK(method["publicKeyJwk"]).key
    multibase = str(method.get("publicKeyMultibase", ""))
    if multibase.startswith("zDn"):
        raw = bytes(base58.b58decode(multibase[1:]))
        if raw[:2] != P256_MULTIKEY_PREFIX:
            raise InvalidInput(f"{kid} is not a P-256 Multikey")
        return str(method.get("controller")), EllipticCurvePublicKey.from_encoded_point(
            SECP256R1(), raw[2:]
        )
    return str(method.get("controller")), Ed25519PublicKey.from_public_bytes(
        decode_multikey(multibase)
    )


def _parse_datetime(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise CredentialInvalid(f"{value!r} is not an XML Schema dateTime") from error


def looks_like_jwt(text: str) -> bool:
    parts = text.strip().split(".")
    return len(parts) == 3 and all(parts[:2]) and not text.lstrip().startswith("{")
