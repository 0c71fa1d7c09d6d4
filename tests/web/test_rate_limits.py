"""Rate limits on sign-in (per account and per client address, failures only) and on the
verify endpoints (per client address), shared by every instance on one database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import replace
from ipaddress import ip_network
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.app import create_app
from issuer.web.ratelimit import client_address
from tests.conftest import prepare_database
from tests.web.helpers import free_port, make_token


def test_sign_in_is_limited_per_client(client: TestClient, settings: Settings) -> None:
    with TestClient(create_app(replace(settings, login_rate_limit=3))) as limited:
        attempts = [
            limited.post("/api/login", json={"email": "x@example.org", "password": "guess guess"})
            for _ in range(4)
        ]
        assert [r.status_code for r in attempts] == [401, 401, 401, 429]
        assert int(attempts[-1].headers["retry-after"]) >= 1
        assert (
            limited.post("/login", data={"email": "x@example.org", "password": "g"}).status_code
            == 429
        )


def test_verification_is_limited_per_client(client: TestClient, settings: Settings) -> None:
    with TestClient(create_app(replace(settings, verify_rate_limit=2))) as limited:
        codes = [
            limited.post("/credentials/verify", json={"verifiableCredential": {"a": 1}}).status_code
            for _ in range(3)
        ]
        assert codes == [400, 400, 429]
        assert limited.post("/verify", data={"credential": "{}"}).status_code == 429


# ── shared by every process and instance; addresses as trusted proxies tell them ──

PROXY = "10.0.0.2"  # the peer: our proxy, which with 10.0.0.3 forms the trusted 10.0.0.0/8
TRUSTED = (ip_network("10.0.0.0/8"),)
LOGIN = {"email": "sam@example.org", "password": "correct horse battery"}
WRONG = {"email": "sam@example.org", "password": "not the password"}


@pytest.fixture
def app(db_settings: Settings) -> Iterator[Callable[..., TestClient]]:
    """Opens app instances on one database (as more processes or servers would be), each
    reached from a `peer` address, and closes them after the test."""
    with ExitStack() as stack:

        def open_app(peer: str = "198.51.100.7", **changes: Any) -> TestClient:
            instance = create_app(replace(db_settings, **changes))
            return stack.enter_context(TestClient(instance, client=(peer, 40000)))

        yield open_app


def through_proxy(client: TestClient, path: str, address: str, **kwargs: Any) -> int:
    forwarded = {"x-forwarded-for": f"203.0.113.250, {address}, 10.0.0.3"}
    return client.post(path, headers=forwarded, **kwargs).status_code


def test_two_instances_share_one_count(
    db_settings: Settings, app: Callable[..., TestClient]
) -> None:
    first = app(login_rate_limit=4, verify_rate_limit=4)
    second = app(login_rate_limit=4, verify_rate_limit=4)
    body = {"verifiableCredential": {"a": 1}}
    verified = [c.post("/credentials/verify", json=body).status_code for c in [first, second] * 3]
    assert verified == [400, 400, 400, 400, 429, 429]
    make_token(db_settings, "sam@example.org", "Sam", ["supervisor"])
    signed_in = [c.post("/api/login", json=WRONG).status_code for c in [first, second] * 3]
    assert signed_in == [401, 401, 401, 401, 429, 429]


def test_forwarded_for_is_ignored_from_an_untrusted_peer(app: Callable[..., TestClient]) -> None:
    client = app(verify_rate_limit=2)  # no trusted proxies: the default
    body = {"verifiableCredential": {"a": 1}}
    codes = [
        through_proxy(client, "/credentials/verify", f"192.0.2.{n}", json=body) for n in range(3)
    ]
    assert codes == [400, 400, 429]  # one peer, one count, whatever it claims


def test_forwarded_for_is_believed_from_a_trusted_proxy(app: Callable[..., TestClient]) -> None:
    client = app(PROXY, verify_rate_limit=2, trusted_proxies=TRUSTED)
    body = {"verifiableCredential": {"a": 1}}
    distinct = [
        through_proxy(client, "/credentials/verify", f"192.0.2.{n}", json=body) for n in range(5)
    ]
    assert distinct == [400] * 5  # five clients behind the proxy, one request each
    # One client, whatever it writes to the left of what our proxies appended, is one count.
    spoofed = [
        client.post(
            "/credentials/verify",
            json=body,
            headers={"x-forwarded-for": f"198.18.0.{n}, 192.0.2.77, 10.0.0.3"},
        ).status_code
        for n in range(3)
    ]
    assert spoofed == [400, 400, 429]


def test_sign_in_is_limited_per_account_across_addresses(
    db_settings: Settings, app: Callable[..., TestClient]
) -> None:
    make_token(db_settings, "sam@example.org", "Sam", ["supervisor"])
    client = app(PROXY, login_rate_limit=3, trusted_proxies=TRUSTED)
    codes = [through_proxy(client, "/api/login", f"192.0.2.{n}", json=WRONG) for n in range(6)]
    assert codes == [401, 401, 401, 429, 429, 429]
    # The account is locked for everyone, with or without the password; other accounts not.
    assert through_proxy(client, "/api/login", "192.0.2.99", json=LOGIN) == 429
    other = {"email": "SOMEONE@example.org ", "password": "a guess"}
    assert through_proxy(client, "/api/login", "192.0.2.99", json=other) == 401


def test_successful_sign_ins_do_not_count(
    db_settings: Settings, app: Callable[..., TestClient]
) -> None:
    make_token(db_settings, "sam@example.org", "Sam", ["supervisor"])
    client = app(PROXY, login_rate_limit=3, trusted_proxies=TRUSTED)
    successes = [through_proxy(client, "/api/login", "192.0.2.1", json=LOGIN) for _ in range(5)]
    assert successes == [200] * 5
    # Two failures from one address; a success from another takes back only its own hit.
    failures = [through_proxy(client, "/api/login", "192.0.2.2", json=WRONG) for _ in range(2)]
    assert failures == [401, 401]
    assert through_proxy(client, "/api/login", "192.0.2.3", json=LOGIN) == 200
    assert through_proxy(client, "/api/login", "192.0.2.4", json=WRONG) == 401
    assert through_proxy(client, "/api/login", "192.0.2.5", json=WRONG) == 429


def test_racing_wrong_passwords_are_all_counted(
    db_settings: Settings, app: Callable[..., TestClient]
) -> None:
    """Counted before the password is checked: 30 guesses at once get 10 answers, not 30."""
    make_token(db_settings, "sam@example.org", "Sam", ["supervisor"])
    client = app(PROXY, login_rate_limit=10, trusted_proxies=TRUSTED)
    barrier = threading.Barrier(30, timeout=60)

    def guess(n: int) -> int:
        barrier.wait()
        return through_proxy(client, "/api/login", f"192.0.2.{n}", json=WRONG)

    with ThreadPoolExecutor(max_workers=30) as pool:
        codes = list(pool.map(guess, range(30)))
    assert sorted(codes) == [401] * 10 + [429] * 20


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("198.51.100.7", ["192.0.2.1"], "198.51.100.7"),  # not a proxy of ours
        ("10.0.0.2", [], "10.0.0.2"),  # a proxy of ours that did not say
        ("10.0.0.2", ["192.0.2.1"], "192.0.2.1"),
        ("10.0.0.2", ["198.18.0.1, 192.0.2.1, 10.0.0.3"], "192.0.2.1"),
        ("10.0.0.2", ["198.18.0.1", "192.0.2.1,10.0.0.3"], "192.0.2.1"),  # several headers
        ("10.0.0.2", ["10.0.0.9, 10.0.0.3"], "10.0.0.9"),  # proxies all the way
        ("10.0.0.2", ["192.0.2.1, not-an-address, 10.0.0.3"], "10.0.0.3"),
        ("::ffff:10.0.0.2", ["2001:db8::1"], "2001:db8::1"),
        ("testclient", ["192.0.2.1"], "testclient"),
        ("::ffff:198.51.100.7", [], "198.51.100.7"),
    ],
)
def test_client_address(peer: str, forwarded: list[str], client: str) -> None:
    assert client_address(peer, forwarded, TRUSTED) == client


def test_trusted_proxies_are_read_from_the_environment() -> None:
    settings = Settings.from_env({"ISSUER_TRUSTED_PROXIES": "10.0.0.0/8, ::1,192.0.2.7"})
    assert settings.trusted_proxies == (
        ip_network("10.0.0.0/8"),
        ip_network("::1"),
        ip_network("192.0.2.7/32"),
    )
    assert Settings.from_env({}).trusted_proxies == ()
    with pytest.raises(ValueError, match=r"ISSUER_TRUSTED_PROXIES: 'proxy\.example'"):
        Settings.from_env({"ISSUER_TRUSTED_PROXIES": "10.0.0.1,proxy.example"})


# ── the real server: `issuer serve --workers 2` ──


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """`issuer serve --workers 2` on loopback, at most 3 verifications a minute per client."""
    port = free_port()
    configured = replace(settings, base_url=f"http://127.0.0.1:{port}")
    prepare_database(configured)
    env = {
        **os.environ,
        "ISSUER_BASE_URL": configured.base_url,
        "ISSUER_DATABASE_URL": configured.database_url,
        "ISSUER_KEYS_DIR": str(configured.keys_dir),
        "ISSUER_DATA_DIR": str(configured.data_dir),
        "ISSUER_VERIFY_RATE_LIMIT": "3",
    }
    env.pop("ISSUER_TRUSTED_PROXIES", None)
    command = [sys.executable, "-m", "issuer", "serve", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen([*command, "--workers", "2"], env=env, start_new_session=True)
    try:
        for _ in range(300):
            try:
                httpx.get(f"{configured.base_url}/issuer", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield configured.base_url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def verify_on_a_new_connection(base_url: str, headers: dict[str, str] | None = None) -> int:
    """A request on a connection of its own, so that the kernel may hand it to either worker."""
    with httpx.Client(base_url=base_url, headers=headers) as fresh:
        body = {"verifiableCredential": {"a": 1}}
        return fresh.post("/credentials/verify", json=body).status_code


def test_the_workers_of_one_server_share_the_count(server: str) -> None:
    codes = [verify_on_a_new_connection(server) for _ in range(8)]
    assert codes == [400, 400, 400] + [429] * 5


def test_the_server_ignores_forwarded_for_from_loopback_by_default(server: str) -> None:
    codes = [
        verify_on_a_new_connection(server, {"x-forwarded-for": f"192.0.2.{n}"}) for n in range(5)
    ]
    assert codes == [400, 400, 400, 429, 429]
