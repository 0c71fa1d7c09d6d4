"""Several app processes behind one port, each with its own SO_REUSEPORT listening socket.

Why not uvicorn's own `--workers`: it shares one listening socket, and asyncio accepts greedily
(up to the backlog per wake-up), so a burst of keep-alive connections all land on whichever
worker woke first. bench/http_load.py measured it: with 32 clients one worker did ~90 % of the
work while the other idled. With a socket per worker the kernel spreads new connections over
the workers by a hash of their addresses.

The parent supervises: it starts one process per socket, replaces a worker that dies (the same
socket, so its queued connections are kept), stops when a worker dies before it ever served
(the app cannot start: the same fault would repeat), and on SIGINT, SIGTERM or SIGHUP stops
them all.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import socket
import threading
import time
from multiprocessing.context import SpawnProcess
from multiprocessing.synchronize import Event as EventType
from typing import Any

import uvicorn

from issuer.errors import Conflict

APP = "issuer.web.app:app_from_env"
STOP_TIMEOUT = 30.0
APP_PROCESS, MAIL_PROCESS = "issuer-app", "issuer-mail"  # what ps and top show
_PR_SET_PDEATHSIG, _PR_SET_NAME = 1, 15  # linux/prctl.h

_spawn = multiprocessing.get_context("spawn")
logger = logging.getLogger(__name__)


def run(host: str, port: int, workers: int) -> None:
    """Serve the app on host:port with `workers` processes (one: in this process)."""
    if workers == 1:
        uvicorn.run(
            APP, factory=True, host=host, port=port, log_level="warning", proxy_headers=False
        )
        return
    _refuse_taken(host, port)
    sockets = [listening_socket(host, port) for _ in range(workers)]
    Supervisor(sockets).run()


def _refuse_taken(host: str, port: int) -> None:
    """SO_REUSEPORT would let a second server on the same port share its traffic silently; a
    plain bind first fails if anything holds the port."""
    with _socket(host) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            raise Conflict(f"cannot listen on {host}:{port}: {error.strerror}") from None


def listening_socket(host: str, port: int) -> socket.socket:
    """A bound socket with SO_REUSEPORT, so that several can listen on the same port."""
    sock = _socket(host)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def serve_socket(sock: socket.socket, ready: EventType, parent: int) -> None:
    """A worker process: the app on its own socket, shut down by SIGTERM/SIGINT (uvicorn);
    `ready` is set once it serves."""
    # proxy_headers=False: uvicorn would believe X-Forwarded-For from loopback before the app
    # sees the request; ISSUER_TRUSTED_PROXIES decides that (web/ratelimit.py).
    name_process(APP_PROCESS)
    end_with(parent)
    config = uvicorn.Config(APP, factory=True, log_level="warning", proxy_headers=False)
    server = uvicorn.Server(config)
    threading.Thread(target=_report_ready, args=(server, ready), daemon=True).start()
    server.run(sockets=[sock])


def end_with(parent: int) -> None:
    """Have Linux send this process SIGTERM when `parent`, which started it, ends, however it
    ends. `issuer serve`'s own cleanup does not always run: with one app process, uvicorn
    raises SIGTERM again after its graceful shutdown, which ended the parent before it stopped
    its mail worker, and a kill -9 skips any cleanup; the orphan went on sending mail (and
    serving its socket) under the old settings. Elsewhere, nothing happens."""
    prctl = _prctl()
    if prctl is None:
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # it ended before the request was made
        os.kill(os.getpid(), signal.SIGTERM)


def _prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


def name_process(name: str) -> None:
    """Names this process for ps, top and psutil (Linux's 15-byte `comm`): every process of
    `issuer serve` is otherwise "python", and an operator (or bench/http_load.py, splitting
    the CPU) cannot tell the app processes from the mail worker. Elsewhere, nothing happens."""
    prctl = _prctl()
    if prctl is not None:
        prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)


def _report_ready(server: uvicorn.Server, ready: EventType) -> None:
    while not server.started:
        time.sleep(0.05)
    ready.set()


def _socket(host: str) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return sock


class Supervisor:
    """Starts one worker per socket and keeps each alive until told to stop."""

    def __init__(self, sockets: list[socket.socket]) -> None:
        self.sockets = sockets
        self.workers: list[tuple[SpawnProcess, EventType]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, self._stop)
        self.workers = [self._start(sock) for sock in self.sockets]
        try:
            while not self.stopping.wait(0.5):
                self._replace_dead()
        finally:
            self._stop_all()

    def _start(self, sock: socket.socket) -> tuple[SpawnProcess, EventType]:
        ready = _spawn.Event()
        process = _spawn.Process(target=serve_socket, args=(sock, ready, os.getpid()))
        process.start()
        return process, ready

    def _replace_dead(self) -> None:
        for index, (process, ready) in enumerate(self.workers):
            if process.is_alive():
                continue
            process.join()
            # A worker that failed on its own before serving would fail again (a bad setting, a
            # locked key); one killed by a signal (kill -9, an OOM kill) is started afresh.
            killed = process.exitcode is not None and process.exitcode < 0
            if not ready.is_set() and not killed:
                logger.error(
                    "worker %s exited (%s) while starting; stopping", process.pid, process.exitcode
                )
                self.stopping.set()
                return
            logger.warning("worker %s died (%s); starting a new one", process.pid, process.exitcode)
            self.workers[index] = self._start(self.sockets[index])

    def _stop(self, signum: int, frame: Any) -> None:
        self.stopping.set()

    def _stop_all(self) -> None:
        for process, _ in self.workers:
            if process.is_alive():
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        for process, _ in self.workers:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
