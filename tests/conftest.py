"""Fixtures that build real objects: settings on a temporary directory, the app, the CLI runner."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Iterator
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
        database_url=f"sqlite:///{tmp_path / 'data' / 'issuer.db'}",
    )


@pytest.fixture
def client(settings: Settings) -> TestClient:
    """The app on a migrated SQLite file with the bundled frameworks imported."""
    prepare_database(settings)
    return TestClient(create_app(settings))


def prepare_database(settings: Settings) -> None:
    """Migrate and import the bundled frameworks, as `issuer setup` does."""
    from issuer.services import catalog
    from issuer.store import migrate
    from issuer.store.db import make_engine, session_factory, transaction

    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as session:
        for path in catalog.framework_files(BUNDLED_FRAMEWORKS_DIR):
            catalog.import_framework(
                session,
                path.read_bytes(),
                str(path),
                base_url=settings.base_url,
                creator=settings.issuer_profile(),
                language=settings.language,
            )
    engine.dispose()


@pytest.fixture
def runner(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """A CLI runner whose ISSUER_* environment matches the `settings` fixture."""
    for name in ("BASE_URL", "DID", "KEY_PASSPHRASE", "DATABASE_URL", "PROOFS", "JWT_ALG"):
        monkeypatch.delenv(f"ISSUER_{name}", raising=False)
    monkeypatch.setenv("ISSUER_BASE_URL", settings.base_url)
    monkeypatch.setenv("ISSUER_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("ISSUER_KEYS_DIR", str(settings.keys_dir))
    monkeypatch.setenv("ISSUER_DATABASE_URL", settings.database_url)
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


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a new PostgreSQL database.

    PostgreSQL comes from ISSUER_TEST_POSTGRES_URL (`.ci/postgres` starts one); CI fails
    without it, a laptop skips.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'issuer.db'}"
        return
    admin = os.environ.get("ISSUER_TEST_POSTGRES_URL")
    if not admin:
        if os.environ.get("CI"):
            pytest.fail("ISSUER_TEST_POSTGRES_URL is required in CI (see .ci/postgres)")
        pytest.skip('no PostgreSQL: run `eval "$(.ci/postgres)"` to test against one')
    with postgres_database(admin) as url:
        yield url


@contextlib.contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    """A new, empty PostgreSQL database on the server at `admin`; dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"issuer_test_{secrets.token_hex(6)}"
    admin_url = make_url(admin).set(drivername="postgresql+psycopg")
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin_url.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def db_settings(settings: Settings, database_url: str) -> Settings:
    """Settings on each database backend in turn, migrated, bundled frameworks imported,
    with a development signing key."""
    from dataclasses import replace

    from issuer.services.keyring import KeyRing

    configured = replace(settings, database_url=database_url)
    prepare_database(configured)
    KeyRing(configured.keys_dir).generate(None, dev=True)
    return configured


@pytest.fixture
def world(db_settings: Settings) -> Iterator[object]:
    """Coordinator, supervisor and learner (assigned) on each database backend."""
    from tests.web.helpers import build_world

    with TestClient(create_app(db_settings)) as client:
        yield build_world(client, db_settings)
