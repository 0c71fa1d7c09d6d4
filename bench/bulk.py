"""Bulk: 1,000 learners enrolled from one CSV file, then 1,000 credentials issued, over HTTP.

    .venv/bin/python bench/bulk.py [--learners 1000] [--clients 32] [--mode http|import]
        [--database-url postgresql://…]   # a fresh database on that server; default SQLite

`issuer serve --workers 2` on 127.0.0.1 with a fresh database (SQLite file by default) holding
the bundled frameworks, a coordinator and ten supervisors. Then, as a training coordinator and
the supervisors would, through the JSON API:
1. enrol: the coordinator posts one CSV of N learners (dry run, then applied);
2. confirm: the supervisors confirm the ten statements of a level for each learner (10 × N
   requests from concurrent clients);
3. issue: the supervisors attest the level for each learner (N signed, stored credentials).
Prints wall time per step and the peak memory (VmHWM) of every server process.

    .venv/bin/python bench/bulk.py --mode import [--learners 1000] [--database-url …]

imports the sign-off records instead (issue 19, item 5): after the same enrolment, the
coordinator posts one CSV of 10 × N records (dry run, then applied) and the worker process
that `issuer serve` starts records them and issues N credentials in one job. Timed from the
apply request until the job reports N signed, stored credentials (polling its JSON every
0.1 s); the target is under 15 s for 1,000 learners on 2 cores.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parents[1]))

from issuer.config import Settings
from issuer.services import accounts, catalog, records_import
from issuer.services.keyring import KeyRing
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from tests.conftest import postgres_database
from tests.web.helpers import LEVEL, SOC, free_port, serve

SUPERVISORS = 10


def prepare(settings: Settings) -> tuple[str, dict[str, str]]:
    """Frameworks, one coordinator and the supervisors, with API tokens."""
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
            session, email="casey@example.org", name="Casey Coordinator", roles=["coordinator"]
        )
        supervisors = {}
        for n in range(SUPERVISORS):
            supervisor = accounts.create_user(
                session, email=f"sup{n}@example.org", name=f"Supervisor {n}", roles=["supervisor"]
            )
            supervisors[supervisor.email] = accounts.create_token(session, supervisor)
        token = accounts.create_token(session, coordinator)
    engine.dispose()
    return token, supervisors


def enrolment_csv(learners: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["name", "email", "supervisor_email", "framework", "cohort"])
    for n in range(learners):
        writer.writerow(
            [
                f"Learner {n:04d}",
                f"learner{n}@example.org",
                f"sup{n % SUPERVISORS}@example.org",
                SOC,
                "2026 intake",
            ]
        )
    return out.getvalue().encode()


def wait_for_mail(settings: Settings) -> None:
    """Until the mail worker has sent everything queued."""
    from sqlalchemy import func, select

    from issuer.store.models import OutboxMessage

    engine = make_engine(settings.database_url)
    try:
        while True:
            with engine.connect() as connection:
                pending = connection.scalar(
                    select(func.count())
                    .select_from(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None), OutboxMessage.dead_at.is_(None))
                )
            if not pending:
                return
            time.sleep(0.2)
    finally:
        engine.dispose()


class _Done(Exception):
    """The import mode's steps are over (the HTTP sign-off steps are skipped)."""


def records_csv(learners: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(records_import.COLUMNS)
    for n in range(learners):
        for statement in range(1, 11):
            writer.writerow(
                [
                    f"learner{n}@example.org",
                    SOC,
                    LEVEL,
                    statement,
                    "2026-11-02",
                    "clinical-practice",
                    "CT suite, St Example Hospital",
                    f"sup{n % SUPERVISORS}@example.org",
                ]
            )
    return out.getvalue().encode()


def import_records(call: Any, coordinator: str, learners: int) -> list[tuple[str, int, float]]:
    """Dry run, apply, then poll the job until every credential is stored."""
    data = records_csv(learners)
    begin = time.perf_counter()
    checked = call("POST", "/api/records/imports", coordinator, content=data)
    assert checked["summary"] == {"valid": 10 * learners}, checked["summary"]
    assert checked["complete_levels"] == learners
    steps = [("import: dry run (10 rows each)", 10 * learners, time.perf_counter() - begin)]
    begin = time.perf_counter()
    url = "/api/records/imports?dry_run=false&file_name=records.csv"
    job = call("POST", url, coordinator, content=data)
    queued = time.perf_counter() - begin
    while job["status"] not in ("done", "failed"):
        time.sleep(0.1)
        job = call("GET", f"/api/records/imports/{job['id']}", coordinator)
    elapsed = time.perf_counter() - begin
    assert (job["status"], job["done"], job["confirmations"]) == (
        "done",
        learners,
        10 * learners,
    ), job
    steps.append(("import: apply request (queued)", 1, queued))
    steps.append(("import: apply → all credentials", learners, elapsed))
    return steps


def peak_memory(group: int) -> list[int]:
    """VmHWM (peak resident set) in bytes of each process in the server's process group."""
    peaks = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getpgid(int(entry.name)) != group:
                continue
            status = (entry / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) * 1024)
    return sorted(peaks, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--mode", choices=("http", "import"), default="http")
    options = parser.parse_args()
    steps: list[tuple[str, int, float]] = []
    with contextlib.ExitStack() as stack:
        directory = stack.enter_context(tempfile.TemporaryDirectory())
        port = free_port()
        settings = Settings(
            base_url=f"http://127.0.0.1:{port}",
            data_dir=Path(directory),
            keys_dir=Path(directory) / "keys",
            # A PostgreSQL URL names the server: each run gets a fresh database on it.
            database_url=stack.enter_context(postgres_database(options.database_url))
            if options.database_url
            else f"sqlite:///{directory}/bulk.db",
        )
        KeyRing(settings.keys_dir).generate(None, dev=True)
        coordinator, supervisors = prepare(settings)
        server = serve(settings, port)
        base = settings.base_url
        total = time.perf_counter()
        try:
            limits = httpx.Limits(max_connections=options.clients)
            with httpx.Client(base_url=base, timeout=120, limits=limits) as http:

                def call(method: str, path: str, token: str, **kwargs: Any) -> Any:
                    headers = {"authorization": f"Bearer {token}"}
                    response = http.request(method, path, headers=headers, **kwargs)
                    assert response.status_code < 300, (path, response.status_code, response.text)
                    return response.json()

                # 1. enrol
                begin = time.perf_counter()
                data = enrolment_csv(options.learners)
                checked = call("POST", "/api/enrolments", coordinator, content=data)
                assert checked["summary"] == {"valid": options.learners}, checked["summary"]
                applied = call("POST", "/api/enrolments?dry_run=false", coordinator, content=data)
                assert applied["summary"] == {"enrolled": options.learners}, applied["summary"]
                steps.append(("enrol (CSV: dry run + apply)", 2, time.perf_counter() - begin))

                if options.mode == "import":
                    # The 1,000 invitations go first, as they would days before an import:
                    # timed apart, so that the import is not timed against the mail.
                    begin = time.perf_counter()
                    wait_for_mail(settings)
                    steps.append(("invitations delivered", 0, time.perf_counter() - begin))
                    steps += import_records(call, coordinator, options.learners)
                    raise _Done
                # 2. confirm
                work = []
                for token in supervisors.values():
                    for learner in call("GET", "/api/supervisor/learners", token):
                        work.append((token, learner["id"]))
                assert len(work) == options.learners, len(work)
                begin = time.perf_counter()

                def confirm(job: tuple[str, int, int]) -> None:
                    token, learner_id, statement = job
                    call(
                        "POST",
                        f"/api/supervisor/learners/{learner_id}/confirmations",
                        token,
                        json={
                            "soc": SOC,
                            "level": LEVEL,
                            "statement": statement,
                            "observed_on": "2026-11-02",
                            "method": "clinical-practice",
                            "setting": "CT suite, St Example Hospital",
                        },
                    )

                confirmations = [(t, i, s) for t, i in work for s in range(1, 11)]
                with ThreadPoolExecutor(options.clients) as pool:
                    list(pool.map(confirm, confirmations))
                steps.append(
                    (
                        "confirm (10 statements each)",
                        len(confirmations),
                        time.perf_counter() - begin,
                    )
                )

                # 3. issue
                begin = time.perf_counter()

                def attest(job: tuple[str, int]) -> None:
                    token, learner_id = job
                    call(
                        "POST",
                        f"/api/supervisor/learners/{learner_id}/attestations",
                        token,
                        json={"soc": SOC, "level": LEVEL},
                    )

                with ThreadPoolExecutor(options.clients) as pool:
                    list(pool.map(attest, work))
                steps.append(
                    ("issue (attest → signed, stored)", len(work), time.perf_counter() - begin)
                )
            elapsed = time.perf_counter() - total
            peaks = peak_memory(server.pid)
        except _Done:
            elapsed = time.perf_counter() - total
            peaks = peak_memory(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=60)
    backend = "PostgreSQL" if options.database_url.startswith("postgres") else "SQLite"
    print(
        f"\n{backend}, 2 app processes, {options.clients} concurrent clients, "
        f"{os.cpu_count()} cores, {options.learners:,} learners"
    )
    print(f"{'step':34} {'requests':>9} {'wall s':>8} {'per s':>8}")
    for name, requests, seconds in steps:
        rate = f"{requests / seconds:8.1f}" if requests else f"{'':>8}"
        print(f"{name:34} {requests:9,} {seconds:8.1f} {rate}")
    print(f"{'total':34} {'':>9} {elapsed:8.1f}")
    shown = ", ".join(f"{peak / 1_048_576:.0f}" for peak in peaks)
    print(f"peak memory (VmHWM) per server process, MB: {shown}")


if __name__ == "__main__":
    main()
