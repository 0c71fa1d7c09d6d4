"""Engines and transactions: SQLite (a file, WAL mode) by default, PostgreSQL by URL.

Services never commit: an edge opens one `transaction()` per use case, so a use case is
stored whole or not at all. A SQLite database holds every learner's record: its files are
readable by their owner only.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from issuer.files import PRIVATE, make_directory
from issuer.store.models import RateLimitCounter

SQLITE_BUSY_TIMEOUT_MS = 30_000
POOL_SIZE = 20
POOL_OVERFLOW = 30


READ_ONLY = "issuer_read_only"


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get WAL, foreign keys and a generous busy timeout."""
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:" and not database.startswith("file:"):
            _private_database_file(Path(database))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            # As many connections as the server has worker threads: a request waiting for the
            # write lock holds its connection, and a smaller pool turns waiting into failing.
            pool_size=POOL_SIZE,
            max_overflow=POOL_OVERFLOW,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; we issue it ourselves so that a
        # transaction that will write takes the write lock up front (see `_sqlite_begin`).
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW)


def _private_database_file(path: Path) -> None:
    """Create the database file 0600 (in a 0700 directory, if we create that) before SQLite
    does, whatever the umask: SQLite gives its -wal and -shm files the database file's
    permissions, so this one mode covers all three. Files left by an older version (0644 under
    the usual umask) are narrowed to their owner if they are ours."""
    make_directory(path.parent, private=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
    except FileExistsError:
        for existing in (
            path,
            path.with_name(f"{path.name}-wal"),
            path.with_name(f"{path.name}-shm"),
        ):
            _owner_only(existing)


def _owner_only(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    mode = stat.S_IMODE(info.st_mode)
    if info.st_uid == os.getuid() and mode & 0o077:
        path.chmod(mode & 0o700)


def counter_engine(url: str, main: Engine) -> Engine:
    """Where rate-limit counters live: beside the data on PostgreSQL (a row upsert blocks no
    one), but in a file of their own beside a SQLite database. SQLite has one write lock per
    file, and a counted verification must not wait behind an issuance holding it."""
    database = make_url(url).database if url.startswith("sqlite") else None
    if not database or database == ":memory:" or database.startswith("file:"):
        return main
    path = Path(database)
    engine = make_engine(f"sqlite:///{path.with_name(path.stem + '-counters' + path.suffix)}")
    RateLimitCounter.__table__.create(engine, checkfirst=True)  # type: ignore[attr-defined]
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    connection.isolation_level = None  # we send BEGIN ourselves
    cursor = connection.cursor()
    # The busy timeout first: switching to WAL needs a lock that other processes may hold.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # IMMEDIATE: concurrent writers queue on the busy timeout instead of failing late with
    # "database is locked" when a read transaction tries to upgrade to a write. Read-only
    # sessions (which cannot write) take no lock: in WAL mode they run beside the writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read (verification, status lists). They refuse to
    flush, so a write can never slip into a transaction that holds no write lock."""
    factory = sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False)
    event.listen(factory, "before_flush", _refuse_writes)
    return factory


def _refuse_writes(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("a read-only session was asked to write")


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back on any exception."""
    with factory() as session, session.begin():
        yield session
