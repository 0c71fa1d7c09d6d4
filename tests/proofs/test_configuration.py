"""The proof configuration computed once per shape gives, for every instant, exactly what the
specifications' full computation gives (issuer/proofs/configuration.py)."""

from __future__ import annotations

from typing import Any

import pytest

from issuer.errors import JsonLdInvalid
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.loader import CREDENTIALS_V1, CREDENTIALS_V2, DATA_INTEGRITY_V2, OB_V3P0
from issuer.jsonld.loader import load_document as loader
from issuer.jsonld.strict import expand_strictly
from issuer.proofs.configuration import canonical_configuration

KEY = "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
METHOD = f"did:key:{KEY}#{KEY}"
OPTIONS = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "verificationMethod": METHOD,
    "proofPurpose": "assertionMethod",
}
CONTEXTS: list[Any] = [
    [CREDENTIALS_V2, OB_V3P0],
    [CREDENTIALS_V1, DATA_INTEGRITY_V2],
    CREDENTIALS_V2,
]
INSTANTS = [
    "2026-11-30T12:00:00Z",
    "1999-01-01T00:00:00Z",
    "2026-11-30T12:00:00.123Z",
    "2026-11-30T13:00:00+01:00",
    "9999-12-31T23:59:59Z",
]
EXTRAS: list[dict[str, Any]] = [
    {},
    {"challenge": "1f44d55f", "domain": "https://verifier.example"},
    {"id": "urn:uuid:5b7b3c6e-1c1f-4e7c-9d0e-3f1f4f8f2e10", "proofValue": "zIgnored"},
    {"expires": "2027-01-01T00:00:00Z", "nonce": "Zm9v"},
]


def full(options: dict[str, Any], context: Any) -> str:
    configuration = {k: v for k, v in options.items() if k != "proofValue"}
    return canonize_expanded(expand_strictly({**configuration, "@context": context}, loader))


@pytest.mark.parametrize("context", CONTEXTS, ids=["ob", "vc11-di", "vc2"])
@pytest.mark.parametrize("extra", EXTRAS, ids=["plain", "challenge", "id", "expires"])
def test_every_instant_gives_the_full_computation(context: Any, extra: dict[str, Any]) -> None:
    for created in INSTANTS:
        options = {**OPTIONS, **extra, "created": created}
        assert canonical_configuration(options, context, loader) == full(options, context)


def test_what_is_outside_the_shape_is_computed_in_full() -> None:
    for created in ("2026-11-30", "2026-11-30T12:00:00", "soon", "1111-11-11T11:11:11Z"):
        options = {**OPTIONS, "created": created}
        assert canonical_configuration(options, CREDENTIALS_V2, loader) == full(
            options, CREDENTIALS_V2
        )
    nested = {**OPTIONS, "created": INSTANTS[0], "previousProof": ["urn:uuid:1", "urn:uuid:2"]}
    assert canonical_configuration(nested, CREDENTIALS_V2, loader) == full(nested, CREDENTIALS_V2)


def test_an_option_no_context_defines_is_refused_every_time() -> None:
    for _ in range(2):  # the refusal is not remembered as a shape
        with pytest.raises(JsonLdInvalid):
            canonical_configuration({**OPTIONS, "created": INSTANTS[0]}, CREDENTIALS_V1, loader)
