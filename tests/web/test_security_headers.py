"""Every route of the role matrix answers with the security headers: a strict CSP with a fresh
nonce, no framing, no sniffing, and no Referer from pages whose URL holds a secret."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize(("method", "path"), sorted(set(ACCESS) | set(PAGES)))
def test_every_route_sends_the_security_headers(
    setup: tuple[TestClient, dict[str, str]], method: str, path: str
) -> None:
    client, _ = setup
    url = re.sub(r"\{(\w+)\}", lambda m: SAMPLE[m.group(1)], path)
    response = client.request(method, url, json={}, follow_redirects=False)
    policy = policy_of(response)
    for directive in STRICT:
        assert directive in policy, (path, policy)
    scripts = re.search(r"script-src ([^;]+)", policy)
    assert scripts is not None and "'unsafe-inline'" not in scripts.group(1)
    assert "'unsafe-eval'" not in policy
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    secret = path.startswith(("/claim/", "/interactions/", "/exchanges/", "/oid4vci/"))
    expected = "no-referrer" if secret else "strict-origin-when-cross-origin"
    assert response.headers["referrer-policy"] == expected, path
    assert "strict-transport-security" not in response.headers  # plain http in tests


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
