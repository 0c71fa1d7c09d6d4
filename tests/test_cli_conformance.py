"""`issuer conformance check [FILE|--all]`: what 1EdTech's Issuer certification would fail,
printed, with exit status 1 when anything would (issue 18, item 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from issuer.certification import CONFORMANCE_RECIPIENT
from issuer.cli import app
from issuer.config import Settings
from tests.web.helpers import World, bearer


@pytest.fixture
def db_runner(
    db_settings: Settings, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> CliRunner:
    """The CLI on the database the `world` lives in."""
    monkeypatch.setenv("ISSUER_DATABASE_URL", db_settings.database_url)
    return runner


def signed(world: World) -> dict:  # type: ignore[type-arg]
    """A credential issued through the API, as a learner downloads it."""
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    response = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/ld+json"}
    )
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def test_everything_issued_and_revoked_passes(world: World, db_runner: CliRunner) -> None:
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    result = db_runner.invoke(app, ["conformance", "check", "--all"])
    assert result.exit_code == 0, result.output
    assert "2 checked: 2 pass, 0 would fail certification" in result.output
    # under did:key the VC-JWT download is EdDSA, which the validator refuses: said, not failed
    assert "warning     JWT alg: alg 'EdDSA'" in result.output

    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "error"},
        headers=bearer(world.coordinator),
    )
    assert revoked.status_code == 200
    again = db_runner.invoke(app, ["conformance", "check", "--all"])
    assert again.exit_code == 0, again.output
    assert "warning     status list: the list works; " in again.output


def test_a_file_not_issued_to_the_conformance_address_would_fail(
    world: World, db_runner: CliRunner, tmp_path: Path
) -> None:
    credential = signed(world)
    path = tmp_path / "badge.json"
    path.write_text(json.dumps(credential))
    ours = db_runner.invoke(app, ["conformance", "check", str(path)])
    assert ours.exit_code == 0, ours.output
    for name in ("OB 3.0 JSON Schema", "JSON-LD safe mode", "signature", "DID document"):
        assert f"passed      {name}: " in ours.output
    assert "passed      recipient: identified by emailAddress" in ours.output
    assert "passed      status list: " in ours.output

    recipient = ["--recipient", CONFORMANCE_RECIPIENT]
    wrong = db_runner.invoke(app, ["conformance", "check", str(path), *recipient])
    assert wrong.exit_code == 1
    assert "WOULD FAIL\n" in wrong.output
    assert f"failed      recipient: no emailAddress identifier is {CONFORMANCE_RECIPIENT}" in (
        wrong.output
    )
    learner = db_runner.invoke(
        app, ["conformance", "check", str(path), "--recipient", "lee@example.org"]
    )
    assert learner.exit_code == 0, learner.output


def test_a_tampered_or_unsafe_credential_would_fail(
    world: World, db_runner: CliRunner, tmp_path: Path
) -> None:
    credential = signed(world)
    tampered = {**credential, "name": "Something else"}
    path = tmp_path / "tampered.json"
    path.write_text(json.dumps(tampered))
    result = db_runner.invoke(app, ["conformance", "check", str(path)])
    assert result.exit_code == 1 and "failed      signature: proof" in result.output

    credential["credentialSubject"]["undefinedTerm"] = "x"
    path.write_text(json.dumps(credential))
    unsafe = db_runner.invoke(app, ["conformance", "check", str(path)])
    assert unsafe.exit_code == 1
    assert "failed      JSON-LD safe mode: property 'undefinedTerm'" in unsafe.output


@pytest.mark.usefixtures("dev_keys")
def test_an_eddsa_jwt_fails_and_an_es256_one_passes(
    runner: CliRunner,
    tmp_path: Path,
    unsigned_credential: dict,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unsigned = tmp_path / "u.json"
    unsigned.write_text(json.dumps(unsigned_credential))
    eddsa = tmp_path / "eddsa.jwt"
    assert (
        runner.invoke(
            app, ["sign", str(unsigned), "--format", "jwt", "--out", str(eddsa)]
        ).exit_code
        == 0
    )
    refused = runner.invoke(app, ["conformance", "check", str(eddsa)])
    assert refused.exit_code == 1, refused.output
    assert "failed      JWT alg: alg 'EdDSA': 1EdTech's validator accepts RS256 or ES256" in (
        refused.output
    )

    assert runner.invoke(app, ["keys", "generate", "--type", "p256", "--dev"]).exit_code == 0
    monkeypatch.setenv("ISSUER_DID", "did:web:badges.example.org")
    es256 = tmp_path / "es256.jwt"
    assert (
        runner.invoke(
            app, ["sign", str(unsigned), "--format", "jwt", "--out", str(es256)]
        ).exit_code
        == 0
    )
    accepted = runner.invoke(app, ["conformance", "check", str(es256)])
    assert accepted.exit_code == 0, accepted.output
    assert "passed      JWT alg: alg ES256" in accepted.output
    assert "passed      DID document: 2 assertionMethod entries" in accepted.output


def test_give_a_file_or_all(runner: CliRunner, tmp_path: Path) -> None:
    neither = runner.invoke(app, ["conformance", "check"])
    assert neither.exit_code == 2 and "give a credential file or --all" in neither.output
    both = runner.invoke(app, ["conformance", "check", str(tmp_path), "--all"])
    assert both.exit_code == 2
    junk = tmp_path / "junk.json"
    junk.write_text("not a credential")
    unreadable = runner.invoke(app, ["conformance", "check", str(junk)])
    assert unreadable.exit_code == 2 and "error: " in unreadable.output
