"""End-to-end issuance and verification under load, through the HTTP API.

    .venv/bin/python bench/http_load.py [--learners 600] [--clients 8] [--verifications 2000]
        [--workers 4] [--database-url postgresql://…]   # a fresh database on that server
        [--generator auto|wrk|httpx] [--warmup 40]

Starts `issuer serve --workers 4` on 127.0.0.1 (four app processes sharing the database: two
per core, so that while one waits for the database or its turn to write, another runs), waits
until its processes are idle, sends `--warmup` attestations and verifications that are not
measured, then:
1. issuance: N learners with every statement of a level confirmed; concurrent clients POST the
   supervisor's attestation (build, sign, allocate a status index, store, queue the claim mail):
   credentials per second. The mail worker (nice 10) sends most claim e-mails after the burst:
   the script waits for the outbox to empty and counts the worker's CPU against issuance, in
   a column of its own, with the rate the cores could sustain if every e-mail went as fast;
2. verification: concurrent clients POST /credentials/verify with one issued credential
   (status list included): throughput and p50/p99 latency.

The clients are wrk's (C, `apt install wrk`; `wrk_plan.lua` sends each request of a fixed plan
once) when it is on the PATH, else Python threads over httpx. The load generator shares the
two cores with the server, and httpx takes ~1.5–1.9 ms of CPU a request, wrk a tenth of that:
the header names the generator, and its CPU is reported beside the server's. The machine's
speed (a fixed Python loop) is printed before and after: on a shared virtual machine it drifts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass
from pathlib import Path

import httpx
import psutil
from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).parents[1]))

from issuer.config import Settings
from issuer.services import accounts, catalog
from issuer.services.keyring import KeyRing
from issuer.serving import MAIL_PROCESS
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import CredentialRecord, OutboxMessage
from tests.conftest import postgres_database
from tests.web.helpers import LEVEL, SOC, confirmed_learners, free_port, serve


def prepare(settings: Settings, learners: int) -> tuple[str, list[int]]:
    """The frameworks, a coordinator, a supervisor (and their API token) and `learners`
    learners ready for attestation."""
    engine = make_engine(settings.database_url)
    migrate.upgrade(engine)
    with transaction(session_factory(engine)) as session:
        for path in catalog.framework_files(settings.frameworks_dir):
            catalog.import_framework(
                session,
                path.read_bytes(),
                str(path),
                base_url=settings.base_url,
                creator=settings.issuer_profile(),
                language="en",
            )
        coordinator = accounts.create_user(
            session, email="c@example.org", name="C", roles=["coordinator"]
        )
        supervisor = accounts.create_user(
            session, email="s@example.org", name="S", roles=["supervisor"]
        )
        token = accounts.create_token(session, supervisor)
        ids = confirmed_learners(session, coordinator, supervisor, learners)
    engine.dispose()
    return token, ids


@dataclass(frozen=True)
class Cpu:
    """CPU seconds: the app processes (and `issuer serve`'s parent), the mail worker,
    PostgreSQL, this process with its load generator; and the machine's steal time (a shared
    virtual machine's cores taken by its neighbours)."""

    app: float
    mail: float
    database: float
    generator: float
    steal: float

    def __sub__(self, other: Cpu) -> Cpu:
        return Cpu(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def busy(self) -> float:
        return self.app + self.mail + self.database + self.generator


class CpuMeter:
    """Samples `Cpu` for a server started by `serve`; the mail worker is told from the app by
    the name it gives itself (serving.MAIL_PROCESS)."""

    def __init__(self, server_pid: int) -> None:
        self.server = psutil.Process(server_pid)

    def sample(self) -> Cpu:
        app = mail = 0.0
        for process in [self.server, *self.server.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                if process.name() == MAIL_PROCESS:
                    mail += _cpu(process)
                else:
                    app += _cpu(process)
        database = sum(
            _cpu(p) for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"
        )
        steal = getattr(psutil.cpu_times(), "steal", 0.0)
        return Cpu(app, mail, database, _cpu(psutil.Process(), children=True), steal)

    def settle(self, quiet: float = 0.05, interval: float = 0.5, limit: float = 60.0) -> float:
        """Waits until the server's processes use less than `quiet` of a core over `interval`:
        `serve` returns once one app process answers, while the others may still be importing
        the app (about a second of CPU each), which would be counted against the first phase.
        Returns the seconds waited."""
        start = time.perf_counter()
        before = self.sample()
        while time.perf_counter() - start < limit:
            time.sleep(interval)
            now = self.sample()
            if (now.app + now.mail) - (before.app + before.mail) < quiet * interval:
                break
            before = now
        return time.perf_counter() - start


def machine_speed(rounds: int = 5) -> float:
    """CPU milliseconds a fixed pure-Python loop takes (the median of `rounds`): this shared
    machine's speed drifts by a third within minutes (150 ms when fast, 260 when slow, on
    2026-12-01), so each run prints it before and after beside its figures."""
    times = []
    for _ in range(rounds):
        start, total = time.process_time(), 0
        for number in range(3_000_000):
            total += number * number % 7
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def drain_mail(database_url: str, limit: float = 300.0) -> float:
    """Waits until the mail worker has sent every queued message; the seconds it took. One
    engine for the whole wait: the outbox is polled every 0.1 s, on the cores being measured."""
    engine = make_engine(database_url)
    pending_mail = (
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None))
    )

    def pending() -> int:
        with session_factory(engine)() as session:
            return session.scalar(pending_mail) or 0

    start = time.perf_counter()
    try:
        while pending() and time.perf_counter() - start < limit:
            time.sleep(0.1)
        assert not pending(), "the mail worker did not send every claim e-mail"
    finally:
        engine.dispose()
    return time.perf_counter() - start


def _cpu(process: psutil.Process, children: bool = False) -> float:
    """A process's CPU seconds; with `children`, those of its finished children too (wrk)."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    own = times.user + times.system
    return own + times.children_user + times.children_system if children else own


def timed(call) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


class Phase:
    """One phase's result: how many requests, in how many seconds, their latencies (sorted)."""

    def __init__(self, count: int, seconds: float, p50: float, p99: float) -> None:
        self.count, self.seconds, self.p50, self.p99 = count, seconds, p50, p99


def with_httpx(
    base: str,
    paths: list[str],
    body: dict[str, object],
    token: str | None,
    status: int,
    clients: int,
) -> Phase:
    """`clients` Python threads, one keep-alive httpx connection each."""
    headers = {"authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(timeout=60, limits=httpx.Limits(max_connections=clients)) as http:

        def send(path: str) -> float:
            def call() -> None:
                response = http.post(f"{base}{path}", json=body, headers=headers)
                assert response.status_code == status, response.text

            return timed(call)

        start = time.perf_counter()
        with ThreadPoolExecutor(clients) as pool:
            latencies = sorted(pool.map(send, paths))
        seconds = time.perf_counter() - start
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
    return Phase(len(latencies), seconds, statistics.median(latencies), p99)


def with_wrk(
    base: str,
    paths: list[str],
    body: dict[str, object],
    token: str | None,
    status: int,
    clients: int,
) -> Phase:
    """wrk, two threads (one a core), `clients` connections, each path once (`wrk_plan.lua`)."""
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        (folder / "plan").write_text("".join(f"{path}\n" for path in paths))
        (folder / "body").write_text(json.dumps(body))
        (folder / "done").mkdir()
        threads = min(2, clients, len(paths))  # every thread has a share to finish
        script = Path(__file__).with_name("wrk_plan.lua")
        plan = [str(folder / "plan"), str(folder / "body"), token or "-", str(status)]
        command = ["wrk", "-t", str(threads), "-c", str(clients), "-d", "600s", "--timeout", "60s"]
        marks = folder / "done"
        wrk = subprocess.Popen(
            [*command, "-s", str(script), base, "--", *plan, str(marks), str(threads)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        start = time.perf_counter()
        # The run ends when every thread has marked its share answered (polled every 5 ms).
        while len(list(marks.iterdir())) < threads and wrk.poll() is None:
            time.sleep(0.005)
        seconds = time.perf_counter() - start
        # wrk's main thread sleeps out the duration unless SIGINT reaches it; its threads may
        # take the first ones, so it is sent until wrk ends (and prints its summary).
        for _ in range(200):
            if wrk.poll() is not None:
                break
            wrk.send_signal(signal.SIGINT)
            time.sleep(0.05)
        stdout, stderr = wrk.communicate(timeout=30)
    found = re.search(
        r"plan answered=(\d+) failed=(\d+) duration_us=(\d+) p50_us=(\d+) p99_us=(\d+)",
        stdout,
    )
    assert found, stdout + stderr
    answered, failed, _, p50, p99 = (int(value) for value in found.groups())
    assert answered == len(paths) and failed == 0, stdout + stderr
    return Phase(answered, seconds, p50 / 1e6, p99 / 1e6)


def one_credential(database_url: str) -> dict[str, object]:
    """An issued credential, as stored, for the verification phase."""
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        document = session.query(CredentialRecord.document).limit(1).scalar()
    engine.dispose()
    return json.loads(document)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=600)
    # Eight requests in flight keep both cores busy (1.93-1.97 of 2 in the runs of 2026-12-01);
    # 32 kept them less busy (1.86) at ~20 % more CPU a request, queued for 250 ms (README).
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument(
        "--warmup",
        type=int,
        default=40,
        help="attestations and verifications sent first, not measured (each app process's "
        "first requests fill its caches)",
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=4, help="app processes (issuer serve)")
    parser.add_argument("--generator", choices=("auto", "wrk", "httpx"), default="auto")
    options = parser.parse_args()
    generator = options.generator
    if generator == "auto":
        generator = "wrk" if shutil.which("wrk") else "httpx"
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory())
        # A PostgreSQL URL names the server: each run gets a fresh database on it.
        database_url = (
            stack.enter_context(postgres_database(options.database_url))
            if options.database_url
            else f"sqlite:///{directory}/bench.db"
        )
        port = free_port()
        settings = Settings(
            base_url=f"http://127.0.0.1:{port}",
            data_dir=Path(directory),
            keys_dir=Path(directory) / "keys",
            database_url=database_url,
        )
        KeyRing(settings.keys_dir).generate(None, dev=True)
        token, learners = prepare(settings, options.learners + options.warmup)
        warmup, learners = learners[: options.warmup], learners[options.warmup :]
        speed_before = machine_speed()
        server = serve(settings, port, workers=options.workers)
        drive = with_wrk if generator == "wrk" else with_httpx
        try:
            base = settings.base_url
            meter = CpuMeter(server.pid)
            meter.settle()

            def attest(ids: list[int]) -> Phase:
                paths = [f"/api/supervisor/learners/{learner}/attestations" for learner in ids]
                return drive(base, paths, {"soc": SOC, "level": LEVEL}, token, 201, options.clients)

            def verify(count: int) -> Phase:
                body: dict[str, object] = {"verifiableCredential": credential}
                return drive(
                    base, ["/credentials/verify"] * count, body, None, 200, options.clients
                )

            if warmup:
                attest(warmup)
                meter.settle()  # the mail worker sends the warm-up's claim e-mails
            before = meter.sample()
            issuing = attest(learners)
            issuing_cpu = meter.sample() - before
            # The mail worker runs at a lower priority, so most claim e-mails wait for the
            # burst to end; they are counted against issuance, not against verification.
            mail_after = drain_mail(database_url)
            mail_cpu = (meter.sample() - before).mail
            credential = one_credential(database_url)
            if options.warmup:
                verify(options.warmup)
            meter.settle()
            before = meter.sample()
            verifying = verify(options.verifications)
            verifying_cpu = meter.sample() - before
            speed_after = machine_speed()
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = "PostgreSQL" if options.database_url.startswith("postgres") else "SQLite"
    print(
        f"{backend}, {options.workers} app processes, {options.clients} concurrent clients "
        f"({generator}), {os.cpu_count()} cores, after {options.warmup} of each not measured"
    )
    print(
        f"machine speed: a fixed Python loop took {speed_before:.0f} ms of CPU before the run "
        f"and {speed_after:.0f} ms after (lower is faster)"
    )
    print(f"{'measure':34} {'value':>12}")
    label = "issuance (attest → signed, stored)"
    rate = issuing.count / issuing.seconds
    print(f"{label:34} {rate:9.1f} /s  ({issuing.count} in {issuing.seconds:.1f} s)")
    print(f"{'verification API throughput':34} {verifying.count / verifying.seconds:9.1f} /s")
    print(f"{'verification latency p50':34} {verifying.p50 * 1000:9.1f} ms")
    print(f"{'verification latency p99':34} {verifying.p99 * 1000:9.1f} ms")
    print()
    columns = ("app", "mail", "database", "load gen", "cores busy", "stolen")
    print(f"{'CPU ms per request':34}" + "".join(f"{name:>11}" for name in columns))
    for label, cpu, phase, mail in (
        ("issuance", issuing_cpu, issuing, mail_cpu),
        ("verification", verifying_cpu, verifying, verifying_cpu.mail),
    ):
        parts = (cpu.app, mail, cpu.database, cpu.generator)
        figures = [seconds / phase.count * 1000 for seconds in parts]
        shares = [cpu.busy() / phase.seconds, cpu.steal / phase.seconds]
        print(
            f"{label:34}"
            + "".join(f"{figure:11.1f}" for figure in figures)
            + "".join(f"{share:11.2f}" for share in shares)
        )
    print()
    # The worker sends the claim e-mails at a lower priority, mostly once the burst is over:
    # what the cores could sustain with every e-mail sent is set by the CPU of it all.
    spent = issuing_cpu.app + mail_cpu + issuing_cpu.database + issuing_cpu.generator
    each, cores = spent / issuing.count, os.cpu_count() or 1
    print(f"{'claim e-mails all sent':34} {mail_after:9.1f} s after the last issuance")
    label = f"issuance with its mail, {cores} cores"
    print(f"{label:34} {cores / each:9.1f} /s  ({each * 1000:.1f} ms CPU each, all counted)")


if __name__ == "__main__":
    main()
