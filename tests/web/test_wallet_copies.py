"""Adding a credential to a wallet keeps every earlier copy valid (issue 15, item 9).

Binding once re-signed and overwrote the stored credential, so the JSON, PNG and SVG a learner
had already shared failed "differs from the credential this issuer recorded". Now the wallet
gets a bound copy (its own id and status index) and the award stays as issued; revoking the
award revokes both."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from issuer.baking.svg import extract_svg
from issuer.config import Settings
from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof
from issuer.status_list import StatusList
from issuer.web.app import create_app
from tests.web.helpers import World, bearer, build_world

WALLET = SigningKey.from_seed(b"\x44" * 32)
HOLDER = did_key(WALLET.multikey)
HTML = {"accept": "text/html"}


def did_auth(challenge: str, domain: str) -> dict[str, Any]:
    """What a VC-API wallet answers a DIDAuthentication request with."""
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": HOLDER,
    }
    return add_proof(
        presentation,
        key=WALLET,
        verification_method=f"{HOLDER}#{WALLET.multikey}",
        created=datetime.now(UTC),
        loader=load_document,
        proof_purpose="authentication",
        challenge=challenge,
        domain=domain,
    )


def into_wallet(world: World, credential_id: str) -> dict[str, Any]:
    started = world.client.post(
        f"/api/me/credentials/{credential_id}/exchanges", headers=bearer(world.learner)
    )
    assert started.status_code == 201, started.text
    exchange = started.json()["vcapi"].removeprefix("http://127.0.0.1:8000")
    request = world.client.post(exchange, json={}).json()["verifiablePresentationRequest"]
    answer = world.client.post(
        exchange,
        json={"verifiablePresentation": did_auth(request["challenge"], request["domain"])},
    )
    assert answer.status_code == 200, answer.text
    bound: dict[str, Any] = answer.json()["verifiablePresentation"]["verifiableCredential"][0]
    return bound


def verify(world: World, credential: object) -> dict[str, Any]:
    answer: dict[str, Any] = world.client.post(
        "/credentials/verify", json={"verifiableCredential": credential}
    ).json()
    return answer


def test_an_exchange_keeps_earlier_downloads_valid_and_revocation_reaches_both(
    world: World,
) -> None:
    world.confirm_all()
    issued = world.attest().json()
    credential_id, original = issued["id"], issued["credential"]
    page = f"/credentials/{credential_id}"
    shared_json = world.client.get(f"{page}/credential.json").json()
    shared_png = world.client.get(f"{page}/badge.png").content

    bound = into_wallet(world, credential_id)
    assert bound["credentialSubject"]["id"] == HOLDER
    assert bound["id"] != original["id"]
    index = bound["credentialStatus"]["statusListIndex"]
    assert index != original["credentialStatus"]["statusListIndex"]

    for before in (shared_json, original):
        report = verify(world, before)
        assert report["verified"], report["errors"]
        assert "records" in report["checks"]
    png = world.client.post(
        "/verify", files={"file": ("badge.png", shared_png, "image/png")}, headers=HTML
    )
    assert "✔ Verified" in png.text
    assert verify(world, bound)["verified"]

    # The learner sees the copy on their page; lists of awards do not count it twice.
    own = world.client.get(page, headers={**HTML, **bearer(world.learner)}).text
    assert "In your wallets" in own and HOLDER in own
    mine = world.client.get("/api/me/credentials", headers=bearer(world.learner)).json()
    assert len(mine) == 1
    listed = world.client.get("/api/credentials", headers=bearer(world.coordinator)).json()
    assert len(listed) == 1

    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "sign-off found to be invalid"},
        headers=bearer(world.coordinator),
    )
    assert revoked.status_code == 200
    bits = StatusList.decode(
        world.client.get("/status/1").json()["credentialSubject"]["encodedList"]
    )
    for credential in (original, bound):
        assert bits.get(int(credential["credentialStatus"]["statusListIndex"]))
        report = verify(world, credential)
        assert not report["verified"]
        assert any(e.get("code") == "REVOKED" for e in report["errors"]), report["errors"]


def test_making_the_award_private_hides_its_wallet_copies_too(world: World) -> None:
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    bound = into_wallet(world, credential_id)
    hidden = world.client.post(
        f"/api/me/credentials/{credential_id}/visibility",
        json={"public": False},
        headers=bearer(world.learner),
    )
    assert hidden.status_code == 200
    copy_page = bound["id"].removeprefix("http://127.0.0.1:8000")
    assert world.client.get(copy_page, headers=HTML).status_code == 404
    assert (
        json.loads(
            world.client.get(
                copy_page, headers={**bearer(world.learner), "accept": "application/json"}
            ).text
        )["id"]
        == bound["id"]
    )


@pytest.fixture
def suspending(db_settings: Settings) -> Iterator[World]:
    """The world of tests/web/helpers.py with suspension on: awards carry two status entries."""
    with TestClient(create_app(replace(db_settings, suspension=True))) as client:
        yield build_world(client, db_settings)


def status_bits(world: World, entry: dict[str, Any]) -> bool:
    """The bit of `entry` in the status list it names, as that list is published."""
    path = entry["statusListCredential"].removeprefix("http://127.0.0.1:8000")
    listing = world.client.get(path).json()["credentialSubject"]
    assert listing["statusPurpose"] == entry["statusPurpose"]
    return StatusList.decode(listing["encodedList"]).get(int(entry["statusListIndex"]))


def entries(credential: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = credential["credentialStatus"]
    return {e["statusPurpose"]: e for e in (status if isinstance(status, list) else [status])}


def test_suspending_the_award_suspends_its_wallet_copy_and_lifting_it_lifts_both(
    suspending: World,
) -> None:
    world = suspending
    world.confirm_all()
    issued = world.attest().json()
    credential_id, original = issued["id"], issued["credential"]
    bound = into_wallet(world, credential_id)
    mine, copy = entries(original), entries(bound)
    assert set(mine) == set(copy) == {"revocation", "suspension"}
    for purpose in ("revocation", "suspension"):
        assert copy[purpose]["statusListIndex"] != mine[purpose]["statusListIndex"]
        assert not status_bits(world, mine[purpose]) and not status_bits(world, copy[purpose])
    headers = bearer(world.coordinator)
    path = f"/api/credentials/{credential_id}"
    suspended = world.client.post(
        f"{path}/suspend", json={"reason": "under review"}, headers=headers
    )
    assert suspended.status_code == 200, suspended.text
    for credential in (original, bound):
        assert status_bits(world, entries(credential)["suspension"])
        assert not status_bits(world, entries(credential)["revocation"])
        report = verify(world, credential)
        assert report["verified"] is False
        assert {e.get("code") for e in report["errors"]} == {"SUSPENDED"}, report["errors"]

    lifted = world.client.post(f"{path}/unsuspend", headers=headers)
    assert lifted.status_code == 200, lifted.text
    for credential in (original, bound):
        assert not status_bits(world, entries(credential)["suspension"])
        report = verify(world, credential)
        assert report["verified"] is True, report["errors"]


def test_the_svg_downloaded_before_the_exchange_still_verifies(world: World) -> None:
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    page = f"/credentials/{credential_id}"
    shared = world.client.get(f"{page}/badge.svg")
    assert shared.status_code == 200 and shared.headers["content-type"].startswith("image/svg")
    baked = json.loads(extract_svg(shared.text) or "null")
    assert baked["id"].endswith(credential_id)

    bound = into_wallet(world, credential_id)
    assert bound["id"] != baked["id"]
    checked = world.client.post(
        "/verify", files={"file": ("badge.svg", shared.content, "image/svg+xml")}, headers=HTML
    )
    assert checked.status_code == 200 and "✔ Verified" in checked.text, checked.text[-2000:]
    report = verify(world, baked)
    assert report["verified"], report["errors"]
    assert "records" in report["checks"]
    # The download offered now is still the award as issued, not the wallet's copy.
    again = json.loads(extract_svg(world.client.get(f"{page}/badge.svg").text) or "null")
    assert again["id"] == baked["id"]


OPENID_WALLET = SigningKey.from_seed(b"\x55" * 32)
OPENID_HOLDER = did_key(OPENID_WALLET.multikey)
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def through_openid4vci(world: World, settings: Settings, credential_id: str) -> dict[str, Any]:
    """A wallet's OpenID4VCI run: offer (the transaction code by e-mail), token, nonce, and the
    credential for a proof of possession of the wallet's did:key."""
    offered = world.client.post(
        f"/api/me/credentials/{credential_id}/openid-offer", headers=bearer(world.learner)
    )
    assert offered.status_code == 201, offered.text
    document = world.client.get(
        offered.json()["credential_offer_uri"].removeprefix("http://127.0.0.1:8000")
    ).json()
    code = document["grants"][PRE_AUTHORIZED]["pre-authorized_code"]
    mails = [
        message_from_bytes(eml.read_bytes(), policy=policy.default)
        for eml in (settings.data_dir / "outbox").glob("*.eml")
    ]
    bodies = [str(m.get_body(("plain",)).get_content()) for m in mails]  # type: ignore[union-attr]
    [tx_code] = [body.split("wallet asks: ")[1][:6] for body in bodies if "wallet asks: " in body]
    granted = world.client.post(
        "/oid4vci/token",
        data={"grant_type": PRE_AUTHORIZED, "pre-authorized_code": code, "tx_code": tx_code},
    )
    assert granted.status_code == 200, granted.text
    c_nonce = world.client.post("/oid4vci/nonce").json()["c_nonce"]
    proof = jwt.encode(
        {"aud": "http://127.0.0.1:8000", "iat": int(time.time()), "nonce": c_nonce},
        OPENID_WALLET.private_key,
        algorithm="EdDSA",
        headers={
            "typ": "openid4vci-proof+jwt",
            "kid": f"{OPENID_HOLDER}#{OPENID_WALLET.multikey}",
        },
    )
    answer = world.client.post(
        "/oid4vci/credential",
        json={
            "credential_configuration_id": "OpenBadgeCredential_ldp_vc",
            "proofs": {"jwt": [proof]},
        },
        headers=bearer(granted.json()["access_token"]),
    )
    assert answer.status_code == 200, answer.text
    credential: dict[str, Any] = answer.json()["credentials"][0]["credential"]
    return credential


def test_an_openid4vci_copy_is_bound_keeps_earlier_downloads_valid_and_is_revoked_with_the_award(
    world: World, db_settings: Settings
) -> None:
    world.confirm_all()
    issued = world.attest().json()
    credential_id, original = issued["id"], issued["credential"]
    page = f"/credentials/{credential_id}"
    shared_json = world.client.get(f"{page}/credential.json").json()

    bound = through_openid4vci(world, db_settings, credential_id)
    assert bound["credentialSubject"]["id"] == OPENID_HOLDER
    assert bound["id"] != original["id"]
    index = bound["credentialStatus"]["statusListIndex"]
    assert index != original["credentialStatus"]["statusListIndex"]
    assert verify(world, bound)["verified"]
    for before in (shared_json, original):
        report = verify(world, before)
        assert report["verified"], report["errors"]
        assert "records" in report["checks"]
    own = world.client.get(page, headers={**HTML, **bearer(world.learner)}).text
    assert "In your wallets" in own and OPENID_HOLDER in own

    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "sign-off found to be invalid"},
        headers=bearer(world.coordinator),
    )
    assert revoked.status_code == 200, revoked.text
    for credential in (shared_json, bound):
        assert status_bits(world, credential["credentialStatus"])
        report = verify(world, credential)
        assert not report["verified"]
        assert any(e.get("code") == "REVOKED" for e in report["errors"]), report["errors"]
