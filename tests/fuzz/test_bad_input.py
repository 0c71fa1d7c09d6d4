"""Property-based bad input (Hypothesis): whatever the bytes, the importers and the verifier
answer with our own clear error, never an unexpected exception (which the web app would turn
into a 500)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from issuer.errors import InvalidInput, IssuerError
from issuer.frameworks import parse_framework
from issuer.services.enrolment import parse as parse_csv
from issuer.services.fetching import Fetcher
from issuer.services.verifying import verify_input
from tests.conftest import RADIOLOGY

SEED = RADIOLOGY.read_bytes()
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=30,
)
mutated_frameworks = st.one_of(
    st.binary(max_size=2000),
    st.integers(min_value=0, max_value=len(SEED)).map(lambda n: SEED[:n]),  # truncated files
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text().map(lambda t: t.encode("utf-8", "surrogatepass") if False else t.encode()),
    st.integers(min_value=1, max_value=5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from(
        [b"1e999999", b"9" * 5000, b'{"schemaVersion": 1e308}', b"\xff\xfe\xfd", b"\x00\x01\x02"]
    ),
)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mutate(document: dict, path: list[str], value: object) -> bytes:  # type: ignore[type-arg]
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return json.dumps(document).encode()


@FAST
@given(mutated_frameworks)
@example(b"9" * 5000)  # found by Hypothesis: Python refuses >4,300-digit integers (ValueError)
def test_framework_importer_only_raises_its_own_errors(data: bytes) -> None:
    try:
        parse_framework(data, "fuzz.json")
    except IssuerError:
        pass


@FAST
@given(
    st.sampled_from(
        [
            ["occupation", "soc"],
            ["occupation", "title"],
            ["framework", "levels"],
            ["framework", "version"],
            ["schemaVersion"],
            ["sources"],
        ]
    ),
    json_values,
)
def test_framework_importer_with_wrong_values_in_real_places(
    path: list[str], value: object
) -> None:
    try:
        parse_framework(mutate(json.loads(SEED), path, value), "fuzz.json")
    except IssuerError:
        pass


@FAST
@given(
    st.one_of(
        st.binary(max_size=3000),
        st.text(max_size=3000).map(str.encode),
        st.lists(st.lists(st.text(max_size=20), max_size=6), max_size=20).map(
            lambda rows: (
                "name,email,supervisor_email,framework,cohort\n"
                + "\n".join(",".join(r) for r in rows)
            ).encode()
        ),
    )
)
def test_csv_importer_only_raises_its_own_errors(data: bytes) -> None:
    try:
        parse_csv(data)
    except InvalidInput:
        pass


@FAST
@given(
    st.one_of(
        st.binary(max_size=3000),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.dictionaries(
            st.sampled_from(
                [
                    "@context",
                    "type",
                    "proof",
                    "issuer",
                    "credentialSubject",
                    "validFrom",
                    "id",
                    "credentialStatus",
                ]
            ),
            json_values,
            max_size=8,
        ).map(lambda d: json.dumps(d).encode()),
        st.text(max_size=300).map(lambda t: ("eyJhbGciOiJFZERTQSJ9." + t + ".c2ln").encode()),
    )
)
@example(b'{"type": {}}')  # found by Hypothesis: unhashable type in the conformance check
@example(b'{"@context": "$"}')  # found by Hypothesis: pyld raises ValueError, not JsonLdError
@example(b'{"@context": ""}')
@example(b'{"proof": []}')  # found by Hypothesis: an empty list of proofs
def test_verifier_reports_or_refuses_but_never_crashes(data: bytes) -> None:
    try:
        report = verify_input(data, session=None, issuer=None, fetcher=Fetcher())
    except InvalidInput:
        return
    assert report.checks
