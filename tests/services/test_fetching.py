"""The bounded fetcher behind did:web resolution: tested against a real server on loopback."""

from __future__ import annotations

import ipaddress
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from issuer.services.fetching import Fetcher, FetchRefused, is_internal
from issuer.services.identity import make_resolver

DRIPPED: list[int] = []
DID_DOCUMENT = {"id": "did:web:example.org", "verificationMethod": [], "assertionMethod": []}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        port = self.server.server_address[1]
        if self.path == "/ok":
            self._send(json.dumps(DID_DOCUMENT).encode())
        elif self.path == "/huge":
            self.send_response(200)
            self.end_headers()
            chunk = b"x" * 65536
            for _ in range(64):  # 4 MB, bounded
                self.wfile.write(chunk)
        elif self.path == "/hang":
            time.sleep(3)
            self._send(b"{}")
        elif self.path == "/drip":
            # One byte every 0.2 s for up to 20 s: every read is quick, the whole is not.
            self.send_response(200)
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b" ")
                self.wfile.flush()
                DRIPPED.append(1)
                time.sleep(0.2)
        elif self.path.startswith("/loop"):
            self._redirect(f"http://127.0.0.1:{port}/loop")
        elif self.path == "/to-ftp":
            self._redirect("ftp://127.0.0.1/file")
        else:
            self.send_response(404)
            self.end_headers()

    def do_POST(self) -> None:
        if self.path == "/echo":
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(min(length, 10_000))
            self.send_response(201)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        elif self.path == "/huge":
            self.do_GET()
        else:
            self._redirect("https://example.org/elsewhere")

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self.send_response(302)
        self.send_header("location", location)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A client that hangs up on a capped body is the point of the test, not an error."""


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = QuietServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


LOCAL = Fetcher(allow_private=True, allow_http=True, max_bytes=100_000, timeout=1.0)


def test_fetches_within_limits(server: str) -> None:
    assert json.loads(LOCAL.get(f"{server}/ok")) == DID_DOCUMENT


def test_refuses_plain_http_by_default(server: str) -> None:
    with pytest.raises(FetchRefused, match="only https"):
        Fetcher(allow_private=True).get(f"{server}/ok")


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/x",
        "https://localhost/x",
        "https://10.0.0.1/x",
        "https://[::1]/x",
        "https://169.254.169.254/latest",
    ],
)
def test_refuses_private_loopback_and_link_local_addresses(url: str) -> None:
    with pytest.raises(FetchRefused, match="private or local"):
        Fetcher().get(url)


def test_caps_the_body(server: str) -> None:
    with pytest.raises(FetchRefused, match="more than 100000 bytes"):
        LOCAL.get(f"{server}/huge")


def test_gives_up_on_a_server_that_hangs(server: str) -> None:
    with pytest.raises(FetchRefused, match="cannot fetch"):
        LOCAL.get(f"{server}/hang")


def test_limits_and_rechecks_redirects(server: str) -> None:
    with pytest.raises(FetchRefused, match="redirects"):
        LOCAL.get(f"{server}/loop")
    with pytest.raises(FetchRefused, match="only https"):
        LOCAL.get(f"{server}/to-ftp")


def test_a_redirect_to_a_private_address_is_refused(server: str) -> None:
    # The server is reachable as "localhost" (exempt by name) and redirects to 127.0.0.1, which
    # is not: every hop is re-checked before connecting.
    port = server.rsplit(":", 1)[1]
    fetcher = Fetcher(allow_http=True, allow_hosts=frozenset({"localhost"}), timeout=1.0)
    assert json.loads(fetcher.get(f"http://localhost:{port}/ok")) == DID_DOCUMENT
    with pytest.raises(FetchRefused, match=r"127\.0\.0\.1 is a private or local address"):
        fetcher.get(f"http://localhost:{port}/loop")


def test_did_web_resolution_refuses_internal_hosts() -> None:
    resolve = make_resolver(None, Fetcher())
    with pytest.raises(FetchRefused, match="private or local"):
        resolve("did:web:localhost%3A8000")


def test_one_deadline_bounds_every_fetch_together(server: str) -> None:
    """A server that drips a byte every 0.2 s never trips a per-read timeout; the deadline of
    the whole verification stops it after about a second, long before its 100 bytes are out."""
    DRIPPED.clear()
    bounded = LOCAL.within(1.0)
    with pytest.raises(FetchRefused, match="time allowed for fetching ran out"):
        bounded.get(f"{server}/drip")
    assert len(DRIPPED) < 20
    with pytest.raises(FetchRefused, match="ran out"):
        bounded.get(f"{server}/ok")  # the same verification's next fetch has no time left


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b:1::a00:1",  # local-use NAT64 of 10.0.0.1
        "::127.0.0.1",  # IPv4-compatible
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 of 169.254.169.254 (cloud metadata)
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "ff02::1",
    ],
)
def test_internal_addresses_in_every_form_are_refused(address: str) -> None:
    assert is_internal(ipaddress.ip_address(address))
    host = f"[{address}]" if ":" in address else address
    with pytest.raises(FetchRefused, match="private or local"):
        Fetcher().get(f"https://{host}/did.json")


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::6810:84e5", "64:ff9b::5db8:d70e"])
def test_global_addresses_pass_the_check(address: str) -> None:
    assert not is_internal(ipaddress.ip_address(address))


def test_the_connection_goes_to_the_address_that_was_checked(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name resolves to one address when checked and another later. The
    fetcher resolves once and connects to what it checked."""
    port = int(server.rsplit(":", 1)[1])
    answers = iter(["127.0.0.1"] + ["10.255.255.1"] * 10)
    lookups: list[str] = []
    real = socket.getaddrinfo

    def rebinding(host: object, *args: object, **kwargs: object) -> object:
        if host == "rebind.test":
            lookups.append(str(host))
            address = next(answers)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    fetcher = Fetcher(allow_http=True, allow_hosts=frozenset({"rebind.test"}), timeout=1.0)
    assert json.loads(fetcher.get(f"http://rebind.test:{port}/ok")) == DID_DOCUMENT
    assert lookups == ["rebind.test"]


def test_posts_under_the_same_checks_and_never_follows_a_redirect(server: str) -> None:
    assert LOCAL.post(f"{server}/echo", b'{"a": 1}', {"content-type": "application/json"}) == (
        201,
        "application/json",
        b'{"a": 1}',
    )
    status, _, _ = LOCAL.post(f"{server}/moved", b"{}", {})
    assert status == 302  # answered as such: a POST is not replayed somewhere else
    with pytest.raises(FetchRefused, match="more than 100000 bytes"):
        LOCAL.post(f"{server}/huge", b"", {})
    with pytest.raises(FetchRefused, match="private or local"):
        Fetcher().post("https://127.0.0.1/x", b"", {})
    with pytest.raises(FetchRefused, match="only https"):
        Fetcher(allow_private=True).post(f"{server}/echo", b"", {})
