"""The Open Badges API under attack: a hostile backpack answering the learner's push, racing
refreshes and disconnects, and requests built to break the parsers. Each test reproduces a
finding of the security review and fails without its fix.

The hostile backpack is a plain HTTP server on loopback whose answers each test sets; the
issuer is our app on each database (test_ob_api.site).
"""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from sqlalchemy import select

from issuer.services.obapi import consumer, scopes
from issuer.store.db import make_engine, session_factory
from issuer.store.models import ObProvider, ObPush
from tests.web import test_ob_api
from tests.web.helpers import bearer
from tests.web.test_ob_api import API, Browser, Site, imsx
from tests.web.test_ob_api_consumer import badge_of_lee

site = test_ob_api.site
ROUNDS = 6  # racing rounds per test: each lost race left a live token before the fixes
REFRESHES = 60  # the most refreshes an app makes while it is being disconnected


# ── a hostile backpack ──────────────────────────────────────────────────────────────────


@dataclass
class Hostile:
    """What the backpack answers: its discovery document with `flow` and `scheme` changed,
    or per path ("/discovery", "/register", "/token") a raw body; with `drip`, a byte at a
    time. `posted` the paths it was sent something at."""

    base: str = ""
    flow: dict[str, Any] = field(default_factory=dict)
    scheme: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    drip: float = 0.0
    posted: list[str] = field(default_factory=list)

    def discovery(self) -> bytes:
        flow = {
            "authorizationUrl": self.base + "/authorize",
            "tokenUrl": self.base + "/token",
            "scopes": {scopes.CREDENTIAL_UPSERT: "upsert"},
        } | self.flow
        scheme = {
            "type": "oauth2",
            "x-imssf-registrationUrl": self.base + "/register",
            "flows": {"authorizationCode": flow},
        } | self.scheme
        document = {
            "openapi": "3.0.1",
            "info": {"title": "Hostile Backpack"},
            "components": {"securitySchemes": {"OAuth2ACG": scheme}},
        }
        return json.dumps(document).encode()

    def answer(self, path: str) -> bytes:
        if path in self.raw:
            return self.raw[path]
        if path == "/discovery":
            return self.discovery()
        if path == "/register":
            return json.dumps({"client_id": "hostile", "client_secret": "s"}).encode()
        if path == "/token":
            return json.dumps({"access_token": "AT", "token_type": "Bearer"}).encode()
        return b"{}"


def _handler(hostile: Hostile) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            step = 1 if hostile.drip else max(len(body), 1)
            try:
                for at in range(0, len(body), step):
                    self.wfile.write(body[at : at + step])
                    self.wfile.flush()
                    time.sleep(hostile.drip)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the issuer gave up on us, as it should

        def do_GET(self) -> None:
            self._send(200, hostile.answer("/discovery"))

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            path = self.path.removeprefix(API).removeprefix("/oauth")
            hostile.posted.append(path)
            self._send(201 if path == "/register" else 200, hostile.answer(path))

    return Handler


@pytest.fixture
def hostile() -> Iterator[Hostile]:
    made = Hostile()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(made))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    made.base = f"http://127.0.0.1:{server.server_port}"
    yield made
    server.shutdown()
    server.server_close()


def send(browser: Browser, credential_id: str, backpack: str) -> httpx.Response:
    return browser.http.post(
        "/learner/backpacks/send",
        data={"csrf_token": browser.csrf, "credential_id": credential_id, "backpack": backpack},
    )


def flashed(browser: Browser) -> str:
    """The message the backpacks page shows once."""
    page = html.unescape(browser.http.get("/learner/backpacks").text)
    found = re.search(r"(Nothing was sent[^<]*|[^<>]*has your badge[^<]*)", page)
    return found.group(1) if found else page


def last_push(site: Site) -> ObPush:
    engine = make_engine(site.settings.database_url)
    with session_factory(engine)() as session:
        push = session.scalars(select(ObPush).order_by(ObPush.id.desc())).first()
    engine.dispose()
    assert push is not None
    return push


# ── F1, F4, F7: what a backpack answers the send ────────────────────────────────────────


@pytest.mark.parametrize(
    ("answers", "why"),
    [
        ({"raw": {"/discovery": b"[" * 300_000}}, "does not describe an Open Badges API"),
        ({"flow": {"scopes": 5}}, "does not describe an Open Badges API"),
        ({"flow": {"scopes": {}}}, "does not accept badges from elsewhere"),
        ({"raw": {"/register": b"[" * 300_000}}, "refused to register us"),
        (
            {"raw": {"/register": b'{"client_id": "%s", "client_secret": "s"}' % (b"c" * 256)}},
            "client id or secret over 255 characters",
        ),
        ({"flow": {"tokenUrl": "http://127.0.0.2:1/token"}}, "endpoint on another server"),
        ({"scheme": {"x-revocationUrl": "https://elsewhere.example/r"}}, "on another server"),
        ({"flow": {"authorizationUrl": "http://localhost/authorize"}}, "on another server"),
    ],
)
def test_fails_to_send_if_the_backpack_answers_what_it_should_not(
    site: Site, hostile: Hostile, answers: dict[str, Any], why: str
) -> None:
    """Too deeply nested JSON, a mistyped or missing scope list, an oversized client id, an
    endpoint on another origin (the mix-up attack): "Nothing was sent", never a 500; and
    nothing is registered with a backpack whose endpoints are elsewhere."""
    for name, value in answers.items():
        setattr(hostile, name, value)
    browser = site.learner()
    sent = send(browser, badge_of_lee(site), hostile.base)
    assert sent.status_code == 303, sent.text
    message = flashed(browser)
    assert message.startswith("Nothing was sent:") and why in message, message
    if "another server" in why:
        assert hostile.posted == []
    engine = make_engine(site.settings.database_url)
    with session_factory(engine)() as session:
        assert session.scalars(select(ObProvider)).all() == []
    engine.dispose()
    assert site.http.get(site.url(API + "/discovery")).status_code == 200


@pytest.mark.parametrize(
    "token_answer",
    [b"[" * 300_000, json.dumps({"access_token": {"a": 1}}).encode(), b'{"access_token": "a\\nb"}'],
)
def test_a_push_the_backpack_gives_no_usable_token_is_recorded_as_failed(
    site: Site, hostile: Hostile, token_answer: bytes
) -> None:
    """The push was spent when the learner came back: whatever the token endpoint answers,
    its outcome is recorded and the learner told, not left half-finished by a 500."""
    hostile.raw["/token"] = token_answer
    browser = site.learner()
    page = send(browser, badge_of_lee(site), hostile.base)
    assert page.status_code == 200, page.text
    link = re.search(r'href="([^"]*/authorize\?[^"]*)"', page.text)
    assert link
    state = parse_qs(urlsplit(html.unescape(link.group(1))).query)["state"][0]
    back = browser.http.get("/learner/backpacks/callback", params={"state": state, "code": "c"})
    assert back.status_code == 303, back.text
    assert flashed(browser).startswith("Nothing was sent: Hostile Backpack gave ")
    push = last_push(site)
    assert push.outcome == "failed" and push.completed_at and push.code_verifier is None
    assert "/credentials" not in hostile.posted


def test_a_dripping_backpack_holds_a_send_no_longer_than_its_deadline(
    site: Site, hostile: Hostile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Discovery, registration and the start of the authorization share one deadline: a
    backpack sending a byte every 0.2 s (its ~400-byte discovery document over a minute)
    has the send given up at the deadline, each byte in time for the per-read timeout."""
    monkeypatch.setattr(consumer, "SEND_SECONDS", 2.0)  # the app reads it at each send
    hostile.drip = 0.2
    browser = site.learner()
    credential_id = badge_of_lee(site)
    started = time.monotonic()
    sent = send(browser, credential_id, hostile.base)
    took = time.monotonic() - started
    assert sent.status_code == 303 and took < 8, (sent.status_code, took)
    assert "the time allowed for fetching ran out" in flashed(browser)
    assert site.http.get(site.url(API + "/discovery")).status_code == 200


# ── F7: registration and putProfile ─────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"jwks": {"keys": [{"kty": "oct", "k": "A" * 1000}] * 500}}, "invalid_client_metadata"),
        ({"jwks_uri": "https://backpack.example/jwks"}, "invalid_client_metadata"),
        ({"redirect_uris": ["https://backpack.example:99999/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://backpack.example:/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://backpack.example:0/cb"]}, "invalid_redirect_uri"),
        ({"client_uri": "https://backpack.example:70000/"}, "invalid_client_metadata"),
        ({"client_name": "Kcap\u202ekcab"}, "invalid_client_metadata"),
        ({"client_name": "Back\u2066pack\u2069"}, "invalid_client_metadata"),
        ({"client_name": "Back\u200fpack"}, "invalid_client_metadata"),
        ({"client_name": "Back\u061cpack"}, "invalid_client_metadata"),
    ],
)
def test_fails_to_register_if_the_request_holds_what_we_cannot_keep_or_show(
    site: Site, changes: dict[str, Any], error: str
) -> None:
    refused = site.register(**changes)
    assert refused.status_code == 400 and refused.json()["error"] == error, refused.text


def test_fails_to_put_a_profile_name_with_bidirectional_controls(site: Site) -> None:
    client = site.client()
    site.connect(client, site.learner())
    profile = client.get(site.url(API + "/profile")).json()
    for name in ("Lee \u202eLearner", "Lee\u2067 Learner", "Lee\u200e"):
        renamed = client.put(site.url(API + "/profile"), json=profile | {"name": name})
        imsx(renamed, 400, "invalid_data")
    assert client.get(site.url(API + "/profile")).json() == profile


# ── F9, F3: every error an Imsx_StatusInfo ──────────────────────────────────────────────


def test_errors_of_the_parsers_are_imsx_status_info(site: Site) -> None:
    """A body FastAPI cannot parse (nested past the recursion limit), and a `since` that a
    time zone moves out of the years a datetime holds: 400 Imsx_StatusInfo, not FastAPI's
    {"detail": …} or a plain-text 500."""
    json_type = {"content-type": "application/json"}
    for body in (b"[" * 300_000, b'{"a":' * 100_000):
        parsed = site.http.put(site.url(API + "/profile"), content=body, headers=json_type)
        imsx(parsed, 400, "invalid_data")
    client = site.client()
    site.connect(client, site.learner())
    for since in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        answered = client.get(site.url(API + "/credentials"), params={"since": since})
        imsx(answered, 400, "invalid_query_parameter")
    fine = client.get(site.url(API + "/credentials"), params={"since": "2000-01-01T00:00:00+14:00"})
    assert fine.status_code == 200, fine.text


# ── F5: refreshes racing each other and a disconnect ────────────────────────────────────


def race(count: int, send: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """`count` requests from `count` threads, released together by a barrier."""
    barrier = threading.Barrier(count, timeout=60)

    def run(n: int) -> httpx.Response:
        barrier.wait()
        return send(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_a_refresh_token_replayed_concurrently_revokes_what_the_winner_got(site: Site) -> None:
    """Two refreshes with one refresh token, at once: one wins, and the loser is a replay
    like any other, so the winner's new pair is revoked too (on PostgreSQL the loser failed
    in spend_refresh without revoking anything)."""
    client, browser = site.client(), site.learner()
    auth = (client.client_id, client.client_secret)
    for _ in range(ROUNDS):
        token = site.connect(client, browser)
        form = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"]}
        answers = race(
            2,
            lambda _, form=form: site.http.post(
                site.url(API + "/oauth/token"), data=form, auth=auth
            ),
        )
        assert sorted(a.status_code for a in answers) == [200, 400], [a.text for a in answers]
        [won] = [a.json() for a in answers if a.status_code == 200]
        used = site.http.get(site.url(API + "/profile"), headers=bearer(won["access_token"]))
        imsx(used, 401, "unauthorizedrequest")


def test_a_disconnect_racing_refreshes_leaves_no_token(site: Site) -> None:
    """The app refreshes again and again (each new refresh token at once) while the learner
    disconnects it: a disconnect landing inside a refresh must still revoke the pair that
    refresh inserts, so the app's next refresh is refused and its last token is dead. (On
    PostgreSQL the disconnect's UPDATE missed the uncommitted pair, and the app went on.)"""
    client, browser = site.client(), site.learner()
    auth = (client.client_id, client.client_secret)
    for _ in range(ROUNDS // 2):
        latest = dict(site.connect(client, browser))

        def act(n: int, latest: dict[str, Any] = latest) -> httpx.Response:
            if n == 1:
                time.sleep(0.1)  # a few refreshes in
                return browser.http.post(
                    f"/learner/backpacks/apps/{client.client_id}/disconnect",
                    data={"csrf_token": browser.csrf},
                )
            for _ in range(REFRESHES):
                form = {"grant_type": "refresh_token", "refresh_token": latest["refresh_token"]}
                answer = site.http.post(site.url(API + "/oauth/token"), data=form, auth=auth)
                if answer.status_code != 200:
                    break
                latest.update(answer.json())
            return answer

        refused, disconnected = race(2, act)
        assert disconnected.status_code == 303, disconnected.text
        assert refused.status_code == 400, "the app refreshed on after the disconnect"
        used = site.http.get(site.url(API + "/profile"), headers=bearer(latest["access_token"]))
        imsx(used, 401, "unauthorizedrequest")
    assert "No app has access" in browser.http.get("/learner/backpacks").text
