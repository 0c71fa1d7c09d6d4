"""The plain walk writes exactly the quads pyoxigraph writes, or declines.

Held on the canonicalization corpus and on generated expanded documents that mix what the walk
takes (nodes, IRIs, strings, integers, booleans, tags) with what it must leave to pyoxigraph
(floats, lists, odd IRIs and tags, lone surrogates, @index, @direction)."""

from __future__ import annotations

import json
from typing import Any

import pyoxigraph
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from issuer.errors import JsonLdInvalid
from issuer.jsonld import rdfc
from issuer.jsonld.canonize import canonize_expanded, expand, rdf_quads
from issuer.jsonld.to_rdf import PLAIN_BLANK_NODE, PLAIN_IRI, PLAIN_LANGUAGE, plain_quads
from tests.jsonld.test_canonize import CORPUS

XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def by_pyoxigraph(expanded: Any) -> str | None:
    try:
        return rdfc.canonicalize(rdf_quads(expanded)).nquads
    except JsonLdInvalid:
        return None


def by_walk(expanded: Any) -> str | None:
    quads = plain_quads(expanded)
    return None if quads is None else rdfc.canonicalize(quads).nquads


@pytest.mark.parametrize("name", CORPUS)
def test_the_walk_writes_what_pyoxigraph_writes_on_the_corpus(name: str) -> None:
    expanded = expand(CORPUS[name])
    walked = by_walk(expanded)
    assert walked is None or walked == by_pyoxigraph(expanded)
    assert canonize_expanded(expanded) == by_pyoxigraph(expanded)


def test_a_credential_takes_the_walk() -> None:
    from tests.realistic import cohort_credentials, realistic_credential

    for credential in [realistic_credential(), *cohort_credentials(3, same_achievement=False)]:
        assert plain_quads(expand(credential)) is not None


IRIS = st.sampled_from(
    [
        "http://example.org/a",
        "https://example.org/p?q=1&r=%41#frag",
        "urn:uuid:5f0c1c2e-6a5b-4d8e-9f63-000000000000",
        "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp#z6Mk",
        "http://127.0.0.1:8000/credentials/1",
        f"{XSD}string",
        f"{XSD}dateTime",
        f"{RDF}type",
    ]
)
ODD_IRIS = st.sampled_from(
    [
        "relative/path",
        "http://example.org/a b",
        "http://example.org/<x>",
        'http://example.org/"q"',
        "http://example.org/é",
        "http://user@example.org/",
        "http://[::1]/",
        "http://example.org:80a/",
        "http://example.org/%zz",
        "_:blank",
        "@json",
        "",
        f"{RDF}langString",
        f"{XSD}double",
    ]
)
PLAIN_LANGUAGES = st.sampled_from(["en", "EN-us", "de-CH", "zh-Hant-TW", "es-419"])
ODD_LANGUAGES = st.sampled_from(["en_US", "x-private", "en-abcdefghij", "", "123", "i-klingon"])
TEXT = st.text(max_size=12) | st.sampled_from(['say "hi"', "a\\b", "\b\t\n\f\r", "\x01\x7f"])
ODD_TEXT = st.just("\ud800")
PLAIN_LABELS = st.sampled_from(["_:b0", "_:b1", "_:n1", "_:x_y"])
ODD_LABELS = st.sampled_from(["_:a.b", "_:a b", "_:", None, 7])


def value_objects(odd: bool) -> st.SearchStrategy[dict[str, Any]]:
    iris = IRIS | ODD_IRIS if odd else IRIS
    text = TEXT | ODD_TEXT if odd else TEXT
    languages = PLAIN_LANGUAGES | ODD_LANGUAGES if odd else PLAIN_LANGUAGES
    lexical = text | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63)
    if odd:
        lexical |= st.floats(allow_nan=False) | st.sampled_from([10**20, 10**22, -(2**63) - 1])
    values = (
        st.fixed_dictionaries({"@value": lexical})
        | st.fixed_dictionaries({"@value": lexical, "@type": iris})
        | st.fixed_dictionaries({"@value": text, "@language": languages})
    )
    if odd:
        values |= st.fixed_dictionaries(
            {"@value": text, "@language": languages, "@direction": st.sampled_from(["rtl", "ltr"])}
        ) | st.fixed_dictionaries({"@value": text, "@index": st.just("i")})
    return values


def documents(odd: bool) -> st.SearchStrategy[list[dict[str, Any]]]:
    iris = IRIS | ODD_IRIS if odd else IRIS
    labels = PLAIN_LABELS | ODD_LABELS if odd else PLAIN_LABELS

    def nodes(children: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
        properties = st.dictionaries(
            iris, st.lists(children | value_objects(odd), max_size=3), max_size=3
        )
        identity = st.fixed_dictionaries(
            {}, optional={"@id": iris | labels, "@type": st.lists(iris, max_size=2)}
        )
        node = st.builds(lambda head, body: {**head, **body}, identity, properties)
        if not odd:
            return node
        return node | st.fixed_dictionaries({"@list": st.lists(value_objects(odd), max_size=2)})

    return st.lists(st.recursive(nodes(st.nothing()), nodes, max_leaves=12), max_size=3)


EXPANDED = documents(odd=False) | documents(odd=True)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPANDED)
def test_the_walk_writes_what_pyoxigraph_writes_or_declines(expanded: list[Any]) -> None:
    walked = by_walk(expanded)
    if walked is not None:
        assert walked == by_pyoxigraph(json.loads(json.dumps(expanded)))


def test_generated_documents_reach_both_paths() -> None:
    """The property above means something: plenty of generated documents take the walk."""
    taken = declined = 0

    @settings(max_examples=300, deadline=None, database=None)
    @given(EXPANDED)
    def count(expanded: list[Any]) -> None:
        nonlocal taken, declined
        if plain_quads(expanded):
            taken += 1
        else:
            declined += 1

    count()
    assert taken > 30 and declined > 30


@settings(max_examples=500, deadline=None)
@given(st.from_regex(PLAIN_IRI, fullmatch=True))
def test_every_plain_iri_is_one_pyoxigraph_accepts(iri: str) -> None:
    assert pyoxigraph.NamedNode(iri).value == iri


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(PLAIN_LANGUAGE, fullmatch=True), st.from_regex(PLAIN_BLANK_NODE, fullmatch=True)
)
def test_every_plain_tag_and_label_is_one_pyoxigraph_accepts(language: str, label: str) -> None:
    assert str(pyoxigraph.Literal("x", language=language)) == f'"x"@{language.lower()}'
    assert pyoxigraph.BlankNode(label[2:]).value == label[2:]
