"""Per-client rate limits for sign-in and verification (sliding one-minute window).

In-process: each app process keeps its own counts, so with N processes a client gets at most N
times the limit; a front proxy (or a shared store) is the place for a global limit.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable

from fastapi import Request

from issuer.errors import RateLimited

WINDOW_SECONDS = 60.0


class RateLimiter:
    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def hit(self, bucket: str, client: str, per_minute: int) -> None:
        if per_minute <= 0:
            return
        now = time.monotonic()
        with self._lock:
            hits = self._hits[(bucket, client)]
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= per_minute:
                raise RateLimited(int(hits[0] + WINDOW_SECONDS - now) + 1)
            hits.append(now)


def limited(bucket: str, setting: str) -> Callable[[Request], None]:
    """A dependency counting this request against `bucket`'s limit (a Settings field)."""

    def check(request: Request) -> None:
        client = request.client.host if request.client else "unknown"
        limiter: RateLimiter = request.app.state.rate_limiter
        limiter.hit(bucket, client, getattr(request.app.state.settings, setting))

    return check
