"""The VC Data Model rules (issuer/data_model.py), case by case, with the JSON path named."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from datetime import UTC, datetime
from typing import Any

import base58
import pytest

from issuer.data_model import (
    Problem,
    credential_problems,
    parse_date_time,
    presentation_problems,
)
from issuer.errors import InvalidInput
from issuer.jsonld.loader import CREDENTIALS_V2, bundled
from tests.conftest import VECTORS

CASES = json.loads((VECTORS / "vc-api/credential-cases.json").read_text(encoding="utf-8"))
PRESENTATIONS = json.loads((VECTORS / "vc-api/presentation-cases.json").read_text(encoding="utf-8"))
ISSUER = "did:example:issuer"


def build(case: dict[str, Any], base: dict[str, Any] = CASES["base"], **names: str) -> Any:
    """The base document with the case's changes; $ISSUER (and other $NAMEs) filled in."""
    document = copy.deepcopy(base)
    document.update(copy.deepcopy(case.get("set", {})))
    for name in case.get("remove", []):
        document.pop(name, None)
    text = json.dumps(document)
    for name, value in {"ISSUER": ISSUER, **names}.items():
        text = text.replace(f"${name}", value)
    return json.loads(text)


def problems_of(document: Any, **options: Any) -> list[str]:
    return [str(problem) for problem in credential_problems(document, **options)]


@pytest.mark.parametrize("case", CASES["good"], ids=lambda case: case["name"])
def test_conforms(case: dict[str, Any]) -> None:
    assert credential_problems(build(case)) == []


@pytest.mark.parametrize("case", CASES["bad"], ids=lambda case: case["cause"])
def test_finds_the_problem_if(case: dict[str, Any]) -> None:
    problems = credential_problems(build(case))
    assert any(p.path == case["path"] and case["says"] in p.message for p in problems), problems


def test_every_problem_is_reported_at_once() -> None:
    document = build({"set": {"issuer": "fake-issuer", "credentialSubject": {}}})
    assert problems_of(document) == [
        "$.issuer: 'fake-issuer' is not a URL (a scheme such as https: or did:, then the rest)",
        "$.credentialSubject: is empty; each subject MUST be the subject of a claim",
    ]


def test_a_problem_is_a_problem_details_object() -> None:
    document = build(
        {"set": {"validFrom": "2025-01-01T00:00:00Z", "validUntil": "2024-01-01T00:00:00Z"}}
    )
    [problem] = credential_problems(document)
    assert problem.to_json() == {
        "type": "https://www.w3.org/TR/vc-data-model#RANGE_ERROR",
        "code": -67,
        "title": "Value out of range",
        "detail": "$.validUntil: 2024-01-01T00:00:00Z is before validFrom 2025-01-01T00:00:00Z",
        "path": "$.validUntil",
    }


def test_fails_if_the_credential_is_not_an_object() -> None:
    assert problems_of('{"type": "VerifiableCredential"}') == [
        "$: a credential is a JSON object, not a string"
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2024-02-29T23:59:59Z",  # a leap day
        "2024-01-01T00:00:00.123456789+14:00",
        "2024-01-01T00:00:00-00:00",
        "2024-12-31T24:00:00Z",  # midnight at the end of the day
        "0000-02-29T00:00:00Z",  # 1 BCE was a leap year
        "-0044-03-15T12:00:00Z",
        "12024-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC: valid, though not comparable
        "9999-12-31T24:00:00Z",  # after year 9999, likewise
    ],
)
def test_accepts_the_date_time_stamp(value: str) -> None:
    assert problems_of(build({"set": {"validFrom": value}})) == []


@pytest.mark.parametrize(
    "value",
    [
        "1900-02-29T00:00:00Z",  # not a leap year
        "2024-04-31T00:00:00Z",
        "2024-01-01T24:00:01Z",
        "2024-01-01T00:00:60Z",
        "2024-01-01T00:00:00+14:01",
        "2024-1-01T00:00:00Z",
        "+2024-01-01T00:00:00Z",
        "02024-01-01T00:00:00Z",
        "2024-01-01 00:00:00Z",
        "2024-01-01T00:00Z",
        "2024-01-01T00:00:00Z\n",
        "2024-01-01T00:00:00.Z",
        "2024-01-01",
    ],
)
def test_fails_if_validFrom_is(value: str) -> None:
    [problem] = credential_problems(build({"set": {"validFrom": value}}))
    assert problem.path == "$.validFrom"


def test_compares_validity_as_instants() -> None:
    in_order = {"validFrom": "2024-01-01T10:00:00+02:00", "validUntil": "2024-01-01T09:00:00Z"}
    assert problems_of(build({"set": in_order})) == []
    midnight = {"validFrom": "2024-01-01T24:00:00Z", "validUntil": "2024-01-02T00:00:00Z"}
    assert problems_of(build({"set": midnight})) == []
    reversed_ = {"validFrom": "2024-01-01T24:00:00Z", "validUntil": "2024-01-01T23:59:59Z"}
    assert [p.type for p in credential_problems(build({"set": reversed_}))] == ["RANGE_ERROR"]


def test_parses_date_times_as_instants() -> None:
    assert parse_date_time("2024-01-01T10:00:00.5+02:00") == datetime(
        2024, 1, 1, 8, 0, 0, 500000, tzinfo=UTC
    )
    assert parse_date_time("2024-01-01T00:00:00") == datetime(2024, 1, 1, tzinfo=UTC)
    assert parse_date_time("2023-02-29T00:00:00Z") is None
    assert parse_date_time("0001-01-01T00:00:00+14:00") is None  # not an OverflowError
    assert parse_date_time("9999-12-31T24:00:00Z") is None


def test_vc11_takes_date_times_without_a_time_zone() -> None:
    v11 = [
        "https://www.w3.org/2018/credentials/v1",
        "https://www.w3.org/ns/credentials/examples/v2",
    ]
    case = {
        "set": {"@context": v11, "issuanceDate": "2024-01-01T00:00:00"},
        "remove": ["validFrom"],
    }
    assert problems_of(build(case)) == []


def related(url: str, **digests: Any) -> Any:
    return build({"set": {"relatedResource": [{"id": url, **digests}]}})


RESOURCE = "https://example.org/resources/logo.svg"
CONTENT = b"<svg xmlns='http://www.w3.org/2000/svg'/>"


def fetch(url: str) -> bytes:
    """A tiny web: one resource; anything else cannot be reached."""
    if url == RESOURCE:
        return CONTENT
    raise InvalidInput(f"{url} answered HTTP 404")


def test_checks_digests_of_resources_it_fetches() -> None:
    digest = hashlib.sha256(CONTENT).digest()
    sri = "sha256-" + base64.b64encode(digest).decode()
    base58btc = "z" + base58.b58encode(b"\x12\x20" + digest).decode()
    assert (
        problems_of(related(RESOURCE, digestSRI=sri, digestMultibase=base58btc), fetch=fetch) == []
    )
    other = "sha256-" + base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    [problem] = credential_problems(related(RESOURCE, digestSRI=other), fetch=fetch)
    assert problem == Problem(
        "$.relatedResource[0].digestSRI",
        f"does not match {RESOURCE} (whose digest is {sri})",
        "CRYPTOGRAPHIC_SECURITY_ERROR",
    )


def test_fails_if_a_related_resource_cannot_be_retrieved() -> None:
    document = related("https://example.org/gone", digestSRI="sha256-" + "A" * 43 + "=")
    assert problems_of(document, fetch=fetch) == [
        "$.relatedResource[0].id: cannot be retrieved to check its digest: "
        "https://example.org/gone answered HTTP 404"
    ]


def test_hashes_bundled_contexts_without_fetching_them() -> None:
    asked: list[str] = []

    def recording(url: str) -> bytes:
        asked.append(url)
        return b""

    digest = hashlib.sha512(bundled()[CREDENTIALS_V2].read_bytes()).digest()
    sri = "sha512-" + base64.b64encode(digest).decode()
    assert problems_of(related(CREDENTIALS_V2, digestSRI=sri), fetch=recording) == []
    assert asked == []


def test_without_fetch_only_bundled_resources_are_checked() -> None:
    """Offline (wallet exchanges verify with local keys only), an unbundled resource's digest
    is reported as not checked, never silently passed over; a bundled context's still is."""
    [problem] = credential_problems(related(RESOURCE, digestSRI="sha256-" + "A" * 43 + "="))
    assert problem == Problem(
        "$.relatedResource[0].id",
        f"{RESOURCE} is not fetched here, so its digest was not checked",
        checked=False,
    )
    digest = hashlib.sha512(bundled()[CREDENTIALS_V2].read_bytes()).digest()
    assert problems_of(related(CREDENTIALS_V2, digestSRI="sha512-" + "A" * 86 + "==")) != []
    sri = "sha512-" + base64.b64encode(digest).decode()
    assert problems_of(related(CREDENTIALS_V2, digestSRI=sri)) == []


@pytest.mark.parametrize("case", PRESENTATIONS["bad"], ids=lambda case: case["cause"])
def test_finds_the_presentation_problem_if(case: dict[str, Any]) -> None:
    problems = presentation_problems(build(case, PRESENTATIONS["base"], HOLDER="did:example:h"))
    assert any(p.path == case["path"] and case["says"] in p.message for p in problems), problems


def test_a_presentation_conforms() -> None:
    presentation = build({}, PRESENTATIONS["base"], HOLDER="did:example:holder")
    presentation["verifiableCredential"] = [build({})]
    assert presentation_problems(presentation) == []
