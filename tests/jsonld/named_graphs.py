"""Documents with named graphs labelled by blank nodes, as embedded proofs make them.

A VC's `proof` and a presentation's `verifiableCredential` are `@container: @graph` terms:
JSON-LD puts each proof, and each presented credential, in a graph of its own named by a blank
node, so these documents exercise what a plain credential does not.
"""

from __future__ import annotations

from typing import Any

from tests.realistic import realistic_credential

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"


def data_integrity_proof(
    signer: str, proof_value: str, purpose: str = "assertionMethod", **extra: str
) -> dict[str, Any]:
    """An eddsa-rdfc-2022 proof; canonicalization never checks the value, so any will do."""
    return {
        "type": "DataIntegrityProof",
        "cryptosuite": "eddsa-rdfc-2022",
        "created": "2026-11-01T09:00:00Z",
        "verificationMethod": f"{signer}#key-1",
        "proofPurpose": purpose,
        "proofValue": proof_value,
        **extra,
    }


def endorsement(
    number: int, proof: dict[str, Any] | list[dict[str, Any]], anonymous_issuer: bool = False
) -> dict[str, Any]:
    """An OB 3.0 EndorsementCredential of the realistic credential's Achievement."""
    issuer: dict[str, Any] = {"type": ["Profile"], "name": f"Endorser {number}"}
    if not anonymous_issuer:
        issuer["id"] = f"did:example:endorser{number}"
    return {
        "@context": [CREDENTIALS_V2, OB_V3P0],
        "id": f"urn:uuid:9b1c4c52-2d64-4c1e-9d0a-5a6f3e2b7c{number:02d}",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "name": "Endorsement of the proficient level",
        "issuer": issuer,
        "validFrom": "2026-10-01T00:00:00Z",
        "credentialSubject": {
            "type": ["EndorsementSubject"],
            "endorsementComment": "Meets the society's standard for this level.",
        },
        "proof": proof,
    }


def endorsed_credential(*endorsements: dict[str, Any]) -> dict[str, Any]:
    """The realistic OpenBadgeCredential, its Achievement carrying `endorsements`."""
    credential = realistic_credential()
    credential["credentialSubject"]["achievement"]["endorsement"] = list(endorsements)
    return credential


def one_proof_on_two_endorsements() -> dict[str, Any]:
    """Two endorsements by endorsers without a DID, carrying the same proof.

    Their proof nodes tie on first-degree hashes, and each relates to its blank-node graph name
    once per property: pyoxigraph 0.5.13 labels this credential unlike the spec.
    """
    proof = data_integrity_proof("did:example:endorser1", "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZ")
    return endorsed_credential(
        endorsement(1, dict(proof), anonymous_issuer=True),
        endorsement(2, dict(proof), anonymous_issuer=True),
    )


def presentation(*credentials: dict[str, Any], proof: dict[str, Any]) -> dict[str, Any]:
    """A VerifiablePresentation of `credentials`, with its own proof."""
    return {
        "@context": [CREDENTIALS_V2],
        "type": ["VerifiablePresentation"],
        "holder": "did:example:learner",
        "verifiableCredential": list(credentials),
        "proof": proof,
    }
