"""The W3C RDFC-1.0 test suite (tests/vectors/rdf-canon), on the fast path and on pyld.

Evaluation tests compare canonical N-Quads byte for byte, map tests the issued identifiers map;
the one negative test (a poison graph) must be refused, quickly, by the fast path. pyld has no
work budget, so the negative test runs on the fast path only.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from pyld import jsonld
from pyld.canon import URDNA2015

from issuer.errors import JsonLdInvalid
from issuer.jsonld.canonize import canonicalize_nquads, canonize_nquads
from issuer.jsonld.rdfc import CanonicalizationTooComplex

SUITE = Path(__file__).parents[1] / "vectors" / "rdf-canon"
MANIFEST = json.loads((SUITE / "manifest.jsonld").read_text(encoding="utf-8"))


def entries(kind: str) -> list[Any]:
    return [
        pytest.param(entry, id=entry["id"].lstrip("#"))
        for entry in MANIFEST["entries"]
        if entry["type"] == f"rdfc:{kind}"
    ]


def read(relative: str) -> str:
    return (SUITE / relative).read_text(encoding="utf-8")


def hash_algorithm(entry: dict[str, Any]) -> Any:
    return entry.get("hashAlgorithm", "SHA256")


def test_the_suite_is_complete() -> None:
    assert (len(entries("RDFC10EvalTest")), len(entries("RDFC10MapTest"))) == (64, 21)
    assert len(entries("RDFC10NegativeEvalTest")) == 1


@pytest.mark.parametrize("entry", entries("RDFC10EvalTest"))
def test_fast_path_passes_evaluation_test(entry: dict[str, Any]) -> None:
    nquads = canonize_nquads(read(entry["action"]), hash_algorithm(entry))
    assert nquads == read(entry["result"])


@pytest.mark.parametrize("entry", entries("RDFC10MapTest"))
def test_fast_path_passes_map_test(entry: dict[str, Any]) -> None:
    document = read(entry["action"])
    issued = canonicalize_nquads(document, hash_algorithm(entry)).issued_identifiers
    assert issued == json.loads(read(entry["result"]))
    # The map's keys are exactly the input's blank node labels.
    assert set(issued) == set(re.findall(r"_:([A-Za-z0-9]+)", document))


@pytest.mark.parametrize("entry", entries("RDFC10NegativeEvalTest"))
def test_fast_path_refuses_the_poison_graph_quickly(entry: dict[str, Any]) -> None:
    started = time.thread_time()
    with pytest.raises(CanonicalizationTooComplex) as refused:
        canonize_nquads(read(entry["action"]), hash_algorithm(entry))
    assert time.thread_time() - started < 2  # ~0.1 s measured; pyoxigraph alone never returns
    assert isinstance(refused.value, JsonLdInvalid)
    assert "work budget" in str(refused.value)


class _URDNA2015Sha384(URDNA2015):  # type: ignore[misc]
    """pyld's algorithm with SHA-384, the suite's hashAlgorithm option (pyld has none)."""

    def create_hash(self) -> Any:
        return hashlib.sha384()


def pyld_urdna2015(entry: dict[str, Any]) -> URDNA2015:
    return _URDNA2015Sha384() if hash_algorithm(entry) == "SHA384" else URDNA2015()


def pyld_dataset(entry: dict[str, Any]) -> Any:
    return jsonld.JsonLdProcessor.parse_nquads(read(entry["action"]))


PYLD_PARSER = pytest.mark.xfail(
    strict=True,
    reason="pyld 3.3.0's N-Quads parser leaves UCHAR (\\u, \\U) and the ECHARs \\b \\f \\' "
    "escaped in literals and IRIs, so the canonical form re-escapes their backslash",
)


def reference_entries(kind: str) -> list[Any]:
    return [
        pytest.param(*param.values, id=param.id, marks=PYLD_PARSER)
        if param.id == "test060c"
        else param
        for param in entries(kind)
    ]


@pytest.mark.parametrize("entry", reference_entries("RDFC10EvalTest"))
def test_pyld_passes_evaluation_test(entry: dict[str, Any]) -> None:
    if hash_algorithm(entry) == "SHA384":  # what normalize() does, with the hash swapped
        nquads = pyld_urdna2015(entry).main(pyld_dataset(entry), {"format": "application/n-quads"})
    else:
        options = {
            "algorithm": "URDNA2015",
            "inputFormat": "application/n-quads",
            "format": "application/n-quads",
        }
        nquads = jsonld.normalize(read(entry["action"]), options)
    assert nquads == read(entry["result"])


@pytest.mark.parametrize("entry", entries("RDFC10MapTest"))
def test_pyld_passes_map_test(entry: dict[str, Any]) -> None:
    algorithm = pyld_urdna2015(entry)
    algorithm.main(pyld_dataset(entry), {})
    existing = algorithm.canonical_issuer.existing
    issued = {old[2:]: new[2:] for old, new in existing.items()}
    assert issued == json.loads(read(entry["result"]))
