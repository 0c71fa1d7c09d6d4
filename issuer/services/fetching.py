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
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

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
            target = self._checked(url)
            timeout = self._remaining(url)
            with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=True) as client:
                try:
                    with client.stream(
                        "GET",
                        target.pinned_url,
                        headers={"accept": accept, "host": target.host_header},
                        extensions=target.extensions,
                    ) as response:
                        if response.is_redirect and "location" in response.headers:
                            url = urljoin(url, response.headers["location"])
                            continue
                        if response.status_code != 200:
                            raise FetchRefused(f"{url} answered HTTP {response.status_code}")
                        return self._read(url, response)
                except httpx.HTTPError as error:
                    raise FetchRefused(f"cannot fetch {url}: {type(error).__name__}") from None
        raise FetchRefused(f"{url}: more than {MAX_REDIRECTS} redirects")

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str, bytes]:
        """POST `body` to `url` under the same checks, size cap and deadline as `get`: the
        status, content type and body of the answer, whatever its status. Redirects are not
        followed (a POST is not replayed elsewhere)."""
        target = self._checked(url)
        timeout = self._remaining(url)
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=True) as client:
            try:
                with client.stream(
                    "POST",
                    target.pinned_url,
                    content=body,
                    headers={**headers, "host": target.host_header},
                    extensions=target.extensions,
                ) as response:
                    content_type = response.headers.get("content-type", "")
                    return response.status_code, content_type, self._read(url, response)
            except httpx.HTTPError as error:
                raise FetchRefused(f"cannot reach {url}: {type(error).__name__}") from None

    def _read(self, url: str, response: httpx.Response) -> bytes:
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self.max_bytes:
                raise FetchRefused(f"{url} sent more than {self.max_bytes} bytes")
            self._remaining(url)
        return bytes(body)

    def _checked(self, url: str) -> _Target:
        """Where to connect for `url`: its host resolved ONCE, every address checked, and the
        connection pinned to a checked address (a second lookup could answer differently:
        DNS rebinding). TLS still names and verifies the host (SNI and certificate)."""
        parts = urlsplit(url)
        if parts.scheme != "https" and not (self.allow_http and parts.scheme == "http"):
            raise FetchRefused(f"{url}: only https:// addresses are fetched")
        host = parts.hostname
        if not host:
            raise FetchRefused(f"{url}: no host")
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchRefused(f"{url}: the port is not a number") from None
        addresses = _resolve(url, host, port)
        if not (self.allow_private or host in self.allow_hosts):
            for address in addresses:
                if is_internal(address):
                    raise FetchRefused(f"{url}: {host} is a private or local address")
        return _Target(parts.scheme, host, port, addresses[0], parts)


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str
    port: int
    address: IPAddress
    parts: SplitResult

    @property
    def pinned_url(self) -> str:
        literal = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return urlunsplit(self.parts._replace(netloc=f"{literal}:{self.port}"))

    @property
    def host_header(self) -> str:
        return self.parts.netloc.rsplit("@", 1)[-1]

    @property
    def extensions(self) -> dict[str, str]:
        """SNI names the host, so its certificate is the one checked (not the address's)."""
        if self.scheme != "https" or _is_literal(self.host):
            return {}
        return {"sni_hostname": self.host}


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# IPv6 forms that carry an IPv4 address: NAT64 (RFC 6052, RFC 8215) and IPv4-compatible (the
# deprecated ::/96). 6to4, Teredo and IPv4-mapped are decoded by the ipaddress module.
_EMBEDDING_NETWORKS = (
    ipaddress.IPv6Network("64:ff9b::/96"),
    ipaddress.IPv6Network("64:ff9b:1::/48"),
    ipaddress.IPv6Network("::/96"),
)


def is_internal(address: IPAddress) -> bool:
    """Whether `address` reaches this machine or a private network, directly or through an
    IPv6 form that embeds an internal IPv4 address (`64:ff9b::7f00:1` is 127.0.0.1 via NAT64,
    `::127.0.0.1` IPv4-compatible, `2002:7f00:1::` 6to4)."""
    if not address.is_global or address.is_multicast:
        return True
    if isinstance(address, ipaddress.IPv4Address):
        return False
    embedded: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        embedded.append(address.ipv4_mapped)
    if address.sixtofour is not None:
        embedded.append(address.sixtofour)
    if address.teredo is not None:
        embedded.extend(address.teredo)
    if any(address in network for network in _EMBEDDING_NETWORKS):
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return any(is_internal(inner) for inner in embedded)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _resolve(url: str, host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise FetchRefused(f"{url}: cannot resolve {host}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise FetchRefused(f"{url}: cannot resolve {host}")
    return addresses
