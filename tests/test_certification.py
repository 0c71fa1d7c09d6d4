"""The checks 1EdTech's Issuer certification and validator make beyond a verification
(`issuer.certification`): each refuses what the validator refuses, with the reason."""

from __future__ import annotations

import base64
import json

import pytest

from issuer.certification import (
    CONFORMANCE_RECIPIENT,
    did_document_check,
    identifies,
    jwt_algorithm_check,
    recipient_check,
    signature_check,
    status_list_check,
)
from issuer.checks import EXPIRED, REVOKED, STATUS_RETRIEVAL_ERROR, Check, VerificationReport
from issuer.credentials import identity_hash
from issuer.dids import did_document

KEY = "z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
DID = f"did:key:{KEY}"


def jwt_with(header: dict) -> str:  # type: ignore[type-arg]
    encoded = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return f"{encoded}.e30.c2ln"


def test_our_did_documents_have_the_shape_the_validator_expects() -> None:
    assert did_document_check(did_document(DID, [KEY])).status == "passed"
    web = did_document(
        "did:web:example.org", [KEY, "zDnaerDaTF5BXEavCrfRZEk316dpbLsfPDZ3WJ5hRTPFU2169"]
    )
    assert did_document_check(web).status == "passed"


@pytest.mark.parametrize(
    ("assertion_method", "words"),
    [
        ([{"id": f"{DID}#{KEY}", "type": "Multikey"}], "embedded object"),
        ([f"#{KEY}"], "not an absolute id"),
        ([f"{DID}#other"], "not in verificationMethod"),
        ([], "missing or empty"),
    ],
)
def test_assertion_method_entries_must_be_absolute_ids_of_listed_keys(
    assertion_method: list,
    words: str,  # type: ignore[type-arg]
) -> None:
    document = {**did_document(DID, [KEY]), "assertionMethod": assertion_method}
    check = did_document_check(document)
    assert check.status == "failed" and words in check.message


def test_only_rs256_and_es256_jwts_pass() -> None:
    assert jwt_algorithm_check(jwt_with({"alg": "ES256", "typ": "JWT"})).status == "passed"
    assert jwt_algorithm_check(jwt_with({"alg": "RS256"})).status == "passed"
    eddsa = jwt_algorithm_check(jwt_with({"alg": "EdDSA"}))
    assert eddsa.status == "failed" and "RS256 or ES256" in eddsa.message
    assert jwt_algorithm_check("!!!.e30.x").status == "failed"


def subject_with(*identifiers: dict) -> dict:  # type: ignore[type-arg]
    return {"credentialSubject": {"type": ["AchievementSubject"], "identifier": list(identifiers)}}


def email_identifier(email: str, salt: str = "a1b2c3") -> dict:  # type: ignore[type-arg]
    return {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": identity_hash(email, salt),
        "salt": salt,
    }


def test_the_recipient_is_recognised_by_its_hashed_address() -> None:
    credential = subject_with(email_identifier(CONFORMANCE_RECIPIENT))
    assert recipient_check(credential).status == "passed"
    assert recipient_check(credential, CONFORMANCE_RECIPIENT).status == "passed"
    assert recipient_check(credential, "Conformance@IMSGlobal.org").status == "passed"
    wrong = recipient_check(credential, "someone@example.org")
    assert wrong.status == "failed" and "someone@example.org" in wrong.message


def test_spec_example_hash_and_plaintext_identifiers_match() -> None:
    """The OB 3.0 IdentityHash example: sha256 of 'a@example.com' salted with 'Kosher'."""
    example = {
        "type": "IdentityObject",
        "identityType": "emailAddress",
        "hashed": True,
        "identityHash": "sha256$b5809d8a92f8858436d7e6b87c12ebc0ae1eac4baecc2c0b913aee2c922ef399",
        "salt": "Kosher",
    }
    assert identifies(example, "a@example.com")
    assert not identifies(example, "b@example.com")
    plain = {**example, "hashed": False, "identityHash": "a@example.com"}
    del plain["salt"]
    assert identifies(plain, "A@example.com")


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"type": "Identity"}, "not IdentityObject"),
        ({"identityType": "email"}, "identityType 'email'"),
        ({"hashed": "yes"}, "true or false"),
        ({"identityHash": "sha256$abc"}, "sha256$<64 hex>"),
        ({"salt": 42}, "salt must be a string"),
    ],
)
def test_a_malformed_identity_object_fails(change: dict, words: str) -> None:  # type: ignore[type-arg]
    check = recipient_check(subject_with({**email_identifier("a@example.org"), **change}))
    assert check.status == "failed" and words in check.message


def test_a_subject_needs_an_id_or_an_identifier() -> None:
    assert recipient_check(subject_with()).status == "failed"
    with_id = {"credentialSubject": {"id": "did:example:learner", "type": ["AchievementSubject"]}}
    assert recipient_check(with_id).status == "passed"
    assert recipient_check({"credentialSubject": "x"}).status == "failed"


def report(*checks: Check) -> VerificationReport:
    return VerificationReport(checks)


def test_a_revoked_credential_still_shows_a_working_status_list() -> None:
    credential = {"credentialStatus": {"type": "BitstringStatusListEntry"}}
    revoked = report(Check("status", "failed", "revoked", REVOKED))
    assert status_list_check(revoked, credential).status == "warning"
    unreachable = report(Check("status", "failed", "list not found", STATUS_RETRIEVAL_ERROR))
    assert status_list_check(unreachable, credential).status == "failed"
    offline = report(Check("status", "not checked", "offline", essential=False))
    assert status_list_check(offline, credential).status == "failed"
    assert status_list_check(report(), {}).status == "passed"  # no entry, nothing to look up


def test_an_expired_credential_is_still_conformant_but_a_bad_proof_is_not() -> None:
    expired = report(Check("proof", "passed", "ok"), Check("expiry", "failed", "expired", EXPIRED))
    assert signature_check(expired).status == "warning"
    forged = report(Check("proof", "failed", "signature does not match"))
    assert signature_check(forged).status == "failed"
    unknown = report(Check("issuer", "not checked", "offline"))
    assert signature_check(unknown).status == "failed"


def test_a_credential_that_is_no_open_badge_fails_the_schema_check() -> None:
    from issuer.certification import schema_check

    conforming = report(Check("conformance", "passed", "shape as the standard asks"))
    plain = {"type": ["VerifiableCredential"]}
    check = schema_check(conforming, plain)
    assert check.status == "failed" and "not OpenBadgeCredential" in check.message
    badge = {"type": ["VerifiableCredential", "OpenBadgeCredential"]}
    assert schema_check(conforming, badge).status == "passed"
    warned = report(Check("conformance", "warning", "credentialSubject: 'achievement' missing"))
    assert schema_check(warned, badge).status == "failed"
