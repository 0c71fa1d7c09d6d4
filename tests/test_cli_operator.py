"""Operator CLI parity: db upgrade, users create, tokens create, frameworks import, setup."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuer.cli import app
from issuer.config import Settings
from issuer.store import migrate
from issuer.web.app import create_app
from tests.conftest import NUCLEAR, RADIOLOGY


def test_db_upgrade_then_users_tokens_and_frameworks(
    runner: CliRunner, settings: Settings, tmp_path: Path
) -> None:
    assert f"revision {migrate.head_revision()}" in runner.invoke(app, ["db", "upgrade"]).output
    created = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "Boss@Example.org",
            "--name",
            "Boss",
            "--role",
            "coordinator",
            "--password",
            "a long password",
        ],
    )
    assert created.exit_code == 0 and "boss@example.org: coordinator" in created.output
    token = runner.invoke(app, ["tokens", "create", "--user", "boss@example.org"]).output.strip()
    assert token.startswith("iss_")
    imported = runner.invoke(
        app, ["frameworks", "import", str(RADIOLOGY), str(NUCLEAR), "--validity-days", "730"]
    )
    assert imported.exit_code == 0, imported.output
    assert "29-2034.00 Radiologic Technologists and Technicians: 4 achievements" in imported.output
    again = runner.invoke(app, ["frameworks", "import", str(RADIOLOGY)])
    assert again.exit_code == 0  # the same file again changes nothing
    with TestClient(create_app(settings)) as client:
        frameworks = client.get("/api/frameworks", headers={"authorization": f"Bearer {token}"})
        assert frameworks.status_code == 200 and len(frameworks.json()) == 8


def test_bad_operator_input_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    runner.invoke(app, ["db", "upgrade"])
    short = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--role",
            "coordinator",
            "--password",
            "short",
        ],
    )
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    role = runner.invoke(
        app,
        [
            "users",
            "create",
            "--email",
            "a@example.org",
            "--name",
            "A",
            "--role",
            "king",
            "--password",
            "long enough pw",
        ],
    )
    assert role.exit_code == 2 and "roles must be among" in role.output
    assert runner.invoke(app, ["tokens", "create", "--user", "ghost@example.org"]).exit_code == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    result = runner.invoke(app, ["frameworks", "import", str(bad)])
    assert result.exit_code == 2 and "bad.json: $.schemaVersion" in result.output


def test_setup_dev_prepares_everything_once(runner: CliRunner, settings: Settings) -> None:
    first = runner.invoke(app, ["setup", "--dev"])
    assert first.exit_code == 0, first.output
    assert (
        "created signing key" in first.output
        and "sign in as coordinator@example.org" in first.output
    )
    password = first.output.split("with password ")[1].split()[0]
    second = runner.invoke(app, ["setup", "--dev"])
    assert second.exit_code == 0 and "sign in as" not in second.output
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/api/login", json={"email": "coordinator@example.org", "password": password}
        )
        assert login.status_code == 200
        assert client.get("/", headers={"accept": "text/html"}).text.count("<img ") == 8
