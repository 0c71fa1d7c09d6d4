"""The eddsa-rdfc-2022 cryptosuite (https://www.w3.org/TR/vc-di-eddsa/#eddsa-rdfc-2022).

Pure: documents and strings in, bytes out. data_integrity.py assembles and checks the proof.
Ed25519Signature2020 (https://w3c-ccg.github.io/di-eddsa-2020/) hashes the same way, with its
own proof type and context; it is here for verification only.
"""

from __future__ import annotations

from hashlib import sha256

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from issuer.errors import InvalidInput
from issuer.jsonld.canonize import canonize
from issuer.keys import ED25519
from issuer.proofs.configuration import canonical_configuration
from issuer.types import DocumentLoader, JsonObject

NAME = "eddsa-rdfc-2022"
PROOF_TYPE = "DataIntegrityProof"
LEGACY_PROOF_TYPE = "Ed25519Signature2020"
KEY_TYPE = ED25519


def transform(unsecured_document: JsonObject, loader: DocumentLoader) -> str:
    """https://www.w3.org/TR/vc-di-eddsa/#transformation-eddsa-rdfc-2022"""
    return canonize(unsecured_document, loader)


def configure_proof(proof_options: JsonObject, context: object, loader: DocumentLoader) -> str:
    """https://www.w3.org/TR/vc-di-eddsa/#proof-configuration-eddsa-rdfc-2022

    The proof options without `proofValue`, under the secured document's `@context`, expanded
    strictly: an option the contexts do not define would be dropped from the canonical form,
    left unsigned and free to change (a VC 1.1 credential without the Data Integrity context
    loses `created` that way), so it is an error (JsonLdInvalid), never dropped.
    """
    return canonical_configuration(proof_options, context, loader)


def hash_data(canonical_proof_config: str, canonical_document: str) -> bytes:
    """https://www.w3.org/TR/vc-di-eddsa/#hashing-eddsa-rdfc-2022"""
    # The spec puts the proof-config hash first; swapping them still "works" but fails vectors.
    return (
        sha256(canonical_proof_config.encode("utf-8")).digest()
        + sha256(canonical_document.encode("utf-8")).digest()
    )


def serialize_proof_value(signature: bytes) -> str:
    """https://www.w3.org/TR/vc-di-eddsa/#proof-serialization-eddsa-rdfc-2022 (base58btc)."""
    return "z" + base58.b58encode(signature).decode("ascii")


def parse_proof_value(proof_value: object) -> bytes:
    """The 64-byte signature in a `z…` proofValue; InvalidInput when it is anything else."""
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise InvalidInput("proofValue is not a base58btc multibase string")
    try:
        signature = bytes(base58.b58decode(proof_value[1:]))
    except ValueError as error:
        raise InvalidInput("proofValue is not valid base58btc") from error
    if len(signature) != 64:
        raise InvalidInput(f"proofValue holds {len(signature)} bytes, not a 64-byte signature")
    return signature


def verify_proof_value(public_key: object, signature: bytes, data: bytes) -> bool:
    """https://www.w3.org/TR/vc-di-eddsa/#proof-verification-eddsa-rdfc-2022 (False for any
    key that is not Ed25519)."""
    if not isinstance(public_key, Ed25519PublicKey):
        return False
    try:
        public_key.verify(signature, data)
    except InvalidSignature:
        return False
    return True
