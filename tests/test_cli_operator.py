"""Operator CLI parity: db upgrade, users create and reset-password, tokens create, frameworks
import, setup, and what `make run` tells a newcomer every time."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuer.cli import app
from issuer.config import Settings
from issuer.store import migrate
from issuer.web.app import create_app
from tests.conftest import NUCLEAR, RADIOLOGY, prepare_database


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
    assert short.exit_code == 2 and "at least 12 characters" in short.output
    common = runner.invoke(
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
            "password1234",
        ],
    )
    assert common.exit_code == 2 and "this is a very common password" in common.output
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


def test_setup_dev_prepares_everything_once_and_says_how_to_get_in_every_time(
    runner: CliRunner, settings: Settings
) -> None:
    first = runner.invoke(app, ["setup", "--dev"])
    assert first.exit_code == 0, first.output
    assert (
        "created signing key" in first.output
        and "sign in as coordinator@example.org with password" in first.output
        and "at http://127.0.0.1:8000/login" in first.output
    )
    password = first.output.split("with password ")[1].split()[0]
    second = runner.invoke(app, ["setup", "--dev"])
    assert second.exit_code == 0 and "with password" not in second.output
    assert (
        "sign in as coordinator@example.org at http://127.0.0.1:8000/login; forgot the "
        "password? run `.venv/bin/issuer users reset-password --email coordinator@example.org`"
    ) in second.output
    with TestClient(create_app(settings)) as client:
        login = client.post(
            "/api/login", json={"email": "coordinator@example.org", "password": password}
        )
        assert login.status_code == 200
        home = client.get("/", headers={"accept": "text/html"}).text
        assert len(re.findall(r'<img src="[^"]+/achievements/[^"]+/image\.svg"', home)) == 8


def test_reset_password_prints_a_one_time_link_or_sets_one_typed(
    runner: CliRunner, settings: Settings
) -> None:
    assert runner.invoke(app, ["setup", "--dev"]).exit_code == 0
    printed = runner.invoke(app, ["users", "reset-password", "--email", "coordinator@example.org"])
    assert printed.exit_code == 0, printed.output
    link = printed.output.split()[-1]
    assert link.startswith("http://127.0.0.1:8000/account/reset/")
    path = link.removeprefix("http://127.0.0.1:8000")
    with TestClient(create_app(settings)) as client:
        form = {"password": "operator chosen words", "repeat": "operator chosen words"}
        assert client.post(path, data=form, follow_redirects=False).status_code == 303
        assert client.post(path, data=form, follow_redirects=False).status_code == 404
        client.cookies.clear()
        login = {"email": "coordinator@example.org", "password": "operator chosen words"}
        assert client.post("/api/login", json=login).status_code == 200
        client.cookies.clear()
        typed = runner.invoke(
            app,
            ["users", "reset-password", "--email", "coordinator@example.org", "--interactive"],
            input="typed at the prompt\ntyped at the prompt\n",
        )
        assert typed.exit_code == 0 and "password changed" in typed.output
        assert client.get("/api/whoami").status_code == 401  # every session ended
        login["password"] = "typed at the prompt"
        assert client.post("/api/login", json=login).status_code == 200
    weak = runner.invoke(
        app,
        ["users", "reset-password", "--email", "coordinator@example.org", "--interactive"],
        input="qwerty123456\nqwerty123456\n",
    )
    assert weak.exit_code == 2 and "too easy to guess" in weak.output
    nobody = runner.invoke(app, ["users", "reset-password", "--email", "ghost@example.org"])
    assert nobody.exit_code == 2 and "no user" in nobody.output


def test_serve_says_where_it_serves(settings: Settings) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from tests.web.helpers import free_port

    prepare_database(settings)
    port = free_port()
    environment = {
        **os.environ,
        "ISSUER_DATABASE_URL": settings.database_url,
        "ISSUER_DATA_DIR": str(settings.data_dir),
        "ISSUER_KEYS_DIR": str(settings.keys_dir),
    }
    command = [sys.executable, "-m", "issuer", "serve", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline() == f"serving on http://127.0.0.1:{port} (Ctrl-C stops it)\n"
        for _ in range(100):
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200
                break
            except httpx.ConnectError:
                time.sleep(0.1)
        else:
            raise AssertionError("nothing answered where it said it serves")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        server.stdout.close()  # type: ignore[union-attr]


def test_a_run_reads_its_settings_once(runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    """`issuer setup` runs `db upgrade` and `frameworks import` too: one reading for all."""
    from issuer import config

    reads: list[int] = []
    original = config.Settings.from_env.__func__  # type: ignore[attr-defined]

    def counted(cls: type[config.Settings], environ: object = None) -> config.Settings:
        reads.append(1)
        return original(cls, environ)  # type: ignore[no-any-return]

    monkeypatch.setattr(config.Settings, "from_env", classmethod(counted))
    result = runner.invoke(app, ["setup", "--dev"])
    assert result.exit_code == 0, result.output
    assert len(reads) == 1
