"""The canonical proof configuration of the RDFC-1.0 cryptosuites, computed once per shape.

Every proof an issuer makes has the same configuration but for `created`: same context, type,
cryptosuite, verification method and purpose. Its canonical form is one blank node, `_:c14n0`,
with one quad per option, sorted by predicate; `created` is the object of its own quad, so the
instant changes that quad's literal and nothing else (not the label: one blank node is always
`_:c14n0`; not the order: the predicates differ before the literal is reached). So the form is
computed once with a stand-in instant and the real one written in its place. Anything outside
that shape (another blank node, a `created` that is not a plain dateTime literal, the stand-in
appearing twice) is computed in full, as the specifications describe.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict

from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.strict import expand_strictly
from issuer.types import DocumentLoader, JsonObject

_PLAIN_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})")
_STAND_IN = "1111-11-11T11:11:11Z"
_MAX_SHAPES = 256
_shapes: OrderedDict[str, str | None] = OrderedDict()
_lock = threading.Lock()


def canonical_configuration(
    proof_options: JsonObject, context: object, loader: DocumentLoader
) -> str:
    """RDFC-1.0 N-Quads of the proof options without `proofValue`, under `context`, expanded
    strictly (an option no context defines is an error, never an unsigned term)."""
    configuration = {k: v for k, v in proof_options.items() if k != "proofValue"}
    configuration["@context"] = context
    created = configuration.get("created")
    if not isinstance(created, str) or not _PLAIN_DATE_TIME.fullmatch(created):
        return _computed(configuration, loader)
    key = json.dumps({**configuration, "created": _STAND_IN}, sort_keys=True)
    with _lock:
        known, template = key in _shapes, _shapes.get(key)
    if not known:
        template = _template(configuration, loader)
        with _lock:
            _shapes[key] = template
            if len(_shapes) > _MAX_SHAPES:
                _shapes.popitem(last=False)
    if template is None:
        return _computed(configuration, loader)
    return template.replace(f'"{_STAND_IN}"', f'"{created}"')


def _template(configuration: JsonObject, loader: DocumentLoader) -> str | None:
    """The canonical form with the stand-in instant, if it has the shape described above."""
    canonical = _computed({**configuration, "created": _STAND_IN}, loader)
    labels = set(re.findall(r"_:[A-Za-z0-9]+", canonical))
    if labels - {"_:c14n0"} or canonical.count(f'"{_STAND_IN}"') != 1:
        return None
    return canonical


def _computed(configuration: JsonObject, loader: DocumentLoader) -> str:
    return canonize_expanded(expand_strictly(configuration, loader))
