"""The ecdsa-rdfc-2019 cryptosuite on P-256 (https://www.w3.org/TR/vc-di-ecdsa/#ecdsa-rdfc-2019).

Pure: documents and strings in, bytes out. data_integrity.py assembles and checks the proof;
keys.py signs (deterministic ECDSA, RFC 6979, as §3 asks: "All ECDSA signatures SHOULD use the
deterministic variant"). P-384 (SHA-384 throughout) is not implemented: such proofs are not
checked, never failed.

Malleability (§4.1): ECDSA is not strongly unforgeable. From a valid (r, s) anyone can make
(r, n − s), which verifies as well. The spec prescribes plain FIPS 186-5 verification with no
low-S rule, its own P-256 vector carries a high s, and the reference (WebCrypto) accepts both,
so we accept both too. Nothing signed can change that way, only the proofValue's bytes: never
use a proofValue as an identifier.
"""

from __future__ import annotations

from hashlib import sha256

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from issuer.errors import InvalidInput, UnsupportedCurve
from issuer.jsonld.canonize import canonize
from issuer.keys import P256, P256_BYTES
from issuer.proofs.configuration import canonical_configuration
from issuer.types import DocumentLoader, JsonObject

NAME = "ecdsa-rdfc-2019"
PROOF_TYPE = "DataIntegrityProof"
KEY_TYPE = P256
P384_SIGNATURE_BYTES = 96


def transform(unsecured_document: JsonObject, loader: DocumentLoader) -> str:
    """https://www.w3.org/TR/vc-di-ecdsa/#transformation-ecdsa-rdfc-2019

    RDFC-1.0 with its default SHA-256, the hash §3 requires for P-256 keys.
    """
    return canonize(unsecured_document, loader)


def configure_proof(proof_options: JsonObject, context: object, loader: DocumentLoader) -> str:
    """https://www.w3.org/TR/vc-di-ecdsa/#proof-configuration-ecdsa-rdfc-2019

    The proof options without `proofValue`, under the document's `@context`, canonicalized
    from a strict expansion: an option no context defines is an error, not an unsigned term.
    """
    return canonical_configuration(proof_options, context, loader)


def hash_data(canonical_proof_config: str, canonical_document: str) -> bytes:
    """https://www.w3.org/TR/vc-di-ecdsa/#hashing-ecdsa-rdfc-2019 (SHA-256 for P-256)"""
    # proofConfigHash first, then transformedDocumentHash: 64 bytes, signed as they are.
    return (
        sha256(canonical_proof_config.encode("utf-8")).digest()
        + sha256(canonical_document.encode("utf-8")).digest()
    )


def serialize_proof_value(signature: bytes) -> str:
    """https://www.w3.org/TR/vc-di-ecdsa/#proof-serialization-ecdsa-rdfc-2019

    `signature` is r‖s (RFC 4754 §7, "IEEE P1363"), 64 bytes; the proofValue is its base58btc
    multibase (`z…`), as Create Proof step 6 says.
    """
    return "z" + base58.b58encode(signature).decode("ascii")


def parse_proof_value(proof_value: object) -> bytes:
    """https://www.w3.org/TR/vc-di-ecdsa/#verify-proof-ecdsa-rdfc-2019 step 3: the r‖s bytes.

    InvalidInput when it is not a 64-byte base58btc value; UnsupportedCurve for 96 bytes (P-384).
    """
    if not isinstance(proof_value, str) or not proof_value.startswith("z"):
        raise InvalidInput("proofValue is not a base58btc multibase string")
    try:
        signature = bytes(base58.b58decode(proof_value[1:]))
    except ValueError as error:
        raise InvalidInput("proofValue is not valid base58btc") from error
    if len(signature) == P384_SIGNATURE_BYTES:
        raise UnsupportedCurve(f"{NAME} with P-384 (a 96-byte signature) is not supported")
    if len(signature) != 2 * P256_BYTES:
        raise InvalidInput(f"proofValue holds {len(signature)} bytes, not a P-256 signature (64)")
    return signature


def verify_proof_value(public_key: object, signature: bytes, data: bytes) -> bool:
    """https://www.w3.org/TR/vc-di-ecdsa/#proof-verification-ecdsa-rdfc-2019

    ECDSA (FIPS 186-5) with SHA-256 over the 64-byte hash data; False for any other key.
    """
    if not (
        isinstance(public_key, ec.EllipticCurvePublicKey)
        and isinstance(public_key.curve, ec.SECP256R1)
    ):
        return False
    r = int.from_bytes(signature[:P256_BYTES], "big")
    s = int.from_bytes(signature[P256_BYTES:], "big")
    try:
        public_key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
