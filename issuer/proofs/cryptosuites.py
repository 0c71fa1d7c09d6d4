"""The Data Integrity cryptosuites we implement, and which one a proof or a signing key calls for.

Each suite is a module of pure steps named after its specification's algorithms
(eddsa_rdfc_2022.py, ecdsa_rdfc_2019.py); `Cryptosuite` is what data_integrity.py needs of one.
Signing picks the suite from the key's type (Ed25519: eddsa-rdfc-2022, P-256: ecdsa-rdfc-2019);
verifying picks it from the proof's `type` and `cryptosuite`, and a proof naming any other is
"not checked".
"""

from __future__ import annotations

from typing import Protocol

from issuer.errors import InvalidInput
from issuer.keys import AnySigningKey
from issuer.proofs import ecdsa_rdfc_2019, eddsa_rdfc_2022
from issuer.types import DocumentLoader, JsonObject

# The draft name of eddsa-rdfc-2022, still found in the wild; verified with a warning.
LEGACY_EDDSA = "eddsa-2022"
DATA_INTEGRITY_PROOF = "DataIntegrityProof"


class Cryptosuite(Protocol):
    """A suite module: its name, the key type it signs with, and its algorithms' steps."""

    NAME: str
    KEY_TYPE: str

    def transform(self, unsecured_document: JsonObject, loader: DocumentLoader) -> str: ...

    def configure_proof(
        self, proof_options: JsonObject, context: object, loader: DocumentLoader
    ) -> str: ...

    def hash_data(self, canonical_proof_config: str, canonical_document: str) -> bytes: ...

    def serialize_proof_value(self, signature: bytes) -> str: ...

    def parse_proof_value(self, proof_value: object) -> bytes: ...

    def verify_proof_value(self, public_key: object, signature: bytes, data: bytes) -> bool: ...


SUITES: dict[str, Cryptosuite] = {
    eddsa_rdfc_2022.NAME: eddsa_rdfc_2022,
    ecdsa_rdfc_2019.NAME: ecdsa_rdfc_2019,
}


def named(name: str) -> Cryptosuite:
    """The suite called `name` (for settings such as ISSUER_PROOFS); InvalidInput otherwise."""
    if name not in SUITES:
        raise InvalidInput(f"unknown cryptosuite {name!r}; choose from {', '.join(SUITES)}")
    return SUITES[name]


def for_key(key: AnySigningKey) -> Cryptosuite:
    """The suite a signing key of this type signs with."""
    return next(suite for suite in SUITES.values() if suite.KEY_TYPE == key.key_type)


def for_proof(proof: JsonObject) -> Cryptosuite | None:
    """The suite that verifies `proof`, or None when we implement none that does."""
    kind, name = proof.get("type"), proof.get("cryptosuite")
    if kind == eddsa_rdfc_2022.LEGACY_PROOF_TYPE:
        return eddsa_rdfc_2022  # Ed25519Signature2020 hashes the same way
    if kind != DATA_INTEGRITY_PROOF or not isinstance(name, str):
        return None
    if name == LEGACY_EDDSA:
        return eddsa_rdfc_2022
    return SUITES.get(name)
