"""Rate limits for sign-in and the verify endpoints, counted in the database
(services/ratelimit.py), so that every process and instance shares one count.

Whose count a request joins is decided here. The client address is the TCP peer, unless that
peer is one of ISSUER_TRUSTED_PROXIES: then it is the right-most X-Forwarded-For entry that is
not itself a trusted proxy. Each proxy appends the address it heard from, so that entry was
written by a proxy we trust; anything to its left is whatever the client chose to send.
Believing the header from anyone would let each client pick a fresh count per request;
believing nobody (as this did before ISSUER_TRUSTED_PROXIES) put everyone behind a proxy into one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from fastapi import Request
from sqlalchemy.orm import Session, sessionmaker

from issuer.services import accounts, ratelimit
from issuer.services.ratelimit import Hit
from issuer.store.db import transaction

PRUNE_EVERY_SECONDS = 60.0
Network = IPv4Network | IPv6Network


class RateLimiter:
    """The app's hold on the shared counters (`app.state.rate_limiter`): counts hits, each
    batch in a short transaction of its own, and now and then deletes old windows."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions  # store.db.counter_engine: beside SQLite, a file of its own
        self._next_prune = 0.0

    def count(self, keys: Sequence[tuple[str, str]], per_minute: int) -> list[Hit]:
        """One hit for each (bucket, key); RateLimited, counting none, when any is over."""
        now = datetime.now(UTC)
        with transaction(self.sessions) as session:
            hits = [ratelimit.hit(session, bucket, key, per_minute, now) for bucket, key in keys]
            # At most once a minute per process: old windows go without a job or a timer (two
            # threads passing here together only prune twice).
            if time.monotonic() >= self._next_prune:
                self._next_prune = time.monotonic() + PRUNE_EVERY_SECONDS
                ratelimit.prune(session, now)
        return hits


def client_address(peer: str, forwarded: Sequence[str], trusted: Sequence[Network]) -> str:
    """The client's address: `peer`, or behind trusted proxies the right-most entry of the
    X-Forwarded-For headers (`forwarded`, in order) that is not a trusted proxy itself.

    An entry that is not an IP address ends the walk at the hop to its right: a trusted proxy
    never writes one, so it came from the client. When every entry is a trusted proxy, the
    left-most is the client.
    """
    direct = _parse(peer)
    if not _trusted(direct, trusted):
        return str(direct) if direct is not None else peer
    address = peer
    hops = [hop.strip() for header in forwarded for hop in header.split(",") if hop.strip()]
    for hop in reversed(hops):
        parsed = _parse(hop)
        if parsed is None:
            break
        address = str(parsed)
        if not _trusted(parsed, trusted):
            break
    return address


def _parse(text: str) -> IPv4Address | IPv6Address | None:
    try:
        address = ip_address(text)
    except ValueError:
        return None
    if isinstance(address, IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped  # ::ffff:192.0.2.1 is 192.0.2.1
    return address


def _trusted(address: IPv4Address | IPv6Address | None, trusted: Sequence[Network]) -> bool:
    return address is not None and any(address in network for network in trusted)


def request_address(request: Request) -> str:
    peer = request.client.host if request.client else "unknown"
    trusted = request.app.state.settings.trusted_proxies
    return client_address(peer, request.headers.getlist("x-forwarded-for"), trusted)


def limited(bucket: str, setting: str) -> Callable[[Request], None]:
    """A dependency counting this request against `bucket`'s per-address limit (a Settings
    field, per minute; 0 is off). Counted before the request runs, so every attempt counts."""

    def check(request: Request) -> None:
        per_minute: int = getattr(request.app.state.settings, setting)
        if per_minute > 0:
            limiter: RateLimiter = request.app.state.rate_limiter
            keys = [(bucket, request_address(request))]
            limiter.count(keys, per_minute)

    return check


@dataclass(frozen=True, slots=True)
class SignInAttempt:
    """A sign-in attempt, counted against the account and the client address."""

    hits: list[Hit]
    limiter: RateLimiter | None = None

    def succeeded(self) -> None:
        """Only failures count: a success takes back its own hits, and nobody else's."""
        if self.limiter is not None and self.hits:
            with transaction(self.limiter.sessions) as session:
                ratelimit.forgive(session, *self.hits)


def sign_in_attempt(request: Request, email: str) -> SignInAttempt:
    """Count an attempt before the password is checked, so that guesses racing each other are
    all counted too; RateLimited when the account or the address is over the limit.

    Per account, because an attacker has many addresses; per address, because one address
    may try many accounts.
    """
    per_minute: int = request.app.state.settings.login_rate_limit
    if per_minute <= 0:
        return SignInAttempt([])
    keys = [
        ("sign-in account", accounts.sign_in_name(email)),
        ("sign-in address", request_address(request)),
    ]
    limiter: RateLimiter = request.app.state.rate_limiter
    return SignInAttempt(limiter.count(keys, per_minute), limiter)
