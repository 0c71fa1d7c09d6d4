"""End-to-end issuance and verification under load, through the HTTP API.

    .venv/bin/python bench/http_load.py [--learners 600] [--clients 32] [--verifications 2000]
        [--workers 4] [--database-url postgresql://…]   # a fresh database on that server

Starts `issuer serve --workers 4` on 127.0.0.1 (four app processes sharing the database: two
per core, so that while one waits for the database or its turn to write, another runs), then:
1. issuance: N learners with every statement of a level confirmed; concurrent clients POST the
   supervisor's attestation (build, sign, allocate a status index, store, queue the claim mail):
   credentials per second;
2. verification: concurrent clients POST /credentials/verify with one issued credential
   (status list included): throughput and p50/p99 latency.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))

from issuer.config import Settings
from issuer.services import accounts, catalog
from issuer.services.keyring import KeyRing
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from tests.conftest import postgres_database
from tests.web.helpers import LEVEL, SOC, confirmed_learners, free_port, serve


def prepare(settings: Settings, learners: int) -> tuple[str, list[int]]:
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


class CpuMeter:
    """CPU seconds used by the server's process group, PostgreSQL and this process, and the
    machine's steal time (a shared virtual machine's cores taken by its neighbours)."""

    def __init__(self, server_pid: int) -> None:
        self.server = psutil.Process(server_pid)

    def sample(self) -> tuple[float, float, float, float]:
        app = sum(_cpu(p) for p in [self.server, *self.server.children(recursive=True)])
        database = sum(
            _cpu(p) for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"
        )
        steal = getattr(psutil.cpu_times(), "steal", 0.0)
        return app, database, _cpu(psutil.Process()), steal


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def timed(call) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=600)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--verifications", type=int, default=2000)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--workers", type=int, default=4, help="app processes (issuer serve)")
    options = parser.parse_args()
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
        token, learners = prepare(settings, options.learners)
        server = serve(settings, port, workers=options.workers)
        try:
            base = settings.base_url
            with httpx.Client(
                timeout=60, limits=httpx.Limits(max_connections=options.clients)
            ) as http:
                headers = {"authorization": f"Bearer {token}"}

                def attest(learner_id: int) -> dict:  # type: ignore[type-arg]
                    response = http.post(
                        f"{base}/api/supervisor/learners/{learner_id}/attestations",
                        json={"soc": SOC, "level": LEVEL},
                        headers=headers,
                    )
                    response.raise_for_status()
                    return response.json()

                meter = CpuMeter(server.pid)
                before = meter.sample()
                start = time.perf_counter()
                with ThreadPoolExecutor(options.clients) as pool:
                    issued = list(pool.map(attest, learners))
                issuing = time.perf_counter() - start
                issuing_cpu = [b - a for a, b in zip(before, meter.sample(), strict=True)]
                credential = issued[0]["credential"]

                def verify(_: int) -> float:
                    def call() -> None:
                        response = http.post(
                            f"{base}/credentials/verify", json={"verifiableCredential": credential}
                        )
                        assert response.status_code == 200, response.text

                    return timed(call)

                before = meter.sample()
                start = time.perf_counter()
                with ThreadPoolExecutor(options.clients) as pool:
                    latencies = sorted(pool.map(verify, range(options.verifications)))
                verifying = time.perf_counter() - start
                verifying_cpu = [b - a for a, b in zip(before, meter.sample(), strict=True)]
        finally:
            server.terminate()
            server.wait(timeout=30)
    backend = "PostgreSQL" if options.database_url.startswith("postgres") else "SQLite"
    print(
        f"{backend}, {options.workers} app processes, {options.clients} concurrent clients, "
        f"{os.cpu_count()} cores"
    )
    print(f"{'measure':34} {'value':>12}")
    rate = len(issued) / issuing
    label = "issuance (attest → signed, stored)"
    print(f"{label:34} {rate:9.1f} /s  ({len(issued)} in {issuing:.1f} s)")
    print(f"{'verification API throughput':34} {len(latencies) / verifying:9.1f} /s")
    print(f"{'verification latency p50':34} {statistics.median(latencies) * 1000:9.1f} ms")
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(f"{'verification latency p99':34} {p99 * 1000:9.1f} ms")
    print()
    header = f"{'app':>8} {'database':>9} {'load gen':>9} {'cores busy':>11} {'stolen':>7}"
    print(f"{'CPU ms per request':34} {header}")
    for label, cpu, count, wall in (
        ("issuance", issuing_cpu, len(issued), issuing),
        ("verification", verifying_cpu, len(latencies), verifying),
    ):
        app, database, generator = (seconds / count * 1000 for seconds in cpu[:3])
        busy, stolen = sum(cpu[:3]) / wall, cpu[3] / wall
        print(f"{label:34} {app:8.1f} {database:9.1f} {generator:9.1f} {busy:11.2f} {stolen:7.2f}")


if __name__ == "__main__":
    main()
