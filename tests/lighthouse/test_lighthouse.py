"""Lighthouse (pinned 12.2.3, tests/lighthouse/package-lock.json) against Debian's Chromium on
the four pages issue 17 names: the coordinator's overview, the supervisor's checklist, the
credential page and the verifier. Each must keep what the plain pages scored: accessibility
100, best practices and performance at least 95. Skipped where `npm ci` has not run in
tests/lighthouse (make test runs it when npm is present); required in CI."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from issuer.config import Settings
from issuer.services import accounts
from issuer.services.keyring import KeyRing
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.app import create_app
from tests.conftest import ROOT, prepare_database
from tests.web.helpers import SOC, bearer, build_world

HERE = Path(__file__).parent
CLI = HERE / "node_modules/lighthouse/cli/index.js"
CHROMIUM = "/usr/bin/chromium"
REPORTS = ROOT / "test-artifacts" / "lighthouse"
PASSWORD = "correct horse battery"
FLOORS = {"accessibility": 100, "best-practices": 95, "performance": 95}

pytestmark = pytest.mark.browser


def missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not CLI.exists():
        return "run `npm ci` in tests/lighthouse (make test does)"
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium)"
    return None


@pytest.fixture(scope="module", autouse=True)
def lighthouse_available() -> None:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the Lighthouse test must run in CI: {reason}")
    if reason:
        pytest.skip(reason)


@dataclass(frozen=True, slots=True)
class Site:
    base: str
    coordinator: str  # session cookies
    supervisor: str
    learner: str
    credential_id: str
    learner_id: int


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(settings: Settings, port: int) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    return server, thread


def _session(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/api/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    cookie = response.cookies["issuer_session"]
    client.cookies.clear()
    return cookie


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The app on 127.0.0.1 (base_url its real address, as in production), a learner with a
    credential, and a level half confirmed on the supervisor's checklist."""
    tmp = tmp_path_factory.mktemp("lighthouse")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        base_url=base,
        data_dir=tmp / "data",
        keys_dir=tmp / "keys",
        database_url=f"sqlite:///{tmp / 'data' / 'issuer.db'}",
        issuer_name="St Example Hospital",
    )
    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    server, thread = _serve(settings, port)
    with httpx.Client(base_url=base) as client:
        world = build_world(client, settings)  # type: ignore[arg-type]
        world.confirm_all()
        assert world.attest().status_code == 201
        for statement in (1, 2, 3):
            world.confirm(statement, level="emerging")
        listed = client.get("/api/credentials", headers=bearer(world.coordinator)).json()
        entries = listed["credentials"] if isinstance(listed, dict) else listed
        credential_id = entries[0]["id"].rsplit("/", 1)[-1]
        engine = make_engine(settings.database_url)
        with transaction(session_factory(engine)) as session:
            accounts.set_password(accounts.user_by_email(session, "coord@example.org"), PASSWORD)
        engine.dispose()
        yield Site(
            base,
            _session(client, "coord@example.org", PASSWORD),
            _session(client, "sam@example.org", "supervisor-pass-1"),
            _session(client, "lee@example.org", "learner-password-1"),
            credential_id,
            world.learner_id,
        )
    server.should_exit = True
    thread.join(timeout=10)


def lighthouse(url: str, name: str, cookie: str | None) -> dict[str, int]:
    """Lighthouse's default (mobile, simulated throttling) scores, 0 to 100, of `url`."""
    REPORTS.mkdir(parents=True, exist_ok=True)
    report = REPORTS / f"{name}.json"
    command = [
        "node",
        str(CLI),
        url,
        f"--chrome-path={CHROMIUM}",
        "--chrome-flags=--headless=new --no-sandbox --disable-gpu --no-first-run",
        "--only-categories=accessibility,best-practices,performance",
        "--output=json",
        f"--output-path={report}",
        "--quiet",
    ]
    if cookie:
        command.append("--extra-headers=" + json.dumps({"Cookie": f"issuer_session={cookie}"}))
    for _ in range(3):
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=240, check=False, cwd=HERE
        )
        # A trace Chromium failed to record (NO_NAVSTART, about one run in ten on two cores)
        # says nothing of the page: Lighthouse's own advice is to run it again.
        if "Please run Lighthouse again" not in completed.stderr:
            break
    assert completed.returncode == 0, completed.stderr[-2000:]
    categories = json.loads(report.read_text())["categories"]
    return {key: round(category["score"] * 100) for key, category in categories.items()}


@pytest.mark.parametrize("name", ["overview", "checklist", "credential", "verifier"])
def test_lighthouse_scores_each_page_as_the_plain_pages_scored(site: Site, name: str) -> None:
    url, cookie = {
        "overview": (f"{site.base}/coordinator", site.coordinator),
        "checklist": (
            f"{site.base}/supervisor/learners/{site.learner_id}/{SOC}/emerging",
            site.supervisor,
        ),
        "credential": (f"{site.base}/credentials/{site.credential_id}", site.learner),
        "verifier": (f"{site.base}/verify", None),
    }[name]
    scores = lighthouse(url, name, cookie)
    below = {k: (scores[k], floor) for k, floor in FLOORS.items() if scores[k] < floor}
    assert below == {}, f"{name}: {scores} (report: test-artifacts/lighthouse/{name}.json)"
