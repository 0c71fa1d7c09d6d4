"""The offline JSON-LD document loader: bundled contexts only, never the network.

Like Digital Bazaar's `documentLoader.js` (and unlike loaders that fall back to HTTP), a URL
that is not bundled is an error naming the URL. Each context file is stored once, byte-exact,
in `contexts/`; `contexts/manifest.json` maps URL -> file and records the SHA-256 of each.
Results carry `"tag": "static"` so pyld keeps the resolved contexts across operations.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from issuer.errors import ContextNotBundled
from issuer.types import JsonObject, RemoteDocument

CONTEXTS_DIR = Path(__file__).parent / "contexts"

CREDENTIALS_V2 = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_V1 = "https://www.w3.org/2018/credentials/v1"
OB_V3P0 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB_EXTENSIONS = "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json"
DID_V1 = "https://www.w3.org/ns/did/v1"
MULTIKEY_V1 = "https://w3id.org/security/multikey/v1"
ED25519_2020_V1 = "https://w3id.org/security/suites/ed25519-2020/v1"
DATA_INTEGRITY_V2 = "https://w3id.org/security/data-integrity/v2"


def manifest() -> list[JsonObject]:
    """The bundled contexts as listed in `contexts/manifest.json` (url, file, sha256)."""
    entries: list[JsonObject] = json.loads((CONTEXTS_DIR / "manifest.json").read_text())["contexts"]
    return entries


@cache
def bundled() -> dict[str, Path]:
    """URL -> bundled file, for every context we ship."""
    return {entry["url"]: CONTEXTS_DIR / entry["file"] for entry in manifest()}


@cache
def context_document(url: str) -> JsonObject:
    """The parsed context document for a bundled URL (cached: contexts never change)."""
    path = bundled().get(url)
    if path is None:
        raise ContextNotBundled(url)
    document: JsonObject = json.loads(path.read_bytes())
    return document


def load_document(url: str, options: Any = None) -> RemoteDocument:
    """pyld document loader: serves bundled contexts, raises ContextNotBundled for any other URL."""
    return {
        "contextUrl": None,
        "documentUrl": url,
        "document": context_document(url),
        "tag": "static",
    }
