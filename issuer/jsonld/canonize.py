"""JSON-LD expansion and RDF Dataset Canonicalization (RDFC-1.0, https://www.w3.org/TR/rdf-canon/).

Two canonicalizations that must agree byte for byte (a test holds them to it on a corpus):
- `canonize_reference`: pyld end to end (JSON-LD -> RDF -> URDNA2015, which RDFC-1.0
  standardised), with pyld's N-Quads escaping corrected to RDFC-1.0;
- `canonize`: the fast path used for signing and verifying: pyld expands (with processed
  scoped contexts memoized, see `_memoized_process_context`), pyoxigraph (Rust) turns the
  context-free expanded document into RDF, and rdfc.py labels the blank nodes within a work
  budget (pyoxigraph's own RDFC-1.0 has no budget and mislabels some ties, see rdfc.py).
This module is the one place where the JSON-LD engines are chosen and tuned.
"""

from __future__ import annotations

import copy
import json
import marshal
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import pyld.nquads
import pyoxigraph
from frozendict import frozendict
from pyld import jsonld

from issuer.errors import ContextNotBundled, IssuerError, JsonLdInvalid
from issuer.jsonld import rdfc, to_rdf
from issuer.jsonld.loader import load_document
from issuer.jsonld.rdfc import rdfc_escape
from issuer.types import DocumentLoader, JsonObject

# pyld 3.3.0 escapes only \\ \t \n \r and ", so a literal holding \b, \f or another control
# character hashes and serialises differently from every RDFC-1.0 implementation. Its URDNA2015
# code calls pyld.nquads.serialize_nquad, which looks `escape` up in that module at call time,
# so replacing it there fixes both the blank-node hashes and the output.
pyld.nquads.escape = rdfc_escape


class JsonLdTimeLimit(JsonLdInvalid):
    """JSON-LD processing of untrusted input ran past its time limit."""


# pyld answers malformed input not only with JsonLdError but with whatever its code trips
# over (ValueError for a bad base IRI, TypeError or KeyError for odd shapes, RecursionError):
# for untrusted documents all of these mean "not valid JSON-LD".
PYLD_FAILURES = (
    jsonld.JsonLdError,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    AttributeError,
    RecursionError,
)

_deadline = threading.local()


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Bound the JSON-LD expansion of untrusted input (the verifier) in this thread.

    Expansion checks the thread's CPU time at every node (CPU, not wall-clock: a busy server
    must not fail honest documents); what remains after it (RDFC-1.0 on the expanded,
    context-free document) is bounded by the verifier's input limits and rdfc.py's work budget.
    """
    previous = getattr(_deadline, "at", None)
    _deadline.at = time.thread_time() + seconds
    try:
        yield
    finally:
        _deadline.at = previous


_expand_object = jsonld.JsonLdProcessor._expand_object


def _expand_object_in_time(self: Any, *args: Any, **kwargs: Any) -> Any:
    at = getattr(_deadline, "at", None)
    if at is not None and time.thread_time() > at:
        raise JsonLdTimeLimit("JSON-LD processing took longer than its time limit")
    return _expand_object(self, *args, **kwargs)


jsonld.JsonLdProcessor._expand_object = _expand_object_in_time

_PROCESSED_CONTEXTS_MAX = 4096
_processed_contexts: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}
_process_context = jsonld.JsonLdProcessor._process_context


def _memoized_process_context(
    self: Any,
    active_ctx: Any,
    local_ctx: Any,
    options: Any,
    override_protected: bool = False,
    propagate: bool = True,
    validate_scoped: bool = True,
    cycles: Any = None,
) -> Any:
    """pyld's context processing, remembered per (active context, local context, flags).

    pyld reprocesses a type-scoped context (Achievement, Result, Evidence, ...) for every node
    of that type: ~70 % of its time on an Open Badge. Processed contexts are frozen and carry a
    unique `_uuid`, so the same pair always gives the same result. The entry keeps both inputs
    alive, so their `id()`s cannot be reused by other objects while the entry exists.
    """
    uuid = active_ctx.get("_uuid") if isinstance(active_ctx, dict) else None
    if uuid is None or not isinstance(local_ctx, dict | list) or cycles:
        return _process_context(
            self,
            active_ctx,
            local_ctx,
            options,
            override_protected,
            propagate,
            validate_scoped,
            cycles,
        )
    key = (uuid, id(local_ctx), override_protected, propagate, validate_scoped)
    hit = _processed_contexts.get(key)
    if hit is not None and hit[0] is local_ctx and hit[1] is active_ctx:
        return hit[2]
    result = _process_context(
        self, active_ctx, local_ctx, options, override_protected, propagate, validate_scoped, cycles
    )
    if len(_processed_contexts) >= _PROCESSED_CONTEXTS_MAX:
        _processed_contexts.clear()
    _processed_contexts[key] = (local_ctx, active_ctx, result)
    return result


jsonld.JsonLdProcessor._process_context = _memoized_process_context

_EXPANDED_IRIS_MAX = 65_536
_LONGEST_MEMOIZED_IRI = 256
_expanded_iris: dict[tuple[str, str, str | None, bool], Any] = {}
_expand_iri = jsonld.JsonLdProcessor._expand_iri


def _memoized_expand_iri(
    self: Any,
    active_ctx: Any,
    value: Any,
    base: Any = None,
    vocab: bool = False,
    local_ctx: Any = None,
    defined: Any = None,
) -> Any:
    """pyld's IRI expansion, remembered per (frozen active context, value, base, vocab).

    An Open Badge expands ~700 IRIs (every key and type) from a few dozen distinct terms: a
    third of pyld's expansion time. Outside context processing (no `local_ctx`) the result
    depends only on those four; a frozen context never changes and its `_uuid` is never
    reused. Long values (ids, not terms) are not kept, and the table is bounded.
    """
    if (
        local_ctx is not None
        or defined is not None
        or not isinstance(active_ctx, frozendict)
        or not isinstance(value, str)
        or len(value) > _LONGEST_MEMOIZED_IRI
        or not (base is None or isinstance(base, str))
    ):
        return _expand_iri(self, active_ctx, value, base, vocab, local_ctx, defined)
    uuid = active_ctx.get("_uuid")
    if uuid is None:
        return _expand_iri(self, active_ctx, value, base, vocab)
    key = (uuid, value, base, bool(vocab))
    try:
        return _expanded_iris[key]
    except KeyError:
        pass
    result = _expand_iri(self, active_ctx, value, base, vocab)
    if len(_expanded_iris) >= _EXPANDED_IRIS_MAX:
        _expanded_iris.clear()
    _expanded_iris[key] = result
    return result


jsonld.JsonLdProcessor._expand_iri = _memoized_expand_iri


_EXPANSIONS_MAX = 512
_EXPANSIONS_CHARACTERS_MAX = 32_000_000  # keys' JSON text and values' bytes, ~100 MB at most
_SMALLEST_MEMOIZED_NODE = 256  # characters of JSON: smaller nodes cost less than their key
_LARGEST_MEMOIZED_NODE = 65_536  # an Achievement is ~8 KB, ~3 KB more per endorsement
_expansions_characters = [0]
_expansions: dict[tuple[Any, ...], tuple[Any, bytes]] = {}
# Hits and tries per (contexts, property): a property whose values never repeat (each learner's
# evidence, the credentialSubject that holds their identifier) stops paying for its key.
_TRIES_BEFORE_JUDGING = 16
_HITS_WORTH_KEEPING = 8  # at least one hit in this many tries
_PROBE_EVERY = 64  # tries: a property judged unworthy is still tried now and then
_RECORDS_MAX = 4096
_records: dict[tuple[Any, ...], list[int]] = {}
_expand_element = jsonld.JsonLdProcessor._expand
_processor_init = jsonld.JsonLdProcessor.__init__


def _counting_init(self: Any, on_property_dropped: Callable[[Any], None] = jsonld.noop) -> None:
    """pyld's processor, counting the properties it drops (the memo below must not remember
    an expansion that dropped one: the strict check needs to hear about it every time)."""
    dropped = [0]

    def counted(term: Any) -> None:
        dropped[0] += 1
        on_property_dropped(term)

    _processor_init(self, counted)
    self.dropped = dropped


def _memoized_expand(
    self: Any,
    active_ctx: Any,
    active_property: Any,
    element: Any,
    options: Any,
    inside_list: bool = False,
    inside_index: bool = False,
    type_scoped_ctx: Any = None,
) -> Any:
    """pyld's expansion of a node or an array, remembered per (contexts, flags, JSON text).

    Every credential of a level embeds the same Achievement and the same ten Results (about
    two thirds of the credential's expansion time): issuing a level to a cohort, or verifying
    one issuer's credentials, expands them again and again under the same frozen contexts. An
    object without a `@context` key of its own (a whole document), or an array, of 256 B to
    64 KB of JSON is looked up by its exact JSON text, the `_uuid`s of the active and
    type-scoped contexts, the flags pyld's expansion reads and the document loader (contexts
    met inside it, as in an embedded endorsement, are loaded with that loader). Expansion
    assigns no blank node labels, so the result depends on nothing else. Only expansions that
    dropped no property are kept; a hit returns a fresh copy; the table is bounded in entries
    and in characters, and properties whose values never repeat stop being looked up.
    """
    key = _expansion_key(
        active_ctx, active_property, element, options, inside_list, inside_index, type_scoped_ctx
    )
    if key is None:
        return _expand_element(
            self,
            active_ctx,
            active_property,
            element,
            options,
            inside_list,
            inside_index,
            type_scoped_ctx,
        )
    record = key[-1]
    key = key[:-1]
    record[0] += 1
    hit = _expansions.get(key)
    if hit is not None and hit[0] is options["documentLoader"]:
        record[1] += 1
        return marshal.loads(hit[1])
    dropped = getattr(self, "dropped", None)
    before = dropped[0] if dropped else None
    result = _expand_element(
        self,
        active_ctx,
        active_property,
        element,
        options,
        inside_list,
        inside_index,
        type_scoped_ctx,
    )
    if dropped and dropped[0] == before and result is not None:
        try:  # marshal: the fastest faithful copy of plain JSON values, ours alone to read
            frozen = marshal.dumps(result)
        except ValueError:
            return result
        _expansions_characters[0] += len(key[-1]) + len(frozen)
        if (
            len(_expansions) >= _EXPANSIONS_MAX
            or _expansions_characters[0] > _EXPANSIONS_CHARACTERS_MAX
        ):
            _expansions.clear()
            _expansions_characters[0] = len(key[-1]) + len(frozen)
        _expansions[key] = (options["documentLoader"], frozen)
    return result


def _expansion_key(
    active_ctx: Any,
    active_property: Any,
    element: Any,
    options: Any,
    inside_list: bool,
    inside_index: bool,
    type_scoped_ctx: Any,
) -> tuple[Any, ...] | None:
    """The memo key of `element` followed by its property's record of [tries, hits], or None
    when it is not worth or not safe to remember."""
    kind = type(element)
    if (
        not (kind is list or (kind is dict and "@context" not in element))
        or not isinstance(active_ctx, frozendict)
        or not (active_property is None or isinstance(active_property, str))
        or not (type_scoped_ctx is None or isinstance(type_scoped_ctx, frozendict))
        or "documentLoader" not in options
    ):
        return None
    context_id = active_ctx.get("_uuid")
    scoped_id = None if type_scoped_ctx is None else type_scoped_ctx.get("_uuid")
    if context_id is None or (type_scoped_ctx is not None and scoped_id is None):
        return None
    record = _record(context_id, scoped_id, active_property)
    tries, hits = record
    if (
        tries >= _TRIES_BEFORE_JUDGING
        and hits * _HITS_WORTH_KEEPING < tries
        and tries % _PROBE_EVERY
    ):
        record[0] += 1
        return None
    flags = tuple(
        options.get(name) for name in ("base", "isFrame", "keepFreeFloatingNodes", "processingMode")
    )
    if not all(flag is None or isinstance(flag, str | bool) for flag in flags):
        return None
    try:
        text = json.dumps(element, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return None
    if not _SMALLEST_MEMOIZED_NODE <= len(text) <= _LARGEST_MEMOIZED_NODE:
        return None
    return (context_id, scoped_id, active_property, inside_list, inside_index, flags, text, record)


def _record(context_id: Any, scoped_id: Any, active_property: str | None) -> list[int]:
    """[tries, hits] of the memo for values of `active_property` under these contexts."""
    key = (context_id, scoped_id, active_property)
    record = _records.get(key)
    if record is None:
        if len(_records) >= _RECORDS_MAX:
            _records.clear()
        record = _records[key] = [0, 0]
    return record


jsonld.JsonLdProcessor.__init__ = _counting_init
jsonld.JsonLdProcessor._expand = _memoized_expand


_JSON_SCALARS = (str, int, float, bool, type(None))
_J = TypeVar("_J")


def copy_json(value: _J) -> _J:
    """A deep copy of a JSON value, three times faster than copy.deepcopy (no memo of shared
    objects, which parsed JSON never has); anything else falls back to copy.deepcopy."""
    return cast(_J, _copied(value))


def _copied(value: Any) -> Any:
    kind = type(value)
    if kind is dict:
        return {key: _copied(item) for key, item in value.items()}
    if kind is list:
        return [_copied(item) for item in value]
    if kind in _JSON_SCALARS:
        return value
    return copy.deepcopy(value)


# pyld's one use of the copy module: a defensive deep copy of the document it expands.
jsonld.copy = types.SimpleNamespace(deepcopy=copy_json)


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
    except IssuerError:
        raise
    except PYLD_FAILURES as error:
        raise _jsonld_error(error) from error
    return nquads


def expand(
    document: JsonObject,
    loader: DocumentLoader = load_document,
    on_property_dropped: Callable[[str | None], None] | None = None,
) -> list[Any]:
    """JSON-LD expansion (pyld), with our own errors for failures."""
    try:
        expanded: list[Any] = jsonld.expand(
            document,
            {"documentLoader": loader, "base": None},
            on_property_dropped=on_property_dropped or (lambda _: None),
        )
    except IssuerError:
        raise
    except PYLD_FAILURES as error:
        raise _jsonld_error(error) from error
    return expanded


def canonize(document: JsonObject, loader: DocumentLoader = load_document) -> str:
    """RDFC-1.0 N-Quads of a JSON-LD document (the fast path)."""
    return canonize_expanded(expand(document, loader))


def canonize_expanded(expanded: list[Any]) -> str:
    """RDFC-1.0 N-Quads of an already expanded document: no contexts left to process.

    The quads come from to_rdf's walk when the document is plain (a credential is), from
    pyoxigraph otherwise.
    Raises CanonicalizationTooComplex (a JsonLdInvalid) for blank nodes past the work budget.
    """
    quads = to_rdf.plain_quads(expanded)
    if quads is None:
        quads = rdf_quads(expanded)
    return rdfc.canonicalize(quads).nquads


def rdf_quads(expanded: list[Any]) -> list[rdfc.Quad]:
    """The quads of any expanded document, by pyoxigraph from its JSON text (blank nodes
    relabelled in order of first mention)."""
    return _parse(json.dumps(expanded), pyoxigraph.RdfFormat.JSON_LD, relabel=True)


def canonize_nquads(nquads: str, hash_algorithm: rdfc.HashAlgorithm = "SHA256") -> str:
    """RDFC-1.0 canonical N-Quads of an N-Quads document (the fast path's algorithm)."""
    return canonicalize_nquads(nquads, hash_algorithm).nquads


def canonicalize_nquads(
    nquads: str, hash_algorithm: rdfc.HashAlgorithm = "SHA256"
) -> rdfc.Canonicalization:
    """The canonical N-Quads and the issued identifiers map, keyed by the document's labels."""
    return rdfc.canonicalize(_parse(nquads, pyoxigraph.RdfFormat.N_QUADS), hash_algorithm)


def _parse(text: str, format: pyoxigraph.RdfFormat, relabel: bool = False) -> list[rdfc.Quad]:
    try:
        return _as_strings(pyoxigraph.parse(text, format=format), relabel)
    except (SyntaxError, ValueError) as error:
        raise JsonLdInvalid(f"the document is not valid {format.name}: {error}") from error


_NO_TRIPLE_TERMS = "RDFC-1.0 has no canonical form for RDF 1.2 triple terms"


def _as_strings(quads: Iterable[pyoxigraph.Quad], relabel: bool) -> list[rdfc.Quad]:
    """Each term in canonical N-Quads form (pyoxigraph's `str`), the default graph as "".

    With `relabel`, blank nodes become _:b0, _:b1... in order of first mention: pyoxigraph names
    JSON-LD's unlabelled nodes at random, and RDFC-1.0 sorts labels when it permutes tied nodes,
    so random labels could make equal documents canonicalize differently from run to run.
    Written out term by term: it runs for every quad of every proof.
    """
    labels: dict[pyoxigraph.BlankNode, str] = {}
    blank = pyoxigraph.BlankNode if relabel else None
    literal, default, triple = pyoxigraph.Literal, pyoxigraph.DefaultGraph, pyoxigraph.Triple

    def label(node: pyoxigraph.BlankNode) -> str:
        name = labels[node] = f"_:b{len(labels)}"
        return name

    strings: list[rdfc.Quad] = []
    for subject, predicate, object_, graph in quads:
        kind = type(subject)
        if kind is blank:
            subject = labels.get(subject) or label(subject)
        elif kind is triple:
            raise JsonLdInvalid(_NO_TRIPLE_TERMS)
        else:
            subject = str(subject)
        kind = type(object_)
        if kind is blank:
            object_ = labels.get(object_) or label(object_)
        elif kind is literal and object_.direction is not None:
            object_ = _without_direction(object_)
        elif kind is triple:
            raise JsonLdInvalid(_NO_TRIPLE_TERMS)
        else:
            object_ = str(object_)
        kind = type(graph)
        if kind is default:
            graph = ""
        elif kind is blank:
            graph = labels.get(graph) or label(graph)
        else:
            graph = str(graph)
        strings.append((subject, str(predicate), object_, graph))
    return strings


def _without_direction(literal: pyoxigraph.Literal) -> str:
    """pyoxigraph keeps JSON-LD's @direction (RDF 1.2 "x"@ar--rtl); JSON-LD 1.1's toRDF, as pyld
    and jsonld.js run it (rdfDirection unset), drops it and keeps the language alone."""
    return str(pyoxigraph.Literal(literal.value, language=literal.language))


def _jsonld_error(error: BaseException) -> Exception:
    """Our own error for a pyld failure: ours (a bundled-context miss, the time limit) if that
    was the cause."""
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, ContextNotBundled):
            return ContextNotBundled(cause.url)
        if isinstance(cause, JsonLdTimeLimit):
            return JsonLdTimeLimit(str(cause))
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return JsonLdInvalid(f"the document is not valid JSON-LD: {error}")
