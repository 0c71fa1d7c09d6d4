"""Verifiable Credential Data Integrity proofs (https://www.w3.org/TR/vc-data-integrity/).

`add_proof` signs with eddsa-rdfc-2022 and raises on bad input; `verify_proof` returns a
ProofResult and never raises for a bad proof: a failed verification is a result.
The key, the time, the JSON-LD loader and the DID resolver are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from issuer.dids import authorized_method
from issuer.errors import InvalidInput, IssuerError, ProofError
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.strict import expand_strictly
from issuer.keys import SigningKey, decode_multikey, verify_ed25519
from issuer.proofs import eddsa_rdfc_2022 as suite
from issuer.types import DocumentLoader, JsonObject

Resolve = Callable[[str], JsonObject]
ASSERTION_METHOD = "assertionMethod"
VERIFIABLE_TYPES = {suite.PROOF_TYPE, suite.LEGACY_PROOF_TYPE}


@dataclass(frozen=True, slots=True)
class ProofResult:
    verified: bool
    reason: str
    verification_method: str | None = None
    controller: str | None = None


def xsd_datetime(moment: datetime) -> str:
    """An XML Schema dateTime in UTC with seconds precision (`2026-01-01T00:00:00Z`)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def add_proof(
    document: JsonObject,
    *,
    key: SigningKey,
    verification_method: str,
    created: datetime,
    loader: DocumentLoader,
    proof_purpose: str = ASSERTION_METHOD,
    challenge: str | None = None,
    domain: str | None = None,
) -> JsonObject:
    """A copy of `document` with an eddsa-rdfc-2022 DataIntegrityProof added.

    `challenge` and `domain` bind a presentation's proof to one verifier's request.

    Refuses (JsonLdInvalid) documents whose JSON-LD would drop a term or leave a type undefined.
    """
    if "proof" in document:
        raise ProofError("the document already has a proof; sign the unsecured document")
    # Expand once, strictly, and canonicalize that same expansion.
    canonical_document = canonize_expanded(expand_strictly(document, loader))
    # Key order as in the OB 3.0 specification's example, so signed files diff cleanly with it.
    options: JsonObject = {
        "type": suite.PROOF_TYPE,
        "created": xsd_datetime(created),
        "verificationMethod": verification_method,
        "cryptosuite": suite.NAME,
        "proofPurpose": proof_purpose,
    }
    if challenge is not None:
        options["challenge"] = challenge
    if domain is not None:
        options["domain"] = domain
    data = suite.hash_data(
        suite.configure_proof(options, document["@context"], loader), canonical_document
    )
    return {
        **document,
        "proof": {**options, "proofValue": suite.serialize_proof_value(key.sign(data))},
    }


def verify_proof(
    document: JsonObject,
    *,
    resolve: Resolve,
    loader: DocumentLoader,
    expected_purpose: str = ASSERTION_METHOD,
    canonical_document: str | None = None,
) -> ProofResult:
    """Verify every proof on `document` (eddsa-rdfc-2022 or Ed25519Signature2020).

    `canonical_document` is the RDFC-1.0 form of the document without its proof, for callers
    that already expanded it (verification.py does, to check its terms); else it is computed.
    """
    proofs = document.get("proof")
    if proofs is None:
        return ProofResult(False, "the document has no proof")
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    try:
        canonical = canonical_document or suite.transform(unsecured, loader)
    except IssuerError as error:
        return ProofResult(False, str(error))
    results = [
        _verify_one(unsecured, canonical, proof, resolve, loader, expected_purpose)
        for proof in (proofs if isinstance(proofs, list) else [proofs])
    ]
    if not results:
        return ProofResult(False, "the document has an empty list of proofs")
    failed = [result for result in results if not result.verified]
    return failed[0] if failed else results[0]


def _verify_one(
    unsecured: JsonObject,
    canonical_document: str,
    proof: object,
    resolve: Resolve,
    loader: DocumentLoader,
    purpose: str,
) -> ProofResult:
    if not isinstance(proof, dict):
        return ProofResult(False, "the proof is not an object")
    if proof.get("type") not in VERIFIABLE_TYPES or (
        proof.get("type") == suite.PROOF_TYPE and proof.get("cryptosuite") != suite.NAME
    ):
        kind = proof.get("cryptosuite") or proof.get("type")
        return ProofResult(False, f"unsupported proof type {kind!r}")
    if proof.get("proofPurpose") != purpose:
        return ProofResult(False, f"proofPurpose is {proof.get('proofPurpose')!r}, not {purpose!r}")
    method_id = proof.get("verificationMethod")
    if not isinstance(method_id, str):
        return ProofResult(False, "the proof names no verificationMethod")
    try:
        signature = suite.parse_proof_value(proof.get("proofValue"))
        controller, public_key = _public_key(method_id, resolve, purpose)
        data = suite.hash_data(
            suite.configure_proof(proof, unsecured.get("@context"), loader), canonical_document
        )
    except IssuerError as error:
        return ProofResult(False, str(error), method_id)
    if not verify_ed25519(public_key, signature, data):
        return ProofResult(
            False, "the signature does not match the document", method_id, controller
        )
    return ProofResult(True, f"signed by {method_id}", method_id, controller)


def _public_key(method_id: str, resolve: Resolve, purpose: str) -> tuple[str, bytes]:
    """The controller and Ed25519 key of a verification method the controller authorizes."""
    controller_document = resolve(method_id.split("#", 1)[0])
    method = authorized_method(controller_document, method_id, purpose)
    controller = method.get("controller")
    if controller != controller_document.get("id"):
        raise InvalidInput(f"{method_id} is controlled by {controller!r}, not by its document")
    return str(controller), decode_multikey(str(method.get("publicKeyMultibase", "")))
