"""Which version of the key ring every instance should sign with.

Several instances share one key directory and one database. `issuer keys rotate` writes the
new public key, then the new private key (services/keyring.py), then bumps the one-row
counter here. Before an instance signs or publishes its DID document it reads the counter (one
primary-key lookup) and, when it moved, reloads the ring from disk. So after a rotation no
instance keeps signing with a key that another instance's DID document doesn't list, and no
instance needs a restart. A credential signed just before the bump used the old key, which
stays published for good: it verifies either way.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from math import inf
from typing import Generic, TypeVar

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from issuer.store.db import READ_ONLY
from issuer.store.models import KeyRingVersion

ROW = 1
Loaded = TypeVar("Loaded")
logger = logging.getLogger(__name__)


def bump(session: Session, now: datetime | None = None) -> int:
    """Record that the key files changed; the new version. Two rotations at once each get
    their own number (one conditional UPDATE, or the INSERT of the first)."""
    now = now or datetime.now(UTC)
    version = session.scalar(
        update(KeyRingVersion)
        .where(KeyRingVersion.id == ROW)
        .values(version=KeyRingVersion.version + 1, changed_at=now)
        .returning(KeyRingVersion.version)
    )
    if version is not None:
        return version
    try:
        with session.begin_nested():
            session.add(KeyRingVersion(id=ROW, version=1, changed_at=now))
    except IntegrityError:  # another rotation inserted it first
        return bump(session, now)
    return 1


_VERSION = select(KeyRingVersion.version).where(KeyRingVersion.id == ROW)  # built once


def current(engine: Engine) -> int:
    """The recorded version; 0 before any rotation was recorded."""
    # Read-only: on SQLite a plain BEGIN, never the write lock a request's own write session
    # may hold while it asks (that waited out the 30 s busy timeout).
    with engine.connect().execution_options(**{READ_ONLY: True}) as connection:
        version = connection.scalar(_VERSION)
    return version or 0


@dataclass
class Reloading(Generic[Loaded]):
    """What `load` made from the key ring (the issuer's identity), loaded again whenever the
    recorded version moves. Thread-safe: requests run in a thread pool.

    `get(max_age)` may use a version read up to `max_age` seconds ago. Signing can: for that
    long after a rotation an instance still signs with the old key, which stays published. The
    DID document can't (max_age 0): an instance that had not seen the rotation yet would serve
    a document without the key another instance already signs with.
    """

    load: Callable[[], Loaded]
    engine: Engine
    _loaded: tuple[int, Loaded] | None = None  # (version, value)
    _read_at: float = -inf  # time.monotonic() of the last read of the version
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fresh(self, max_age: float) -> bool:
        """Whether `get(max_age)` can answer from memory, without reading the database (an
        async caller then needs no worker thread)."""
        return self._loaded is not None and time.monotonic() - self._read_at < max_age

    def get(self, max_age: float = 0.0) -> Loaded:
        loaded = self._loaded
        if loaded is not None and time.monotonic() - self._read_at < max_age:
            return loaded[1]
        version, read_at = self._recorded(), time.monotonic()
        with self._lock:
            loaded = self._loaded
            if loaded is None or (version is not None and version != loaded[0]):
                loaded = self._loaded = (version or 0, self.load())
            self._read_at = read_at
            return loaded[1]

    def _recorded(self) -> int | None:
        """The version in the database, or None when it can't be read (a database from
        before migration 0016, or one that is away): then what is loaded stays in use."""
        try:
            return current(self.engine)
        except (OperationalError, ProgrammingError) as error:
            logger.warning("key ring version unreadable (%s)", type(error).__name__)
            return None
