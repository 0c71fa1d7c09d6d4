"""Our RDFC-1.0 (issuer/jsonld/rdfc.py): where pyoxigraph goes wrong, and the work budget."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pyoxigraph
import pytest
from pyld import jsonld

from issuer.errors import JsonLdInvalid
from issuer.jsonld.canonize import canonize, canonize_nquads, canonize_reference, expand
from issuer.jsonld.rdfc import CanonicalizationTooComplex, canonicalize
from tests.jsonld.named_graphs import one_proof_on_two_endorsements

EXTRA = Path(__file__).parents[1] / "vectors" / "rdf-canon" / "extra"
MINIMAL_CASE = (EXTRA / "blank-node-graph-names-in.nq").read_text(encoding="utf-8")
MINIMAL_CASE_CANONICAL = (EXTRA / "blank-node-graph-names-rdfc10.nq").read_text(encoding="utf-8")


def pyoxigraph_rdfc_1_0(dataset: pyoxigraph.Dataset) -> str:
    """pyoxigraph's own RDFC-1.0, as canonize_expanded used it before rdfc.py."""
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    serialized = pyoxigraph.serialize(dataset, format=pyoxigraph.RdfFormat.N_QUADS) or b""
    return "".join(sorted(line + "\n" for line in serialized.decode().split("\n") if line))


def test_labels_ties_among_blank_node_graph_names_as_the_spec_does() -> None:
    # The expected output is also rdf-canonize 5.0.0's (jsonld.js), whatever the quads' order.
    assert canonize_nquads(MINIMAL_CASE) == MINIMAL_CASE_CANONICAL
    options = {
        "algorithm": "URDNA2015",
        "inputFormat": "application/n-quads",
        "format": "application/n-quads",
    }
    assert jsonld.normalize(MINIMAL_CASE, options) == MINIMAL_CASE_CANONICAL


def test_pyoxigraph_still_mislabels_blank_node_graph_names() -> None:
    """pyoxigraph 0.5.13 keeps Hash N-Degree Quads' related blank nodes in a set, not a list.

    When this test fails, the installed pyoxigraph labels the minimal case (see the README.md
    beside it) and the endorsed credential as RDFC-1.0 does. Nothing routes around the defect:
    canonize.py only parses with pyoxigraph, and rdfc.py labels blank nodes within a work budget
    that pyoxigraph lacks. Delete this test and the defect's mention in rdfc.py's docstring.
    """
    parsed = pyoxigraph.parse(MINIMAL_CASE, format=pyoxigraph.RdfFormat.N_QUADS)
    assert pyoxigraph_rdfc_1_0(pyoxigraph.Dataset(parsed)) != MINIMAL_CASE_CANONICAL

    credential = one_proof_on_two_endorsements()
    parsed = pyoxigraph.parse(json.dumps(expand(credential)), format=pyoxigraph.RdfFormat.JSON_LD)
    assert pyoxigraph_rdfc_1_0(pyoxigraph.Dataset(parsed)) != canonize_reference(credential)
    assert canonize(credential) == canonize_reference(credential)


def test_gives_equal_documents_equal_labels_though_pyoxigraph_names_them_at_random() -> None:
    credential = one_proof_on_two_endorsements()
    assert len({canonize(credential) for _ in range(5)}) == 1


def test_fails_to_canonicalize_if_a_proof_hides_a_poison_graph() -> None:
    # The 10-node clique of W3C test 074, in a graph named by a blank node (an embedded proof).
    poisoned = json.loads((EXTRA / "poison-clique-in-proof.jsonld").read_text(encoding="utf-8"))
    started = time.thread_time()
    with pytest.raises(CanonicalizationTooComplex):
        canonize(poisoned)
    assert time.thread_time() - started < 2


def test_canonicalizes_a_list_of_repeated_values_within_the_budget() -> None:
    # The middle nodes of an rdf:List of equal values all tie: quadratic work, still accepted.
    document = {
        "@context": {"steps": {"@id": "https://example.org/steps", "@container": "@list"}},
        "@id": "urn:x",
        "steps": ["confirm"] * 40,
    }
    assert canonize(document) == canonize_reference(document)


@pytest.mark.parametrize("label", ["_:e", "_:z"])
def test_fails_to_canonicalize_if_blank_nodes_form_a_clique(label: str) -> None:
    clique = [(f"{label}{i}", "<urn:p>", f"{label}{j}", "") for i in range(10) for j in range(10)]
    with pytest.raises(CanonicalizationTooComplex):
        canonicalize(clique)


def test_fails_to_canonicalize_if_a_quad_holds_a_triple_term() -> None:
    with pytest.raises(JsonLdInvalid, match="triple terms"):
        canonize_nquads("<urn:s> <urn:p> <<( _:a <urn:p> _:b )>> .\n")


def test_a_dataset_is_a_set_of_quads() -> None:
    quad = ("_:a", "<urn:p>", '"x"', "")
    assert canonicalize([quad, quad]).nquads == '_:c14n0 <urn:p> "x" .\n'
