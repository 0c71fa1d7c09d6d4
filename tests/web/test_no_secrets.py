"""No secret (password, token, private key, passphrase) in the logs of a full run, nor in an
error page or API response."""

from __future__ import annotations

import logging

import pytest
from typer.testing import CliRunner

from issuer.cli import app as cli
from issuer.services.keyring import KeyRing
from tests.web.helpers import World, bearer

PASSPHRASE = "passphrase-that-must-not-leak"


def test_a_full_run_logs_no_secret(
    world: World,
    db_settings,
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.DEBUG)
    secrets = [
        "learner-password-1",
        "supervisor-pass-1",
        world.coordinator,
        world.supervisor,
        world.learner,
        PASSPHRASE,
    ]
    responses = []
    responses.append(
        world.client.post(
            "/api/login", json={"email": "lee@example.org", "password": "learner-password-1"}
        )
    )
    responses.append(
        world.client.post(
            "/api/login", json={"email": "lee@example.org", "password": "supervisor-pass-1"}
        )
    )
    world.confirm_all()
    responses.append(world.attest())
    responses.append(world.client.get("/api/whoami", headers=bearer(world.coordinator)))
    responses.append(world.client.get("/api/whoami", headers=bearer(world.coordinator + "x")))
    monkeypatch.setenv("ISSUER_KEYS_DIR", str(tmp_path / "other-keys"))
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", PASSPHRASE)
    outputs = [runner.invoke(cli, ["keys", "generate"]).output]
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "wrong " + PASSPHRASE[::-1])
    outputs.append(runner.invoke(cli, ["did"]).output)
    private_pem = (tmp_path / "other-keys" / "signing-key.pem").read_text()
    key = KeyRing(db_settings.keys_dir).load(None)
    secrets += [private_pem.splitlines()[1], key.private_key.private_bytes_raw().hex()]
    everything = caplog.text + "".join(r.text for r in responses) + "".join(outputs)
    for secret in secrets:
        assert secret not in everything
