"""Decentralized identifiers: did:key, did:jwk and did:web, and their DID documents.

did:key (https://w3c-ccg.github.io/did-key-spec/) and did:jwk
(https://github.com/quartzjer/did-jwk/blob/main/spec.md) are self-describing: the document is
derived from the key, so they resolve locally. did:web
(https://w3c-ccg.github.io/did-method-web/) names an HTTPS location of `did.json`; fetching it
is the caller's job (with limits), this module only computes the URL.
"""

from __future__ import annotations

import base64
import binascii
import json
from urllib.parse import unquote

from issuer.errors import InvalidInput
from issuer.jsonld.loader import DID_V1, MULTIKEY_V1
from issuer.keys import multikey_type
from issuer.types import JsonObject

DID_KEY = "did:key:"
DID_WEB = "did:web:"
DID_JWK = "did:jwk:"


def did_key(public_key_multibase: str) -> str:
    return DID_KEY + public_key_multibase


def verification_method_id(did: str, public_key_multibase: str) -> str:
    """`did#fragment`; the fragment is the Multikey itself, as did:key prescribes."""
    return f"{did}#{public_key_multibase}"


def did_web_url(did: str) -> str:
    """The HTTPS URL of a did:web's document (did-method-web, section 'Read (Resolve)')."""
    if not did.startswith(DID_WEB) or len(did) == len(DID_WEB):
        raise InvalidInput(f"{did!r} is not a did:web")
    parts = did[len(DID_WEB) :].split(":")
    host = unquote(parts[0])
    if not host or "/" in host or "@" in host:
        raise InvalidInput(f"{did!r} has no valid domain")
    path = "/".join(unquote(part) for part in parts[1:])
    return f"https://{host}/{path}/did.json" if path else f"https://{host}/.well-known/did.json"


def did_web_path(did: str) -> str:
    """The path at which our own app serves the document of `did` (a did:web of ours)."""
    url = did_web_url(did)
    return "/" + url.split("/", 3)[3]


def did_document(did: str, public_keys: list[str]) -> JsonObject:
    """A DID document listing every key as a Multikey for assertion and authentication.

    Old keys stay listed after rotation, so credentials they signed keep verifying.
    """
    methods = [
        {
            "id": verification_method_id(did, key),
            "type": "Multikey",
            "controller": did,
            "publicKeyMultibase": key,
        }
        for key in public_keys
    ]
    ids = [method["id"] for method in methods]
    return {
        "@context": [DID_V1, MULTIKEY_V1],
        "id": did,
        "verificationMethod": methods,
        "assertionMethod": ids,
        "authentication": ids,
    }


def resolve_did_key(did: str) -> JsonObject:
    """The DID document of a did:key, derived from the key (no network)."""
    if not did.startswith(DID_KEY):
        raise InvalidInput(f"{did!r} is not a did:key")
    multibase = did[len(DID_KEY) :]
    multikey_type(multibase)  # Ed25519 (`z6Mk…`) or P-256 (`zDn…`, wallets' ES256 keys)
    return did_document(did, [multibase])


def resolve_did_jwk(did: str) -> JsonObject:
    """The DID document of a did:jwk (did-jwk spec, "Read"): one JsonWebKey method `#0`.

    A key marked `"use": "enc"` may only agree keys; any other is for signatures.
    """
    if not did.startswith(DID_JWK):
        raise InvalidInput(f"{did!r} is not a did:jwk")
    encoded = did[len(DID_JWK) :]
    try:
        jwk = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidInput(f"{did!r} does not hold a base64url-encoded JWK") from None
    if not isinstance(jwk, dict) or "d" in jwk or not isinstance(jwk.get("kty"), str):
        raise InvalidInput(f"{did!r} does not hold a public JWK")
    method_id = f"{did}#0"
    document: JsonObject = {
        "@context": [DID_V1, "https://w3id.org/security/jwk/v1"],
        "id": did,
        "verificationMethod": [
            {"id": method_id, "type": "JsonWebKey", "controller": did, "publicKeyJwk": jwk}
        ],
    }
    use = jwk.get("use")
    if use != "sig":
        document["keyAgreement"] = [method_id]
    if use != "enc":
        for relationship in (
            "assertionMethod",
            "authentication",
            "capabilityInvocation",
            "capabilityDelegation",
        ):
            document[relationship] = [method_id]
    return document


def resolve_locally(did: str) -> JsonObject:
    """A self-describing DID's document (did:key, did:jwk); InvalidInput for any other."""
    if did.startswith(DID_KEY):
        return resolve_did_key(did)
    if did.startswith(DID_JWK):
        return resolve_did_jwk(did)
    raise InvalidInput(f"{did!r} cannot be resolved without the network")
