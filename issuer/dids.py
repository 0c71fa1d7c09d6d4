"""Decentralized identifiers for the issuer: did:key and did:web, and their DID documents.

did:key (https://w3c-ccg.github.io/did-key-spec/) is self-describing: its document is derived
from the key, so it resolves locally. did:web (https://w3c-ccg.github.io/did-method-web/) names
an HTTPS location of `did.json`; fetching it is the caller's job (with limits), this module only
computes the URL and reads the document.
"""

from __future__ import annotations

from urllib.parse import unquote

from issuer.errors import InvalidInput
from issuer.jsonld.loader import DID_V1, MULTIKEY_V1
from issuer.keys import decode_multikey
from issuer.types import JsonObject

DID_KEY = "did:key:"
DID_WEB = "did:web:"


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
    if not multibase.startswith("zDn"):  # P-256 keys (wallets' ES256) are checked when used
        decode_multikey(multibase)
    return did_document(did, [multibase])


def find_verification_method(document: JsonObject, method_id: str) -> JsonObject | None:
    """The verification method `method_id` in a DID (controller) document, if it is there."""
    for method in document.get("verificationMethod", []):
        if isinstance(method, dict) and _absolute(document, method.get("id")) == method_id:
            return method
    return None


def authorizes(document: JsonObject, method_id: str, relationship: str) -> bool:
    """Whether the document lists `method_id` under `relationship` (e.g. assertionMethod)."""
    for entry in document.get(relationship, []):
        entry_id = entry.get("id") if isinstance(entry, dict) else entry
        if _absolute(document, entry_id) == method_id:
            return True
    return False


def authorized_method(document: JsonObject, method_id: str, relationship: str) -> JsonObject:
    """The verification method `method_id`, which its controller must list for `relationship`.

    InvalidInput when the document does not hold it or does not authorize it: a key that exists
    but is not listed under assertionMethod must not sign credentials.
    """
    method = find_verification_method(document, method_id)
    if method is None:
        raise InvalidInput(f"{method_id} is not in its controller's document")
    if not authorizes(document, method_id, relationship):
        raise InvalidInput(f"{method_id} is not authorized for {relationship}")
    return method


def _absolute(document: JsonObject, method_id: object) -> str | None:
    if not isinstance(method_id, str):
        return None
    return f"{document.get('id')}{method_id}" if method_id.startswith("#") else method_id
