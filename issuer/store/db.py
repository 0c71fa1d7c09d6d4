"""Engines and transactions: SQLite (a file, WAL mode) by default, PostgreSQL by URL.

Services never commit: an edge opens one `transaction()` per use case, so a use case is
stored whole or not at all. A SQLite database holds every learner's record: its files are
readable by their owner only.
"""

from __future__ import annotations

import fcntl
import os
import select
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

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
        if database and database != ":memory:" and not database.startswith("file:"):
            writers = WriterQueue(Path(f"{database}-writer.lock"))
            event.listen(engine, "connect", writers.open)
            event.listen(engine, "begin", writers.enter, insert=True)
            event.listen(engine, "checkin", writers.leave)
            event.listen(engine, "close", writers.close)
        return engine
    url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(
        url, pool_size=POOL_SIZE, max_overflow=POOL_OVERFLOW, pool_recycle=POOL_RECYCLE_SECONDS
    )
    event.listen(engine, "checkout", _refuse_dropped)
    return engine


# Connections older than this are replaced: one that a firewall or load balancer dropped
# silently (no FIN, so `_refuse_dropped` cannot see it) is not kept for ever.
POOL_RECYCLE_SECONDS = 1800


def _refuse_dropped(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """pool_pre_ping's guard without its round trip: a pooled connection whose server went
    away (PostgreSQL restarted, the backend terminated) is replaced before any statement runs.

    An idle connection has nothing to read; the server closing it leaves its socket readable
    (the FATAL message, then end of file), which one zero-timeout poll sees. The pool replaces
    a connection refused with DisconnectionError and tries the next. pool_pre_ping's SELECT 1
    was two round trips per issuance, ~7 % of its CPU (bench/http_load.py)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise DisconnectionError("the connection is closed")
    try:
        poller = select.poll()
        poller.register(dbapi_connection.fileno(), select.POLLIN | select.POLLPRI)
        events = poller.poll(0)
    except (OSError, ValueError) as error:
        raise DisconnectionError(str(error)) from error
    if events:
        raise DisconnectionError("the server closed the connection, or sent what no one asked")


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


class WriterQueue:
    """Writers to one SQLite file take turns without SQLite's sleeping.

    SQLite's own wait for its write lock is a sleep that backs off to 25 ms a try: under load a
    writer slept on while the lock sat free, and two app processes kept 1.2 of 2 cores busy.
    Here the threads of a process queue on a lock that wakes the next one the moment it is
    given back, and only the thread at the head of that queue contends with other processes,
    on a lock file (flock), trying every half to two milliseconds. The turn is taken before
    BEGIN IMMEDIATE and given back when the connection returns to the pool, after its COMMIT
    or ROLLBACK; a writer that waits SQLITE_BUSY_TIMEOUT_MS in all fails as SQLite would.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._threads = threading.Lock()  # released by whichever thread checks the connection in

    def open(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[_LOCK_FILE] = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE)

    def close(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        self.leave(dbapi_connection, record)
        if _LOCK_FILE in record.info:
            os.close(record.info.pop(_LOCK_FILE))

    def enter(self, connection: Connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            return
        info = connection.connection._connection_record.info
        if info.get(_HOLDING) or _LOCK_FILE not in info:
            return
        deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
        if not self._threads.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise _locked()
        try:
            _flock_by(info[_LOCK_FILE], deadline)
        except BaseException:
            self._threads.release()
            raise
        info[_HOLDING] = True

    def leave(self, dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        if record.info.pop(_HOLDING, False):
            fcntl.flock(record.info[_LOCK_FILE], fcntl.LOCK_UN)
            self._threads.release()


def _flock_by(descriptor: int, deadline: float) -> None:
    delay = 0.0005
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise _locked() from None
            time.sleep(delay)
            delay = min(delay * 2, 0.002)


def _locked() -> OperationalError:
    return OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))


_LOCK_FILE = "issuer_writer_lock_file"
_HOLDING = "issuer_writer_lock_held"


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
    flush, so a write can never slip into a transaction that holds no write lock.

    On PostgreSQL they run without a transaction (AUTOCOMMIT): at READ COMMITTED, which is
    what the issuer runs at, each statement takes its own snapshot inside a transaction too,
    so the BEGIN and ROLLBACK around a request's reads were two round trips that changed
    nothing (~1 ms of each issuance, app and database, measured in process)."""
    options: dict[str, Any] = {READ_ONLY: True}
    if engine.dialect.name == "postgresql":
        options["isolation_level"] = "AUTOCOMMIT"
    factory = sessionmaker(engine.execution_options(**options), expire_on_commit=False)
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
