"""SQLite writers take turns on a lock that hands over at once (store/db.py WriterQueue)."""

from __future__ import annotations

import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from issuer.store import db
from issuer.store.db import make_engine


def test_racing_writers_all_get_their_turn_and_the_lock_file_is_private(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'issuer.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE counter (n INTEGER)"))
        connection.execute(text("INSERT INTO counter VALUES (0)"))

    def increment(_: int) -> None:
        for _ in range(10):
            with engine.begin() as connection:  # read, then write: lost updates without turns
                n = connection.execute(text("SELECT n FROM counter")).scalar_one()
                connection.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(increment, range(16)))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT n FROM counter")).scalar_one() == 160
    engine.dispose()
    lock = tmp_path / "data" / "issuer.db-writer.lock"
    assert stat.S_IMODE(lock.stat().st_mode) == 0o600


def test_a_writer_that_waits_too_long_fails_as_sqlite_would(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "SQLITE_BUSY_TIMEOUT_MS", 200)
    engine = make_engine(f"sqlite:///{tmp_path / 'issuer.db'}")
    holding, done = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE t (x INTEGER)"))
            holding.set()
            done.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    try:
        with pytest.raises(OperationalError, match="database is locked"), engine.begin() as c:
            c.execute(text("SELECT 1"))
    finally:
        done.set()
        holder.join()
    with engine.begin() as connection:  # the turn was given back
        connection.execute(text("INSERT INTO t VALUES (1)"))
    engine.dispose()
