"""Which key speaks for whom: a verification method bound to the controller document that was
actually resolved (W3C Controlled Identifiers 1.0, §3.3 "Retrieve Verification Method").

Every proof format (Data Integrity, the OB 3.0 VC-JWT, VC-JOSE-COSE, presentations) finds its
key here, so no path can take a method's self-declared `controller` on trust: the method must
sit in the document fetched for its URL, name that document's `id` as its controller, and be
listed under the proof's purpose. Only then is `BoundKey.controller` someone the proof speaks
for. A key that merely travels with the proof (a JWT `jwk` header, a multibase key in the
fragment of a URL nobody resolved) can show a signature intact, never who signed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import base58
import jwt
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

from issuer.errors import InvalidInput, KeyNotBound
from issuer.keys import ED25519_PUB_PREFIX, P256_PUB_PREFIX
from issuer.types import JsonObject

# Resolve a controller identifier (a DID, or an https: URL without fragment) to its document.
# It raises Unreachable when the document cannot be retrieved and InvalidInput when what came
# back is not a controller document.
Resolve = Callable[[str], JsonObject]
PublicKey = Ed25519PublicKey | EllipticCurvePublicKey | RSAPublicKey

# Controlled Identifiers 1.0, §3.3 and §4 (error names).
INVALID_VERIFICATION_METHOD_URL = "INVALID_VERIFICATION_METHOD_URL"
INVALID_CONTROLLED_IDENTIFIER_DOCUMENT = "INVALID_CONTROLLED_IDENTIFIER_DOCUMENT"
INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID = "INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID"
INVALID_VERIFICATION_METHOD = "INVALID_VERIFICATION_METHOD"
INVALID_RELATIONSHIP = "INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD"


@dataclass(frozen=True, slots=True)
class BoundKey:
    """A public key its controller publishes for a purpose; `controller` is the id of the
    document that was resolved, so it is who the proof speaks for."""

    method_id: str
    controller: str
    public_key: PublicKey


def controller_url(method_id: str) -> str:
    """The controller document's URL: the verification method's URL without its fragment."""
    if not isinstance(method_id, str) or ":" not in method_id or method_id.startswith("#"):
        raise KeyNotBound(INVALID_VERIFICATION_METHOD_URL, f"{method_id!r} is not an absolute URL")
    return method_id.split("#", 1)[0]


def bind_verification_method(method_id: str, resolve: Resolve, relationship: str) -> BoundKey:
    """Retrieve Verification Method (Controlled Identifiers 1.0 §3.3), then its public key.

    Raises Unreachable when the controller document could not be retrieved (the caller reports
    "not checked") and KeyNotBound when the method does not speak for that controller.
    """
    url = controller_url(method_id)
    document = resolve(url)
    if not isinstance(document, dict):
        raise KeyNotBound(INVALID_CONTROLLED_IDENTIFIER_DOCUMENT, f"{url} is not a document")
    if document.get("id") != url:
        raise KeyNotBound(
            INVALID_CONTROLLED_IDENTIFIER_DOCUMENT_ID,
            f"the document retrieved for {url} is about {document.get('id')!r}",
        )
    method = find_verification_method(document, method_id)
    if method is None:
        raise KeyNotBound(
            INVALID_VERIFICATION_METHOD, f"{method_id} is not in the controller document {url}"
        )
    if _absolute(url, method.get("controller")) != url:
        raise KeyNotBound(
            INVALID_VERIFICATION_METHOD,
            f"{method_id} names {method.get('controller')!r} as its controller, "
            f"not the document it was found in ({url})",
        )
    if not authorizes(document, method_id, relationship):
        raise KeyNotBound(INVALID_RELATIONSHIP, f"{method_id} is not authorized for {relationship}")
    return BoundKey(method_id, url, public_key(method))


def find_verification_method(document: JsonObject, method_id: str) -> JsonObject | None:
    """The method `method_id`, listed in `verificationMethod` or embedded in a relationship."""
    base = str(document.get("id"))
    candidates: list[Any] = list(_as_list(document.get("verificationMethod")))
    for relationship in RELATIONSHIPS:
        candidates.extend(_as_list(document.get(relationship)))
    for method in candidates:
        if isinstance(method, dict) and _absolute(base, method.get("id")) == method_id:
            return method
    return None


RELATIONSHIPS = (
    "assertionMethod",
    "authentication",
    "capabilityInvocation",
    "capabilityDelegation",
    "keyAgreement",
)


def authorizes(document: JsonObject, method_id: str, relationship: str) -> bool:
    """Whether the document lists `method_id` under `relationship`, by reference or by value."""
    base = str(document.get("id"))
    for entry in _as_list(document.get(relationship)):
        entry_id = entry.get("id") if isinstance(entry, dict) else entry
        if _absolute(base, entry_id) == method_id:
            return True
    return False


def public_key(method: JsonObject) -> PublicKey:
    """The public key of a Multikey, JsonWebKey (2020) or Ed25519VerificationKey2020 method."""
    if "publicKeyJwk" in method:
        return jwk_public_key(method["publicKeyJwk"])
    multibase = method.get("publicKeyMultibase")
    if isinstance(multibase, str):
        return multikey_public_key(multibase)
    raise KeyNotBound(INVALID_VERIFICATION_METHOD, f"{method.get('id')} carries no public key")


def multikey_public_key(multibase: str) -> PublicKey:
    """An Ed25519 (`z6Mk…`) or P-256 (`zDn…`) Multikey."""
    try:
        raw = bytes(base58.b58decode(multibase[1:])) if multibase.startswith("z") else b""
    except ValueError:
        raw = b""
    if raw[:2] == ED25519_PUB_PREFIX and len(raw) == 34:
        return Ed25519PublicKey.from_public_bytes(raw[2:])
    if raw[:2] == P256_PUB_PREFIX and len(raw) == 35:
        try:
            return EllipticCurvePublicKey.from_encoded_point(SECP256R1(), raw[2:])
        except ValueError:
            pass
    raise KeyNotBound(
        INVALID_VERIFICATION_METHOD, f"{multibase[:16]!r}… is not an Ed25519 or P-256 Multikey"
    )


def jwk_public_key(jwk: object) -> PublicKey:
    """A public JWK (OKP Ed25519, EC P-256, RSA); a JWK holding private parts is refused."""
    if not isinstance(jwk, dict) or "d" in jwk:
        raise KeyNotBound(INVALID_VERIFICATION_METHOD, "publicKeyJwk is not a public JWK")
    try:
        key = jwt.PyJWK(jwk).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError) as error:
        raise KeyNotBound(
            INVALID_VERIFICATION_METHOD, f"publicKeyJwk is unusable: {error}"
        ) from None
    if not isinstance(key, Ed25519PublicKey | EllipticCurvePublicKey | RSAPublicKey):
        raise KeyNotBound(INVALID_VERIFICATION_METHOD, "publicKeyJwk is not a supported key type")
    if isinstance(key, EllipticCurvePublicKey) and not isinstance(key.curve, SECP256R1):
        raise KeyNotBound(INVALID_VERIFICATION_METHOD, "only P-256 elliptic-curve keys are used")
    return key


def self_asserted_key(method_id: object) -> PublicKey | None:
    """The Multikey in a method URL's fragment (`…#z6Mk…`), whatever document it claims to be
    in: enough to check a signature when the document cannot be had, never to name a signer."""
    if not isinstance(method_id, str) or "#" not in method_id:
        return None
    try:
        return multikey_public_key(method_id.rsplit("#", 1)[1])
    except InvalidInput:
        return None


def _absolute(base: str, reference: object) -> str | None:
    if not isinstance(reference, str):
        return None
    return base + reference if reference.startswith("#") else reference


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
