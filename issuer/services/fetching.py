"""Fetching what a user's input points at (did:web documents, credentials, status lists), safely.

HTTPS only, a short timeout, a size cap, few redirects each re-checked, and no private,
loopback or link-local addresses unless the operator allows them (tests serve on 127.0.0.1).
`within(seconds)` gives a fetcher whose every request, together, ends by one deadline: a
server that drips a byte every few seconds never holds a verification longer than that.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

import httpx

from issuer.errors import Unreachable

MAX_BYTES = 1_000_000
TIMEOUT_SECONDS = 5.0
MAX_REDIRECTS = 3


class FetchRefused(Unreachable):
    """A remote fetch refused by policy or failed; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Fetcher:
    allow_private: bool = False
    allow_http: bool = False
    # Host names exempt from the private-address rule (a test server on localhost), while every
    # other private address, including one a redirect points at, stays refused.
    allow_hosts: frozenset[str] = frozenset()
    max_bytes: int = MAX_BYTES
    timeout: float = TIMEOUT_SECONDS
    # time.monotonic() by which every fetch through this fetcher must be over (None: no limit)
    deadline: float | None = None

    def within(self, seconds: float) -> Fetcher:
        """This fetcher, with all of its fetches bounded by one deadline `seconds` from now."""
        return replace(self, deadline=time.monotonic() + seconds)

    def _remaining(self, url: str) -> float:
        if self.deadline is None:
            return self.timeout
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise FetchRefused(f"{url}: the time allowed for fetching ran out")
        return min(self.timeout, left)

    def get(self, url: str, accept: str = "application/json") -> bytes:
        for _ in range(MAX_REDIRECTS + 1):
            self._check(url)
            timeout = self._remaining(url)
            with httpx.Client(timeout=timeout, follow_redirects=False) as client:
                try:
                    with client.stream("GET", url, headers={"accept": accept}) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            continue
                        if response.status_code != 200:
                            raise FetchRefused(f"{url} answered HTTP {response.status_code}")
                        return self._read(url, response)
                except httpx.HTTPError as error:
                    raise FetchRefused(f"cannot fetch {url}: {type(error).__name__}") from None
        raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _read(self, url: str, response: httpx.Response) -> bytes:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchRefused(f"{url} sent more than {self.max_bytes} bytes")
            self._remaining(url)
        return bytes(body)

    def _check(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            raise FetchRefused(f"{url}: only https:// addresses are fetched")
        if not parts.hostname:
            raise FetchRefused(f"{url}: no host")
        if self.allow_private or parts.hostname in self.allow_hosts:
            return
        try:
            addresses = {
                info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)
            }
        except OSError:
            raise FetchRefused(f"{url}: cannot resolve {parts.hostname}") from None
        for address in addresses:
            ip = ipaddress.ip_address(str(address).split("%", 1)[0])
            if not ip.is_global:
                raise FetchRefused(f"{url}: {parts.hostname} is a private or local address")
