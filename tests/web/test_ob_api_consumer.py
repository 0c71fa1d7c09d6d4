"""A learner sends a badge to a backpack: this app as the Consumer of an Open Badges API.

The backpack is our own Service Provider, a second app served by uvicorn on another loopback
port with its own database, keys and account for the learner. The issuer runs on each
database; the flow is the one OB 3.0 §7 sets: discovery, dynamic registration (once per
backpack), authorization with PKCE through the learner's browser, then upsertCredential, which
the backpack verifies (the status list fetched from the issuer) before it keeps the badge.
Every request the backpack answers is checked against the specification as in test_ob_api.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.store.db import make_engine, session_factory
from issuer.store.models import HeldCredential, ObPush
from issuer.web.app import create_app
from tests.conftest import prepare_database
from tests.web import test_ob_api
from tests.web.helpers import bearer, build_world
from tests.web.test_ob_api import API, Browser, Recorder, Site, on_a_port, serving

site = test_ob_api.site  # the issuer: our app on loopback, on each database

CALLBACK = "/learner/backpacks/callback"
PASSWORD = "learner-password-1"


@pytest.fixture
def backpack(tmp_path: Path) -> Iterator[Site]:
    """Our Service Provider as somebody else's backpack (SQLite, its own keys and people)."""
    home = tmp_path / "backpack"
    (home / "data").mkdir(parents=True)
    settings = on_a_port(
        Settings(
            base_url="http://127.0.0.1:8000",
            data_dir=home / "data",
            keys_dir=home / "keys",
            database_url=f"sqlite:///{home / 'data' / 'backpack.db'}",
            issuer_name="Example Backpack",
        )
    )
    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    recorder = Recorder(create_app(settings))
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        with serving(settings, recorder) as base:
            made = Site(base, settings, world, recorder=recorder)
            yield made
            for opened in made.opened:
                opened.close()


def badge_of_lee(site: Site) -> str:
    """Lee's badge at the issuer: every statement confirmed, the level attested."""
    site.world.confirm_all()
    attested = site.world.attest()
    assert attested.status_code == 201, attested.text
    credential_id: str = attested.json()["id"]
    return credential_id


def start(issuer: Browser, credential_id: str, backpack: str) -> str:
    """Lee asks the issuer to send the badge; the link to the backpack's consent page."""
    page = issuer.http.post(
        "/learner/backpacks/send",
        data={"csrf_token": issuer.csrf, "credential_id": credential_id, "backpack": backpack},
    )
    assert page.status_code == 200, page.text
    found = re.search(r'<a class="button primary" href="([^"]+)">Continue to', page.text)
    assert found, page.text
    return html.unescape(found.group(1))


def send(site: Site, backpack: Site, credential_id: str, decision: str = "allow") -> str:
    """The whole push, as Lee's browsers make it; the issuer's backpacks page after it."""
    here, there = site.learner(), backpack.learner()
    url = start(here, credential_id, backpack.base)
    assert url.startswith(backpack.url(API + "/oauth/authorize?"))
    back = there.consent(url, decision)
    assert back.startswith(site.url(CALLBACK + "?"))
    done = here.http.get(back)
    assert done.status_code == 303 and done.headers["location"] == "/learner/backpacks"
    return str(here.http.get("/learner/backpacks").text)


def held(backpack: Site) -> list[HeldCredential]:
    engine = make_engine(backpack.settings.database_url)
    with session_factory(engine)() as session:
        rows = list(session.scalars(select(HeldCredential)))
    engine.dispose()
    return rows


def test_a_learner_sends_a_badge_to_a_backpack(site: Site, backpack: Site) -> None:
    credential_id = badge_of_lee(site)
    page = send(site, backpack, credential_id)
    assert "Example Backpack has your badge (added)" in page and "Added" in page

    # The backpack verified the badge and keeps it, exactly as signed, for its Lee.
    [kept] = held(backpack)
    issued = site.http.get(
        site.url(f"/credentials/{credential_id}"), headers={"accept": "application/json"}
    )
    assert json.loads(kept.document) == issued.json() and not kept.compact_jws
    assert kept.issuer_name == "Development Issuer"
    listed = backpack.learner().http.get("/learner/backpacks").text
    assert "Badges you keep here from elsewhere" in listed and "Development Issuer" in listed
    # We registered once, as ourselves, on our own host; and gave the token back at once.
    clients = backpack.http.get(
        backpack.url("/api/ob/clients"), headers=bearer(backpack.world.coordinator)
    ).json()
    assert [(c["name"], c["client_uri"]) for c in clients] == [
        ("Development Issuer", site.base + "/")
    ]
    assert "No app has access" in listed

    # Again: the backpack replaces its copy (200), and we do not register a second time.
    page = send(site, backpack, credential_id)
    assert "has your badge (updated)" in page
    assert len(held(backpack)) == 1
    assert (
        len(
            backpack.http.get(
                backpack.url("/api/ob/clients"), headers=bearer(backpack.world.coordinator)
            ).json()
        )
        == 1
    )
    # What the backpack answered us (not Lee's browser), each checked against the
    # specification: discovery, registration (once), the token, the upsert (created, then
    # replaced), the revocation.
    assert backpack.recorder is not None
    answers = [a for a in backpack.recorder.answers if a.url.path != API + "/oauth/authorize"]
    for answer in answers:
        backpack.checked(answer)
    asked = [(a.url.path.removeprefix(API), a.status_code) for a in answers]
    first = ["/discovery", "/oauth/register", "/oauth/token", "/credentials", "/oauth/revoke"]
    again = ["/discovery", "/oauth/token", "/credentials", "/oauth/revoke"]
    assert [path for path, _ in asked] == first + again
    assert [status for path, status in asked if path == "/credentials"] == [201, 200]


def test_a_learner_who_does_not_approve_sends_nothing(site: Site, backpack: Site) -> None:
    credential_id = badge_of_lee(site)
    page = send(site, backpack, credential_id, decision="deny")
    assert "Example Backpack did not take the badge" in page and "Not approved" in page
    assert held(backpack) == []


def test_an_answer_from_the_backpack_is_used_once(site: Site, backpack: Site) -> None:
    """The state is single-use and bound to the learner who started the push; the PKCE
    verifier is erased once used."""
    credential_id = badge_of_lee(site)
    here, there = site.learner(), backpack.learner()
    url = start(here, credential_id, backpack.base)
    back = there.consent(url)
    assert here.http.get(back).status_code == 303
    assert "has your badge (added)" in here.http.get("/learner/backpacks").text
    replayed = here.http.get(back)
    assert replayed.status_code == 303
    assert "used already or came too late" in here.http.get("/learner/backpacks").text
    forged = back.replace(parse_qs(urlsplit(back).query)["state"][0], "not-a-state")
    here.http.get(forged)
    assert "used already or came too late" in here.http.get("/learner/backpacks").text
    assert len(held(backpack)) == 1
    engine = make_engine(site.settings.database_url)
    with session_factory(engine)() as session:
        [push] = session.scalars(select(ObPush))
        assert push.code_verifier is None and push.outcome == "added" and push.used_at
    engine.dispose()


def test_fails_to_send_if_the_backpack_is_not_a_public_https_address(
    site: Site, backpack: Site
) -> None:
    """Backpack addresses go through the guarded fetcher: without ISSUER_ALLOW_PRIVATE_FETCH a
    loopback backpack is refused before anything is sent, as is plain http."""
    guarded = replace(site.settings, allow_private_fetch=False)
    with TestClient(create_app(guarded)) as app:
        signed_in = app.post("/api/login", json={"email": "lee@example.org", "password": PASSWORD})
        csrf = signed_in.json()["csrf_token"]
        for address, why in (
            (backpack.base.replace("http:", "https:"), "private or local address"),
            (backpack.base, "starts with https://"),
            ("https://backpack.example/?x=1", "such as https://backpack.example"),
        ):
            sent = app.post(
                "/learner/backpacks/send",
                data={"csrf_token": csrf, "credential_id": "x", "backpack": address},
                follow_redirects=False,
            )
            assert sent.status_code == 303, sent.text
            page = app.get("/learner/backpacks").text
            assert "Nothing was sent" in page and why in html.unescape(page), address
    assert held(backpack) == []
