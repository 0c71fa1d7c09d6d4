"""VC-API conformance: issue, verify and presentation verify, case by case.

Mirrors what the W3C vc-data-model-2.0-test-suite and vc-di-eddsa-test-suite POST and expect:
201 or 200 for what conforms, 400 with a reason naming the problem for what does not. The cases
live in tests/vectors/vc-api/ (shared with tests/test_data_model.py). The issuer is a did:web,
so the test reads its DID from the DID document route, as a client would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.dids import did_key
from issuer.errors import JsonLdInvalid
from issuer.jsonld.canonize import canonize
from issuer.jsonld.loader import CREDENTIALS_V1, DATA_INTEGRITY_V2, load_document
from issuer.keys import SigningKey
from issuer.proofs import eddsa_rdfc_2022 as suite
from issuer.proofs.data_integrity import add_proof
from issuer.proofs.vc_jwt import OB3_JWT, VC_JOSE, encode_vc_jwt
from issuer.services.identity import IssuerIdentity, load_identity
from issuer.services.keyring import KeyRing
from issuer.web.app import create_app
from tests.proofs.test_vc_jwt import CONTRADICTING_CLAIMS
from tests.test_data_model import CASES, PRESENTATIONS, build
from tests.web.helpers import bearer, make_token

SIGNABLE = [case for case in CASES["bad"] if case.get("signable", True)]
DID_WEB = "did:web:issuer.example"


@dataclass
class Api:
    """The VC-API of an issuer with a did:web, a coordinator's token, and its signing key."""

    client: TestClient
    token: str
    did: str
    identity: IssuerIdentity

    def issue(self, credential: Any, options: Any = None) -> httpx.Response:
        body = {"credential": credential, **({"options": options} if options is not None else {})}
        return self.client.post("/credentials/issue", json=body, headers=bearer(self.token))

    def verify(self, credential: Any, options: Any = None) -> httpx.Response:
        body = {"verifiableCredential": credential, "options": options or {}}
        return self.client.post("/credentials/verify", json=body)

    def verify_presentation(self, presentation: Any, options: Any = None) -> httpx.Response:
        body = {"verifiablePresentation": presentation, "options": options or {}}
        return self.client.post("/presentations/verify", json=body)

    def credential(self, case: dict[str, Any]) -> Any:
        return build(case, ISSUER=self.did)

    def sign(self, credential: Any) -> Any:
        """Signed with the issuer's own key, past the VC-API's checks: what a careless signer
        could have produced, for the verifier to judge."""
        return careless_proof(credential, self.identity.key, self.identity.verification_method)


@pytest.fixture
def api(client: TestClient, settings: Settings) -> Iterator[Api]:
    configured = replace(settings, did=DID_WEB)
    KeyRing(configured.keys_dir).generate(None, dev=True)
    token = make_token(configured, "coord@example.org", "Casey", ["coordinator"])
    identity = load_identity(configured.keys_dir, None, DID_WEB, configured.issuer_profile())
    with TestClient(create_app(configured)) as fresh:
        did = fresh.get("/.well-known/did.json").json()["id"]
        yield Api(fresh, token, did, identity)


def names_the_problem(errors: list[dict[str, Any]], case: dict[str, Any]) -> bool:
    """A verifier's error for the case: its property path and its reason."""
    where = case["path"].removeprefix("$.")
    return any(where in e["message"] and case["says"] in e["message"] for e in errors)


# ── issue ────────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("case", CASES["good"], ids=lambda case: case["name"])
def test_issues_as_sent_and_verifies(api: Api, case: dict[str, Any]) -> None:
    credential = api.credential(case)
    response = api.issue(credential)
    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert {k: v for k, v in signed.items() if k != "proof"} == credential
    assert signed["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    verified = api.verify(signed)
    assert verified.status_code == 200, verified.json()


def test_issues_a_vc11_credential_with_the_data_integrity_context(api: Api) -> None:
    v11 = [CREDENTIALS_V1, "https://www.w3.org/ns/credentials/examples/v2"]
    case = {"set": {"@context": v11, "issuanceDate": "2024-01-01T00:00:00Z"}}
    credential = api.credential({**case, "remove": ["validFrom"]})
    response = api.issue(credential)
    assert response.status_code == 201, response.text
    signed = response.json()["verifiableCredential"]
    assert signed["@context"] == [*v11, DATA_INTEGRITY_V2]
    assert signed["issuer"] == api.did and signed["issuanceDate"] == "2024-01-01T00:00:00Z"
    verified = api.verify(signed)
    assert verified.status_code == 200, verified.json()


@pytest.mark.parametrize("case", CASES["bad"], ids=lambda case: case["cause"])
def test_refuses_to_issue_if(api: Api, case: dict[str, Any]) -> None:
    response = api.issue(api.credential(case))
    assert response.status_code == 400
    path = "$.credential" + case["path"].removeprefix("$")
    problems = response.json()["problems"]
    assert any(p["path"] == path and case["says"] in p["detail"] for p in problems), problems
    assert f"{path}: " in response.json()["detail"]


@pytest.mark.parametrize(
    ("issuer", "path"),
    [
        ("did:example:someone-else", "$.credential.issuer"),
        ({"id": "https://a.example"}, "$.credential.issuer.id"),
    ],
    ids=["string", "object"],
)
def test_refuses_to_issue_if_the_issuer_is_not_this_issuer(
    api: Api, issuer: Any, path: str
) -> None:
    response = api.issue(api.credential({"set": {"issuer": issuer}}))
    assert response.status_code == 400
    assert response.json()["problems"][0]["path"] == path
    assert f"it signs as {api.did}" in response.json()["detail"]


@pytest.mark.parametrize("credential", ["a JSON string", 42, [], None], ids=repr)
def test_refuses_to_issue_if_the_credential_is_not_an_object(api: Api, credential: Any) -> None:
    response = api.issue(credential)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("$.credential: a credential is a JSON object")


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (
            {
                "type": ["VerifiableCredential", "UndefinedCredential"],
                "credentialSubject": {"id": "did:example:1"},
            },
            "'UndefinedCredential'",
        ),
        ({"credentialSubject": {"id": "did:example:1", "shoeSize": 44}}, "'shoeSize'"),
        (
            {
                "@context": [
                    "https://www.w3.org/ns/credentials/v2",
                    {"@protected": True, "Redefined": "https://example.org/#Redefined"},
                    {"Redefined": "https://example.org/#Other"},
                ],
                "type": ["VerifiableCredential", "Redefined"],
                "credentialSubject": {"id": "did:example:1"},
            },
            "protected term",
        ),
    ],
    ids=["undefined_type", "undefined_property", "redefined_protected_term"],
)
def test_refuses_to_issue_json_ld_that_is_not_strict(api: Api, change: Any, says: str) -> None:
    """vc-data-model-2.0-test-suite 4.05 (unmapped type) and 5.2 (redefined terms)."""
    credential = api.credential({"set": change})
    credential["@context"] = change.get("@context", ["https://www.w3.org/ns/credentials/v2"])
    response = api.issue(credential)
    assert response.status_code == 400 and says in response.json()["detail"]


def test_refuses_to_issue_if_a_related_resource_cannot_be_fetched(api: Api) -> None:
    resource = {"id": "https://127.0.0.1/logo.svg", "digestSRI": "sha256-" + "A" * 43 + "="}
    response = api.issue(api.credential({"set": {"relatedResource": [resource]}}))
    assert response.status_code == 400
    assert "$.credential.relatedResource[0].id: cannot be retrieved" in response.json()["detail"]


def test_reflects_the_options_in_the_proof(api: Api) -> None:
    options = {
        "created": "2024-05-01T12:00:00+02:00",
        "challenge": "c-1234",
        "domain": "verifier.example",
        "proofPurpose": "authentication",
    }
    response = api.issue(api.credential({}), options)
    assert response.status_code == 201, response.text
    proof = response.json()["verifiableCredential"]["proof"]
    assert proof["created"] == "2024-05-01T10:00:00Z"
    assert (proof["challenge"], proof["domain"]) == ("c-1234", "verifier.example")
    assert proof["proofPurpose"] == "authentication"


def test_signs_for_assertion_by_default_at_the_time_of_the_request(api: Api) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    proof = api.issue(api.credential({}), {}).json()["verifiableCredential"]["proof"]
    assert proof["proofPurpose"] == "assertionMethod" and "challenge" not in proof
    assert datetime.fromisoformat(proof["created"]) >= before


@pytest.mark.parametrize(
    ("options", "path"),
    [
        ({"proofPurpose": "capabilityInvocation"}, "$.options.proofPurpose"),
        ({"created": "yesterday"}, "$.options.created"),
        ({"created": "2023-02-29T00:00:00Z"}, "$.options.created"),
        ({"challenge": 1234}, "$.options.challenge"),
        ({"domain": ["a.example", "b.example"]}, "$.options.domain"),
        ({"mandatoryPointers": ["/issuer"]}, "$.options.mandatoryPointers"),
        ("assertionMethod", "$.options"),
    ],
    ids=[
        "proofPurpose",
        "created",
        "created_not_a_real_date",
        "challenge",
        "domain",
        "unknown",
        "not_an_object",
    ],
)
def test_refuses_to_issue_with_the_option(api: Api, options: Any, path: str) -> None:
    response = api.issue(api.credential({}), options)
    assert response.status_code == 400
    assert [p["path"] for p in response.json()["problems"]] == [path]


# ── verify ───────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize("case", SIGNABLE, ids=lambda case: case["cause"])
def test_fails_to_verify_if(api: Api, case: dict[str, Any]) -> None:
    response = api.verify(api.sign(api.credential(case)))
    assert response.status_code == 400
    assert response.json()["verified"] is False
    assert names_the_problem(response.json()["errors"], case), response.json()["errors"]


@pytest.mark.parametrize("credential", ["not a credential", "a.b", 42, ["x"]], ids=repr)
def test_fails_to_verify_if_the_credential_is_neither_an_object_nor_a_jws(
    api: Api, credential: Any
) -> None:
    response = api.verify(credential)
    assert response.status_code == 400
    body = response.json()
    assert body["verified"] is False and body["errors"][0]["check"] == "input"


# What the vc-di-eddsa-test-suite (data-integrity-test-suite-assertion) does to a signed
# credential before it asks for verification; each must fail.
DI_BREAKAGES: dict[str, Callable[[dict[str, Any]], None]] = {
    "proof_missing": lambda vc: vc.pop("proof"),
    "proof_null": lambda vc: vc.update(proof=None),
    "proof_type_missing": lambda vc: vc["proof"].pop("type"),
    "proof_type_not_DataIntegrityProof": lambda vc: vc["proof"].update(type="UnknownProofType"),
    "verificationMethod_missing": lambda vc: vc["proof"].pop("verificationMethod"),
    "verificationMethod_not_a_key": lambda vc: vc["proof"].update(
        verificationMethod="https://example.org/not-a-key"
    ),
    "proofPurpose_missing": lambda vc: vc["proof"].pop("proofPurpose"),
    "proofPurpose_not_assertionMethod": lambda vc: vc["proof"].update(proofPurpose="invalid"),
    "proofValue_missing": lambda vc: vc["proof"].pop("proofValue"),
    "proofValue_null": lambda vc: vc["proof"].update(proofValue=None),
    "proofValue_not_multibase": lambda vc: vc["proof"].update(
        proofValue=vc["proof"]["proofValue"][1:]
    ),
    "cryptosuite_unknown": lambda vc: vc["proof"].update(cryptosuite="unknown-2099"),
    "created_not_a_date_time_stamp": lambda vc: vc["proof"].update(created="01/01/2024"),
    "credential_changed_after_signing": lambda vc: vc["credentialSubject"].update(
        alumniOf="Another University"
    ),
}


@pytest.mark.parametrize("breakage", DI_BREAKAGES, ids=str)
def test_fails_to_verify_a_data_integrity_proof_if(api: Api, breakage: str) -> None:
    signed = api.issue(api.credential({})).json()["verifiableCredential"]
    DI_BREAKAGES[breakage](signed)
    response = api.verify(signed)
    assert response.status_code == 400 and response.json()["verified"] is False


def test_fails_to_verify_for_another_proof_purpose_than_asked(api: Api) -> None:
    signed = api.issue(api.credential({})).json()["verifiableCredential"]
    assert api.verify(signed, {"expectedProofPurpose": "assertionMethod"}).status_code == 200
    response = api.verify(signed, {"expectedProofPurpose": "authentication"})
    assert response.status_code == 400 and "expectedProofPurpose" in response.text


def test_verifies_the_challenge_and_domain_asked_for(api: Api) -> None:
    options = {"challenge": "c-1234", "domain": "verifier.example"}
    signed = api.issue(api.credential({}), options).json()["verifiableCredential"]
    assert api.verify(signed, options).status_code == 200
    assert api.verify(signed, {**options, "challenge": "other"}).status_code == 400
    assert api.verify(signed, {**options, "domain": "elsewhere.example"}).status_code == 400


def test_verifies_only_the_checks_asked_for(api: Api) -> None:
    """vc-data-model-2.0-test-suite verifies with `options.checks: ["proof"]`."""
    signed = api.issue(api.credential({})).json()["verifiableCredential"]
    response = api.verify(signed, {"checks": ["proof"]})
    assert response.status_code == 200 and "proof" in response.json()["checks"]


# ── VC-JWT ───────────────────────────────────────────────────────────────────────────────


def claims_token(api: Api, **claims: object) -> str:
    """An OB 3.0 VC-JWT from the issuer's own key whose registered claims agree with its
    credential (validFrom 2024-01-01, validUntil 2030-01-01), but for `claims`."""
    credential = api.credential({"set": {"validUntil": "2030-01-01T00:00:00Z"}})
    payload = {
        "vc": credential,
        "iss": api.did,
        "jti": credential["id"],
        "sub": credential["credentialSubject"]["id"],
        "nbf": 1704067200,
        "exp": 1893456000,
        **claims,
    }
    key = api.identity.key
    return jwt.encode(
        payload,
        key.private_key,
        key.jwt_algorithm,
        headers={"kid": api.identity.verification_method},
    )


@pytest.mark.parametrize("form", [OB3_JWT, VC_JOSE])
def test_verifies_a_vc_jwt(api: Api, form: str) -> None:
    credential = api.credential({"set": {"validUntil": "2030-01-01T00:00:00Z"}})
    key, method = api.identity.key, api.identity.verification_method
    response = api.verify(encode_vc_jwt(credential, key=key, kid=method, form=form))
    assert response.status_code == 200, response.json()
    assert response.json()["verified"] is True
    assert {"proof", "issuer", "data model"} <= set(response.json()["checks"])
    assert response.json()["errors"] == []
    assert api.verify(claims_token(api)).status_code == 200  # the baseline of the next test


@pytest.mark.parametrize(
    ("claims", "problem"), CONTRADICTING_CLAIMS, ids=lambda value: next(iter(value), value)
)
def test_fails_to_verify_a_vc_jwt_if_a_registered_claim_contradicts_it(
    api: Api, claims: dict[str, object], problem: str
) -> None:
    """The cases of tests/proofs/test_vc_jwt.py, through POST /credentials/verify: a 400 whose
    `jwt claims` check failed, naming the claim, while the signature itself is intact."""
    response = api.verify(claims_token(api, **claims))
    assert response.status_code == 400
    body = response.json()
    assert body["verified"] is False and "proof" in body["checks"]
    [error] = [e for e in body["errors"] if e["check"] == "jwt claims"]
    assert error["code"] == "MALFORMED_VALUE_ERROR"
    assert problem in error["message"], error


def test_fails_to_read_a_vc_jwt_beyond_the_input_limits(api: Api) -> None:
    """The 10-node clique of W3C rdf-canon test 074, signed as a VC-JWT: refused unread like
    the same credential as JSON, alone or in a presentation."""
    labels = [f"_:e{i}" for i in range(10)]
    credential = api.credential({})
    credential["@context"].append({"p": {"@id": "https://example.org/p", "@type": "@id"}})
    credential["credentialSubject"]["p"] = [{"@id": label, "p": labels} for label in labels]
    token = encode_vc_jwt(
        credential, key=api.identity.key, kid=api.identity.verification_method, form=VC_JOSE
    )
    presentation = {**PRESENTATIONS["base"], "verifiableCredential": [token]}
    for response in (api.verify(token), api.verify_presentation(presentation)):
        assert response.status_code == 400
        [error] = response.json()["errors"]
        assert error["check"] == "input" and "blank node labels" in error["message"]


# ── presentations ────────────────────────────────────────────────────────────────────────


def holder_signs(presentation: Any, key: SigningKey, **binding: str) -> Any:
    holder = did_key(key.multikey)
    return careless_proof(
        presentation, key, f"{holder}#{key.multikey}", proof_purpose="authentication", **binding
    )


def careless_proof(
    document: Any,
    key: SigningKey,
    method: str,
    proof_purpose: str = "assertionMethod",
    **extra: str,
) -> Any:
    """A real eddsa-rdfc-2022 proof; for a document our signer refuses as JSON-LD (an id with a
    space is no IRI), the one a signer without that check would make."""
    try:
        return add_proof(
            document,
            key=key,
            verification_method=method,
            created=datetime.now(UTC),
            loader=load_document,
            proof_purpose=proof_purpose,
            **extra,  # type: ignore[arg-type]
        )
    except JsonLdInvalid:
        pass
    options = {
        "type": "DataIntegrityProof",
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "verificationMethod": method,
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": proof_purpose,
        **extra,
    }
    data = suite.hash_data(
        suite.configure_proof(options, document["@context"], load_document),
        canonize(document, load_document),
    )
    return {
        **document,
        "proof": {**options, "proofValue": suite.serialize_proof_value(key.sign(data))},
    }


def presentation(api: Api, key: SigningKey, case: dict[str, Any]) -> Any:
    document = build(case, PRESENTATIONS["base"], HOLDER=did_key(key.multikey))
    if "verifiableCredential" not in case.get("set", {}):
        issued = api.issue(api.credential({})).json()["verifiableCredential"]
        document["verifiableCredential"] = [issued]
    return document


def test_verifies_a_presentation(api: Api, signing_key: SigningKey) -> None:
    binding = {"challenge": "c-42", "domain": "verifier.example"}
    signed = holder_signs(presentation(api, signing_key, {}), signing_key, **binding)
    response = api.verify_presentation(signed, binding)
    assert response.status_code == 200, response.json()
    wrong = api.verify_presentation(signed, {**binding, "challenge": "c-43"})
    assert wrong.status_code == 400


@pytest.mark.parametrize("case", PRESENTATIONS["bad"], ids=lambda case: case["cause"])
def test_fails_to_verify_the_presentation_if(
    api: Api, signing_key: SigningKey, case: dict[str, Any]
) -> None:
    document = presentation(api, signing_key, case)
    # What JSON-LD cannot sign goes unsigned, as the W3C suite posts its presentation fixtures.
    signable = case.get("signable", True)
    response = api.verify_presentation(
        holder_signs(document, signing_key) if signable else document
    )
    assert response.status_code == 400
    assert names_the_problem(response.json()["errors"], case), response.json()["errors"]


@pytest.mark.parametrize(
    "value", ["a JSON string", 42, [{"type": "VerifiablePresentation"}]], ids=repr
)
def test_fails_to_verify_the_presentation_if_it_is_not_an_object(api: Api, value: Any) -> None:
    response = api.verify_presentation(value)
    assert response.status_code == 400
    assert response.json()["errors"][0]["check"] == "input"
