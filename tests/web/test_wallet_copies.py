"""Adding a credential to a wallet keeps every earlier copy valid (issue 15, item 9).

Binding once re-signed and overwrote the stored credential, so the JSON, PNG and SVG a learner
had already shared failed "differs from the credential this issuer recorded". Now the wallet
gets a bound copy (its own id and status index) and the award stays as issued; revoking the
award revokes both."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.proofs.data_integrity import add_proof
from issuer.status_list import StatusList
from tests.web.helpers import World, bearer

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
