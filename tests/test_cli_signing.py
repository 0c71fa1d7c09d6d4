"""`issuer keys`, `did`, `sign` and `verify`: round trips and exit codes 0 / 1 / 2."""

import base64
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from issuer.cli import app


@pytest.fixture
def unsigned(tmp_path: Path, unsigned_credential: dict) -> Path:  # type: ignore[type-arg]
    path = tmp_path / "u.json"
    path.write_text(json.dumps(unsigned_credential))
    return path


def test_keys_generate_needs_a_passphrase_or_dev(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 2
    assert "ISSUER_KEY_PASSPHRASE" in result.output


def test_encrypted_key_never_printed_and_needed_to_sign(
    runner: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
    unsigned: Path,
) -> None:
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "pass-phrase-42")
    result = runner.invoke(app, ["keys", "generate"])
    assert result.exit_code == 0 and "encrypted" in result.output
    assert "pass-phrase-42" not in result.output and "PRIVATE" not in result.output
    monkeypatch.setenv("ISSUER_KEY_PASSPHRASE", "wrong")
    result = runner.invoke(app, ["sign", str(unsigned)])
    assert result.exit_code == 2 and "wrong ISSUER_KEY_PASSPHRASE" in result.output
    assert "pass-phrase-42" not in result.output


@pytest.mark.usefixtures("dev_keys")
@pytest.mark.parametrize("form", ["di", "jwt", "vc+jwt"])
def test_sign_then_verify_round_trips(
    runner: CliRunner, tmp_path: Path, unsigned: Path, form: str
) -> None:  # type: ignore[type-arg]
    out = tmp_path / "signed"
    result = runner.invoke(app, ["sign", str(unsigned), "--format", form, "--out", str(out)])
    assert result.exit_code == 0, result.output
    verified = runner.invoke(app, ["verify", str(out), "--json"])
    assert verified.exit_code == 0, verified.output
    assert json.loads(verified.output)["verified"] is True


@pytest.mark.usefixtures("dev_keys")
def test_sign_sets_our_issuer_and_valid_from(
    runner: CliRunner, unsigned: Path, unsigned_credential: dict
) -> None:  # type: ignore[type-arg]
    unsigned_credential["issuer"] = "did:example:someone-else"
    unsigned.write_text(json.dumps(unsigned_credential))
    signed = json.loads(runner.invoke(app, ["sign", str(unsigned)]).output)
    did = json.loads(runner.invoke(app, ["did"]).output)["id"]
    assert signed["issuer"]["id"] == did and signed["issuer"]["type"] == ["Profile"]
    assert signed["validFrom"].endswith("Z")
    assert isinstance(signed["proof"], list)  # the OB 3.0 JSON Schema wants an array
    assert signed["proof"][0]["verificationMethod"].startswith(did + "#z6Mk")


@pytest.mark.usefixtures("dev_keys")
def test_verify_names_the_failed_check_and_exits_1(
    runner: CliRunner, tmp_path: Path, unsigned: Path
) -> None:  # type: ignore[type-arg]
    signed = json.loads(runner.invoke(app, ["sign", str(unsigned)]).output)
    signed["name"] = "Tampered"
    tampered = tmp_path / "t.json"
    tampered.write_text(json.dumps(signed))
    result = runner.invoke(app, ["verify", str(tampered)])
    assert result.exit_code == 1
    assert "NOT VERIFIED" in result.output and "failed      proof" in result.output


@pytest.mark.usefixtures("dev_keys")
def test_credentials_signed_before_rotation_still_verify(
    runner: CliRunner, tmp_path: Path, unsigned: Path
) -> None:  # type: ignore[type-arg]
    before = tmp_path / "before.json"
    assert runner.invoke(app, ["sign", str(unsigned), "--out", str(before)]).exit_code == 0
    assert runner.invoke(app, ["keys", "rotate", "--dev"]).exit_code == 0
    assert runner.invoke(app, ["verify", str(before)]).exit_code == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"{not json", "not JSON"), (b"[1]", "JSON object"), (b"\xff\xfe", "not UTF-8")],
)
def test_unreadable_input_exits_2(
    runner: CliRunner, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "c.json"
    path.write_bytes(content)
    result = runner.invoke(app, ["verify", str(path)])
    assert result.exit_code == 2 and message in result.output
    assert runner.invoke(app, ["verify", str(tmp_path / "absent.json")]).exit_code == 2


@pytest.mark.usefixtures("dev_keys")
def test_unknown_format_exits_2(runner: CliRunner, unsigned: Path) -> None:
    result = runner.invoke(app, ["sign", str(unsigned), "--format", "pdf"])
    assert result.exit_code == 2 and "unknown format 'pdf'" in result.output


# ── P-256: ES256 JWTs and ecdsa-rdfc-2019, under a did:web ──────────────────────────────

DID_WEB = "did:web:badges.example.org"


@pytest.fixture
def both_keys(runner: CliRunner, dev_keys: None, monkeypatch: pytest.MonkeyPatch) -> None:
    result = runner.invoke(app, ["keys", "generate", "--type", "p256", "--dev"])
    assert result.exit_code == 0 and "zDn" in result.output, result.output
    monkeypatch.setenv("ISSUER_DID", DID_WEB)


@pytest.mark.usefixtures("both_keys")
def test_did_web_document_lists_the_ed25519_and_the_p256_key(runner: CliRunner) -> None:
    document = json.loads(runner.invoke(app, ["did"]).output)
    keys = [m["publicKeyMultibase"] for m in document["verificationMethod"]]
    assert [key[:4] for key in keys] == ["z6Mk", "zDna"]
    assert len(document["assertionMethod"]) == 2


@pytest.mark.usefixtures("both_keys")
@pytest.mark.parametrize("form", ["jwt", "vc+jwt"])
def test_jwts_are_es256_under_did_web_and_verify(
    runner: CliRunner, tmp_path: Path, unsigned: Path, form: str
) -> None:
    out = tmp_path / "signed.jwt"
    result = runner.invoke(app, ["sign", str(unsigned), "--format", form, "--out", str(out)])
    assert result.exit_code == 0, result.output
    header = json.loads(base64.urlsafe_b64decode(out.read_text().split(".")[0] + "=="))
    assert header["alg"] == "ES256" and header["kid"].startswith(DID_WEB + "#zDn")
    verified = runner.invoke(app, ["verify", str(out), "--json"])
    assert verified.exit_code == 0, verified.output


@pytest.mark.usefixtures("both_keys")
def test_issuer_proofs_with_two_suites_signs_a_proof_set(
    runner: CliRunner, tmp_path: Path, unsigned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ISSUER_PROOFS", "eddsa-rdfc-2022,ecdsa-rdfc-2019")
    signed = json.loads(runner.invoke(app, ["sign", str(unsigned)]).output)
    assert [p["cryptosuite"] for p in signed["proof"]] == ["eddsa-rdfc-2022", "ecdsa-rdfc-2019"]
    path = tmp_path / "set.json"
    path.write_text(json.dumps(signed))
    assert runner.invoke(app, ["verify", str(path)]).exit_code == 0
    signed["name"] = "Tampered"
    path.write_text(json.dumps(signed))
    assert runner.invoke(app, ["verify", str(path)]).exit_code == 1


@pytest.mark.usefixtures("dev_keys")
def test_es256_under_did_key_is_refused_with_the_reason(
    runner: CliRunner, unsigned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert runner.invoke(app, ["keys", "generate", "--type", "p256", "--dev"]).exit_code == 0
    monkeypatch.setenv("ISSUER_JWT_ALG", "ES256")
    result = runner.invoke(app, ["sign", str(unsigned), "--format", "jwt"])
    assert result.exit_code == 2 and "did:web" in result.output
    monkeypatch.delenv("ISSUER_JWT_ALG")
    default = runner.invoke(app, ["sign", str(unsigned), "--format", "jwt"]).output
    assert json.loads(base64.urlsafe_b64decode(default.split(".")[0] + "=="))["alg"] == "EdDSA"


@pytest.mark.usefixtures("both_keys")
def test_rotating_the_p256_key_keeps_es256_jwts_verifying(
    runner: CliRunner, tmp_path: Path, unsigned: Path
) -> None:
    before = tmp_path / "before.jwt"
    assert (
        runner.invoke(
            app, ["sign", str(unsigned), "--format", "jwt", "--out", str(before)]
        ).exit_code
        == 0
    )
    rotated = runner.invoke(app, ["keys", "rotate", "--type", "p256", "--dev"])
    assert rotated.exit_code == 0 and "published keys: 3" in rotated.output
    assert runner.invoke(app, ["verify", str(before)]).exit_code == 0


def test_unknown_key_type_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(app, ["keys", "generate", "--type", "rsa", "--dev"])
    assert result.exit_code == 2 and "ed25519 or p256" in result.output
