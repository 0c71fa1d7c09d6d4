"""Verifiable Credential Data Integrity proofs (https://www.w3.org/TR/vc-data-integrity/).

`add_proof`, `add_proofs` and `add_proof_to_set` sign with the suite of each key's type
(cryptosuites.py: eddsa-rdfc-2022 for Ed25519, ecdsa-rdfc-2019 for P-256) and raise on bad
input; `verify_proofs` returns one ProofResult per proof, dispatching on each proof's
cryptosuite, and never raises for a bad proof: a failed verification is a result. Proof sets and
chains (`previousProof`) follow §4.3 and §4.5. Every key is bound to its controller by
`controllers.bind_verification_method`. The keys, the time, the JSON-LD loader and the resolver
are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from issuer.controllers import (
    INVALID_CONTROLLED_IDENTIFIER_DOCUMENT,
    Resolve,
    bind_verification_method,
    self_asserted_key,
)
from issuer.errors import (
    InvalidInput,
    IssuerError,
    KeyNotBound,
    ProofError,
    Unreachable,
    UnsupportedCurve,
)
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.loader import CREDENTIALS_V2, DATA_INTEGRITY_V2
from issuer.jsonld.strict import expand_strictly
from issuer.keys import AnySigningKey, public_key_type
from issuer.proofs import cryptosuites
from issuer.proofs.cryptosuites import LEGACY_EDDSA, Cryptosuite
from issuer.types import DocumentLoader, JsonObject

__all__ = ["ASSERTION_METHOD", "AUTHENTICATION", "ProofResult", "Resolve", "Signer"]

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
LEGACY_CRYPTOSUITE = LEGACY_EDDSA


@dataclass(frozen=True, slots=True)
class Signer:
    """A signing key and the verification method (a URL) that publishes its public half."""

    key: AnySigningKey
    verification_method: str


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
    key: AnySigningKey,
    verification_method: str,
    created: datetime,
    loader: DocumentLoader,
    proof_purpose: str = ASSERTION_METHOD,
    challenge: str | None = None,
    domain: str | None = None,
) -> JsonObject:
    """A copy of `document` with a DataIntegrityProof added (§4.2 Add Proof), in the suite of
    the key's type.

    `challenge` and `domain` bind a presentation's proof to one verifier's request. Refuses
    (JsonLdInvalid) documents whose JSON-LD would drop a term or leave a type undefined.
    """
    return add_proofs(
        document,
        [Signer(key, verification_method)],
        created=created,
        loader=loader,
        proof_purpose=proof_purpose,
        challenge=challenge,
        domain=domain,
    )


def add_proofs(
    document: JsonObject,
    signers: Sequence[Signer],
    *,
    created: datetime,
    loader: DocumentLoader,
    proof_purpose: str = ASSERTION_METHOD,
    challenge: str | None = None,
    domain: str | None = None,
) -> JsonObject:
    """A copy of `document` with one proof per signer, each in the suite of its key's type.

    Several signers make a proof set (§4.3 without `previousProof`): every proof signs the
    document alone, so each verifies without the others and a verifier that knows only one
    suite still checks its own. One signer gives `proof` as an object, several as an array.
    """
    if "proof" in document:
        raise ProofError("the document already has a proof; sign the unsecured document")
    if not signers:
        raise ProofError("no key to sign with")
    document = with_suite_context(document)
    # Both suites transform with RDFC-1.0 and SHA-256: one canonical form serves every proof.
    canonical_document = canonize_expanded(expand_strictly(document, loader))
    proofs = []
    for signer in signers:
        suite = cryptosuites.for_key(signer.key)
        options = _proof_options(suite, signer.verification_method, created, proof_purpose)
        if challenge is not None:
            options["challenge"] = challenge
        if domain is not None:
            options["domain"] = domain
        proofs.append(_create_proof(canonical_document, options, signer.key, loader, document))
    return {**document, "proof": proofs[0] if len(proofs) == 1 else proofs}


def add_proof_to_set(
    secured: JsonObject,
    *,
    key: AnySigningKey,
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
    suite = cryptosuites.for_key(key)
    options = _proof_options(suite, verification_method, created, proof_purpose, proof_id)
    if previous_proof is not None:
        options["previousProof"] = previous_proof
    matching = _previous_proofs(options, all_proofs)
    if matching is None:
        raise ProofError(f"previousProof {previous_proof!r} names a proof the document lacks")
    unsecured = with_suite_context({k: v for k, v in secured.items() if k != "proof"})
    input_document = {**unsecured, "proof": matching} if matching else unsecured
    canonical_document = canonize_expanded(expand_strictly(input_document, loader))
    proof = _create_proof(canonical_document, options, key, loader, unsecured)
    return {**unsecured, "proof": [*all_proofs, proof]}


def _proof_options(
    suite: Cryptosuite,
    verification_method: str,
    created: datetime,
    proof_purpose: str,
    proof_id: str | None = None,
) -> JsonObject:
    options: JsonObject = {"type": cryptosuites.DATA_INTEGRITY_PROOF}
    if proof_id is not None:
        options["id"] = proof_id
    return options | {
        "created": xsd_datetime(created),
        "verificationMethod": verification_method,
        "cryptosuite": suite.NAME,
        "proofPurpose": proof_purpose,
    }


def _create_proof(
    canonical_document: str,
    options: JsonObject,
    key: AnySigningKey,
    loader: DocumentLoader,
    unsecured: JsonObject,
) -> JsonObject:
    """Create Proof in the key's suite: the proof configuration (under the unsecured document's
    `@context`) and the canonical input document hashed together, signed and serialized."""
    suite = cryptosuites.for_key(key)
    configuration = suite.configure_proof(options, unsecured["@context"], loader)
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

    def canonical_input(suite: Cryptosuite, matching: list[Any]) -> str:
        # Keyed by the proofs signed over, not by suite: every suite here transforms with
        # RDFC-1.0 and SHA-256, so a proof set is canonicalized once for all its proofs.
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
        self,
        proof: object,
        all_proofs: list[Any],
        canonical_input: Callable[[Cryptosuite, list[Any]], str],
    ) -> ProofResult:
        if not isinstance(proof, dict):
            return ProofResult(False, "the proof is not an object", MALFORMED_PROOF_ERROR)
        method_id = proof.get("verificationMethod")
        suite = cryptosuites.for_proof(proof)
        problem = self._options_problem(proof, suite)
        if problem is not None or suite is None:
            return _with_method(problem or _unsupported(proof), method_id)
        matching = _previous_proofs(proof, all_proofs)
        if matching is None:
            reason = f"previousProof {proof.get('previousProof')!r} names a proof that is missing"
            return ProofResult(False, reason, PROOF_VERIFICATION_ERROR, method_id)
        try:
            signature = suite.parse_proof_value(proof.get("proofValue"))
            configuration = suite.configure_proof(proof, self.context, self.loader)
        except UnsupportedCurve as error:
            reason = f"{error}: not checked"
            return ProofResult(False, reason, UNSUPPORTED_CRYPTOSUITE, method_id, checked=False)
        except IssuerError as error:
            return ProofResult(
                False, f"the proof is malformed: {error}", MALFORMED_PROOF_ERROR, method_id
            )
        try:
            data = suite.hash_data(configuration, canonical_input(suite, matching))
        except IssuerError as error:
            return ProofResult(False, str(error), PROOF_TRANSFORMATION_ERROR, method_id)
        signed = _Signed(suite, str(method_id), signature, data, _legacy_warning(proof))
        return self._check_signature(signed)

    def _options_problem(self, proof: JsonObject, suite: Cryptosuite | None) -> ProofResult | None:
        """The proof's type, cryptosuite, purpose, dates, challenge and domain (§4.4 steps 1–5)."""
        if suite is None:
            return _unsupported(proof)
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

    def _check_signature(self, signed: _Signed) -> ProofResult:
        method_id, warnings = signed.method_id, signed.warnings
        try:
            bound = bind_verification_method(method_id, self.resolve, self.expect.purpose)
        except Unreachable as error:
            return _unbound(signed, str(error))
        except KeyNotBound as error:
            return ProofResult(False, str(error), error.code, method_id, warnings=warnings)
        except InvalidInput as error:
            return ProofResult(False, str(error), INVALID_CONTROLLED_IDENTIFIER_DOCUMENT, method_id)
        suite = signed.suite
        if public_key_type(bound.public_key) != suite.KEY_TYPE:
            reason = f"{method_id} is not the {suite.KEY_TYPE} key that {suite.NAME} needs"
            return ProofResult(
                False, reason, PROOF_VERIFICATION_ERROR, method_id, warnings=warnings
            )
        if not suite.verify_proof_value(bound.public_key, signed.signature, signed.data):
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


@dataclass(frozen=True, slots=True)
class _Signed:
    """What a proof claims: its suite, key, signature and the hash data it signs."""

    suite: Cryptosuite
    method_id: str
    signature: bytes
    data: bytes
    warnings: tuple[str, ...]


def _unsupported(proof: JsonObject) -> ProofResult:
    name = proof.get("cryptosuite") or proof.get("type")
    return ProofResult(
        False,
        f"unsupported proof type {name!r}: not checked",
        UNSUPPORTED_CRYPTOSUITE,
        checked=False,
    )


def _unbound(signed: _Signed, why: str) -> ProofResult:
    """The controller document is out of reach: at most, the key in the method's fragment can
    show the signature intact; it can never say whose key that is."""
    method_id, warnings = signed.method_id, signed.warnings
    key = self_asserted_key(method_id)
    if key is not None and signed.suite.verify_proof_value(key, signed.signature, signed.data):
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
