"""RDF Dataset Canonicalization, RDFC-1.0 (https://www.w3.org/TR/rdf-canon/), within a work budget.

The spec's algorithm step by step, on quads whose terms are already in canonical N-Quads form
(pyoxigraph parses; this module labels blank nodes). Neither engine could be trusted with that
on untrusted input: pyoxigraph 0.5 has no limit on Hash N-Degree Quads (the W3C poison graph
runs for ever), keeps related blank nodes in a set where the spec keeps a list (so it mislabels
ties among nodes of blank-node-named graphs, tests/vectors/rdf-canon/extra/) and hides the
issued identifiers map; pyld has no limit either and no SHA-384. Held to the W3C test suite and
to rdf-canonize (tests/jsonld/test_rdfc10_suite.py).

The budget follows rdf-canonize's `maxWorkFactor`, with a ceiling that bounds time whatever the
size; past it, CanonicalizationTooComplex (RDFC-1.0 section 7.1, dataset poisoning).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from issuer.errors import JsonLdInvalid

Quad = tuple[str, str, str, str]
"""Subject, predicate, object, graph name in canonical N-Quads form; "" is the default graph."""

HashAlgorithm = Literal["SHA256", "SHA384"]

# rdf-canonize's maxWorkFactor: at most n ** factor calls of Hash N-Degree Quads, n being the
# number of blank nodes that share a first-degree hash. Its default of 1 refuses 18 of the W3C
# evaluation tests; 2 still refuses the "poison" tests 044-046 (468 calls for n = 12), which 3
# canonicalizes, as the suite expects.
DEFAULT_MAX_WORK_FACTOR = 3
# Whatever n, at most MAX_STEPS steps (about 1-5 us each): a call costs CALL_STEPS, hashing a
# related blank node one, walking a permutation one per element plus one per ISSUED_PER_STEP
# identifiers of the issuer it copies. Test 044 takes 9,912 steps; the 10-node clique of test
# 074 is refused after 45,000 (70-140 ms); no shape tried took longer than 0.5 s to refuse.
CALL_STEPS = 8
ISSUED_PER_STEP = 16
MAX_STEPS = 100_000
# Three Python frames per level: well inside the interpreter's limit of 1000.
MAX_RECURSION_DEPTH = 200


_ECHAR = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}
_RDFC_ESCAPES = {
    chr(code): _ECHAR.get(chr(code), f"\\u{code:04X}") for code in [*range(0x20), 0x7F, 0x22, 0x5C]
}
_TO_ESCAPE = re.compile('[\x00-\x1f\x7f"\\\\]')


def rdfc_escape(value: str) -> str:
    """Escape a literal as RDFC-1.0 canonical N-Quads do (https://www.w3.org/TR/rdf-canon/#canonical-quads).

    `\\b \\t \\n \\f \\r \\" \\\\` as two-character escapes, every other U+0000-U+001F and U+007F
    as `\\uXXXX` with upper-case hex; nothing else is escaped. (A substitution, not
    str.translate, which walks a long string character by character in Python's own loop.)
    """
    return _TO_ESCAPE.sub(_escape, value)


def _escape(match: re.Match[str]) -> str:
    return _RDFC_ESCAPES[match.group()]


class CanonicalizationTooComplex(JsonLdInvalid):
    """Blank nodes so alike that telling them apart would exceed the canonicalization budget.

    RDFC-1.0 section 7.1 (dataset poisoning): such input is taken as an attack, not a credential.
    """


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...

    def hexdigest(self) -> str: ...


_DIGESTS: dict[str, Callable[[], _Digest]] = {
    "SHA256": hashlib.sha256,
    "SHA384": hashlib.sha384,
}


@dataclass(frozen=True, slots=True)
class Canonicalization:
    """The canonical N-Quads and the issued identifiers map (input label -> canonical label)."""

    nquads: str
    issued_identifiers: dict[str, str]


def canonicalize(
    quads: Iterable[Quad],
    hash_algorithm: HashAlgorithm = "SHA256",
    max_work_factor: int = DEFAULT_MAX_WORK_FACTOR,
) -> Canonicalization:
    """https://www.w3.org/TR/rdf-canon/#canon-algo-algo, steps 1 to 7."""
    quads = list(dict.fromkeys(quads))  # a dataset is a set of quads
    issued = _Canonicalizer(quads, _DIGESTS[hash_algorithm], max_work_factor).issue_all()
    return Canonicalization(
        serialize(quads, issued), {old[2:]: new[2:] for old, new in issued.items()}
    )


def serialize(quads: Iterable[Quad], issued: dict[str, str]) -> str:
    """https://www.w3.org/TR/rdf-canon/#canon-algo-algo step 7: relabel, sort by code point."""
    # Written out by hand: this and the first-degree hashes are all a credential without
    # look-alike blank nodes costs, on every signature and verification.
    lines = []
    for s, p, o, g in quads:
        s = issued[s] if s[0] == "_" else s
        o = issued[o] if o[0] == "_" else o
        if g:
            g = issued[g] if g[0] == "_" else g
            lines.append(f"{s} {p} {o} {g} .\n")
        else:
            lines.append(f"{s} {p} {o} .\n")
    lines.sort()
    return "".join(lines)


def _nquad(subject: str, predicate: str, object_: str, graph_name: str) -> str:
    if graph_name:
        return f"{subject} {predicate} {object_} {graph_name} .\n"
    return f"{subject} {predicate} {object_} .\n"


class _IdentifierIssuer:
    """https://www.w3.org/TR/rdf-canon/#bn-issuer-state (the map's size is the counter)."""

    __slots__ = ("issued", "prefix")

    def __init__(self, prefix: str, issued: dict[str, str] | None = None) -> None:
        self.prefix = prefix
        self.issued: dict[str, str] = issued if issued is not None else {}

    def issue(self, identifier: str) -> str:
        """https://www.w3.org/TR/rdf-canon/#issue-identifier"""
        issued = self.issued.get(identifier)
        if issued is None:
            issued = self.issued[identifier] = f"{self.prefix}{len(self.issued)}"
        return issued

    def copy(self) -> _IdentifierIssuer:
        return _IdentifierIssuer(self.prefix, dict(self.issued))


class _Canonicalizer:
    """The canonicalization state (https://www.w3.org/TR/rdf-canon/#canon-state) and budget.

    Blank node identifiers keep their `_:`, and issuers prefix theirs with `_:`, so issued
    identifiers go into paths and hashes as the spec writes them.
    """

    def __init__(
        self, quads: Sequence[Quad], digest: Callable[[], _Digest], max_work_factor: int
    ) -> None:
        self.digest = digest
        self.max_work_factor = max_work_factor
        self.calls_left = 0
        self.steps_left = MAX_STEPS
        self.depth = 0
        self.canonical_issuer = _IdentifierIssuer("_:c14n")
        # Step 2: a quad appears once per blank node, even if it names it twice (a set). Blank
        # nodes are taken in order of first mention, as rdf-canonize does: the order decides
        # which of two nodes with equal N-degree hashes is labelled first.
        self.blank_node_to_quads: dict[str, list[Quad]] = {}
        # Terms are IRIs (<), literals (") or blank nodes (_:): one character tells them apart.
        quads_of = self.blank_node_to_quads
        for quad in quads:
            s, _, o, g = quad
            if s[0] == "_":
                quads_of.setdefault(s, []).append(quad)
            if o[0] == "_" and o != s:
                quads_of.setdefault(o, []).append(quad)
            if g and g[0] == "_" and g != s and g != o:
                quads_of.setdefault(g, []).append(quad)
        self.first_degree_hash: dict[str, str] = {}

    def issue_all(self) -> dict[str, str]:
        """Steps 3 to 6: first-degree hashes, then N-degree hashes for those that are shared."""
        hash_to_blank_nodes: dict[str, list[str]] = {}
        for blank_node in self.blank_node_to_quads:
            first_degree = self.hash_first_degree_quads(blank_node)
            self.first_degree_hash[blank_node] = first_degree
            hash_to_blank_nodes.setdefault(first_degree, []).append(blank_node)
        shared = [hash_to_blank_nodes[h] for h in sorted(hash_to_blank_nodes)]
        for blank_nodes in shared:
            if len(blank_nodes) == 1:
                self.canonical_issuer.issue(blank_nodes[0])
        shared = [blank_nodes for blank_nodes in shared if len(blank_nodes) > 1]
        non_unique = sum(map(len, shared))
        self.calls_left = non_unique**self.max_work_factor
        for blank_nodes in shared:
            self.issue_shared(blank_nodes)
        return self.canonical_issuer.issued

    def issue_shared(self, blank_nodes: list[str]) -> None:
        """Step 5: order blank nodes that share a first-degree hash by their N-degree hashes."""
        hash_path_list = []
        for blank_node in blank_nodes:
            if blank_node in self.canonical_issuer.issued:
                continue
            temporary_issuer = _IdentifierIssuer("_:b")
            temporary_issuer.issue(blank_node)
            hash_path_list.append(self.hash_n_degree_quads(blank_node, temporary_issuer))
        for _, issuer in sorted(hash_path_list, key=lambda result: result[0]):
            for existing_identifier in issuer.issued:
                self.canonical_issuer.issue(existing_identifier)

    def hash(self, data: str) -> str:
        digest = self.digest()
        digest.update(data.encode())
        return digest.hexdigest()

    def hash_first_degree_quads(self, reference: str) -> str:
        """https://www.w3.org/TR/rdf-canon/#hash-1d-quads"""
        nquads = []
        for s, p, o, g in self.blank_node_to_quads[reference]:
            s = ("_:a" if s == reference else "_:z") if s[0] == "_" else s
            o = ("_:a" if o == reference else "_:z") if o[0] == "_" else o
            if g and g[0] == "_":
                g = "_:a" if g == reference else "_:z"
            nquads.append(_nquad(s, p, o, g))
        nquads.sort()
        return self.hash("".join(nquads))

    def hash_related_blank_node(
        self, related: str, quad: Quad, issuer: _IdentifierIssuer, position: str
    ) -> str:
        """https://www.w3.org/TR/rdf-canon/#hash-related-blank-node"""
        identifier = (
            self.canonical_issuer.issued.get(related)
            or issuer.issued.get(related)
            or self.first_degree_hash[related]
        )
        predicate = quad[1] if position != "g" else ""
        return self.hash(position + predicate + identifier)

    def hash_n_degree_quads(
        self, identifier: str, issuer: _IdentifierIssuer
    ) -> tuple[str, _IdentifierIssuer]:
        """https://www.w3.org/TR/rdf-canon/#hash-nd-quads"""
        self.spend_call()
        self.depth += 1
        try:
            data_to_hash = self.digest()
            hash_to_related = self.hash_to_related_blank_nodes(identifier, issuer)
            for related_hash in sorted(hash_to_related):
                data_to_hash.update(related_hash.encode())
                chosen_path, issuer = self.choose_path(hash_to_related[related_hash], issuer)
                data_to_hash.update(chosen_path.encode())
            return data_to_hash.hexdigest(), issuer
        finally:
            self.depth -= 1

    def hash_to_related_blank_nodes(
        self, identifier: str, issuer: _IdentifierIssuer
    ) -> dict[str, list[str]]:
        """Hash N-Degree Quads steps 1 to 3: a list per hash, repeats kept, as the spec says."""
        hash_to_related: dict[str, list[str]] = {}
        for quad in self.blank_node_to_quads[identifier]:
            for position, term in (("s", quad[0]), ("o", quad[2]), ("g", quad[3])):
                if term.startswith("_:") and term != identifier:
                    self.spend_steps(1)
                    related_hash = self.hash_related_blank_node(term, quad, issuer, position)
                    hash_to_related.setdefault(related_hash, []).append(term)
        return hash_to_related

    def choose_path(
        self, blank_nodes: list[str], issuer: _IdentifierIssuer
    ) -> tuple[str, _IdentifierIssuer]:
        """Hash N-Degree Quads step 5.4: the least path over the permutations of `blank_nodes`."""
        chosen_path, chosen_issuer = "", issuer
        for permutation in _permutations(blank_nodes):
            self.spend_steps(len(permutation) + len(issuer.issued) // ISSUED_PER_STEP)
            result = self.path(permutation, issuer, chosen_path)
            if result is not None and (not chosen_path or result[0] < chosen_path):
                chosen_path, chosen_issuer = result
        return chosen_path, chosen_issuer

    def path(
        self, permutation: Sequence[str], issuer: _IdentifierIssuer, chosen_path: str
    ) -> tuple[str, _IdentifierIssuer] | None:
        """Steps 5.4.1 to 5.4.5 for one permutation; None when it cannot beat `chosen_path`."""
        issuer_copy = issuer.copy()
        path = ""
        recursion_list = []
        for related in permutation:
            canonical = self.canonical_issuer.issued.get(related)
            if canonical is not None:
                path += canonical
            else:
                if related not in issuer_copy.issued:
                    recursion_list.append(related)
                path += issuer_copy.issue(related)
            if _worse(path, chosen_path):
                return None
        for related in recursion_list:
            result_hash, result_issuer = self.hash_n_degree_quads(related, issuer_copy)
            path += issuer_copy.issue(related) + "<" + result_hash + ">"
            issuer_copy = result_issuer
            if _worse(path, chosen_path):
                return None
        return path, issuer_copy

    def spend_call(self) -> None:
        if self.calls_left <= 0 or self.depth >= MAX_RECURSION_DEPTH:
            raise CanonicalizationTooComplex(self.refusal())
        self.calls_left -= 1
        self.spend_steps(CALL_STEPS)

    def spend_steps(self, steps: int) -> None:
        self.steps_left -= steps
        if self.steps_left < 0:
            raise CanonicalizationTooComplex(self.refusal())

    def refusal(self) -> str:
        return (
            "the document's blank nodes are too alike to canonicalize within the work budget "
            f"(RDFC-1.0 Hash N-Degree Quads: work factor {self.max_work_factor}, "
            f"{MAX_STEPS} steps, depth {MAX_RECURSION_DEPTH})"
        )


def _worse(path: str, chosen_path: str) -> bool:
    """Steps 5.4.4.3 and 5.4.5.5: skip a permutation once its path sorts after the chosen one."""
    return bool(chosen_path) and len(path) >= len(chosen_path) and path > chosen_path


def _permutations(elements: list[str]) -> Iterator[tuple[str, ...]]:
    """Every permutation, in the Steinhaus-Johnson-Trotter order rdf-canonize and pyld use.

    The order matters only when two permutations give the same path: the first one wins, so we
    walk them as the reference implementations do, repeated elements included.
    """
    current = sorted(elements)
    left = dict.fromkeys(current, True)
    last = len(current) - 1
    while True:
        yield tuple(current)
        mobile: str | None = None
        position = 0
        for i, element in enumerate(current):
            if (mobile is None or element > mobile) and (
                (left[element] and i > 0 and element > current[i - 1])
                or (not left[element] and i < last and element > current[i + 1])
            ):
                mobile, position = element, i
        if mobile is None:
            return
        swap = position - 1 if left[mobile] else position + 1
        current[position], current[swap] = current[swap], mobile
        for element in current:
            if element > mobile:
                left[element] = not left[element]
