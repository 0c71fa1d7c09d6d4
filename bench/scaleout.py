"""Scale-out: issuance throughput through HAProxy with 1, 2 and 3 `issuer serve` instances.

    .venv/bin/python bench/scaleout.py --database-url postgresql://postgres@127.0.0.1:54329/postgres
        [--instances 1 2 3] [--learners 600] [--clients 32]

For each count, a fresh PostgreSQL database (created on the server named by --database-url,
dropped afterwards) with N learners whose statements are all confirmed; the instances (one
app process each, on 127.0.0.2, .3, .4) and one mail worker behind HAProxy from the OS packages
(tests/scaleout/cluster.py); concurrent clients POST every attestation through the balancer.
Prints credentials per second and the CPU per credential of the instances, PostgreSQL,
HAProxy, the mail worker and the load generator, so it is plain where scaling stops.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil

sys.path.insert(0, str(Path(__file__).parents[1]))

from issuer.config import Settings
from issuer.services.keyring import KeyRing
from tests.conftest import postgres_database, prepare_database
from tests.load.test_concurrency import prepare
from tests.scaleout.cluster import Cluster, cluster
from tests.web.helpers import LEVEL, SOC

GROUPS = ("instances", "postgres", "haproxy", "worker", "load gen")


def cpu_seconds(balanced: Cluster) -> dict[str, float]:
    """CPU seconds so far of each group of processes."""

    def tree(pid: int) -> float:
        try:
            root = psutil.Process(pid)
            return sum(_cpu(p) for p in [root, *root.children(recursive=True)])
        except psutil.NoSuchProcess:
            return 0.0

    instances = sum(tree(i.process.pid) for i in balanced.instances if i.process is not None)
    postgres = sum(_cpu(p) for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres")
    haproxy = sum(_cpu(p) for p in psutil.process_iter(["name"]) if p.info["name"] == "haproxy")
    worker = sum(tree(p.pid) for p in balanced.worker_processes)
    return {
        "instances": instances,
        "postgres": postgres,
        "haproxy": haproxy,
        "worker": worker,
        "load gen": _cpu(psutil.Process()),
    }


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system


def run(admin: str, instances: int, learners: int, clients: int) -> tuple[float, dict[str, float]]:
    """(credentials per second, CPU ms per credential of each group) for one cluster size."""
    with tempfile.TemporaryDirectory() as directory, postgres_database(admin) as url:
        root = Path(directory)
        settings = Settings(data_dir=root / "data", keys_dir=root / "keys", database_url=url)
        prepare_database(settings)
        KeyRing(settings.keys_dir).generate(None, dev=True)
        token, ids = prepare(settings, learners)
        balanced = cluster(
            settings,
            instances,
            workers=1,
            ISSUER_VERIFY_RATE_LIMIT="0",
            ISSUER_LOGIN_RATE_LIMIT="0",
        )
        balanced.start()
        try:
            headers = {"authorization": f"Bearer {token}"}
            limits = httpx.Limits(max_connections=clients)
            with httpx.Client(base_url=balanced.url, timeout=60, limits=limits) as http:

                def attest(learner: int) -> None:
                    response = http.post(
                        f"/api/supervisor/learners/{learner}/attestations",
                        json={"soc": SOC, "level": LEVEL},
                        headers=headers,
                    )
                    if response.status_code != 201:
                        raise RuntimeError(f"{response.status_code}: {response.text[:300]}")

                before = cpu_seconds(balanced)
                start = time.perf_counter()
                with ThreadPoolExecutor(clients) as pool:
                    list(pool.map(attest, ids))
                wall = time.perf_counter() - start
                after = cpu_seconds(balanced)
        finally:
            balanced.stop()
    per_credential = {g: (after[g] - before[g]) / learners * 1000 for g in GROUPS}
    per_credential["cores busy"] = sum(after[g] - before[g] for g in GROUPS) / wall
    return learners / wall, per_credential


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("ISSUER_TEST_POSTGRES_URL", ""))
    parser.add_argument("--instances", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--learners", type=int, default=600)
    parser.add_argument("--clients", type=int, default=32)
    options = parser.parse_args()
    if not options.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server (scale-out shares one)")
    print(
        f"PostgreSQL, HAProxy round-robin, {options.learners} attestations per run, "
        f"{options.clients} clients, {os.cpu_count()} cores"
    )
    columns = " ".join(f"{g:>9}" for g in (*GROUPS, "cores busy"))
    print(f"{'instances':>9} {'issued/s':>9}   CPU ms per credential: {columns}")
    for count in options.instances:
        rate, cpu = run(options.database_url, count, options.learners, options.clients)
        figures = " ".join(f"{cpu[g]:9.1f}" for g in GROUPS) + f" {cpu['cores busy']:9.2f}"
        print(f"{count:9d} {rate:9.1f}   {'':22} {figures}")


if __name__ == "__main__":
    main()
