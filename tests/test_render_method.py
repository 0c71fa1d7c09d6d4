"""The W3C render method (issue 18, item 6): each credential points at our certificate template
with its digest, the template is served at that address, the credential still verifies here
and in the reference stack, and the Learner Credential Wallet's way of drawing it works."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.render_method import (
    RENDER_METHOD_CONTEXT,
    SVG_RENDERING_TEMPLATE,
    certificate_template,
    digest_multibase,
)
from issuer.web.app import create_app
from tests.interop.reference import missing, render_like_lcw, run_reference
from tests.web.helpers import World, build_world

SVG = "{http://www.w3.org/2000/svg}"


def issued(world: World) -> dict:  # type: ignore[type-arg]
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    page = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/ld+json"}
    )
    assert page.status_code == 200
    return page.json()  # type: ignore[no-any-return]


def test_the_digest_is_a_base58btc_sha2_256_multihash() -> None:
    # sha2-256 of "<svg/>", as a multihash in base58btc (the value the CCG draft's form gives)
    assert digest_multibase(b"<svg/>") == "zQmcfa1UkpF8fRgsxJFPaGCc4vBfhCDJDDYAmKY3ktFpAHj"
    template = certificate_template("#1d4ed8")
    assert digest_multibase(template) != digest_multibase(certificate_template("#b91c1c"))


def test_a_credential_points_at_the_template_served_with_its_digest(
    world: World, db_settings: Settings
) -> None:
    credential = issued(world)
    assert credential["@context"][-1] == RENDER_METHOD_CONTEXT
    (method,) = credential["renderMethod"]
    assert method["type"] == SVG_RENDERING_TEMPLATE
    path = method["id"].removeprefix(db_settings.base_url)
    assert path.startswith("/render/") and path.endswith("/certificate.svg")
    template = world.client.get(path)
    assert template.status_code == 200
    assert template.headers["content-type"] == "image/svg+xml"
    assert "immutable" in template.headers["cache-control"]
    assert method["digestMultibase"] == digest_multibase(template.content)
    ElementTree.fromstring(template.content)  # well-formed SVG before it is filled in
    gone = world.client.get("/render/0123456789abcdef0123/certificate.svg")
    assert gone.status_code == 404

    verified = world.client.post("/credentials/verify", json={"verifiableCredential": credential})
    assert verified.status_code == 200, verified.text
    assert {"json-ld", "conformance"} <= set(verified.json()["checks"])


@pytest.mark.skipif(missing() is not None, reason=str(missing()))
def test_the_wallet_draws_it_and_the_reference_verifies_it(
    world: World, db_settings: Settings
) -> None:
    credential = issued(world)
    assert run_reference("verify", credential=credential)["verified"]
    url = credential["renderMethod"][0]["id"]
    template = world.client.get(url.removeprefix(db_settings.base_url)).text
    drawn = render_like_lcw(credential, template)
    assert drawn["id"] == credential["renderMethod"][0]["id"]
    svg = ElementTree.fromstring(drawn["rendered"])
    texts = ["".join(node.itertext()) for node in svg.iter(f"{SVG}text")]
    achievement = credential["credentialSubject"]["achievement"]
    assert credential["issuer"]["name"] in texts
    assert achievement["name"] in texts
    assert f"Awarded {credential['awardedDate']} by {credential['issuer']['name']}" in texts
    assert f"Verify at {credential['id']}" in texts
    image = next(svg.iter(f"{SVG}image"))
    assert image.get("href") == achievement["image"]["id"]
    assert "{{" not in drawn["rendered"]


def test_values_are_escaped_where_the_wallet_fills_them_in(world: World) -> None:
    if missing() is not None:
        pytest.skip(str(missing()))
    credential = issued(world)
    credential["issuer"]["name"] = '</text><script>alert("x")</script>'
    template = certificate_template("#1d4ed8").decode()
    drawn = render_like_lcw(credential, template)["rendered"]
    assert "<script>" not in drawn and "&lt;script&gt;" in drawn
    ElementTree.fromstring(drawn)


def test_the_render_method_can_be_turned_off(db_settings: Settings) -> None:
    settings = replace(db_settings, render_method=False)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        credential = issued(world)
    assert "renderMethod" not in credential
    assert RENDER_METHOD_CONTEXT not in credential["@context"]
