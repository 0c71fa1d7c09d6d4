"""Revocation is real, and the verify page, VC-API and CLI all say so."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuer.baking.png import bake_png
from issuer.baking.svg import bake_svg
from issuer.cli import app as cli
from issuer.config import Settings
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof
from issuer.status_list import StatusList
from issuer.web.app import create_app
from tests.baking.test_baking import SVG, tiny_png
from tests.web.helpers import World, bearer

HTML = {"accept": "text/html"}


def issue(world: World) -> tuple[str, dict]:  # type: ignore[type-arg]
    world.confirm_all()
    response = world.attest()
    assert response.status_code == 201, response.text
    return response.json()["id"], response.json()["credential"]


def revoke(world: World, credential_id: str) -> None:
    response = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "misconduct"},
        headers=bearer(world.coordinator),
    )
    assert response.status_code == 200


def vc_api(world: World, credential: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = world.client.post(
        "/credentials/verify", json={"verifiableCredential": credential, "options": {}}
    )
    return response.status_code, response.json()


def test_revoke_flips_the_bit_and_every_verifier_says_revoked(
    world: World,
    db_settings: Settings,
    runner: CliRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    credential_id, credential = issue(world)
    index = int(credential["credentialStatus"]["statusListIndex"])
    listing = world.client.get("/status/1")
    assert listing.headers["cache-control"] == "no-cache" and "etag" in listing.headers
    assert not StatusList.decode(listing.json()["credentialSubject"]["encodedList"]).get(index)
    status, body = vc_api(world, credential)
    assert (
        status == 200
        and body["verified"]
        and "status" in body["checks"]
        and "records" in body["checks"]
    )

    revoke(world, credential_id)
    after = world.client.get("/status/1", headers={"if-none-match": listing.headers["etag"]})
    assert after.status_code == 200  # the list changed: a new ETag
    assert StatusList.decode(after.json()["credentialSubject"]["encodedList"]).get(index)
    status, body = vc_api(world, credential)
    assert status == 400 and body["verified"] is False
    assert {"check": "status", "message": "revoked by the issuer", "code": "REVOKED"} in body[
        "errors"
    ]
    page = world.client.post("/verify", data={"credential": json.dumps(credential)}, headers=HTML)
    assert "✘ Revoked" in page.text

    path = tmp_path / "c.json"
    path.write_text(json.dumps(credential))
    monkeypatch.setenv("ISSUER_DATABASE_URL", db_settings.database_url)
    result = runner.invoke(cli, ["verify", str(path)])
    assert result.exit_code == 1 and result.output.startswith("REVOKED")

    # Survives a restart: a new app on the same database still publishes the bit.
    with TestClient(create_app(db_settings)) as restarted:
        encoded = restarted.get("/status/1").json()["credentialSubject"]["encodedList"]
        assert StatusList.decode(encoded).get(index)


def test_the_status_list_is_a_valid_signed_credential(world: World) -> None:
    listing = world.client.get("/status/1").json()
    status, body = vc_api(world, listing)
    assert status == 200, body


def test_verify_page_takes_paste_upload_url_and_baked_images(world: World) -> None:
    _, credential = issue(world)
    text = json.dumps(credential)
    pasted = world.client.post("/verify", data={"credential": text}, headers=HTML)
    assert pasted.status_code == 200 and "✔ Verified" in pasted.text
    assert "Radiologic Technologists and Technicians: Proficient" in pasted.text
    assert pasted.text.count("<strong>Completed</strong>") == 10
    assert "an identifier made from the signing key itself" in pasted.text
    for name, content, kind in (
        ("badge.png", bake_png(tiny_png(), text), "image/png"),
        ("badge.svg", bake_svg(SVG, text).encode(), "image/svg+xml"),
        ("badge.json", text.encode(), "application/json"),
    ):
        uploaded = world.client.post("/verify", files={"file": (name, content, kind)}, headers=HTML)
        assert "✔ Verified" in uploaded.text, name
    url = credential["id"]
    assert "✔ Verified" in world.client.post("/verify", data={"url": url}, headers=HTML).text
    assert "✔ Verified" in world.client.get("/verify", params={"url": url}, headers=HTML).text


def test_verify_page_explains_bad_input_without_a_500(world: World) -> None:
    for data in (
        {"credential": "{not json"},
        {"credential": "[1, 2]"},
        {},
        {"url": "http://127.0.0.1:9/x"},
    ):
        response = world.client.post("/verify", data=data, headers=HTML)
        assert response.status_code == 422, data
        assert 'role="alert"' in response.text
    deep = "[" * 70 + "]" * 70
    assert (
        world.client.post(
            "/verify", data={"credential": '{"a": ' + deep + "}"}, headers=HTML
        ).status_code
        == 422
    )


def test_tampered_own_credential_fails_proof_and_records(world: World) -> None:
    _, credential = issue(world)
    credential["credentialSubject"]["result"][0]["status"] = "Failed"
    status, body = vc_api(world, credential)
    assert status == 400
    assert {e["check"] for e in body["errors"]} >= {"proof", "records"}


def test_presentation_verify_checks_holder_proof_challenge_and_credentials(
    world: World, signing_key
) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime

    from issuer.dids import did_key
    from issuer.jsonld.loader import load_document
    from issuer.proofs.data_integrity import add_proof

    _, credential = issue(world)
    holder = did_key(signing_key.multikey)
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder,
        "verifiableCredential": [credential],
    }
    signed = add_proof(
        presentation,
        key=signing_key,
        verification_method=f"{holder}#{signing_key.multikey}",
        created=datetime.now(UTC),
        loader=load_document,
        proof_purpose="authentication",
        challenge="c-123",
        domain="badges.example.org",
    )
    ok = world.client.post(
        "/presentations/verify",
        json={
            "verifiablePresentation": signed,
            "options": {"challenge": "c-123", "domain": "badges.example.org"},
        },
    )
    assert ok.status_code == 200, ok.json()
    wrong = world.client.post(
        "/presentations/verify",
        json={"verifiablePresentation": signed, "options": {"challenge": "other"}},
    )
    assert wrong.status_code == 400
    assert {
        "check": "presentation proof",
        "message": "the proof's challenge does not match",
        "code": "INVALID_CHALLENGE_ERROR",
    } in wrong.json()["errors"]


def test_an_unverified_credential_is_shown_as_claims_not_facts(world: World) -> None:
    """The page never presents a forged document's claims as facts, and a `javascript:` issuer
    URL (an XSS that once ran for a signed-in coordinator) is never a link."""
    _, credential = issue(world)
    credential["issuer"]["url"] = "javascript:fetch('/api/users',{method:'POST'})"
    page = world.client.post("/verify", data={"credential": json.dumps(credential)}, headers=HTML)
    assert page.status_code == 200
    assert "✘ Not verified" in page.text
    assert "What the document claims (not confirmed)" in page.text
    assert "it could not be confirmed" in page.text
    assert "What the credential says" not in page.text
    assert 'href="javascript:' not in page.text
    assert "Is it genuine and unchanged?" in page.text
    assert "<strong>No.</strong> It was changed after it was signed" in page.text


def test_a_string_that_is_not_a_jws_is_a_400(world: World) -> None:
    status, body = vc_api(world, "not a token at all")
    assert status == 400 and body["errors"][0]["code"] == "PARSING_ERROR"


def test_a_private_credential_is_not_found_by_url(world: World) -> None:
    credential_id, credential = issue(world)
    learner = bearer(world.learner)
    hidden = world.client.post(
        f"/api/me/credentials/{credential_id}/visibility", json={"public": False}, headers=learner
    )
    assert hidden.status_code == 200
    for response in (
        world.client.get("/verify", params={"url": credential["id"]}, headers=HTML),
        world.client.post("/verify", data={"url": credential["id"]}, headers=HTML),
    ):
        assert response.status_code == 422
        assert f"no credential at {credential['id']}" in response.text
        assert "Completed" not in response.text and "Radiologic" not in response.text


def test_verifying_by_url_is_rate_limited_like_a_post(db_settings: Settings) -> None:
    from dataclasses import replace

    with TestClient(create_app(replace(db_settings, verify_rate_limit=2))) as client:
        url = "https://127.0.0.1:9/credential.json"
        statuses = [client.get("/verify", params={"url": url}).status_code for _ in range(3)]
        assert statuses == [422, 422, 429]
        assert client.get("/verify").status_code == 200  # the empty form is never limited


def test_a_credential_whose_keys_cannot_be_reached_could_not_be_checked(
    world: World,
    signing_key: SigningKey,
    unsigned_credential: dict,  # type: ignore[type-arg]
) -> None:
    """A did:web issuer whose DID document cannot be fetched (nothing listens on port 9): the
    page says "Could not be checked", never verified nor forged, and shows the claims as
    claims."""
    did = "did:web:127.0.0.1%3A9"
    unsigned_credential["issuer"] = {"id": did, "type": ["Profile"], "name": "Unreachable College"}
    unsigned_credential["validFrom"] = "2026-01-01T00:00:00Z"
    signed = add_proof(
        unsigned_credential,
        key=signing_key,
        verification_method=f"{did}#key-1",
        created=datetime.now(UTC),
        loader=load_document,
    )
    page = world.client.post("/verify", data={"credential": json.dumps(signed)}, headers=HTML)
    assert page.status_code == 200
    assert "– Could not be checked" in page.text
    assert "The keys Unreachable College publishes could not be reached." in page.text
    assert "What the document claims (not confirmed)" in page.text
    assert "it could not be confirmed" in page.text
    assert "What the credential says" not in page.text
    assert "✔ Verified" not in page.text and "✘ Not verified" not in page.text
    assert "Claims to be issued by" in page.text
