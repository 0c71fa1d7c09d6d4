"""Faults: a full disk gives a clear error and no half-written credential, on both backends.

The disk is real and really full: a small tmpfs (SQLite keeps its database and WAL there;
PostgreSQL gets a tablespace there for the credentials table), filled with a ballast file until
the kernel answers ENOSPC. Mounting needs root with CAP_SYS_ADMIN; without it those tests skip,
and a SQLite database capped at its current size (SQLITE_FULL, the code SQLite gives for a
full disk) stands in.
"""

from __future__ import annotations

import errno
import os
import pwd
import secrets
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, text

from issuer.config import Settings
from issuer.web.app import create_app
from tests.conftest import prepare_database
from tests.load.test_faults import counts
from tests.web.helpers import build_world

DISK_SIZE = "24m"


@pytest.fixture
def small_disk() -> Iterator[Path]:
    # Not under pytest's 0700 temporary directory: the PostgreSQL server (another user) must
    # reach it.
    mount_point = Path(tempfile.mkdtemp(prefix="issuer-disk-"))
    mount_point.chmod(0o755)
    owner = pwd.getpwnam("postgres").pw_uid if _has_user("postgres") else os.getuid()
    options = f"size={DISK_SIZE},uid={owner},mode=0777"
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        mount_point.rmdir()
        # Not a failure in CI either: containers without CAP_SYS_ADMIN cannot mount; the
        # page-capped SQLite test below still runs there.
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "--lazy", str(mount_point)], check=True)
        mount_point.rmdir()


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def fill(disk: Path) -> Path:
    """Write a ballast file until the filesystem is full; returns it (delete it to free)."""
    ballast = disk / "ballast"
    descriptor = os.open(ballast, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (1 << 20, 4096, 1):  # big blocks, then whatever the last ones leave
            try:
                while os.write(descriptor, b"\0" * size):
                    pass
            except OSError as error:
                assert error.errno == errno.ENOSPC
    finally:
        os.close(descriptor)
    return ballast


@pytest.fixture
def on_small_disk(db_settings: Settings, small_disk: Path) -> Iterator[Settings]:
    """The database's writes land on the small disk."""
    if db_settings.database_url.startswith("sqlite"):
        configured = replace(db_settings, database_url=f"sqlite:///{small_disk / 'issuer.db'}")
        prepare_database(configured)
        yield configured
        return
    space = f"small_{secrets.token_hex(4)}"
    (small_disk / "pg").mkdir()
    os.chown(small_disk / "pg", pwd.getpwnam("postgres").pw_uid, -1)
    admin = create_engine(
        db_settings.database_url.replace("postgresql://", "postgresql+psycopg://", 1),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as connection:
        connection.execute(text(f"CREATE TABLESPACE {space} LOCATION '{small_disk / 'pg'}'"))
        connection.execute(text(f"ALTER TABLE credentials SET TABLESPACE {space}"))
    try:
        yield db_settings
    finally:
        (small_disk / "ballast").unlink(missing_ok=True)
        with admin.connect() as connection:
            connection.execute(text("ALTER TABLE credentials SET TABLESPACE pg_default"))
            connection.execute(text(f"DROP TABLESPACE {space}"))
        admin.dispose()


def test_a_full_disk_refuses_clearly_and_stores_nothing(
    on_small_disk: Settings, small_disk: Path
) -> None:
    with TestClient(create_app(on_small_disk)) as client:
        world = build_world(client, on_small_disk)
        world.confirm_all()
        before = counts(on_small_disk)
        if on_small_disk.database_url.startswith("sqlite"):
            # An emptied WAL: the next write must take new space, as on a busy server.
            with sqlite3.connect(small_disk / "issuer.db") as database:
                database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        ballast = fill(small_disk)

        response = world.attest()
        assert response.status_code == 503
        assert response.json() == {"detail": "the database is out of space; nothing was stored"}
        ballast.unlink()
        assert counts(on_small_disk) == before  # no credential, no consumed confirmation, no mail
        assert world.attest().status_code == 201  # space freed: the same request now works


def test_a_database_at_its_size_cap_refuses_clearly_and_stores_nothing(
    settings: Settings,
) -> None:
    """Runs everywhere: SQLite's max_page_count makes the file full at its current size."""
    from issuer.services.keyring import KeyRing

    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    with TestClient(create_app(settings)) as client:
        world = build_world(client, settings)
        world.confirm_all()
        before = counts(settings)

        def cap(connection: sqlite3.Connection, _record: object) -> None:
            pages = connection.execute("PRAGMA page_count").fetchone()[0]
            connection.execute(f"PRAGMA max_page_count = {pages}")

        client.app.state.engine.dispose()  # type: ignore[attr-defined]
        event.listen(client.app.state.engine, "connect", cap)  # type: ignore[attr-defined]
        with sqlite3.connect(settings.database_url.removeprefix("sqlite:///")) as database:
            database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        response = world.attest()
        event.remove(client.app.state.engine, "connect", cap)  # type: ignore[attr-defined]
        client.app.state.engine.dispose()  # type: ignore[attr-defined]

        assert response.status_code == 503
        assert response.json() == {"detail": "the database is out of space; nothing was stored"}
        assert counts(settings) == before
        assert world.attest().status_code == 201
