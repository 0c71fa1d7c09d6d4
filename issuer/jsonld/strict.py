"""Strict JSON-LD: refuse documents whose meaning JSON-LD expansion would silently change.

The VC 2.0 context has no `@vocab`, so a property it does not define is dropped by expansion
and a type it does not define stays a relative IRI. jsonld.js in safe mode (the Digital Bazaar
verifiers) rejects such documents; pyld drops them quietly. We check ourselves and name the term.
"""

from __future__ import annotations

import re
from typing import Any

from issuer.errors import JsonLdInvalid
from issuer.jsonld.canonize import expand
from issuer.jsonld.loader import load_document
from issuer.types import DocumentLoader, JsonObject


def expand_strictly(document: JsonObject, loader: DocumentLoader = load_document) -> list[Any]:
    """Expand `document`; raise JsonLdInvalid naming the first dropped or undefined term."""
    dropped: list[str] = []

    def on_property_dropped(term: str | None) -> None:
        dropped.append(str(term))

    expanded = expand(document, loader, on_property_dropped)
    if dropped:
        raise JsonLdInvalid(
            f"property {dropped[0]!r} is not defined by the document's @context "
            "and would be dropped by JSON-LD expansion"
        )
    _check_node_references(expanded)
    return expanded


def _check_node_references(value: Any) -> None:
    """Every expanded @type and @id must be an absolute IRI (or a blank node id).

    Runs on every expansion: value objects are passed over where they are met, and each IRI is
    judged once per process (a bounded set of those that passed)."""
    if isinstance(value, list):
        for item in value:
            if isinstance(item, list) or (isinstance(item, dict) and "@value" not in item):
                _check_node_references(item)
        return
    if not isinstance(value, dict) or "@value" in value:
        return
    types = value.get("@type")
    for type_ in types if isinstance(types, list) else ():
        if not (isinstance(type_, str) and (type_ in _ABSOLUTE or _is_absolute(type_))):
            raise JsonLdInvalid(
                f"type {type_!r} is not defined by the document's @context "
                "(add the context that defines it)"
            )
    node_id = value.get("@id")
    if isinstance(node_id, str) and node_id not in _ABSOLUTE and not _is_absolute(node_id):
        raise JsonLdInvalid(f"id {node_id!r} is not an absolute IRI")
    for key, item in value.items():
        if isinstance(item, list | dict) and key != "@type" and key != "@id":
            _check_node_references(item)


_ABSOLUTE_MAX = 65_536
_ABSOLUTE: set[str] = set()


def _is_absolute(iri: str) -> bool:
    """A blank node id, or an IRI with a scheme and no space or control character (RFC 3987
    has none: `https ://x` is not an IRI, though expansion keeps it as one)."""
    if iri.startswith("_:"):
        return True
    scheme, colon, _ = iri.partition(":")
    absolute = (
        bool(colon and scheme)
        and _IRI_SCHEME.fullmatch(scheme) is not None
        and _NOT_IN_IRI.search(iri) is None
    )
    if absolute and len(iri) <= 256:  # terms and types, not every long id
        if len(_ABSOLUTE) >= _ABSOLUTE_MAX:
            _ABSOLUTE.clear()
        _ABSOLUTE.add(iri)
    return absolute


_IRI_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# `\s` on str patterns is exactly str.isspace() (Unicode White_Space and the C0 separators).
_NOT_IN_IRI = re.compile(r"[\s\x00-\x1f]")
