"""Rate limits on sign-in and on the verify endpoints, per client address."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.app import create_app


def test_sign_in_is_limited_per_client(client: TestClient, settings: Settings) -> None:
    with TestClient(create_app(replace(settings, login_rate_limit=3))) as limited:
        attempts = [
            limited.post("/api/login", json={"email": "x@example.org", "password": "guess guess"})
            for _ in range(4)
        ]
        assert [r.status_code for r in attempts] == [401, 401, 401, 429]
        assert int(attempts[-1].headers["retry-after"]) >= 1
        assert (
            limited.post("/login", data={"email": "x@example.org", "password": "g"}).status_code
            == 429
        )


def test_verification_is_limited_per_client(client: TestClient, settings: Settings) -> None:
    with TestClient(create_app(replace(settings, verify_rate_limit=2))) as limited:
        codes = [
            limited.post("/credentials/verify", json={"verifiableCredential": {"a": 1}}).status_code
            for _ in range(3)
        ]
        assert codes == [400, 400, 429]
        assert limited.post("/verify", data={"credential": "{}"}).status_code == 429
