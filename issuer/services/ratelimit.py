"""Rate limits shared by every process and instance: hit counters in the database.

Each (bucket, key) counts its hits in fixed one-minute windows, one row per window, bumped by
one INSERT … ON CONFLICT … DO UPDATE … RETURNING. Concurrent hits from any process each get a
count of their own back, so no two of them see the same "still under the limit" (counts kept
in each process's memory gave `--workers N` N times the limit). A hit is allowed while

    hits of the previous window × the part of it still within the last minute + hits of this one

stays within the limit: the sliding-window estimate, which still catches a burst that straddles
a minute boundary and needs two rows per key instead of one per hit.

Keys are stored as SHA-256 digests, so this table holds no e-mail or IP address. A refused hit
raises RateLimited; the edge runs each hit in a short transaction of its own, which commits an
allowed hit even when the request then fails and rolls a refused one back (it counts nothing).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from fractions import Fraction

from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert

from issuer.errors import RateLimited
from issuer.store.models import RateLimitCounter

WINDOW = timedelta(minutes=1)
MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Hit:
    """One counted hit: what `forgive` needs to take it back."""

    bucket: str
    key_hash: str
    window_start: datetime


def window_start(now: datetime) -> datetime:
    """The start of the one-minute window holding `now` (whole minutes since the epoch)."""
    seconds = int(now.timestamp())
    return datetime.fromtimestamp(seconds - seconds % int(WINDOW.total_seconds()), UTC)


def hit(session: Session, bucket: str, key: str, per_minute: int, now: datetime) -> Hit:
    """Count one hit of `key` in `bucket`; RateLimited (and the caller rolls back) when it
    would take the key over `per_minute`."""
    counted = Hit(bucket, hashlib.sha256(key.encode("utf-8")).hexdigest(), window_start(now))
    hits = _bump(session, counted)
    previous = (
        session.scalar(
            select(RateLimitCounter.hits).where(
                RateLimitCounter.bucket == bucket,
                RateLimitCounter.key_hash == counted.key_hash,
                RateLimitCounter.window_start == counted.window_start - WINDOW,
            )
        )
        or 0
    )
    # Exact fractions: with floats, 3 × (1 - 1/3) + 1 came out above 3.
    elapsed = Fraction((now - counted.window_start) // MICROSECOND, WINDOW // MICROSECOND)
    if previous * (1 - elapsed) + hits > per_minute:
        raise RateLimited(retry_after(previous, hits - 1, per_minute, elapsed))
    return counted


def _bump(session: Session, counted: Hit) -> int:
    """Add one to the window's counter, creating it, in one statement on either database."""
    values = {
        "bucket": counted.bucket,
        "key_hash": counted.key_hash,
        "window_start": counted.window_start,
        "hits": 1,
    }
    key = ["bucket", "key_hash", "window_start"]
    more = {"hits": RateLimitCounter.hits + 1}
    statement: Insert
    if session.get_bind().dialect.name == "postgresql":
        upsert = postgresql.insert(RateLimitCounter).values(values)
        statement = upsert.on_conflict_do_update(index_elements=key, set_=more)
    else:
        upsert_ = sqlite.insert(RateLimitCounter).values(values)
        statement = upsert_.on_conflict_do_update(index_elements=key, set_=more)
    return int(session.execute(statement.returning(RateLimitCounter.hits)).scalar_one())


def retry_after(previous: int, hits: int, per_minute: int, elapsed: Fraction) -> int:
    """Whole seconds until one more hit fits, if nobody else hits the key meanwhile.

    `hits` are this window's allowed hits, `elapsed` the part of the window gone by.
    """
    if hits + 1 <= per_minute and previous:  # this window has room once the last one fades
        wait = 1 - Fraction(per_minute - hits - 1, previous) - elapsed
    else:  # in the next window, where this one's hits are the ones fading
        wait = 1 - elapsed + 1 - Fraction(per_minute - 1, max(hits, 1))
    return max(1, math.ceil(wait * int(WINDOW.total_seconds())))


def forgive(session: Session, *hits: Hit) -> None:
    """Take back counted hits (a sign-in that succeeded counts nothing); others' stay."""
    for counted in hits:
        session.execute(
            update(RateLimitCounter)
            .where(
                RateLimitCounter.bucket == counted.bucket,
                RateLimitCounter.key_hash == counted.key_hash,
                RateLimitCounter.window_start == counted.window_start,
                RateLimitCounter.hits > 0,
            )
            .values(hits=RateLimitCounter.hits - 1)
            .execution_options(synchronize_session=False)
        )


def prune(session: Session, now: datetime) -> None:
    """Delete the windows no estimate reads any more (through the index on window_start)."""
    session.execute(
        delete(RateLimitCounter)
        .where(RateLimitCounter.window_start < window_start(now) - WINDOW)
        .execution_options(synchronize_session=False)
    )
