"""Data at rest is for the issuer's account only: the SQLite database with its -wal and -shm
files, the outbox's .eml files and the keys are 0600 in 0700 directories, whatever the umask."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from issuer.services.mail import OutboxDirectory
from issuer.store.db import make_engine
from issuer.web.app import create_app
from tests.conftest import prepare_database
from tests.web.helpers import build_world


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_database_and_its_wal_and_shm_are_private(tmp_path: Path, umask: int) -> None:
    database = tmp_path / "data" / "issuer.db"
    engine = make_engine(f"sqlite:///{database}")
    try:
        with engine.begin() as connection:  # a write in WAL mode creates -wal and -shm
            connection.execute(text("CREATE TABLE t (secret TEXT)"))
            connection.execute(text("INSERT INTO t VALUES ('claim link')"))
        with engine.connect() as connection:  # they exist while a connection is open
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
            assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
    finally:
        engine.dispose()
    assert mode(database.parent) == 0o700


def test_database_files_left_readable_by_an_older_version_are_narrowed(tmp_path: Path) -> None:
    """Ours (same owner) and named by our configuration: made 0600. The existing directory is
    left alone (it may be shared); the files' own mode keeps their content private."""
    database = tmp_path / "issuer.db"
    tmp_path.chmod(0o755)
    old = sqlite3.connect(database)
    old.execute("PRAGMA journal_mode=WAL")
    old.execute("CREATE TABLE t (secret TEXT)")
    old.commit()
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    for file in files:
        file.chmod(0o644)
    try:
        make_engine(f"sqlite:///{database}").dispose()
        assert [mode(f) for f in files] == [0o600, 0o600, 0o600]
        assert mode(tmp_path) == 0o755
    finally:
        old.close()


def test_keys_are_private(tmp_path: Path, umask: int) -> None:
    ring = KeyRing(tmp_path / "config" / "keys")
    ring.generate(None, dev=True)
    assert mode(tmp_path / "config") == mode(ring.directory) == 0o700
    assert {p.name: mode(p) for p in ring.directory.iterdir()} == {
        "signing-key.pem": 0o600,
        "public-keys.json": 0o600,
    }


def test_outbox_messages_are_private(tmp_path: Path, umask: int) -> None:
    outbox = tmp_path / "data" / "outbox"
    message = EmailMessage()
    message["To"], message["Subject"] = "lee@example.org", "Your badge"
    message.set_content("https://issuer.example/claim/secret-token")
    OutboxDirectory(outbox).send(message)
    [eml] = outbox.iterdir()
    assert mode(eml) == 0o600 and mode(outbox) == mode(outbox.parent) == 0o700


def test_a_running_issuer_writes_nothing_others_can_read(tmp_path: Path, umask: int) -> None:
    """The whole of it: set up, issue a credential (its claim mail lands in the outbox) and
    look at every file and directory under the data and keys directories while the app runs."""
    settings = Settings(
        base_url="http://127.0.0.1:8000",
        data_dir=tmp_path / "data",
        keys_dir=tmp_path / "keys",
        database_url=f"sqlite:///{tmp_path / 'data' / 'issuer.db'}",
    )
    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        world.confirm_all()
        assert world.attest().status_code == 201
        written = {
            path.relative_to(tmp_path).as_posix(): mode(path)
            for root in (settings.data_dir, settings.keys_dir)
            for path in (root, *root.rglob("*"))
        }
    assert {"data/issuer.db-wal", "data/issuer.db-shm", "keys/signing-key.pem"} <= set(written)
    assert any(name.endswith(".eml") for name in written)
    assert {name: m for name, m in written.items() if m not in (0o600, 0o700)} == {}
