"""Browser sessions: HttpOnly SameSite cookie, a fresh id at each login, CSRF on every change."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.app import create_app
from tests.web.helpers import make_token

CREDENTIALS = {"email": "coord@example.org", "password": "correct horse battery"}
NEW_USER = {"email": "new@example.org", "name": "New Learner", "roles": ["learner"]}


@pytest.fixture
def client(client: TestClient, settings: Settings) -> Iterator[TestClient]:
    make_token(settings, "coord@example.org", "Casey", ["coordinator"])
    with TestClient(create_app(settings)) as fresh:
        yield fresh


def test_login_sets_a_safe_cookie_and_returns_a_csrf_token(client: TestClient) -> None:
    response = client.post("/api/login", json=CREDENTIALS)
    assert response.status_code == 200
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert len(response.json()["csrf_token"]) > 30
    assert client.get("/api/whoami").json()["email"] == "coord@example.org"


def test_changes_need_the_csrf_token(client: TestClient) -> None:
    csrf = client.post("/api/login", json=CREDENTIALS).json()["csrf_token"]
    refused = client.post("/api/users", json=NEW_USER)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = client.post("/api/users", json=NEW_USER, headers={"x-csrf-token": "guess"})
    assert wrong.status_code == 403
    assert (
        client.post("/api/users", json=NEW_USER, headers={"x-csrf-token": csrf}).status_code == 201
    )


def test_each_login_gets_a_new_session_and_logout_ends_it(client: TestClient) -> None:
    first = client.post("/api/login", json=CREDENTIALS)
    second = client.post("/api/login", json=CREDENTIALS)
    assert first.cookies["issuer_session"] != second.cookies["issuer_session"]
    csrf = second.json()["csrf_token"]
    assert client.post("/api/logout", headers={"x-csrf-token": csrf}).status_code == 204
    client.cookies.set("issuer_session", second.cookies["issuer_session"])
    assert client.get("/api/whoami").status_code == 401


def test_secure_cookie_when_served_over_https(settings: Settings) -> None:
    from dataclasses import replace

    from tests.conftest import prepare_database

    https = replace(settings, base_url="https://badges.example.org")
    prepare_database(https)
    make_token(https, "coord@example.org", "Casey", ["coordinator"])
    with TestClient(create_app(https)) as client:
        assert "Secure" in client.post("/api/login", json=CREDENTIALS).headers["set-cookie"]
