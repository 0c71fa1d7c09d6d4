"""RDF Dataset Canonicalization (RDFC-1.0, https://www.w3.org/TR/rdf-canon/) of JSON-LD documents.

Two implementations that must agree byte for byte (a test holds them to it on a corpus):
- `canonize_reference`: pyld (JSON-LD -> RDF -> URDNA2015, which RDFC-1.0 standardised), with
  pyld's N-Quads escaping corrected to RDFC-1.0;
- `canonize`: the fast path used for signing and verifying. Contexts are inlined from the
  loader, then pyoxigraph (Rust) parses the JSON-LD and runs RDFC-1.0.
This module is the one place where the JSON-LD engine is chosen.
"""

from __future__ import annotations

import json
from typing import Any

import pyld.nquads
import pyoxigraph
from pyld import jsonld

from issuer.errors import ContextNotBundled, JsonLdInvalid
from issuer.jsonld.loader import load_document
from issuer.types import DocumentLoader, JsonObject

_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_RDFC_ESCAPES = {
    code: _ECHAR.get(chr(code), f"\\u{code:04X}") for code in [*range(0x20), 0x7F, 0x22, 0x5C]
}


def rdfc_escape(value: str) -> str:
    """Escape a literal as RDFC-1.0 canonical N-Quads do (https://www.w3.org/TR/rdf-canon/#canonical-quads).

    `\\b \\t \\n \\f \\r \\" \\\\` as two-character escapes, every other U+0000-U+001F and U+007F
    as `\\uXXXX` with upper-case hex; nothing else is escaped.
    """
    return value.translate(_RDFC_ESCAPES)


# pyld 3.3.0 escapes only \\ \t \n \r and ", so a literal holding \b, \f or another control
# character hashes and serialises differently from every RDFC-1.0 implementation. Its URDNA2015
# code calls pyld.nquads.serialize_nquad, which looks `escape` up in that module at call time,
# so replacing it there fixes both the blank-node hashes and the output.
pyld.nquads.escape = rdfc_escape


def canonize_reference(document: JsonObject, loader: DocumentLoader = load_document) -> str:
    """RDFC-1.0 N-Quads of a JSON-LD document, computed by pyld (slow, the yardstick)."""
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": loader,
        "safe": False,
    }
    try:
        nquads: str = jsonld.normalize(document, options)
    except jsonld.JsonLdError as error:
        raise jsonld_error(error) from error
    return nquads


def canonize(document: JsonObject, loader: DocumentLoader = load_document) -> str:
    """RDFC-1.0 N-Quads of a JSON-LD document (fast path: pyoxigraph)."""
    inlined = _inline_contexts(document, loader)
    try:
        dataset = pyoxigraph.Dataset(
            pyoxigraph.parse(json.dumps(inlined), format=pyoxigraph.RdfFormat.JSON_LD)
        )
    except (SyntaxError, ValueError) as error:
        raise JsonLdInvalid(f"the document is not valid JSON-LD: {error}") from error
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    serialized = pyoxigraph.serialize(dataset, format=pyoxigraph.RdfFormat.N_QUADS) or b""
    # Split on "\n" only: str.splitlines() would also break on U+2028, U+0085 and friends,
    # which RDFC-1.0 leaves unescaped inside literals.
    lines = [line for line in serialized.decode("utf-8").split("\n") if line]
    lines.sort()
    return "".join(line + "\n" for line in lines)


def _inline_contexts(value: Any, loader: DocumentLoader) -> Any:
    """Replace every context URL in `@context` with the bundled context's own `@context`."""
    if isinstance(value, list):
        return [_inline_contexts(item, loader) for item in value]
    if not isinstance(value, dict):
        return value
    result = {}
    for key, item in value.items():
        if key == "@context":
            result[key] = _inline_context_value(item, loader)
        else:
            result[key] = _inline_contexts(item, loader)
    return result


def _inline_context_value(context: Any, loader: DocumentLoader) -> Any:
    if isinstance(context, list):
        return [_inline_context_value(item, loader) for item in context]
    if isinstance(context, str):
        remote = loader(context)
        return _inline_context_value(remote["document"].get("@context"), loader)
    return context


def jsonld_error(error: jsonld.JsonLdError) -> Exception:
    """Our own error for a pyld failure: the bundled-context miss if that was the cause."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ContextNotBundled):
            return ContextNotBundled(cause.url)
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return JsonLdInvalid(f"the document is not valid JSON-LD: {error}")
