"""Verifiable Credential Data Integrity proofs (https://www.w3.org/TR/vc-data-integrity/).

`add_proof` and `add_proof_to_set` sign with eddsa-rdfc-2022 and raise on bad input;
`verify_proofs` returns one ProofResult per proof and never raises for a bad proof: a failed
verification is a result. Proof sets and chains (`previousProof`) follow §4.3 and §4.5. Every
key is bound to its controller by `controllers.bind_verification_method`. The key, the time,
the JSON-LD loader and the resolver are passed in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from issuer.controllers import (
    INVALID_CONTROLLED_IDENTIFIER_DOCUMENT,
    Resolve,
    bind_verification_method,
    self_asserted_key,
)
from issuer.errors import InvalidInput, IssuerError, KeyNotBound, ProofError, Unreachable
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.loader import CREDENTIALS_V2, DATA_INTEGRITY_V2
from issuer.jsonld.strict import expand_strictly
from issuer.keys import SigningKey
from issuer.proofs import eddsa_rdfc_2022 as suite
from issuer.types import DocumentLoader, JsonObject

__all__ = ["ASSERTION_METHOD", "AUTHENTICATION", "ProofResult", "Resolve"]

ASSERTION_METHOD = "assertionMethod"
AUTHENTICATION = "authentication"
# VC Data Integrity 1.0 §7.1 processing errors, and ours where it has none.
PROOF_VERIFICATION_ERROR = "PROOF_VERIFICATION_ERROR"
PROOF_TRANSFORMATION_ERROR = "PROOF_TRANSFORMATION_ERROR"
MALFORMED_PROOF_ERROR = "MALFORMED_PROOF_ERROR"
MISMATCHED_PROOF_PURPOSE_ERROR = "MISMATCHED_PROOF_PURPOSE_ERROR"
INVALID_DOMAIN_ERROR = "INVALID_DOMAIN_ERROR"
INVALID_CHALLENGE_ERROR = "INVALID_CHALLENGE_ERROR"
UNSUPPORTED_CRYPTOSUITE = "UNSUPPORTED_CRYPTOSUITE"
CONTROLLER_UNREACHABLE = "CONTROLLER_UNREACHABLE"
ISSUER_NOT_PROVEN = "ISSUER_NOT_PROVEN"
LEGACY_CRYPTOSUITE = "eddsa-2022"


@dataclass(frozen=True, slots=True)
class ProofResult:
    """One proof's outcome.

    `intact`: the signature matches the document and its proof options. `controller`: whom
    the key speaks for, set only when the key was found in the controller document that was
    resolved. `verified` needs both. `checked` is False when the proof could not be examined
    at all (an unsupported cryptosuite, a controller document out of reach).
    """

    verified: bool
    reason: str
    code: str | None = None
    verification_method: str | None = None
    controller: str | None = None
    intact: bool = False
    checked: bool = True
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProofExpectations:
    """What the verifier asks of every proof: purpose, and `challenge`/`domain` when given."""

    purpose: str = ASSERTION_METHOD
    challenge: str | None = None
    domain: str | None = None
    now: datetime | None = None


def xsd_datetime(moment: datetime) -> str:
    """An XML Schema dateTime in UTC with seconds precision (`2026-01-01T00:00:00Z`)."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def with_suite_context(document: JsonObject) -> JsonObject:
    """The document, with the Data Integrity context appended when its contexts lack the
    proof terms (a VC 1.1 credential), as the reference's `ensureSuiteContext` does."""
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    if CREDENTIALS_V2 in contexts or DATA_INTEGRITY_V2 in contexts:
        return document
    return {**document, "@context": [*contexts, DATA_INTEGRITY_V2]}


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
    """A copy of `document` with an eddsa-rdfc-2022 DataIntegrityProof added (§4.2 Add Proof).

    `challenge` and `domain` bind a presentation's proof to one verifier's request. Refuses
    (JsonLdInvalid) documents whose JSON-LD would drop a term or leave a type undefined.
    """
    if "proof" in document:
        raise ProofError("the document already has a proof; sign the unsecured document")
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
    document = with_suite_context(document)
    return {**document, "proof": _create_proof(document, options, key, loader)}


def add_proof_to_set(
    secured: JsonObject,
    *,
    key: SigningKey,
    verification_method: str,
    created: datetime,
    loader: DocumentLoader,
    proof_id: str | None = None,
    previous_proof: str | list[str] | None = None,
    proof_purpose: str = ASSERTION_METHOD,
) -> JsonObject:
    """Add Proof Set/Chain (§4.3): one more proof beside the existing ones, signing over the
    proofs it names in `previousProof` (a chain) or over none of them (a set)."""
    all_proofs = _as_list(secured.get("proof"))
    options: JsonObject = {"type": suite.PROOF_TYPE}
    if proof_id is not None:
        options["id"] = proof_id
    options |= {
        "created": xsd_datetime(created),
        "verificationMethod": verification_method,
        "cryptosuite": suite.NAME,
        "proofPurpose": proof_purpose,
    }
    if previous_proof is not None:
        options["previousProof"] = previous_proof
    matching = _previous_proofs(options, all_proofs)
    if matching is None:
        raise ProofError(f"previousProof {previous_proof!r} names a proof the document lacks")
    unsecured = with_suite_context({k: v for k, v in secured.items() if k != "proof"})
    input_document = {**unsecured, "proof": matching} if matching else unsecured
    proof = _create_proof(input_document, options, key, loader, context=unsecured["@context"])
    return {**unsecured, "proof": [*all_proofs, proof]}


def _create_proof(
    document: JsonObject,
    options: JsonObject,
    key: SigningKey,
    loader: DocumentLoader,
    context: object = None,
) -> JsonObject:
    # Expand once, strictly, and canonicalize that same expansion.
    canonical_document = canonize_expanded(expand_strictly(document, loader))
    configuration = suite.configure_proof(options, context or document["@context"], loader)
    data = suite.hash_data(configuration, canonical_document)
    return {**options, "proofValue": suite.serialize_proof_value(key.sign(data))}


def verify_proofs(
    document: JsonObject,
    *,
    resolve: Resolve,
    loader: DocumentLoader,
    expect: ProofExpectations | None = None,
    canonical_document: str | None = None,
) -> list[ProofResult]:
    """Verify Proof Sets and Chains (§4.5): a result for every proof on `document`.

    `canonical_document` is the RDFC-1.0 form of the document without its proofs, for callers
    that already expanded it (verification.py does, to check its terms).
    """
    all_proofs = document.get("proof")
    if all_proofs is None:
        return [ProofResult(False, "the document has no proof", PROOF_VERIFICATION_ERROR)]
    proofs = _as_list(all_proofs)
    if not proofs:
        return [
            ProofResult(False, "the document has an empty list of proofs", MALFORMED_PROOF_ERROR)
        ]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    canonical: dict[str, str] = {}
    if canonical_document is not None:
        canonical["[]"] = canonical_document

    def canonical_input(matching: list[Any]) -> str:
        marker = repr(matching)
        if marker not in canonical:
            input_document = {**unsecured, "proof": matching} if matching else unsecured
            canonical[marker] = suite.transform(input_document, loader)
        return canonical[marker]

    check = _ProofCheck(unsecured.get("@context"), resolve, loader, expect or ProofExpectations())
    return [check.verify(proof, proofs, canonical_input) for proof in proofs]


def verify_proof(
    document: JsonObject,
    *,
    resolve: Resolve,
    loader: DocumentLoader,
    expected_purpose: str = ASSERTION_METHOD,
    canonical_document: str | None = None,
) -> ProofResult:
    """Every proof on `document` verified and bound; the first one that is not, else the first."""
    results = verify_proofs(
        document,
        resolve=resolve,
        loader=loader,
        expect=ProofExpectations(purpose=expected_purpose),
        canonical_document=canonical_document,
    )
    return next((result for result in results if not result.verified), results[0])


@dataclass(frozen=True, slots=True)
class _ProofCheck:
    context: object
    resolve: Resolve
    loader: DocumentLoader
    expect: ProofExpectations

    def verify(
        self, proof: object, all_proofs: list[Any], canonical_input: Callable[[list[Any]], str]
    ) -> ProofResult:
        if not isinstance(proof, dict):
            return ProofResult(False, "the proof is not an object", MALFORMED_PROOF_ERROR)
        method_id = proof.get("verificationMethod")
        problem = self._options_problem(proof)
        if problem is not None:
            return _with_method(problem, method_id)
        matching = _previous_proofs(proof, all_proofs)
        if matching is None:
            reason = f"previousProof {proof.get('previousProof')!r} names a proof that is missing"
            return ProofResult(False, reason, PROOF_VERIFICATION_ERROR, method_id)
        try:
            signature = suite.parse_proof_value(proof.get("proofValue"))
            configuration = suite.configure_proof(proof, self.context, self.loader)
        except IssuerError as error:
            return ProofResult(
                False, f"the proof is malformed: {error}", MALFORMED_PROOF_ERROR, method_id
            )
        try:
            data = suite.hash_data(configuration, canonical_input(matching))
        except IssuerError as error:
            return ProofResult(False, str(error), PROOF_TRANSFORMATION_ERROR, method_id)
        return self._check_signature(str(method_id), signature, data, _legacy_warning(proof))

    def _options_problem(self, proof: JsonObject) -> ProofResult | None:
        """The proof's type, cryptosuite, purpose, dates, challenge and domain (§4.4 steps 1–5)."""
        kind = proof.get("type")
        if kind == suite.PROOF_TYPE and proof.get("cryptosuite") in (
            suite.NAME,
            LEGACY_CRYPTOSUITE,
        ):
            pass
        elif kind != suite.LEGACY_PROOF_TYPE:
            name = proof.get("cryptosuite") or kind
            return ProofResult(
                False,
                f"unsupported proof type {name!r}: not checked",
                UNSUPPORTED_CRYPTOSUITE,
                checked=False,
            )
        if not isinstance(proof.get("verificationMethod"), str):
            return ProofResult(
                False, "the proof names no verificationMethod", MALFORMED_PROOF_ERROR
            )
        purpose = proof.get("proofPurpose")
        if purpose != self.expect.purpose:
            reason = f"proofPurpose is {purpose!r}, not {self.expect.purpose!r}"
            return ProofResult(False, reason, MISMATCHED_PROOF_PURPOSE_ERROR)
        for name in ("created", "expires"):
            if name in proof and parse_datetime(proof[name]) is None:
                return ProofResult(
                    False, f"the proof's {name} is not a dateTime", MALFORMED_PROOF_ERROR
                )
        expires = parse_datetime(proof.get("expires"))
        if expires is not None and self.expect.now is not None and expires <= self.expect.now:
            return ProofResult(
                False, f"the proof expired on {proof['expires']}", PROOF_VERIFICATION_ERROR
            )
        if self.expect.challenge is not None and proof.get("challenge") != self.expect.challenge:
            return ProofResult(
                False, "the proof's challenge does not match", INVALID_CHALLENGE_ERROR
            )
        domains = _as_list(proof.get("domain"))
        if self.expect.domain is not None and self.expect.domain not in domains:
            return ProofResult(False, "the proof's domain does not match", INVALID_DOMAIN_ERROR)
        return None

    def _check_signature(
        self, method_id: str, signature: bytes, data: bytes, warnings: tuple[str, ...]
    ) -> ProofResult:
        try:
            bound = bind_verification_method(method_id, self.resolve, self.expect.purpose)
        except Unreachable as error:
            return _unbound(method_id, signature, data, str(error), warnings)
        except KeyNotBound as error:
            return ProofResult(False, str(error), error.code, method_id, warnings=warnings)
        except InvalidInput as error:
            return ProofResult(False, str(error), INVALID_CONTROLLED_IDENTIFIER_DOCUMENT, method_id)
        if not isinstance(bound.public_key, Ed25519PublicKey):
            reason = f"{method_id} is not an Ed25519 key, which this cryptosuite needs"
            return ProofResult(
                False, reason, PROOF_VERIFICATION_ERROR, method_id, warnings=warnings
            )
        if not _signature_matches(bound.public_key, signature, data):
            reason = "the signature does not match the document"
            return ProofResult(
                False,
                reason,
                PROOF_VERIFICATION_ERROR,
                method_id,
                bound.controller,
                warnings=warnings,
            )
        reason = f"signed by {method_id}"
        return ProofResult(True, reason, None, method_id, bound.controller, True, True, warnings)


def _unbound(
    method_id: str, signature: bytes, data: bytes, why: str, warnings: tuple[str, ...]
) -> ProofResult:
    """The controller document is out of reach: at most, the key in the method's fragment can
    show the signature intact; it can never say whose key that is."""
    key = self_asserted_key(method_id)
    if isinstance(key, Ed25519PublicKey) and _signature_matches(key, signature, data):
        reason = f"signature intact, issuer not proven: {why}"
        return ProofResult(
            False, reason, ISSUER_NOT_PROVEN, method_id, intact=True, warnings=warnings
        )
    return ProofResult(
        False,
        f"not checked: {why}",
        CONTROLLER_UNREACHABLE,
        method_id,
        checked=False,
        warnings=warnings,
    )


def _signature_matches(key: Ed25519PublicKey, signature: bytes, data: bytes) -> bool:
    try:
        key.verify(signature, data)
    except InvalidSignature:
        return False
    return True


def _previous_proofs(proof: JsonObject, all_proofs: list[Any]) -> list[Any] | None:
    """The proofs `previousProof` names (§4.5 step 2.2), or None when one of them is missing."""
    wanted = proof.get("previousProof")
    if wanted is None:
        return []
    ids = wanted if isinstance(wanted, list) else [wanted]
    by_id = {p.get("id"): p for p in all_proofs if isinstance(p, dict) and p.get("id")}
    if not all(isinstance(i, str) and i in by_id for i in ids):
        return None
    return [by_id[i] for i in ids]


def _legacy_warning(proof: JsonObject) -> tuple[str, ...]:
    if proof.get("cryptosuite") == LEGACY_CRYPTOSUITE:
        return ("the proof uses the draft name eddsa-2022; it is verified as eddsa-rdfc-2022",)
    return ()


def _with_method(result: ProofResult, method_id: object) -> ProofResult:
    method = method_id if isinstance(method_id, str) else None
    return ProofResult(result.verified, result.reason, result.code, method, checked=result.checked)


def parse_datetime(value: object) -> datetime | None:
    """An XML Schema dateTime with a time zone, or None."""
    if not isinstance(value, str) or "T" not in value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else None


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
