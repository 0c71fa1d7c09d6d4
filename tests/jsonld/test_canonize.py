"""RDFC-1.0 canonical N-Quads, byte for byte, from both implementations."""

import json
from pathlib import Path

import pytest

from issuer.jsonld.canonize import canonize, canonize_reference, rdfc_escape

SHARED_VECTORS = Path(__file__).parents[1] / "vectors"
IMPLEMENTATIONS = [canonize, canonize_reference]


def read(relative: str) -> str:
    return (SHARED_VECTORS / relative).read_text(encoding="utf-8")


@pytest.mark.parametrize("canonicalize", IMPLEMENTATIONS)
def test_reproduces_the_w3c_vc_di_eddsa_document_vector(canonicalize) -> None:  # type: ignore[no-untyped-def]
    unsigned = json.loads(read("w3c-vc-di-eddsa/unsigned.json"))
    assert canonicalize(unsigned) == read("w3c-vc-di-eddsa/eddsa-rdfc-2022/canonDocDataInt.txt")


@pytest.mark.parametrize("canonicalize", IMPLEMENTATIONS)
def test_reproduces_the_ob_v3p0_document_vector(canonicalize) -> None:  # type: ignore[no-untyped-def]
    vector = json.loads(read("1edtech-ob-v3p0-spec/ob-eddsa-rdfc-2022-vector.json"))
    expected = read("1edtech-ob-v3p0-spec/document-canon.txt")
    assert canonicalize(vector["unsecuredDocument"]) == expected


def test_escapes_literals_as_rdfc_1_0_requires() -> None:
    assert rdfc_escape('\b\t\n\f\r"\\') == '\\b\\t\\n\\f\\r\\"\\\\'
    assert rdfc_escape("\x00\x01\x1f\x7f") == "\\u0000\\u0001\\u001F\\u007F"
    assert rdfc_escape("é — \u2028 <&>") == "é — \u2028 <&>"


CONTROL_TEXT = 'a\bb\fc\x01d\x1fe\x7ff\tg\nh\ri"j\\k\u2028l\u0085m'


@pytest.mark.parametrize("canonicalize", IMPLEMENTATIONS)
def test_canonicalizes_control_characters_in_literals(canonicalize) -> None:  # type: ignore[no-untyped-def]
    document = {
        "@context": {"name": "https://schema.org/name"},
        "@id": "urn:x",
        "name": CONTROL_TEXT,
    }
    expected = (
        '<urn:x> <https://schema.org/name> "a\\bb\\fc\\u0001d\\u001Fe\\u007Ff\\tg\\nh\\ri\\"j'
        '\\\\k\u2028l\u0085m" .\n'
    )
    assert canonicalize(document) == expected


def test_control_characters_in_blank_node_literals_hash_alike_in_both() -> None:
    # Blank-node labels depend on hashes of the escaped quads: the escaping must reach them.
    document = {
        "@context": {"name": "https://schema.org/name", "knows": "https://schema.org/knows"},
        "knows": [{"name": "x\by"}, {"name": "x\fy"}, {"name": "x\x01y"}],
    }
    assert canonize(document) == canonize_reference(document)
