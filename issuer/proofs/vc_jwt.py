"""Credentials as compact JWS: the OB 3.0 VC-JWT form and the VC-JOSE-COSE (`vc+jwt`) form.

OB 3.0 (https://www.imsglobal.org/spec/ob/v3p0/#jwt-proof-format): header `alg`, `typ: JWT`,
`kid`; payload `{"vc": credential, "iss", "sub", "nbf", "jti", "exp"?}`. VC-JOSE-COSE
(https://www.w3.org/TR/vc-jose-cose/): header `typ: vc+jwt`, payload = the credential itself.
We sign with ES256 (a P-256 key: what 1EdTech's validator and Open Badge Passport accept) or
EdDSA (an Ed25519 key); we verify EdDSA, ES256 and RS256, which other OB 3.0 issuers use.
ES256 signatures are JOSE's raw r‖s (RFC 7518 §3.4), never DER: PyJWT writes and reads them.

The registered claims (RFC 7519 §4.1, and `cnf` from RFC 7800) are statements about the
credential, never part of it: they are taken out of the payload and checked against it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from issuer.controllers import (
    INVALID_CONTROLLED_IDENTIFIER_DOCUMENT,
    PublicKey,
    Resolve,
    bind_verification_method,
    jwk_public_key,
    self_asserted_key,
)
from issuer.errors import CredentialInvalid, InvalidInput, KeyNotBound, Unreachable
from issuer.keys import AnySigningKey
from issuer.proofs.data_integrity import (
    ASSERTION_METHOD,
    CONTROLLER_UNREACHABLE,
    ISSUER_NOT_PROVEN,
    MALFORMED_PROOF_ERROR,
    PROOF_VERIFICATION_ERROR,
    parse_datetime,
)
from issuer.types import JsonObject

OB3_JWT = "jwt"
VC_JOSE = "vc+jwt"
ALGORITHMS = ("EdDSA", "ES256", "RS256")
REGISTERED_CLAIMS = ("iss", "sub", "aud", "exp", "nbf", "iat", "jti", "cnf")
CLOCK_SKEW_SECONDS = 60


@dataclass(frozen=True, slots=True)
class JwtResult:
    """As ProofResult: `intact` (the signature matches), `controller` (set only for a bound
    key), `verified` (both), `checked`; `credential` whenever the signature is intact, and
    `claim_problems` where the registered claims contradict the credential."""

    verified: bool
    reason: str
    credential: JsonObject | None = None
    verification_method: str | None = None
    controller: str | None = None
    code: str | None = None
    intact: bool = False
    checked: bool = True
    claim_problems: tuple[str, ...] = ()


def encode_vc_jwt(
    credential: JsonObject, *, key: AnySigningKey, kid: str, form: str = OB3_JWT
) -> str:
    """Sign `credential` (without a Data Integrity proof) as a compact JWS: ES256 with a P-256
    key, EdDSA with an Ed25519 one. `kid` must be a verification method that publishes the
    key for the credential's issuer, so that verifiers can bind it."""
    if "proof" in credential:
        raise CredentialInvalid("a VC-JWT secures the credential itself: remove its `proof`")
    algorithm = key.jwt_algorithm
    if form == VC_JOSE:
        header = {"alg": algorithm, "typ": VC_JOSE, "kid": kid}
        payload: JsonObject = credential
    elif form == OB3_JWT:
        header = {"alg": algorithm, "typ": "JWT", "kid": kid}
        payload = _ob3_claims(credential)
    else:
        raise InvalidInput(f"unknown JWT form {form!r}; use {OB3_JWT!r} or {VC_JOSE!r}")
    return jwt.encode(payload, key.private_key, algorithm=algorithm, headers=header)


def _ob3_claims(credential: JsonObject) -> JsonObject:
    subject = credential.get("credentialSubject")
    claims: JsonObject = {
        "vc": credential,
        "iss": _issuer_id(credential),
        "jti": credential.get("id"),
    }
    if isinstance(subject, dict) and subject.get("id"):
        claims["sub"] = subject["id"]
    for claim, field in (("nbf", "validFrom"), ("nbf", "issuanceDate"), ("exp", "validUntil")):
        value = credential.get(field)
        if isinstance(value, str) and claim not in claims:
            claims[claim] = _timestamp(value)
    return {k: v for k, v in claims.items() if v is not None}


def decode_vc_jwt(
    token: str, *, resolve: Resolve, now: datetime | None = None, audience: str | None = None
) -> JwtResult:
    """Verify a compact JWS credential: signature, key binding and registered claims.

    `audience` is who this verifier is (VC-API `options.domain`); a JWT restricted by `aud`
    to others is refused.
    """
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        return JwtResult(False, f"not a compact JWS: {error}", code=MALFORMED_PROOF_ERROR)
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        reason = f"JWT algorithm {algorithm!r} is not accepted ({', '.join(ALGORITHMS)})"
        return JwtResult(False, reason, code=MALFORMED_PROOF_ERROR)
    key, method_id, controller, unbound = _key(header, unverified, resolve)
    if key is None:
        return JwtResult(False, unbound.reason, None, method_id, None, *unbound.outcome)
    result = _signed_credential(token, key, str(algorithm), method_id)
    if not isinstance(result, tuple):
        return result
    credential, claims = result
    problems = tuple(_claim_problems(claims, credential, now, audience))
    if controller is None:
        return JwtResult(
            False,
            unbound.reason,
            credential,
            method_id,
            None,
            ISSUER_NOT_PROVEN,
            True,
            True,
            problems,
        )
    reason = f"JWT ({algorithm}) signed by {method_id}"
    return JwtResult(True, reason, credential, method_id, controller, None, True, True, problems)


@dataclass(frozen=True, slots=True)
class _Unbound:
    """Why a token's key is not bound to a controller, and the code to report."""

    reason: str = ""
    code: str = PROOF_VERIFICATION_ERROR
    checked: bool = True

    @property
    def outcome(self) -> tuple[str, bool, bool]:
        """(code, intact, checked) for a token whose key could not be had at all."""
        return self.code, False, self.checked


def _key(
    header: JsonObject, payload: JsonObject, resolve: Resolve
) -> tuple[PublicKey | None, str | None, str | None, _Unbound]:
    """(key, method id, bound controller, why unbound): the key comes from the controller
    document when the `kid` resolves; a key that travels with the token is only self-asserted."""
    kid = header.get("kid")
    issuer = payload.get("iss")
    if isinstance(kid, str) and kid.startswith("#") and isinstance(issuer, str):
        kid = issuer + kid  # VC-JOSE-COSE: a relative kid is relative to the issuer
    if not isinstance(kid, str):
        if "jwk" not in header:
            return None, None, None, _Unbound("the JWT header names no `kid` verification method")
        try:
            key = jwk_public_key(header["jwk"])
        except InvalidInput as error:
            return None, None, None, _Unbound(f"the JWT's `jwk` header is unusable: {error}")
        why = (
            "signature intact, issuer not proven: the key came with the JWT (`jwk` header), "
            "not from a document its issuer publishes"
        )
        return key, None, None, _Unbound(why, ISSUER_NOT_PROVEN)
    try:
        bound = bind_verification_method(kid, resolve, ASSERTION_METHOD)
    except Unreachable as error:
        fragment_key = self_asserted_key(kid)
        if fragment_key is None:
            return None, kid, None, _Unbound(f"not checked: {error}", CONTROLLER_UNREACHABLE, False)
        why = f"signature intact, issuer not proven: {error}"
        return fragment_key, kid, None, _Unbound(why, ISSUER_NOT_PROVEN)
    except KeyNotBound as error:
        return None, kid, None, _Unbound(str(error), error.code)
    except InvalidInput as error:
        return None, kid, None, _Unbound(str(error), INVALID_CONTROLLED_IDENTIFIER_DOCUMENT)
    return bound.public_key, kid, bound.controller, _Unbound()


def _signed_credential(
    token: str, key: PublicKey, algorithm: str, method_id: str | None
) -> tuple[JsonObject, JsonObject] | JwtResult:
    """(credential, registered claims) from a token whose signature matches `key`."""
    if not _fits(algorithm, key):
        reason = f"JWT algorithm {algorithm} does not fit the key of {method_id or 'the JWT'}"
        return JwtResult(False, reason, None, method_id, code=PROOF_VERIFICATION_ERROR)
    try:
        payload = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "verify_iss": False,
            },
        )
    except jwt.InvalidSignatureError:
        reason = "the JWT signature does not match"
        return JwtResult(False, reason, None, method_id, code=PROOF_VERIFICATION_ERROR)
    except (jwt.PyJWTError, ValueError, TypeError) as error:
        return JwtResult(
            False, f"the JWT is malformed: {error}", None, method_id, code=MALFORMED_PROOF_ERROR
        )
    claims = {name: payload[name] for name in REGISTERED_CLAIMS if name in payload}
    if "vc" in payload:  # the OB 3.0 VC-JWT form
        credential = payload["vc"]
    else:  # VC-JOSE-COSE: the payload is the credential, minus the claims about it
        credential = {k: v for k, v in payload.items() if k not in REGISTERED_CLAIMS}
    if not isinstance(credential, dict) or not credential:
        return JwtResult(
            False, "the JWT carries no credential", None, method_id, code=MALFORMED_PROOF_ERROR
        )
    return credential, claims


def _fits(algorithm: str, key: PublicKey) -> bool:
    if algorithm == "EdDSA":
        return isinstance(key, Ed25519PublicKey)
    if algorithm == "ES256":
        return isinstance(key, EllipticCurvePublicKey) and isinstance(key.curve, SECP256R1)
    return isinstance(key, RSAPublicKey)


def _claim_problems(
    claims: JsonObject, credential: JsonObject, now: datetime | None, audience: str | None
) -> list[str]:
    """Where the registered claims contradict the credential or this verifier (RFC 7519 §4.1,
    OB 3.0 §8.2.4.1: iss = issuer.id, sub = credentialSubject.id, jti = id, nbf = validFrom,
    exp = validUntil)."""
    subject = credential.get("credentialSubject")
    expected = {
        "iss": _issuer_id(credential),
        "sub": subject.get("id") if isinstance(subject, dict) else None,
        "jti": credential.get("id"),
    }
    problems = [
        f"the JWT claim {name}={claims[name]!r} does not match the credential ({value!r})"
        for name, value in expected.items()
        if name in claims and claims[name] != value
    ]
    for claim, fields in (("nbf", ("validFrom", "issuanceDate")), ("exp", ("validUntil",))):
        problems += _time_claim_problems(claims, credential, claim, fields)
    moment = now.timestamp() if now is not None else None
    if moment is not None and _number(claims.get("exp"), moment + 1) <= moment:
        problems.append("the JWT has expired (exp)")
    if moment is not None and _number(claims.get("iat"), 0) > moment + CLOCK_SKEW_SECONDS:
        problems.append("the JWT was issued in the future (iat)")
    if "aud" in claims:
        audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
        if audience is None or audience not in audiences:
            problems.append(f"the JWT is meant for {claims['aud']!r}, not for this verifier")
    problems += _confirmation_problems(claims.get("cnf"), expected["sub"])
    return problems


def _time_claim_problems(
    claims: JsonObject, credential: JsonObject, claim: str, fields: tuple[str, ...]
) -> list[str]:
    if claim not in claims:
        return []
    if not isinstance(claims[claim], int | float) or isinstance(claims[claim], bool):
        return [f"the JWT claim {claim} is not a NumericDate"]
    for field in fields:
        moment = parse_datetime(credential.get(field))
        if moment is not None:
            if int(moment.timestamp()) != int(claims[claim]):
                return [f"the JWT claim {claim} does not match the credential's {field}"]
            return []
    return []


def _confirmation_problems(confirmation: object, subject_id: object) -> list[str]:
    """RFC 7800 `cnf`: the holder's key must belong to the credential's subject."""
    if confirmation is None:
        return []
    if not isinstance(confirmation, dict):
        return ["the JWT claim cnf is not an object"]
    kid = confirmation.get("kid")
    if isinstance(kid, str) and kid.split("#", 1)[0] != subject_id:
        return [f"the JWT claim cnf names {kid!r}, not a key of the subject {subject_id!r}"]
    return []


def _number(value: object, default: float) -> float:
    return (
        float(value) if isinstance(value, int | float) and not isinstance(value, bool) else default
    )


def _issuer_id(credential: JsonObject) -> Any:
    issuer = credential.get("issuer")
    return issuer.get("id") if isinstance(issuer, dict) else issuer


def _timestamp(value: str) -> int:
    moment = parse_datetime(value)
    if moment is None:
        raise CredentialInvalid(f"{value!r} is not an XML Schema dateTime")
    return int(moment.timestamp())


_COMPACT_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def looks_like_jwt(text: str) -> bool:
    """A compact JWS: three base64url parts (the signature may be empty only to be refused)."""
    return _COMPACT_JWS.fullmatch(text.strip()) is not None


def fits(algorithm: str, key: PublicKey) -> bool:
    """Whether a JWS `alg` is the algorithm of `key`'s type (so no key is used two ways)."""
    return _fits(algorithm, key)
