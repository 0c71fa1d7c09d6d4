"""Fixtures that build real objects: settings on a temporary directory, the app, the CLI runner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from issuer.config import BUNDLED_FRAMEWORKS_DIR, Settings
from issuer.web.app import create_app

ROOT = Path(__file__).parent.parent
VECTORS = Path(__file__).parent / "vectors"
RADIOLOGY = BUNDLED_FRAMEWORKS_DIR / "radiologic-technologists-29-2034.00.json"
NUCLEAR = BUNDLED_FRAMEWORKS_DIR / "nuclear-medicine-technologists-29-2033.00.json"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        base_url="http://127.0.0.1:8000",
        data_dir=tmp_path / "data",
        keys_dir=tmp_path / "keys",
    )


@pytest.fixture
def client(settings: Settings) -> TestClient:
    return TestClient(create_app(settings))


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose ISSUER_* environment matches the `settings` fixture."""
    for name in ("BASE_URL", "DID", "KEY_PASSPHRASE", "DATABASE_URL"):
        monkeypatch.delenv(f"ISSUER_{name}", raising=False)
    monkeypatch.setenv("ISSUER_BASE_URL", settings.base_url)
    monkeypatch.setenv("ISSUER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISSUER_KEYS_DIR", str(settings.keys_dir))
    return CliRunner()


def framework_document(path: Path = RADIOLOGY) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text(encoding="utf-8"))


OB_VECTOR = json.loads(
    (VECTORS / "1edtech-ob-v3p0-spec/ob-eddsa-rdfc-2022-vector.json").read_text()
)
SEED = bytes(range(32))


@pytest.fixture
def signing_key():  # type: ignore[no-untyped-def]
    """A key from a fixed seed: real signatures, reproducible runs."""
    from issuer.keys import SigningKey

    return SigningKey.from_seed(SEED)


@pytest.fixture
def unsigned_credential() -> dict:  # type: ignore[type-arg]
    """The OB 3.0 specification's example credential, unsigned, without issuer and validFrom."""
    import copy

    document = copy.deepcopy(OB_VECTOR["unsecuredDocument"])
    del document["issuer"], document["validFrom"]
    return document


@pytest.fixture
def dev_keys(runner: CliRunner) -> None:
    from issuer.cli import app

    result = runner.invoke(app, ["keys", "generate", "--dev"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def realistic_credential() -> dict:  # type: ignore[type-arg]
    """An OB 3.0 credential as the issuer will make them (~8 KB): a level's Achievement, ten
    results, evidence and a status entry."""
    from tests.realistic import realistic_credential as build

    return build()
