"""RDFC-1.0 canonical N-Quads, byte for byte, from both implementations."""

import copy
import json
from pathlib import Path

import pytest

from issuer.errors import JsonLdInvalid
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


def corpus() -> dict[str, dict]:  # type: ignore[type-arg]
    """Documents the fast path must canonicalize exactly as pyld does."""
    from issuer.dids import did_document
    from tests.conftest import ROOT
    from tests.realistic import realistic_credential

    documents = {
        str(path.relative_to(ROOT)): json.loads(path.read_text())
        for path in sorted((ROOT / "achievements").rglob("*.json"))
    }
    for vector in ("eddsa-rdfc-2022/signedDataInt.json", "Ed25519Signature2020/signedEdSig.json"):
        documents[vector] = json.loads((SHARED_VECTORS / "w3c-vc-di-eddsa" / vector).read_text())
    credential = realistic_credential()
    documents["realistic credential"] = credential
    odd = json.loads(json.dumps(credential))
    odd["name"] = CONTROL_TEXT + " — “quotes” <&> 検査 \U0001f600"
    odd["credentialSubject"]["result"][0]["status"] = "Failed"
    documents["credential with control characters and emoji"] = odd
    documents["did document"] = did_document(
        "did:web:example.org", ["z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"]
    )
    right_to_left = json.loads(json.dumps(credential))
    right_to_left["name"] = {"@value": "مستوى الكفاءة", "@language": "ar", "@direction": "rtl"}
    documents["credential with a right-to-left name (@direction)"] = right_to_left
    documents.update(named_graph_corpus(documents["eddsa-rdfc-2022/signedDataInt.json"]))
    documents["credential with an embedded endorsement (its proof a named graph)"] = endorsed()
    return documents


def endorsed() -> dict:  # type: ignore[type-arg]
    from tests.test_endorsements import achievement_id, endorsed_credential, endorsement_of

    return endorsed_credential(endorsement_of(achievement_id()))  # type: ignore[no-any-return]


def named_graph_corpus(signed: dict) -> dict[str, dict]:  # type: ignore[type-arg]
    """Documents with graphs named by blank nodes: embedded proofs and presented credentials."""
    from tests.jsonld.named_graphs import (
        data_integrity_proof,
        endorsed_credential,
        endorsement,
        one_proof_on_two_endorsements,
        presentation,
    )
    from tests.realistic import realistic_credential

    issuer = "did:web:127.0.0.1%3A8000"
    endorsed = endorsed_credential(
        endorsement(1, data_integrity_proof("did:example:endorser1", "z4oey5q2M3XKaxup3tmz")),
        endorsement(2, data_integrity_proof("did:example:endorser2", "z2ZVrS4BbEVWqdZz2cQp")),
    )
    two_proofs = realistic_credential()
    two_proofs["proof"] = [
        data_integrity_proof(issuer, "z5jV2GXQkZf8uWXmYgf3"),
        data_integrity_proof(issuer, "z3a9CkP3pLsm2QdqgNzN", purpose="authentication"),
    ]
    signed_endorsed = {**endorsed, "proof": data_integrity_proof(issuer, "z58DAdFfa9SkqZMVPxAQ")}
    holder_proof = data_integrity_proof(
        "did:example:learner",
        "z4Y6nFTqXcGNsDk1BpfR",
        purpose="authentication",
        challenge="1f44d55f-f161-4938-a659-f8026467f126",
        domain="https://verifier.example",
    )
    return {
        "credential with endorsements carrying their proofs": endorsed,
        "credential with one proof on two endorsements": one_proof_on_two_endorsements(),
        "credential with two proofs": two_proofs,
        "presentation of a signed credential": presentation(signed, proof=holder_proof),
        "presentation of two signed credentials, one endorsed (graphs in graphs)": presentation(
            signed, signed_endorsed, proof=holder_proof
        ),
    }


CORPUS = corpus()


@pytest.mark.parametrize("name", CORPUS)
def test_fast_path_is_byte_identical_to_pyld(name: str) -> None:
    document = CORPUS[name]
    assert canonize(document) == canonize_reference(document)


def test_memoized_context_processing_gives_the_same_result_on_repeat() -> None:
    document = CORPUS["realistic credential"]
    first = canonize(document)
    assert all(canonize(document) == first for _ in range(3))


@pytest.mark.parametrize("name", CORPUS)
def test_memoized_expansion_equals_pyld_unmemoized(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyld import jsonld

    from issuer.jsonld import canonize as tuned
    from issuer.jsonld.canonize import expand

    document = CORPUS[name]
    memoized = [expand(document) for _ in range(2)]
    monkeypatch.setattr(jsonld.JsonLdProcessor, "_expand_iri", tuned._expand_iri)
    monkeypatch.setattr(jsonld.JsonLdProcessor, "_process_context", tuned._process_context)
    monkeypatch.setattr(jsonld.JsonLdProcessor, "_expand", tuned._expand_element)
    monkeypatch.setattr(jsonld, "copy", copy)
    assert memoized == [expand(document)] * 2


def test_a_cohort_shares_the_expansion_of_its_achievement_and_results() -> None:
    from issuer.jsonld import canonize as tuned
    from issuer.jsonld.canonize import expand
    from tests.realistic import cohort_credentials

    tuned._expansions.clear()
    tuned._records.clear()
    first, second = cohort_credentials(2)
    expand(first)
    expanded = expand(second)
    shared = {key[2] for key, (_, hits) in tuned._records.items() if hits}
    assert shared == {"achievement", "result"}
    expanded[0].clear()  # a hit is a copy: spoiling one result spoils no other
    assert expand(second) != expanded


def test_values_that_never_repeat_stop_being_remembered() -> None:
    """Each learner's evidence differs: after a few tries it is no longer keyed or kept, so
    the memo keeps what a cohort shares instead of filling with what it does not."""
    from issuer.jsonld import canonize as tuned
    from issuer.jsonld.canonize import expand
    from tests.realistic import cohort_credentials

    tuned._expansions.clear()
    tuned._records.clear()
    cohort = cohort_credentials(60)
    for credential in cohort:
        expand(credential)
    kept = [key[2] for key in tuned._expansions]
    # eleven values a credential (the list and its entries): 660 without the judgement
    assert 0 < kept.count("evidence") < len(cohort) / 2
    assert kept.count("credentialSubject") < len(cohort) / 2
    assert kept.count("achievement") == kept.count("result") == 1
    assert all(expand(credential) == tuned_free(credential) for credential in cohort[-3:])


def tuned_free(document: dict) -> list:  # type: ignore[type-arg]
    """pyld's expansion with no memo of ours."""
    from pyld import jsonld

    from issuer.jsonld import canonize as tuned

    saved = jsonld.JsonLdProcessor._expand
    jsonld.JsonLdProcessor._expand = tuned._expand_element
    try:
        return tuned.expand(document)
    finally:
        jsonld.JsonLdProcessor._expand = saved


def test_a_remembered_node_still_reports_a_dropped_term() -> None:
    """The strict check hears about an undefined term every time, cached neighbours or not."""
    from issuer.jsonld import canonize as tuned
    from issuer.jsonld.strict import expand_strictly
    from tests.realistic import realistic_credential

    tuned._expansions.clear()
    credential = realistic_credential()
    expand_strictly(credential)
    remembered = set(tuned._expansions)
    sloppy = json.loads(json.dumps(credential))
    sloppy["credentialSubject"]["achievement"]["undefinedTerm"] = "x"
    for _ in range(2):
        with pytest.raises(JsonLdInvalid, match="undefinedTerm"):
            expand_strictly(sloppy)
    # neither the sloppy Achievement nor anything holding it was remembered
    assert not [json.loads(key[-1]) for key in set(tuned._expansions) - remembered]


def test_a_node_is_remembered_per_context() -> None:
    """The same JSON under another context means something else."""
    from issuer.jsonld.canonize import expand

    node = {"id": "urn:x:1", "name": "x" * 2000}
    for vocabulary in ("https://schema.org/", "https://example.org/v#", "https://schema.org/"):
        document = {"@context": {"id": "@id", "name": f"{vocabulary}name"}, "thing": node}
        document["@context"]["thing"] = f"{vocabulary}thing"
        [expanded] = expand(document)
        [thing] = expanded[f"{vocabulary}thing"]
        assert list(thing) == ["@id", f"{vocabulary}name"]


def test_a_term_expands_by_its_own_context_whichever_came_first() -> None:
    from issuer.jsonld.canonize import expand

    def named(vocabulary: str) -> dict:  # type: ignore[type-arg]
        return {
            "@context": {"name": f"{vocabulary}name", "Thing": f"{vocabulary}Thing"},
            "@type": "Thing",
            "name": "x",
        }

    for _ in range(2):
        for vocabulary in ("https://schema.org/", "https://example.org/v#"):
            [node] = expand(named(vocabulary))
            assert node["@type"] == [f"{vocabulary}Thing"]
            assert f"{vocabulary}name" in node


def test_expansion_of_untrusted_input_stops_at_its_time_limit() -> None:
    from issuer.jsonld.canonize import JsonLdTimeLimit, time_limit

    big = json.loads(json.dumps(CORPUS["realistic credential"]))
    big["evidence"] = big["evidence"] * 100
    with pytest.raises(JsonLdTimeLimit), time_limit(0.001):
        canonize(big)
    assert canonize(CORPUS["did document"])  # no limit outside the block


def test_the_memo_keeps_no_node_past_its_size_limit() -> None:
    from issuer.jsonld import canonize as tuned
    from issuer.jsonld.canonize import expand

    tuned._expansions.clear()
    for size in (2_000, 70_000):
        expand({"@context": {"id": "@id", "thing": "urn:t", "name": "urn:n"},
                "thing": {"id": f"urn:x:{size}", "name": "x" * size}})  # fmt: skip
    assert [json.loads(key[-1])["id"] for key in tuned._expansions] == ["urn:x:2000"]
