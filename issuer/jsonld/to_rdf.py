"""JSON-LD to RDF for plain expanded documents: a credential's quads without a JSON round trip.

Deserialize JSON-LD to RDF (https://www.w3.org/TR/json-ld11-api/#deserialize-json-ld-to-rdf-algorithm)
writes the union of each node object's quads; on an expanded document made of node objects,
IRIs, strings, integers and booleans that union is a walk of the tree. pyoxigraph does the
same from the document's JSON text, but writing that text, parsing it again and turning each
term back into a string cost ~0.75 ms of every signature and verification, most of what RDFC-1.0
costs beside it; this walk costs ~0.2 ms.

It takes only what it can write exactly as pyoxigraph would (tests/jsonld/test_to_rdf.py holds
the two equal, on the corpus and on generated documents). Anything else, from a float or a
`@list` to an IRI outside the plain patterns below, answers None, and the caller hands the
document to pyoxigraph as before. Blank node labels differ from pyoxigraph's, which RDFC-1.0
replaces whatever they are.
"""

from __future__ import annotations

import re
from typing import Any

from issuer.jsonld.rdfc import Quad, rdfc_escape

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XSD = "http://www.w3.org/2001/XMLSchema#"
_RDF_TYPE = f"<{RDF}type>"
_XSD_STRING = f"{XSD}string"
_XSD_INTEGER = f"<{XSD}integer>"
_XSD_BOOLEAN = f"<{XSD}boolean>"
_XSD_DOUBLE = f"{XSD}double"
_RDF_LANG_STRING = f"{RDF}langString"
# JSON-LD writes integers from 10^21 on as xsd:double; pyoxigraph does from 2^63 on (a
# 64-bit integer): larger ones go its way, as they did before this walk
_LARGEST_INTEGER = 2**63 - 1
# Deeper documents go to pyoxigraph, which keeps its own stack
_DEEPEST = 64

# RFC 3986 absolute IRIs in plain ASCII, no user information and no IP literal: a subset of
# what pyoxigraph's validating parser accepts (the test asks pyoxigraph of generated ones).
_PCT_ENCODED = "%[0-9A-Fa-f]{2}"
_REG_NAME_CHAR = r"A-Za-z0-9._~!$&'()*+,;=\-"
_PCHAR = f"(?:[{_REG_NAME_CHAR}:@]|{_PCT_ENCODED})"
PLAIN_IRI = re.compile(
    "[A-Za-z][A-Za-z0-9+.-]*:"
    f"(?://(?:[{_REG_NAME_CHAR}]|{_PCT_ENCODED})*(?::[0-9]*)?(?:/{_PCHAR}*)*"  # authority, path
    f"|/(?:{_PCHAR}+(?:/{_PCHAR}*)*)?"  # path-absolute
    f"|{_PCHAR}+(?:/{_PCHAR}*)*"  # path-rootless
    ")?"  # or path-empty
    f"(?:[?](?:{_PCHAR}|[/?])*)?(?:#(?:{_PCHAR}|[/?])*)?"
)
# language[-script][-region] (BCP 47 section 2.1); pyoxigraph writes tags in lower case
PLAIN_LANGUAGE = re.compile("[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?")
PLAIN_BLANK_NODE = re.compile("_:[A-Za-z0-9_]+")
# A string with a lone surrogate is not text at all: it goes the long way. Control characters,
# `"` and `\\` are escaped as RDFC-1.0 says.
_SURROGATE = re.compile("[\ud800-\udfff]")
_TO_ESCAPE = re.compile('[\x00-\x1f\x7f"\\\\\ud800-\udfff]')
_PLAIN_IRIS_MAX = 65_536
_plain_iris: dict[str, str] = {}  # IRI -> "<IRI>", each matched once


class _NotPlain(Exception):
    """Something this walk does not write; pyoxigraph will."""


def plain_quads(expanded: Any) -> list[Quad] | None:
    """The quads of an expanded JSON-LD document in canonical N-Quads terms (default graph ""),
    or None when the document is not plain (convert it with pyoxigraph)."""
    if type(expanded) is not list:
        return None
    walk = _Walk()
    try:
        for node in expanded:
            if type(node) is not dict or "@value" in node:
                return None  # a top-level value or list: rare, and pyoxigraph's business
            walk.node(node, 0)
    except _NotPlain:
        return None
    return walk.quads


class _Walk:
    __slots__ = ("blank_nodes", "labels", "quads")

    def __init__(self) -> None:
        self.quads: list[Quad] = []
        self.labels: dict[str, str] = {}  # the document's blank node labels -> ours
        self.blank_nodes = 0

    def blank_node(self) -> str:
        self.blank_nodes += 1
        return f"_:n{self.blank_nodes}"

    def node(self, node: dict[str, Any], depth: int) -> str:
        """Write a node object's quads; return its subject term."""
        if depth > _DEEPEST:
            raise _NotPlain
        identifier = node.get("@id")
        if identifier is None:
            if "@id" in node:
                raise _NotPlain  # "@id": null
            subject = self.blank_node()
        else:
            subject = self.subject(identifier)
        quads = self.quads
        for key, values in node.items():
            if type(values) is not list:
                if key == "@id":
                    continue
                raise _NotPlain
            if key[:1] == "@":
                if key != "@type":
                    raise _NotPlain  # @reverse, @included, @index, @graph...
                for type_ in values:
                    quads.append((subject, _RDF_TYPE, iri(type_), ""))
                continue
            predicate = iri(key)
            for value in values:
                if type(value) is not dict:
                    raise _NotPlain
                if "@value" in value:
                    quads.append((subject, predicate, literal(value), ""))
                else:
                    quads.append((subject, predicate, self.node(value, depth + 1), ""))
        return subject

    def subject(self, identifier: Any) -> str:
        if type(identifier) is not str:
            raise _NotPlain
        if identifier[:2] != "_:":
            return iri(identifier)
        label = self.labels.get(identifier)
        if label is None:
            if PLAIN_BLANK_NODE.fullmatch(identifier) is None:
                raise _NotPlain
            label = self.labels[identifier] = self.blank_node()
        return label


def iri(value: Any) -> str:
    """`<value>` for a plain absolute IRI."""
    written = _plain_iris.get(value) if type(value) is str else None
    if written is None:
        if type(value) is not str or PLAIN_IRI.fullmatch(value) is None:
            raise _NotPlain
        if len(_plain_iris) >= _PLAIN_IRIS_MAX:
            _plain_iris.clear()
        written = _plain_iris[value] = f"<{value}>"
    return written


def _escaped(lexical: str) -> str:
    """A string with `"`, `\\` or a control character in it, written as RDFC-1.0 says."""
    if _SURROGATE.search(lexical) is not None:
        raise _NotPlain
    return f'"{rdfc_escape(lexical)}"'


def literal(value: dict[str, Any]) -> str:
    """A value object as an N-Quads literal: a string (typed or tagged), an integer, a boolean."""
    lexical = value["@value"]
    datatype = value.get("@type")
    language = value.get("@language")
    if len(value) != 1 + (datatype is not None) + (language is not None):
        raise _NotPlain  # @index, @direction, or a key with a null value
    if datatype == _RDF_LANG_STRING or datatype == _XSD_DOUBLE:
        raise _NotPlain
    kind = type(lexical)
    if kind is str:
        text = f'"{lexical}"' if _TO_ESCAPE.search(lexical) is None else _escaped(lexical)
        if language is None:
            return _typed(text, datatype)
        if datatype is not None or type(language) is not str:
            raise _NotPlain
        if PLAIN_LANGUAGE.fullmatch(language) is None:
            raise _NotPlain
        return f"{text}@{language.lower()}"
    if language is not None:
        raise _NotPlain
    if kind is bool:
        return _typed('"true"' if lexical else '"false"', datatype, _XSD_BOOLEAN)
    if kind is int and -_LARGEST_INTEGER < lexical < _LARGEST_INTEGER:
        return _typed(f'"{lexical}"', datatype, _XSD_INTEGER)
    raise _NotPlain  # floats, large integers: xsd:double's canonical form


def _typed(text: str, datatype: Any, default: str = "") -> str:
    """The literal with its datatype; xsd:string, RDF's default, is not written."""
    if datatype is None:
        return f"{text}^^{default}" if default else text
    if datatype == _XSD_STRING:
        return text
    return f"{text}^^{iri(datatype)}"
