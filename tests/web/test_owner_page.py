"""The learner's own credential page (issue 16, item 3).

The claim e-mail promises "add it to a wallet", but the page it leads to offered no wallet, no
OpenID4VCI offer and no private/public switch: those were API calls only. Now the owner, signed
in with a browser session, gets each as a button; nobody else sees them. Every page's header
names who is signed in and offers Sign out, never "Sign in".
"""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.routes.wallets import qr_svg
from tests.web.helpers import World, make_token
from tests.web.test_wallet_copies import HOLDER, did_auth

HTML = {"accept": "text/html"}
BASE = "http://127.0.0.1:8000"
LEARNER_PASSWORD = "learner-password-1"  # tests/web/helpers.build_world


@pytest.fixture
def issued(world: World) -> tuple[World, str]:
    world.confirm_all()
    return world, world.attest().json()["id"]


def browser(world: World, email: str, password: str) -> tuple[TestClient, str]:
    """A browser of its own (its own cookie jar), signed in: the client and its CSRF token."""
    client = TestClient(world.client.app)
    signed_in = client.post("/api/login", json={"email": email, "password": password})
    assert signed_in.status_code == 200, signed_in.text
    return client, signed_in.json()["csrf_token"]


def owner_controls(html: str, credential_id: str) -> dict[str, bool]:
    return {
        "wallet": f'action="/credentials/{credential_id}/wallet"' in html,
        "openid": f'action="/credentials/{credential_id}/openid-offer"' in html,
        "visibility": f'action="/credentials/{credential_id}/visibility"' in html,
        "copy link": 'data-copy="page-link"' in html,
        "linkedin": "https://www.linkedin.com/profile/add?" in html,
    }


def mails(settings: Settings) -> list[EmailMessage]:
    found = sorted((settings.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime)
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in found]


def text_part(message: EmailMessage) -> str:
    """The plain-text alternative (every message also has an HTML one)."""
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


def test_the_owner_gets_wallets_sharing_and_visibility_and_strangers_do_not(
    issued: tuple[World, str], db_settings: Settings
) -> None:
    world, credential_id = issued
    path = f"/credentials/{credential_id}"
    owner, _ = browser(world, "lee@example.org", LEARNER_PASSWORD)
    own = owner.get(path, headers=HTML)
    assert own.status_code == 200
    assert all(owner_controls(own.text, credential_id).values()), owner_controls(
        own.text, credential_id
    )
    assert 'class="button primary" href="https://www.linkedin.com/profile/add?' in own.text
    assert f'value="{BASE}{path}"' in own.text  # the link the copy button copies
    assert "<strong>Public</strong> (now)" in own.text and "Private page." not in own.text

    anonymous = world.client.get(path, headers=HTML).text
    make_token(db_settings, "other@example.org", "Other Learner", ["learner"])
    other, _ = browser(world, "other@example.org", "correct horse battery")
    another = other.get(path, headers=HTML).text
    for stranger in (anonymous, another):
        assert "✔ Valid" in stranger and "Lee Learner" in stranger
        assert not any(owner_controls(stranger, credential_id).values())
        assert f'href="{BASE}{path}/credential.json" download' in stranger  # verifiers may


def test_making_it_private_from_the_page_hides_it_from_everyone_else(
    issued: tuple[World, str],
) -> None:
    world, credential_id = issued
    path = f"/credentials/{credential_id}"
    owner, csrf = browser(world, "lee@example.org", LEARNER_PASSWORD)
    refused = owner.post(f"{path}/visibility", data={"public": "false"}, follow_redirects=False)
    assert refused.status_code == 403  # no CSRF token
    assert world.client.get(path, headers=HTML).status_code == 200

    hidden = owner.post(
        f"{path}/visibility", data={"public": "false", "csrf_token": csrf}, follow_redirects=False
    )
    assert hidden.status_code == 303 and hidden.headers["location"] == path
    own = owner.get(path, headers=HTML).text
    assert "Done: your badge page is private: only you can see it." in own
    assert "Private page." in own and "<strong>Private</strong> (now)" in own
    assert "Make it public" in own
    assert world.client.get(path, headers=HTML).status_code == 404
    assert world.client.get(path, headers={"accept": "application/ld+json"}).status_code == 404

    shown = owner.post(
        f"{path}/visibility", data={"public": "true", "csrf_token": csrf}, headers=HTML
    )
    assert "Done: your badge page is public" in shown.text and "Private page." not in shown.text
    assert world.client.get(path, headers=HTML).status_code == 200


def test_the_wallet_button_gives_a_qr_code_and_links_a_wallet_can_follow(
    issued: tuple[World, str],
) -> None:
    world, credential_id = issued
    owner, csrf = browser(world, "lee@example.org", LEARNER_PASSWORD)
    page = owner.post(f"/credentials/{credential_id}/wallet", data={"csrf_token": csrf})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    interaction_url = unescape(re.search(r'id="link" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    assert interaction_url.startswith(f"{BASE}/interactions/") and interaction_url.endswith(
        "?iuv=1"
    )
    assert qr_svg(interaction_url) in page.text  # the QR code encodes the interaction URL
    deep_link = unescape(
        re.search(r'href="(https://lcw\.app/request\.html\?[^"]+)"', page.text).group(1)
    )  # type: ignore[union-attr]
    assert "vc_request_url=" in deep_link and "challenge=" in deep_link
    assert f'href="/credentials/{credential_id}"' in page.text  # back to the badge
    assert "Signed in as <strong>Lee Learner</strong>" in page.text

    # The wallet: the interaction URL names the VC-API exchange; DIDAuth, then the credential.
    local = interaction_url.removeprefix(BASE)
    protocols = world.client.get(local, headers={"accept": "application/json"}).json()
    exchange = protocols["protocols"]["vcapi"].removeprefix(BASE)
    request = world.client.post(exchange, json={}).json()["verifiablePresentationRequest"]
    assert request["challenge"] in deep_link
    answer = world.client.post(
        exchange,
        json={"verifiablePresentation": did_auth(request["challenge"], request["domain"])},
    )
    assert answer.status_code == 200, answer.text
    bound: dict[str, Any] = answer.json()["verifiablePresentation"]["verifiableCredential"][0]
    assert bound["credentialSubject"]["id"] == HOLDER
    own = owner.get(f"/credentials/{credential_id}", headers=HTML).text
    assert "In your wallets" in own and HOLDER in own

    stranger = world.client.post(f"/credentials/{credential_id}/wallet", follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login")


def test_the_openid4vci_button_shows_the_offer_and_emails_the_code(
    issued: tuple[World, str], db_settings: Settings
) -> None:
    world, credential_id = issued
    owner, csrf = browser(world, "lee@example.org", LEARNER_PASSWORD)
    page = owner.post(f"/credentials/{credential_id}/openid-offer", data={"csrf_token": csrf})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    link = unescape(re.search(r'id="offer-link" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    assert link.startswith("openid-credential-offer://?credential_offer_uri=")
    assert qr_svg(link) in page.text
    assert "e-mailed you a 6-digit code" in page.text and "lee@example.org" in page.text

    [message] = [m for m in mails(db_settings) if "wallet" in m["subject"]]
    assert message["to"] == "lee@example.org"
    tx_code = text_part(message).split("wallet asks: ")[1][:6]
    assert tx_code.isdigit() and tx_code not in page.text

    offer_id = link.rsplit("%2F", 1)[1]
    offer = world.client.get(f"/oid4vci/offers/{offer_id}").json()
    grant = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    token = world.client.post(
        "/oid4vci/token",
        data={
            "grant_type": "urn:ietf:params:oauth:grant-type:pre-authorized_code",
            "pre-authorized_code": grant["pre-authorized_code"],
            "tx_code": tx_code,
        },
    )
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"


def test_the_header_names_who_is_signed_in(issued: tuple[World, str]) -> None:
    world, credential_id = issued
    anonymous = world.client.get(f"/credentials/{credential_id}", headers=HTML).text
    assert 'href="/login">Sign in</a>' in anonymous and "Sign out" not in anonymous

    owner, _ = browser(world, "lee@example.org", LEARNER_PASSWORD)
    for path in (f"/credentials/{credential_id}", "/learner"):
        page = owner.get(path, headers=HTML).text
        assert "Signed in as <strong>Lee Learner</strong>" in page, path
        assert 'href="/learner">Learner</a>' in page and ">Sign out</button>" in page, path
        assert 'href="/login"' not in page, path
    coordinator, _ = browser(world, "coord@example.org", "correct horse battery")
    page = coordinator.get(f"/credentials/{credential_id}", headers=HTML).text
    assert "Signed in as <strong>Casey Coordinator</strong>" in page
    assert 'href="/coordinator">Coordinator</a>' in page and 'href="/login"' not in page


def test_the_claim_and_verify_pages_name_who_is_signed_in(issued: tuple[World, str]) -> None:
    world, _ = issued
    owner, _ = browser(world, "lee@example.org", LEARNER_PASSWORD)
    for path in ("/claim/some-token", "/verify"):
        page = owner.get(path, headers=HTML).text
        assert "Signed in as <strong>Lee Learner</strong>" in page, path
        assert 'href="/login"' not in page, path
