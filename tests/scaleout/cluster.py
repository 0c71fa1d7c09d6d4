"""Several `issuer serve` instances on one PostgreSQL behind HAProxy, as a deployment runs them.

Each instance listens on its own loopback address (127.0.0.2, 127.0.0.3, …: Linux routes all of
127/8 to the loopback interface) and HAProxy, from the OS packages, balances them round-robin
from 127.0.0.1, checking `/health` twice a second and sending a request whose instance
died to another one. Mail is delivered by `issuer worker` processes of their own, as
docs/deploy.md describes, so killing an instance never kills a delivery half-way. Shared by the
scale-out test (tests/scaleout/test_balancer.py) and the benchmark (bench/scaleout.py).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx

from issuer.config import Settings
from tests.web.helpers import free_port

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
START_SECONDS = 30


@dataclass
class Instance:
    address: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"


@dataclass
class Cluster:
    """`instances` app servers (one process each), `workers` mail workers, one balancer."""

    settings: Settings
    instances: list[Instance]
    balancer_port: int
    workers: int = 1
    environment: dict[str, str] = field(default_factory=dict)
    _balancer: subprocess.Popen[bytes] | None = None
    _workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.balancer_port}"

    @property
    def worker_processes(self) -> list[subprocess.Popen[bytes]]:
        return list(self._workers)

    def start(self) -> None:
        for instance in self.instances:
            self.start_instance(instance)
        for _ in range(self.workers):
            self._workers.append(self._spawn(["worker"]))
        self._balancer = subprocess.Popen(
            [HAPROXY, "-db", "-f", str(self._haproxy_config())], start_new_session=True
        )
        self._wait(f"{self.url}/health", lambda response: response.status_code == 200)

    def start_instance(self, instance: Instance) -> None:
        instance.process = self._spawn(
            [
                *("serve", "--host", instance.address, "--port", str(instance.port)),
                "--no-mail-worker",
            ]
        )
        self._wait(f"{instance.url}/health", lambda response: response.status_code == 200)

    def kill(self, instance: Instance) -> None:
        """SIGKILL, mid-request: the instance's whole process group at once."""
        assert instance.process is not None
        os.killpg(instance.process.pid, signal.SIGKILL)
        instance.process.wait(timeout=30)
        instance.process = None

    def run_cli(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "issuer", *arguments],
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def stop(self) -> None:
        processes = [i.process for i in self.instances if i.process is not None]
        processes += [*self._workers, *([self._balancer] if self._balancer else [])]
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=20)
        for instance in self.instances:
            instance.process = None
        self._workers.clear()
        self._balancer = None

    def _spawn(self, arguments: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "issuer", *arguments],
            env=self.environment,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
        )

    def _haproxy_config(self) -> Path:
        servers = "\n".join(
            f"    server i{n} {instance.address}:{instance.port} check"
            for n, instance in enumerate(self.instances)
        )
        config = f"""
global
    maxconn 2048

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    option forwardfor
    # A request whose instance died (refused, or closed without an answer) is sent again to
    # another: safe here, because an attestation stored once is refused the second time.
    retries 3
    option redispatch 1
    retry-on conn-failure empty-response

frontend issuer
    bind 127.0.0.1:{self.balancer_port}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /health
    http-check expect status 200
    # A dead instance refuses connections: its requests go elsewhere at once (redispatch),
    # and two failed checks take it out. A busy one must not: its checks get 2 s.
    timeout check 2s
    default-server inter 500ms fall 2 rise 1
{servers}
"""
        path = self.settings.data_dir / "haproxy.cfg"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config)
        return path

    @staticmethod
    def _wait(url: str, ready: Callable[[httpx.Response], bool]) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            try:
                if ready(httpx.get(url, timeout=1)):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{url} did not answer within {START_SECONDS} s")


def cluster(settings: Settings, instances: int, *, workers: int = 1, **environment: str) -> Cluster:
    """A cluster (not started) whose instances share `settings`' database and key directory,
    reached at the balancer's address: that is the base URL and the did:web."""
    balancer_port = free_port()
    base_url = f"http://127.0.0.1:{balancer_port}"
    configured = replace(settings, base_url=base_url)
    members = [Instance(f"127.0.0.{n + 2}", free_port()) for n in range(instances)]
    env = {
        **os.environ,
        "ISSUER_BASE_URL": base_url,
        "ISSUER_DID": f"did:web:127.0.0.1%3A{balancer_port}",
        "ISSUER_DATABASE_URL": settings.database_url,
        "ISSUER_KEYS_DIR": str(settings.keys_dir),
        "ISSUER_DATA_DIR": str(settings.data_dir),
        "ISSUER_MAIL_WORKER": "true",  # the apps queue; the `issuer worker` processes deliver
        "ISSUER_TRUSTED_PROXIES": "127.0.0.1",  # HAProxy's X-Forwarded-For is believed
        **environment,
    }
    return Cluster(configured, members, balancer_port, workers, env)
