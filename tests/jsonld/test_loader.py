import hashlib
import json
from pathlib import Path

import pytest

from issuer.errors import ContextNotBundled
from issuer.jsonld.canonize import canonize, canonize_reference
from issuer.jsonld.loader import CONTEXTS_DIR, bundled, load_document, manifest

SHARED_MANIFEST = Path(__file__).parents[3] / "shared/reference/contexts/manifest.json"


@pytest.mark.parametrize("entry", manifest(), ids=lambda e: e["file"])
def test_bundled_context_is_byte_exact(entry: dict) -> None:  # type: ignore[type-arg]
    digest = hashlib.sha256((CONTEXTS_DIR / entry["file"]).read_bytes()).hexdigest()
    assert digest == entry["sha256"]


def test_bundles_every_context_of_the_shared_manifest_and_names_the_source_of_others() -> None:
    if not SHARED_MANIFEST.exists():
        pytest.skip("shared/ is not beside this checkout")
    shared = {e["url"]: e["sha256"] for e in json.loads(SHARED_MANIFEST.read_text())["contexts"]}
    ours = {e["url"]: e["sha256"] for e in manifest()}
    assert {url: ours.get(url) for url in shared} == shared
    # beyond the shared set, only contexts that say where their bytes come from
    extra = [e for e in manifest() if e["url"] not in shared]
    assert [e["url"] for e in extra] == ["https://w3id.org/vc/render-method/v2rc1"]
    assert all(e["source"] for e in extra)


def test_serves_bundled_contexts_as_static_documents() -> None:
    remote = load_document("https://www.w3.org/ns/credentials/v2")
    assert remote["tag"] == "static"
    assert remote["documentUrl"] == "https://www.w3.org/ns/credentials/v2"
    assert "@context" in remote["document"]
    assert len(bundled()) == len(manifest())


def test_refuses_any_other_url_and_names_it() -> None:
    with pytest.raises(ContextNotBundled, match=r"https://evil\.example/ctx"):
        load_document("https://evil.example/ctx")


@pytest.mark.parametrize("canonicalize", [canonize, canonize_reference])
def test_a_document_with_an_unbundled_context_fails_without_fetching(canonicalize) -> None:  # type: ignore[no-untyped-def]
    document = {"@context": ["https://www.w3.org/ns/credentials/v2", "https://example.com/x"]}
    with pytest.raises(ContextNotBundled, match=r"https://example\.com/x"):
        canonicalize(document)
