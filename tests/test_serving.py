"""`issuer serve --workers N`: connections spread over the workers; a dead worker is replaced;
SIGTERM stops them all.

Under uvicorn's own --workers (one shared socket, greedy accept) bench/http_load.py saw one
worker take ~90 % of 32 keep-alive connections; with a SO_REUSEPORT socket per worker the
kernel spreads them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import httpx
import psutil
import pytest
from typer.testing import CliRunner

from issuer.cli import app
from issuer.config import Settings
from issuer.serving import APP_PROCESS, MAIL_PROCESS
from tests.conftest import prepare_database
from tests.web.helpers import free_port, serve

CONNECTIONS = 32
WORKERS = 2


@pytest.fixture
def server(settings: Settings) -> Iterator[tuple[Any, int]]:
    port = free_port()
    configured = replace(settings, base_url=f"http://127.0.0.1:{port}")
    prepare_database(configured)
    process = serve(configured, port, workers=WORKERS)
    try:
        yield process, port
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def workers(process: Any) -> list[psutil.Process]:
    """The app processes: the children that listen (multiprocessing's helpers do not)."""
    children = psutil.Process(process.pid).children()
    return [child for child in children if _listening(child)]


def _listening(process: psutil.Process) -> bool:
    try:
        return any(c.status == psutil.CONN_LISTEN for c in process.net_connections("tcp"))
    except psutil.NoSuchProcess:
        return False


def established(worker: psutil.Process, port: int) -> int:
    return sum(
        1
        for c in worker.net_connections("tcp")
        if c.status == psutil.CONN_ESTABLISHED and c.laddr.port == port
    )


def test_keep_alive_connections_spread_over_the_workers(server: tuple[Any, int]) -> None:
    process, port = server
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}") for _ in range(CONNECTIONS)]
    try:
        # Every client opens its connection at once, as a burst of users (or a load test) does.
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            answers = list(pool.map(lambda client: client.get("/issuer").status_code, clients))
        assert answers == [200] * CONNECTIONS
        held = [established(worker, port) for worker in workers(process)]
    finally:
        for client in clients:
            client.close()
    assert len(held) == WORKERS
    assert sum(held) == CONNECTIONS
    # Binomial(32, 1/2): below 4 on one side has probability ~1e-6.
    assert min(held) >= 4, held


def named_children(process: Any, apps: int, limit: float = 60) -> list[str]:
    """The names of `issuer serve`'s children once its `apps` app processes and its mail
    worker have named themselves (each does as it starts), or as they are after `limit` s."""
    deadline = time.monotonic() + limit
    while True:
        names = sorted(child.name() for child in psutil.Process(process.pid).children())
        done = names.count(APP_PROCESS) == apps and MAIL_PROCESS in names
        if done or time.monotonic() > deadline:
            return names
        time.sleep(0.2)


def test_ps_tells_the_app_processes_from_the_mail_worker(server: tuple[Any, int]) -> None:
    """Each process names itself (`serving.name_process`): an operator's top, and the
    benchmark's CPU split, tell the app from the mail worker without guessing."""
    process, _ = server
    names = named_children(process, WORKERS)
    assert names.count(APP_PROCESS) == WORKERS, names
    assert names.count(MAIL_PROCESS) == 1, names
    assert {child.name() for child in workers(process)} == {APP_PROCESS}


def test_a_killed_worker_is_replaced_and_sigterm_stops_all(server: tuple[Any, int]) -> None:
    process, port = server
    before = workers(process)
    assert len(before) == WORKERS
    before[0].kill()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = workers(process)
        if len(now) == WORKERS and before[0].pid not in {w.pid for w in now}:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the killed worker was not replaced within 60 s")
    for _ in range(20):
        assert httpx.get(f"http://127.0.0.1:{port}/issuer").status_code == 200
    everyone = [psutil.Process(process.pid), *psutil.Process(process.pid).children()]
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    _, alive = psutil.wait_procs(everyone, timeout=10)
    assert alive == []


def test_a_port_in_use_is_refused_not_shared(server: tuple[Any, int], runner: CliRunner) -> None:
    _, port = server
    result = runner.invoke(
        app, ["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "2"]
    )
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.output


@pytest.mark.parametrize(("workers", "sig"), [(1, signal.SIGTERM), (2, signal.SIGKILL)])
def test_no_process_outlives_issuer_serve(settings: Settings, workers: int, sig: int) -> None:
    """With one app process, uvicorn raises SIGTERM again after its graceful shutdown, which
    ended `issuer serve` before it stopped its mail worker; a kill -9 skips any cleanup. Either
    way the mail worker and the app processes end with it (`serving.end_with`) instead of
    sending mail and serving on as orphans."""
    port = free_port()
    configured = replace(settings, base_url=f"http://127.0.0.1:{port}")
    prepare_database(configured)
    process = serve(configured, port, workers=workers)
    try:
        apps = workers if workers > 1 else 0  # one app process: `issuer serve` itself
        names = named_children(process, apps)
        assert MAIL_PROCESS in names and names.count(APP_PROCESS) == apps, names
        children = psutil.Process(process.pid).children(recursive=True)
        process.send_signal(sig)
        process.wait(timeout=40)
        _, alive = psutil.wait_procs(children, timeout=30)
        assert alive == [], [(p.pid, p.name(), p.status(), p.cmdline()[-1:]) for p in alive]
    finally:
        # The whole process group, whether or not its leader is still there: a failure here
        # must not leave orphans behind for the tests after it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
