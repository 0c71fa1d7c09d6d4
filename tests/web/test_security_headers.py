"""Every route of the role matrix answers with the security headers: a strict CSP with a fresh
nonce, no framing, no sniffing, and no Referer from pages whose URL holds a secret. Signed out
and signed in as a coordinator, and on the app's own 404, 405 and 413 answers."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.web.test_roles import ACCESS, PAGES, SAMPLE, setup

__all__ = ["setup"]

STRICT = (
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
)


def policy_of(response: object) -> str:
    return str(response.headers["content-security-policy"])  # type: ignore[attr-defined]


def assert_security_headers(response: object, path: str) -> None:
    """The headers every response must carry; `path` is the route's template."""
    headers = response.headers  # type: ignore[attr-defined]
    policy = policy_of(response)
    for directive in STRICT:
        assert directive in policy, (path, policy)
    scripts = re.search(r"script-src ([^;]+)", policy)
    assert scripts is not None and "'unsafe-inline'" not in scripts.group(1)
    assert "'unsafe-eval'" not in policy
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    secret = path.startswith(("/claim/", "/interactions/", "/exchanges/", "/oid4vci/"))
    expected = "no-referrer" if secret else "strict-origin-when-cross-origin"
    assert headers["referrer-policy"] == expected, path
    assert "strict-transport-security" not in headers  # plain http in tests


def url_of(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)


@pytest.mark.parametrize(("method", "path"), sorted(set(ACCESS) | set(PAGES)))
def test_every_route_sends_the_security_headers(
    setup: tuple[TestClient, dict[str, str]], method: str, path: str
) -> None:
    client, _ = setup
    response = client.request(method, url_of(path), json={}, follow_redirects=False)
    assert_security_headers(response, path)


@pytest.fixture
def coordinator(setup: tuple[TestClient, dict[str, str]]) -> Iterator[TestClient]:
    """The matrix's client with a coordinator's browser session (its cookie), cleared after."""
    client, _ = setup
    client.cookies.clear()
    signed_in = client.post(
        "/api/login",
        json={"email": "coordinator@example.org", "password": "correct horse battery"},
    )
    assert signed_in.status_code == 200, signed_in.text
    client.cookies.clear()
    client.cookies.set("issuer_session", signed_in.cookies["issuer_session"])
    try:
        yield client
    finally:
        client.cookies.clear()


GETS = sorted(path for method, path in set(ACCESS) | set(PAGES) if method == "GET")


def test_every_page_signed_in_as_a_coordinator_sends_the_security_headers(
    coordinator: TestClient,
) -> None:
    """A signed-in page renders more (the console's navigation, forms with CSRF tokens, the
    flash messages) than the sign-in redirect the signed-out pass mostly sees."""
    assert coordinator.get("/api/whoami").json()["roles"] == ["coordinator"]
    rendered = []
    for path in GETS:
        for accept in ("text/html", "application/json"):
            response = coordinator.get(
                url_of(path),
                params={"soc": SAMPLE["soc"]},
                headers={"accept": accept},
                follow_redirects=False,
            )
            assert response.status_code < 500, (path, accept, response.status_code)
            assert_security_headers(response, path)
            if response.status_code == 200 and "text/html" in response.headers["content-type"]:
                rendered.append(path)
    # The console's own pages were rendered for the coordinator, not redirected to sign-in.
    for page in ("/coordinator", "/coordinator/people", "/coordinator/audit", "/account/password"):
        assert page in rendered, (page, rendered)


def test_error_answers_send_the_security_headers(coordinator: TestClient) -> None:
    """The app's own 404, 405 and 413 (the body cap answers before any route runs)."""
    html = {"accept": "text/html"}
    over = b"{" + b" " * (1024 * 1024 + 1) + b"}"

    def chunked() -> Iterator[bytes]:  # no Content-Length: cut off as it passes the cap
        for _ in range(20):
            yield b" " * 65536

    answers = {
        "missing page": (coordinator.get("/no-such-page", headers=html), 404),
        "missing person": (coordinator.get("/coordinator/people/999999", headers=html), 404),
        "missing credential": (
            coordinator.get("/credentials/00000000-0000-0000-0000-000000000000", headers=html),
            404,
        ),
        "missing API route": (coordinator.get("/api/no-such-thing"), 404),
        "wrong method, page": (coordinator.put("/verify", headers=html), 405),
        "wrong method, API": (coordinator.delete("/api/users"), 405),
        "body over the cap": (
            coordinator.post(
                "/credentials/verify",
                content=over,
                headers={"content-type": "application/json"},
            ),
            413,
        ),
        "form over the cap": (
            coordinator.post(
                "/verify",
                content=over,
                headers={**html, "content-type": "application/x-www-form-urlencoded"},
            ),
            413,
        ),
        "chunked body over the cap": (
            coordinator.post(
                "/credentials/verify",
                content=chunked(),
                headers={"content-type": "application/json"},
            ),
            413,
        ),
    }
    for name, (response, status) in answers.items():
        assert response.status_code == status, (name, response.status_code, response.text[:300])
        assert_security_headers(response, "/")


def test_each_response_gets_its_own_nonce(setup: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = setup
    nonces = {
        re.search(r"'nonce-([^']+)'", policy_of(client.get("/verify"))).group(1)  # type: ignore[union-attr]
        for _ in range(5)
    }
    assert len(nonces) == 5


def test_hsts_over_https(setup: tuple[TestClient, dict[str, str]]) -> None:
    client, _ = setup
    secure = TestClient(client.app, base_url="https://badges.example.org")
    assert "max-age=" in secure.get("/verify").headers["strict-transport-security"]


def test_pages_carry_no_inline_script_or_style(setup: tuple[TestClient, dict[str, str]]) -> None:
    """Everything a page runs or styles comes from /static under a hashed, cached name."""
    client, _ = setup
    for path in ("/", "/verify", "/login", "/docs"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path
        assert "<style" not in page.text and " style=" not in page.text, path
        assert not re.search(r"\son[a-z]+=", page.text), path
        for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
            served = client.get(asset)
            assert served.status_code == 200, asset
            assert "immutable" in served.headers["cache-control"]
    assert client.get("/static/app.css").status_code == 404  # only hashed names are served
