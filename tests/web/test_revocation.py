"""Revocation and suspension people understand (issue 16, item 4).

Revoking took one click with no word of what it does, the earner was never told, and the public
page said "Revoked" with neither date nor reason while still offering LinkedIn and downloads.
Now a page asks first and says what will happen; the learner gets an e-mail with the reason
(once: a repeated revocation changes nothing and sends nothing); the page shows when and why
and offers nothing to pass on, while the signed JSON stays at its URL for verifiers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.app import create_app
from tests.web.helpers import World, bearer, build_world
from tests.web.test_owner_page import (
    LEARNER_PASSWORD,
    browser,
    mails,
    owner_controls,
    text_part,
)

HTML = {"accept": "text/html"}
COORDINATOR_PASSWORD = "correct horse battery"  # tests/web/helpers.make_token


@pytest.fixture
def issued(world: World) -> tuple[World, str]:
    world.confirm_all()
    return world, world.attest().json()["id"]


@pytest.fixture
def suspending(db_settings: Settings) -> Iterator[tuple[World, str]]:
    with TestClient(create_app(replace(db_settings, suspension=True))) as client:
        world = build_world(client, db_settings)
        world.confirm_all()
        yield world, world.attest().json()["id"]


def to_learner(settings: Settings, subject: str) -> list[EmailMessage]:
    return [
        m
        for m in mails(settings)
        if m["to"] == "lee@example.org" and str(m["subject"]).strip().startswith(subject)
    ]


def today() -> str:
    """As the pages write a date: "2 November 2026", the day unpadded."""
    now = datetime.now(UTC)
    return f"{now.day} {now:%B %Y}"


def visible(html: str) -> str:
    """The page's text as a person reads it: no tags, whitespace collapsed (the console shows
    a status as a pill with its date and reason beside it)."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def assert_nothing_to_pass_on(html: str, credential_id: str) -> None:
    assert "linkedin.com" not in html
    assert '" download>' not in html  # no signed JSON, baked images, VC-JWT or PDF
    assert not owner_controls(html, credential_id)["wallet"]
    assert not owner_controls(html, credential_id)["openid"]
    assert "Take it with you" not in html


def test_revoking_from_the_page_asks_first_then_tells_the_learner(
    issued: tuple[World, str], db_settings: Settings
) -> None:
    world, credential_id = issued
    path = f"/credentials/{credential_id}"
    desk, csrf = browser(world, "coord@example.org", COORDINATOR_PASSWORD)
    listing = desk.get("/coordinator/credentials", headers=HTML).text
    assert f'href="/coordinator/credentials/{credential_id}/revoke"' in listing

    confirm = desk.get(f"/coordinator/credentials/{credential_id}/revoke", headers=HTML)
    assert confirm.status_code == 200
    assert (
        "Revoke “Radiologic Technologists and Technicians: Proficient” of Lee Learner?"
        in confirm.text
    )
    for consequence in (
        "Verifiers will see it as <strong>revoked</strong> from their next check",
        "The learner is told by e-mail",
        "<strong>This cannot be undone</strong>",
        "Every wallet copy of it is revoked too",
    ):
        assert consequence in confirm.text
    assert 'name="confirm" value="yes"' in confirm.text and "required" in confirm.text

    # Neither the confirmation page nor a post without `confirm=yes` changes anything.
    unconfirmed = desk.post(
        f"/coordinator/credentials/{credential_id}/revoke",
        data={"csrf_token": csrf, "reason": "sign-off found invalid"},
    )
    assert (
        unconfirmed.status_code == 200 and ">sign-off found invalid</textarea>" in unconfirmed.text
    )
    no_reason = desk.post(
        f"/coordinator/credentials/{credential_id}/revoke",
        data={"csrf_token": csrf, "reason": " ", "confirm": "yes"},
    )
    assert no_reason.status_code == 422 and "a reason is required" in no_reason.text
    assert "✔ Valid" in world.client.get(path, headers=HTML).text
    assert to_learner(db_settings, "Your badge was revoked") == []

    revoked = desk.post(
        f"/coordinator/credentials/{credential_id}/revoke",
        data={"csrf_token": csrf, "reason": "sign-off found invalid", "confirm": "yes"},
    )
    assert revoked.status_code == 200 and revoked.url.path == "/coordinator/credentials"
    assert "Done: revoked; the learner is told by e-mail." in revoked.text
    assert f"Revoked {today()} (sign-off found invalid)" in visible(revoked.text)

    [message] = to_learner(db_settings, "Your badge was revoked")
    body = text_part(message)
    assert "Radiologic Technologists and Technicians: Proficient" in str(message["subject"])
    assert f"was revoked on {today()}" in body and "Reason: sign-off found invalid" in body
    again = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "another reason"},
        headers=bearer(world.coordinator),
    )
    assert again.status_code == 200
    assert len(to_learner(db_settings, "Your badge was revoked")) == 1  # idempotent, no 2nd mail

    public = world.client.get(path, headers=HTML).text
    assert f"✘ Revoked on {today()}</strong>: sign-off found invalid" in public
    assert_nothing_to_pass_on(public, credential_id)
    signed = world.client.get(path, headers={"accept": "application/ld+json"})
    assert signed.status_code == 200 and signed.json()["id"].endswith(credential_id)

    owner, learner_csrf = browser(world, "lee@example.org", LEARNER_PASSWORD)
    own = owner.get(path, headers=HTML).text
    assert "✘ Revoked on" in own and "sign-off found invalid" in own
    assert_nothing_to_pass_on(own, credential_id)
    assert owner_controls(own, credential_id)["visibility"]  # may still hide it
    wallet = owner.post(f"{path}/wallet", data={"csrf_token": learner_csrf}, headers=HTML)
    assert wallet.status_code == 409


def test_a_revoked_credential_gets_no_new_claim_link(
    issued: tuple[World, str], db_settings: Settings
) -> None:
    world, credential_id = issued
    headers = bearer(world.coordinator)
    resend = f"/api/credentials/{credential_id}/resend"
    assert world.client.post(resend, headers=headers).status_code == 202
    claims = len(
        [m for m in mails(db_settings) if str(m["subject"]).strip().startswith("Your badge:")]
    )
    world.client.post(
        f"/api/credentials/{credential_id}/revoke", json={"reason": "error"}, headers=headers
    )
    refused = world.client.post(resend, headers=headers)
    assert refused.status_code == 409 and "revoked" in refused.json()["detail"]
    assert claims == len(
        [m for m in mails(db_settings) if str(m["subject"]).strip().startswith("Your badge:")]
    )
    desk, csrf = browser(world, "coord@example.org", COORDINATOR_PASSWORD)
    listing = desk.get("/coordinator/credentials", headers=HTML).text
    assert "Re-send claim link" not in listing and f"/{credential_id}/revoke" not in listing
    from_page = desk.post(
        f"/coordinator/credentials/{credential_id}/resend", data={"csrf_token": csrf}
    )
    assert from_page.status_code == 409


def test_suspending_from_the_page_asks_tells_shows_and_lifting_restores(
    suspending: tuple[World, str], db_settings: Settings
) -> None:
    world, credential_id = suspending
    path = f"/credentials/{credential_id}"
    desk, csrf = browser(world, "coord@example.org", COORDINATOR_PASSWORD)
    listing = desk.get("/coordinator/credentials", headers=HTML).text
    assert f'href="/coordinator/credentials/{credential_id}/suspend"' in listing
    confirm = desk.get(f"/coordinator/credentials/{credential_id}/suspend", headers=HTML).text
    assert (
        "Suspend “Radiologic Technologists and Technicians: Proficient” of Lee Learner?" in confirm
    )
    assert "until you lift the suspension" in confirm and "again when it is lifted" in confirm
    unconfirmed = desk.post(
        f"/coordinator/credentials/{credential_id}/suspend",
        data={"csrf_token": csrf, "reason": "under review"},
    )
    assert unconfirmed.status_code == 200 and "✔ Valid" in world.client.get(path, headers=HTML).text

    suspended = desk.post(
        f"/coordinator/credentials/{credential_id}/suspend",
        data={"csrf_token": csrf, "reason": "under review by the board", "confirm": "yes"},
    )
    assert "Done: suspended; the learner is told by e-mail." in suspended.text
    assert (
        f"Suspended since {today()}" in visible(suspended.text)
        and "Lift the suspension" in suspended.text
    )
    [message] = to_learner(db_settings, "Your badge is suspended")
    assert "Reason: under review by the board" in text_part(message)
    public = world.client.get(path, headers=HTML).text
    assert f"✘ Suspended since {today()}</strong>: under review by the board" in public
    assert_nothing_to_pass_on(public, credential_id)

    lifted = desk.post(
        f"/coordinator/credentials/{credential_id}/unsuspend",
        data={"csrf_token": csrf},
    )
    assert "Done: suspension lifted; the learner is told by e-mail." in lifted.text
    [message] = to_learner(db_settings, "Your badge is valid again")
    assert "no longer suspended" in text_part(message)
    owner, _ = browser(world, "lee@example.org", LEARNER_PASSWORD)
    own = owner.get(path, headers=HTML).text
    assert "✔ Valid" in own and "Suspended since" not in own
    assert all(owner_controls(own, credential_id).values())
    assert "Take it with you" in world.client.get(path, headers=HTML).text
    # Lifting twice changes nothing and tells nobody twice.
    world.client.post(
        f"/api/credentials/{credential_id}/unsuspend", headers=bearer(world.coordinator)
    )
    assert len(to_learner(db_settings, "Your badge is valid again")) == 1


def test_a_credential_without_a_suspension_entry_is_offered_revocation_only(
    issued: tuple[World, str],
) -> None:
    world, credential_id = issued
    desk, _ = browser(world, "coord@example.org", COORDINATOR_PASSWORD)
    assert "Suspend…" not in desk.get("/coordinator/credentials", headers=HTML).text
    confirm = desk.get(f"/coordinator/credentials/{credential_id}/suspend", headers=HTML).text
    assert "It can only be revoked." in confirm and 'name="confirm"' not in confirm
