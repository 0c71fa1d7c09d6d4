"""A small driver for the JSON API: real accounts, real tokens, real requests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services import accounts
from issuer.store.db import make_engine, session_factory, transaction

SOC = "29-2034.00"
LEVEL = "proficient"


def make_token(settings: Settings, email: str, name: str, roles: list[str]) -> str:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        user = accounts.create_user(
            session, email=email, name=name, roles=roles, password="correct horse battery"
        )
        token = accounts.create_token(session, user)
    engine.dispose()
    return token


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


@dataclass
class World:
    """A coordinator, a supervisor and a learner assigned to them, through the API."""

    client: TestClient
    coordinator: str
    supervisor: str
    learner: str
    learner_id: int
    supervisor_id: int

    def confirm(
        self, statement: int, token: str | None = None, learner_id: int | None = None, **extra: Any
    ) -> Any:
        body = {
            "soc": SOC,
            "level": LEVEL,
            "statement": statement,
            "observed_on": "2026-11-02",
            "method": "clinical-practice",
            "setting": "CT suite, St Example Hospital",
            **extra,
        }
        return self.client.post(
            f"/api/supervisor/learners/{learner_id or self.learner_id}/confirmations",
            json=body,
            headers=bearer(token or self.supervisor),
        )

    def confirm_all(self) -> None:
        for statement in range(1, 11):
            response = self.confirm(statement)
            assert response.status_code == 201, response.text

    def attest(self, token: str | None = None, learner_id: int | None = None) -> Any:
        return self.client.post(
            f"/api/supervisor/learners/{learner_id or self.learner_id}/attestations",
            json={"soc": SOC, "level": LEVEL},
            headers=bearer(token or self.supervisor),
        )


def build_world(client: TestClient, settings: Settings) -> World:
    coordinator = make_token(settings, "coord@example.org", "Casey Coordinator", ["coordinator"])
    headers = bearer(coordinator)
    learner = client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "lee@example.org",
            "name": "Lee Learner",
            "roles": ["learner"],
            "password": "learner-password-1",
        },
    )
    assert learner.status_code == 201, learner.text
    supervisor = client.post(
        "/api/users",
        headers=headers,
        json={
            "email": "sam@example.org",
            "name": "Dr Sam Müller",
            "roles": ["supervisor"],
            "password": "supervisor-pass-1",
        },
    )
    assert supervisor.status_code == 201, supervisor.text
    assigned = client.post(
        "/api/assignments",
        headers=headers,
        json={
            "learner_email": "lee@example.org",
            "supervisor_email": "sam@example.org",
            "soc": SOC,
        },
    )
    assert assigned.status_code == 201, assigned.text
    return World(
        client=client,
        coordinator=coordinator,
        supervisor=token_for(settings, "sam@example.org"),
        learner=token_for(settings, "lee@example.org"),
        learner_id=learner.json()["id"],
        supervisor_id=supervisor.json()["id"],
    )


def token_for(settings: Settings, email: str) -> str:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        token = accounts.create_token(session, accounts.user_by_email(session, email))
    engine.dispose()
    return token


def confirmed_learners(
    session: Any, coordinator: Any, supervisor: Any, count: int, first: int = 0
) -> list[int]:
    """`count` learners assigned to `supervisor`, every statement of LEVEL confirmed: ready for
    attestation (shared by the load tests and bench/http_load.py)."""
    from datetime import date

    from issuer.services import roster, signoff

    ids = []
    for n in range(first, first + count):
        learner = accounts.create_user(
            session, email=f"l{n}@example.org", name=f"Learner {n}", roles=["learner"]
        )
        roster.assign(
            session,
            coordinator,
            learner_email=learner.email,
            supervisor_email=supervisor.email,
            soc=SOC,
        )
        for statement in range(1, 11):
            signoff.confirm_statement(
                session,
                supervisor,
                learner_id=learner.id,
                soc=SOC,
                level=LEVEL,
                statement=statement,
                observed_on=date(2026, 11, 2),
                method="simulation",
                setting="Skills lab",
            )
        ids.append(learner.id)
    return ids


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(settings: Settings, port: int, workers: int = 2) -> Any:
    """`issuer serve --workers N` on 127.0.0.1 in its own process group (so a test can kill the
    whole server at once), ISSUER_* from `settings`, rate limits off; returns once it answers."""
    import os
    import subprocess
    import sys
    import time

    import httpx

    env = {
        **os.environ,
        "ISSUER_BASE_URL": settings.base_url,
        "ISSUER_DATABASE_URL": settings.database_url,
        "ISSUER_KEYS_DIR": str(settings.keys_dir),
        "ISSUER_DATA_DIR": str(settings.data_dir),
        "ISSUER_VERIFY_RATE_LIMIT": "0",
        "ISSUER_LOGIN_RATE_LIMIT": "0",
    }
    command = [sys.executable, "-m", "issuer", "serve", "--host", "127.0.0.1"]
    process = subprocess.Popen(
        [*command, "--port", str(port), "--workers", str(workers)],
        env=env,
        start_new_session=True,
    )
    for _ in range(300):
        try:
            httpx.get(f"http://127.0.0.1:{port}/issuer", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the server did not start within 30 s")
