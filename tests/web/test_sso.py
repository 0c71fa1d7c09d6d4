"""Single sign-on against a real OpenID provider: panva's certified oidc-provider
(tests/oidc/provider.mjs) on one loopback port, the app served by uvicorn on another, and every
redirect followed by hand, the provider's login form posted as a person would.

The provider's accounts: "known" (known@example.org, verified; a supervisor here), "stranger"
(stranger@example.org, verified; nobody here) and "unverified" (known@example.org, not
verified). Its spoiling clients sign ID tokens properly, then break them one way each.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.errors import InvalidInput
from issuer.services import accounts, audit, sso
from issuer.services.audit import AuditEntry
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.app import create_app
from tests.conftest import ROOT, prepare_database

OIDC = ROOT / "tests" / "oidc"
SECRET = "a client secret for tests only"  # as in provider.mjs
PASSWORD = "correct horse battery"


def missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (OIDC / "node_modules" / "oidc-provider").exists():
        return "run `npm ci` in tests/oidc (make test does)"
    return None


@pytest.fixture(scope="module")
def node() -> None:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the single sign-on tests must run in CI: {reason}")
    if reason:
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def provider(redirect_uri: str, log: Path, *flags: str) -> Iterator[str]:
    """The OpenID provider on loopback; yields its issuer URL.

    It starts in about half a second. Once in CI (stop 25) a provider printed nothing for 30 s
    and left only Node's version warning behind, so a start that fails is tried once more, and
    a second failure says how the process ended."""
    with ExitStack() as stack:
        issuer = started(stack, redirect_uri, log, flags) or started(
            stack, redirect_uri, log, flags
        )
        assert issuer, f"the provider did not start twice: {log.read_text()}"
        yield issuer


def started(stack: ExitStack, redirect_uri: str, log: Path, flags: tuple[str, ...]) -> str | None:
    """Starts one provider, stopped when `stack` closes; its issuer URL, or None (with the
    reason in `log`) if it did not print one within 45 s."""
    errors = stack.enter_context(log.open("a"))
    process = stack.enter_context(
        subprocess.Popen(
            ["node", str(OIDC / "provider.mjs"), redirect_uri, *flags],
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    )
    stack.callback(process.terminate)
    assert process.stdout is not None
    # poll, not select: a long test run may hold descriptors past select()'s 1024
    waiting = select.poll()
    waiting.register(process.stdout, select.POLLIN)
    line = process.stdout.readline() if waiting.poll(45_000) else ""
    if not line:
        process.kill()
        errors.write(f"\n[test] no issuer printed; exit status {process.wait()}\n")
        errors.flush()
        return None
    return str(re.search(r'"issuer":"([^"]+)"', line)[1])  # type: ignore[index]


@contextmanager
def serve(settings: Settings, port: int) -> Iterator[None]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class Site:
    """The app (at `base`) signing in with the provider (at `issuer`)."""

    base: str
    issuer: str
    settings: Settings
    http: httpx.Client

    def sign_in(self, account: str, next: str | None = None) -> httpx.Response:
        """From "Sign in with …" to the app's answer at /sso/callback (not followed)."""
        callback = self.callback_url(account, next)
        return self.http.get(callback)

    def callback_url(self, account: str, next: str | None = None) -> str:
        """Through the provider, its login form posted as `account`: the URL it sends the
        browser back to."""
        params = {"next": next} if next is not None else None
        response = self.http.get(f"{self.base}/sso/login", params=params)
        assert response.status_code == 303, response.text
        for _ in range(10):
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(f"{self.base}/sso/callback"):
                return location
            response = self.http.get(location)
            if response.status_code == 200:  # devInteractions' login form
                action = re.search(r'<form[^>]*action="([^"]+)"', response.text)
                assert action, response.text
                form = {"prompt": "login", "login": account, "password": "anything"}
                response = self.http.post(urljoin(str(response.url), action[1]), data=form)
            assert response.is_redirect, (response.status_code, response.text[:2000])
        raise AssertionError("the provider never sent the browser back")

    def audit(self, action: str, subject: str | None = None) -> list[AuditEntry]:
        engine = make_engine(self.settings.database_url)
        try:
            with transaction(session_factory(engine)) as session:
                return audit.events(session, action=action, subject=subject)
        finally:
            engine.dispose()


Start = Callable[..., Site]


@pytest.fixture
def site(node: None, tmp_path: Path) -> Iterator[Start]:
    """`site(client_id=…, create_accounts=…, claims_in_id_token=…, database_url=…)`: a
    provider and the app, with known@example.org a supervisor here."""
    with ExitStack() as stack:

        def start(
            client_id: str = "issuer",
            create_accounts: bool = False,
            claims_in_id_token: bool = False,
            database_url: str | None = None,
            **more: object,
        ) -> Site:
            port = free_port()
            base = f"http://127.0.0.1:{port}"
            flags = ["--claims-in-id-token"] if claims_in_id_token else []
            log = tmp_path / "provider.log"
            issuer = stack.enter_context(provider(f"{base}/sso/callback", log, *flags))
            settings = Settings(
                base_url=base,
                data_dir=tmp_path / "data",
                keys_dir=tmp_path / "keys",
                database_url=database_url or f"sqlite:///{tmp_path / 'data' / 'issuer.db'}",
                oidc_issuer=issuer,
                oidc_client_id=client_id,
                oidc_client_secret=SECRET,
                oidc_display_name="St Example Hospital",
                oidc_create_accounts=create_accounts,
                oidc_allow_loopback_http=True,
                **more,  # type: ignore[arg-type]
            )
            prepare_database(settings)
            add_person(settings, "known@example.org", "Kim Known", "supervisor")
            stack.enter_context(serve(settings, port))
            http = stack.enter_context(httpx.Client(follow_redirects=False, timeout=15))
            return Site(base, issuer, settings, http)

        yield start


def add_person(settings: Settings, email: str, name: str, role: str) -> None:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        accounts.create_user(session, email=email, name=name, roles=[role], password=PASSWORD)
    engine.dispose()


def signed_out(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert "issuer_session" not in response.cookies
    assert "Signing in with St Example Hospital did not work" in response.text


# ── the flow ──


@pytest.mark.parametrize("claims_in_id_token", [False, True], ids=["userinfo", "id-token"])
def test_a_known_person_signs_in_and_lands_on_their_home_page(
    site: Start, claims_in_id_token: bool, database_url: str
) -> None:
    """E-mail from UserInfo (OpenID Connect Core 5.4, the provider's default for the code flow)
    or from the ID token itself; on SQLite and PostgreSQL."""
    app = site(claims_in_id_token=claims_in_id_token, database_url=database_url)
    answer = app.sign_in("known")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/supervisor"
    assert answer.headers["referrer-policy"] == "no-referrer"
    home = app.http.get(f"{app.base}/supervisor")
    assert home.status_code == 200
    assert "Supervisor" in home.text
    [entry] = app.audit("login.sso")
    assert entry.actor == entry.subject == "known@example.org"
    assert entry.detail["issuer"] == app.issuer
    assert entry.detail["sub"] == "known"
    assert entry.detail["created"] is False


def test_the_authorization_request_carries_pkce_state_and_nonce(site: Start) -> None:
    app = site()
    response = app.http.get(f"{app.base}/sso/login")
    request = parse_qs(urlsplit(response.headers["location"]).query)
    assert response.headers["location"].startswith(f"{app.issuer}/auth?")
    assert request["response_type"] == ["code"]
    assert request["code_challenge_method"] == ["S256"]
    assert "openid" in request["scope"][0].split()
    assert request["redirect_uri"] == [f"{app.base}/sso/callback"]
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "Path=/sso" in cookie and "SameSite=lax" in cookie
    assert len(request["state"][0]) >= 32 and len(request["nonce"][0]) >= 32
    again = parse_qs(urlsplit(app.http.get(f"{app.base}/sso/login").headers["location"]).query)
    assert again["state"] != request["state"]
    assert again["nonce"] != request["nonce"]
    assert again["code_challenge"] != request["code_challenge"]


def test_the_session_works_and_signs_out(site: Start) -> None:
    app = site()
    app.sign_in("known")
    page = app.http.get(f"{app.base}/account/password")
    assert page.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    out = app.http.post(f"{app.base}/logout", data={"csrf_token": csrf[1]})
    assert out.status_code == 303
    assert app.http.get(f"{app.base}/supervisor").status_code == 303  # to /login again


def test_next_is_followed_on_this_site_only(site: Start) -> None:
    app = site()
    assert app.sign_in("known", next="/account/password").headers["location"] == (
        "/account/password"
    )
    for elsewhere in ("//evil.example/", "/\\evil.example/", "https://evil.example/"):
        assert app.sign_in("known", next=elsewhere).headers["location"] == "/supervisor"


# ── who is refused, and who is created ──


def test_an_unknown_verified_email_is_refused(site: Start) -> None:
    app = site()
    answer = app.sign_in("stranger")
    signed_out(answer)
    assert "there is no account for stranger@example.org here" in answer.text
    [entry] = app.audit("login.failed")
    assert entry.subject == "stranger@example.org"
    assert entry.detail["method"] == "sso"
    assert not app.audit("user.created", "stranger@example.org")


def test_an_unknown_verified_email_becomes_a_learner_when_allowed(
    site: Start, database_url: str
) -> None:
    app = site(create_accounts=True, database_url=database_url)
    answer = app.sign_in("stranger")
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/learner"
    assert app.http.get(f"{app.base}/learner").status_code == 200
    [created] = app.audit("user.created", "stranger@example.org")
    assert created.detail["roles"] == ["learner"]
    [entry] = app.audit("login.sso")
    assert entry.detail["created"] is True
    # The second time, the account is there: signed in, nobody new.
    app.http.cookies.clear()
    assert app.sign_in("stranger").headers["location"] == "/learner"
    assert len(app.audit("user.created", "stranger@example.org")) == 1
    assert len(app.audit("login.sso")) == 2


@pytest.mark.parametrize("create_accounts", [False, True])
def test_an_unverified_email_matches_nobody_and_creates_nobody(
    site: Start, create_accounts: bool
) -> None:
    """The provider's "unverified" account claims known@example.org, who exists here."""
    app = site(create_accounts=create_accounts)
    answer = app.sign_in("unverified")
    signed_out(answer)
    assert "has not verified an e-mail address of yours" in answer.text
    [entry] = app.audit("login.failed")
    assert entry.detail["sub"] == "unverified"
    assert not app.audit("login.sso")
    assert len(app.audit("user.created")) == 1  # known@example.org, by the test


# ── answers that are not the answer to our request ──


def test_fails_if_the_state_is_not_ours(site: Start) -> None:
    app = site()
    callback = app.callback_url("known")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    signed_out(app.http.get(forged))
    assert "not started here" in app.audit("login.failed")[0].detail["reason"]


def test_fails_if_the_answer_names_another_provider(site: Start) -> None:
    """RFC 9207's `iss` in the answer: a provider mix-up is caught before any code is spent."""
    app = site()
    callback = app.callback_url("known")
    signed_out(app.http.get(re.sub(r"iss=[^&]+", "iss=https%3A%2F%2Fimpostor.example", callback)))
    assert "another provider" in app.audit("login.failed")[0].detail["reason"]


def test_fails_if_another_browser_brings_the_answer(site: Start) -> None:
    """Login CSRF: an attacker's own code and state, opened in the victim's browser."""
    app = site()
    callback = app.callback_url("stranger")
    with httpx.Client(follow_redirects=False, timeout=15) as victim:
        signed_out(victim.get(callback))


def test_fails_if_the_answer_is_used_twice(site: Start) -> None:
    app = site()
    callback = app.callback_url("known")
    assert app.http.get(callback).status_code == 303
    app.http.cookies.delete("issuer_session")
    signed_out(app.http.get(callback))


def test_fails_if_the_code_was_issued_for_another_verifier(site: Start) -> None:
    """PKCE: a code stolen on its way back is worthless to a browser that did not start its
    request. Here a second sign-in replaces the first one's verifier; the first one's code,
    sent with the second one's state, is refused by the provider's token endpoint."""
    app = site()
    first = app.callback_url("known")
    second = app.http.get(f"{app.base}/sso/login").headers["location"]
    state = parse_qs(urlsplit(second).query)["state"][0]
    answer = app.http.get(re.sub(r"state=[^&]+", f"state={state}", first))
    signed_out(answer)
    assert app.audit("login.failed")[0].detail["reason"] == (
        "the provider refused the code (invalid_grant)"
    )


def test_fails_if_the_provider_refuses(site: Start) -> None:
    app = site()
    callback = app.callback_url("known")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    # A fresh flow whose answer is the provider's "access_denied" (the person said no).
    answer = app.http.get(
        f"{app.base}/sso/callback", params={"error": "access_denied", "state": state}
    )
    signed_out(answer)
    assert "access_denied" in answer.text


@pytest.mark.parametrize(
    ("client_id", "why"),
    [
        ("issuer-tampered", "bad_signature"),
        ("issuer-expired", "expired_token"),
        ("issuer-other-nonce", "invalid_claim"),
        ("issuer-other-audience", "invalid_claim"),
        ("issuer-other-issuer", "invalid_claim"),
        ("issuer-unsigned", "unsupported_algorithm"),
    ],
)
def test_fails_to_verify_if_the_id_token_is_spoiled(site: Start, client_id: str, why: str) -> None:
    app = site(client_id=client_id)
    signed_out(app.sign_in("known"))
    [entry] = app.audit("login.failed")
    assert entry.detail["reason"] == f"the ID token was refused ({why})"
    assert not app.audit("login.sso")


def test_failures_count_against_the_address(site: Start) -> None:
    app = site(login_rate_limit=2)
    for _ in range(2):
        signed_out(app.http.get(f"{app.base}/sso/callback", params={"state": "x", "code": "y"}))
    assert app.http.get(f"{app.base}/sso/callback").status_code == 429


# ── configuration ──


def test_the_sign_in_page_offers_the_institution_when_configured(site: Start) -> None:
    app = site()
    page = app.http.get(f"{app.base}/login", params={"next": "/learner"})
    assert 'id="sso"' in page.text
    assert 'href="/sso/login?next=/learner"' in page.text
    assert "Sign in with St Example Hospital" in page.text
    assert 'id="email"' in page.text and 'id="password"' in page.text


def test_without_configuration_there_is_no_single_sign_on(settings: Settings) -> None:
    prepare_database(settings)
    client = TestClient(create_app(settings))
    assert 'id="sso"' not in client.get("/login").text
    assert client.get("/sso/login", follow_redirects=False).status_code == 404
    assert client.get("/sso/callback").status_code == 404


@contextmanager
def discovery(document: Callable[[str], dict[str, object]]) -> Iterator[str]:
    """A loopback server answering discovery with `document(issuer)`; yields the issuer."""

    class Discovery(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps(document(issuer)).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Discovery) as server:
        issuer = f"http://127.0.0.1:{server.server_address[1]}"
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield issuer
        finally:
            server.shutdown()


def configured(settings: Settings, issuer: str) -> TestClient:
    prepare_database(settings)
    return TestClient(
        create_app(
            replace(
                settings,
                oidc_issuer=issuer,
                oidc_client_id="issuer",
                oidc_client_secret=SECRET,
                oidc_allow_loopback_http=True,
            )
        )
    )


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, 303),
        ({"issuer": "https://impostor.example"}, 502),
        ({"token_endpoint": "http://127.0.0.2:8080/token"}, 502),  # another host
        ({"jwks_uri": "https://127.0.0.1/jwks"}, 502),  # another port
        ({"userinfo_endpoint": "http://[::1]/userinfo"}, 502),
        ({"jwks_uri": None}, 502),
        ({"authorization_endpoint": "javascript:alert(1)"}, 502),
    ],
)
def test_a_provider_is_believed_only_about_itself(
    settings: Settings, change: dict[str, object], status: int
) -> None:
    """Discovery must name the configured issuer, and endpoints on its host only: nothing is
    fetched from anywhere else."""

    def document(issuer: str) -> dict[str, object]:
        found: dict[str, object] = {
            "issuer": issuer,
            "authorization_endpoint": f"{issuer}/auth",
            "token_endpoint": f"{issuer}/token",
            "jwks_uri": f"{issuer}/jwks",
        }
        return {key: value for key, value in (found | change).items() if value is not None}

    with discovery(document) as issuer:
        page = configured(settings, issuer).get("/sso/login", follow_redirects=False)
    assert page.status_code == status, page.text
    if status == 303:
        assert page.headers["location"].startswith(f"{issuer}/auth?")


def test_a_provider_that_does_not_answer_is_given_up_on(settings: Settings) -> None:
    """Discovery within the timeout: a provider that accepts the connection and never
    answers holds the sign-in page 5 seconds, not a worker thread for ever."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = configured(settings, f"http://127.0.0.1:{silent.getsockname()[1]}")
        began = time.monotonic()
        page = client.get("/sso/login", follow_redirects=False)
    assert page.status_code == 502
    assert "your institution cannot be reached just now" in page.text
    assert time.monotonic() - began < sso.TIMEOUT_SECONDS + 3


def test_a_provider_must_be_https(settings: Settings) -> None:
    configured = replace(
        settings,
        oidc_issuer="http://idp.example.org",
        oidc_client_id="issuer",
        oidc_client_secret=SECRET,
    )
    with pytest.raises(InvalidInput, match="https"):
        create_app(configured)
    # Not even on loopback, unless a test says so.
    with pytest.raises(InvalidInput, match="https"):
        create_app(replace(configured, oidc_issuer="http://127.0.0.1:9"))
    with pytest.raises(InvalidInput, match="https"):
        create_app(replace(configured, oidc_allow_loopback_http=True))


def test_a_provider_needs_a_client(settings: Settings) -> None:
    with pytest.raises(ValueError, match="CLIENT_ID"):
        replace(settings, oidc_issuer="https://idp.example.org", oidc_client_id="issuer")
    environment = {
        "ISSUER_OIDC_ISSUER": "https://idp.example.org",
        "ISSUER_OIDC_CLIENT_ID": "issuer",
        "ISSUER_OIDC_CLIENT_SECRET": SECRET,
        "ISSUER_OIDC_CREATE_ACCOUNTS": "true",
    }
    loaded = Settings.from_env(environment)
    assert loaded.oidc_create_accounts is True
    assert loaded.oidc_display_name == "your institution"
    assert SECRET not in repr(loaded)
