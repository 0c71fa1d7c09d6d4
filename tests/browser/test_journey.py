"""The whole journey in a real browser (Debian's Chromium driven by Playwright), against the app
served by uvicorn on 127.0.0.1: coordinator → CSV enrolment → supervisor sign-off → learner's
claim link. Every page is screenshotted (test-artifacts/) and checked with axe-core."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from issuer.config import Settings
from issuer.services import accounts
from issuer.services.keyring import KeyRing
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.app import create_app
from tests.conftest import ROOT, prepare_database

CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "tests/interop/node_modules/axe-core/axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "journey"
PASSWORD = "correct horse battery"
WIDTHS = (1280, 375)  # a desktop, a phone: every page is checked at both
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


def missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install chromium)"
    if not AXE.exists():
        return "axe-core is not installed (npm ci in tests/interop)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


@pytest.fixture(scope="module", autouse=True)
def browser_available() -> None:
    reason = missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the browser test must run in CI: {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        base_url=base,
        data_dir=tmp_path / "data",
        keys_dir=tmp_path / "keys",
        database_url=f"sqlite:///{tmp_path / 'data' / 'issuer.db'}",
        issuer_name="St Example Hospital",
    )
    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        accounts.create_user(
            session,
            email="coord@example.org",
            name="Casey Coordinator",
            roles=["coordinator"],
            password=PASSWORD,
        )
        accounts.create_user(
            session,
            email="sam@example.org",
            name="Dr Sam Müller",
            roles=["supervisor"],
            password=PASSWORD,
        )
    engine.dispose()
    uvicorn_server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uvicorn_server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert uvicorn_server.started
    yield base, settings
    uvicorn_server.should_exit = True
    thread.join(timeout=10)


class Checked:
    """Screenshots every page at 1280 and at 375 px and runs axe-core on it at each width.
    axe-core is injected as an inline script, which our Content-Security-Policy forbids:
    these contexts bypass the policy, and tests/browser/test_security.py holds the pages to it."""

    def __init__(self, page, name: str) -> None:  # type: ignore[no-untyped-def]
        self.page, self.name, self.count = page, name, 0

    def check(self, label: str) -> None:
        self.count += 1
        own = self.page.viewport_size
        for width in sorted(WIDTHS, key=lambda w: w != own["width"]):  # its own width first
            self.page.set_viewport_size({"width": width, "height": own["height"]})
            self._at(width, label)
        self.page.set_viewport_size(own)

    def _at(self, width: int, label: str) -> None:
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.name}-{self.count:02d}-{label}-{width}.png"),
            full_page=True,
        )
        self.page.add_script_tag(path=str(AXE))
        result = self.page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
        )
        serious = [v for v in result if v["impact"] in ("serious", "critical")]
        assert serious == [], (label, width, serious)
        scroll = self.page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width + 1, (label, width, "scrolls sideways", scroll)


def login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")


def test_the_whole_journey(server: tuple[str, Settings], tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = server
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    framework = json.loads(
        (ROOT / "issuer/data/frameworks/nuclear-medicine-technologists-29-2033.00.json").read_text()
    )
    framework["occupation"] = {
        **framework["occupation"],
        "soc": "29-9999.00",
        "title": "Imaging Assistants",
    }
    framework_file = tmp_path / "imaging.json"
    framework_file.write_text(json.dumps(framework))
    bad_file = tmp_path / "broken.json"
    bad_file.write_text('{"schemaVersion": "1.0"')
    csv_file = tmp_path / "cohort.csv"
    csv_file.write_text(
        "name,email,supervisor_email,framework,cohort\n"
        "Lee Learner,lee@example.org,sam@example.org,29-9999.00,2026\n"
        "Bad Row,not-an-email,sam@example.org,29-9999.00,\n"
    )

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        # Coordinator, on a desktop.
        page = browser.new_context(
            viewport={"width": 1280, "height": 900}, bypass_csp=True
        ).new_page()
        desk = Checked(page, "coordinator")
        page.goto(f"{base}/login")
        desk.check("login")
        login(page, base, "coord@example.org")
        assert page.url.endswith("/coordinator")
        desk.check("overview")
        console = page.get_by_role("navigation", name="Console")
        console.get_by_role("link", name="Frameworks").click()
        assert page.url.endswith("/coordinator/frameworks")
        page.set_input_files("#framework-file", str(bad_file))
        page.get_by_role("button", name="Import").click()
        assert "malformed JSON" in page.inner_text("[role=alert]")
        desk.check("import-error")
        page.set_input_files("#framework-file", str(framework_file))
        page.get_by_role("button", name="Import").click()
        assert "framework imported" in page.inner_text("[role=status]")
        assert "Imaging Assistants" in page.inner_text("tbody")
        desk.check("frameworks")
        console.get_by_role("link", name="Enrolment").click()
        desk.check("enrolment")
        page.set_input_files("#csv-file", str(csv_file))
        page.get_by_role("button", name="Check the file").click()
        assert "will be enrolled" in page.content() and "bad email" in page.content()
        desk.check("enrolment-dry-run")
        page.get_by_role("button", name="Enrol the 1 valid rows").click()
        assert "1 enrolled" in page.inner_text("[role=status]")
        desk.check("enrolment-applied")
        console.get_by_role("link", name="Enrolment").click()
        page.fill("#assign-learner", "lee@example.org")
        page.fill("#assign-supervisor", "sam@example.org")
        page.select_option("#assign-framework", "29-9999.00")
        page.get_by_role("button", name="Assign").click()
        assert "supervisor assigned" in page.inner_text("[role=status]")
        console.get_by_role("link", name="People").click()
        page.fill("#people-search", "lee")
        page.get_by_role("button", name="Find").click()
        assert "1 person matching" in page.inner_text("[role=status]")
        desk.check("people")

        # Supervisor, on a phone at a clinical workstation.
        phone = browser.new_context(
            viewport={"width": 375, "height": 812}, bypass_csp=True
        ).new_page()
        ward = Checked(phone, "supervisor")
        login(phone, base, "sam@example.org")
        ward.check("my-learners")
        phone.get_by_role("link", name="Emerging").click()
        ward.check("checklist")
        for number in range(1, 11):
            phone.fill(f"#setting-{number}", "Nuclear medicine suite, St Example")
            phone.get_by_role("button", name=f"Confirm statement {number}", exact=True).click()
            assert f"statement {number} confirmed" in phone.inner_text("[role=status]")
        ward.check("all-confirmed")
        phone.get_by_role("button", name="Attest the Emerging level").click()
        assert "credential is issued" in phone.inner_text("[role=status]")
        ward.check("attested")

        # Learner, from the claim link in the e-mail.
        # (Lee's invitation from the enrolment is in the outbox too.)
        deadline = time.monotonic() + 10
        link = None
        while link is None and time.monotonic() < deadline:
            for eml in (settings.data_dir / "outbox").glob("*.eml"):
                link = link or re.search(r"(http://127\.0\.0\.1:\d+/claim/\S+)", eml.read_text())
            time.sleep(0.1)
        assert link is not None
        learner = browser.new_context(
            viewport={"width": 375, "height": 812}, bypass_csp=True
        ).new_page()
        own = Checked(learner, "learner")
        learner.goto(link.group(1))
        own.check("claim")
        learner.get_by_role("button", name="Continue to my badge").click()
        assert "Imaging Assistants: Emerging" in learner.inner_text("h1")
        assert "Valid" in learner.inner_text("[role=status]")
        own.check("credential")
        learner.goto(f"{base}/learner")
        own.check("progress")

        # Back to the coordinator: what was issued, who did what, the learner's matrix.
        page.goto(f"{base}/coordinator/credentials")
        assert "Imaging Assistants: Emerging" in page.content()
        desk.check("credentials")
        page.goto(f"{base}/coordinator/audit?actor=sam@example.org")
        events = page.inner_text("tbody")
        assert "level.attested" in events and "confirmation.created" in events
        assert "framework.imported" not in events  # the coordinator did that, not Sam
        desk.check("audit")
        page.goto(f"{base}/coordinator")
        assert "1 learner by level" in (page.text_content("svg title") or "")  # the cohort chart
        desk.check("overview-charts")
        console.get_by_role("link", name="People").click()
        page.get_by_role("link", name="Lee Learner").click()
        desk.check("person")
        page.get_by_role("link", name="See progress in Imaging Assistants").click()
        assert "10 of 10 confirmed" in page.content()
        desk.check("progress-matrix")
        page.goto(f"{base}/account/password")
        desk.check("password")

        # Anyone: the public pages and the verifier.
        visitor = browser.new_context(
            viewport={"width": 375, "height": 812}, bypass_csp=True
        ).new_page()
        public = Checked(visitor, "public")
        visitor.goto(f"{base}/")
        public.check("achievements")
        visitor.goto(f"{base}/achievements/29-9999.00/emerging")
        public.check("achievement")
        visitor.goto(f"{base}/verify")
        public.check("verify-form")
        browser.close()
    # One per page checked above, at each width.
    assert len(list(ARTIFACTS.glob("*.png"))) == 24 * len(WIDTHS)

    # What the journey issued passes 1EdTech's certification checks (issue 18's done-when).
    from typer.testing import CliRunner

    from issuer.cli import app

    environment = {
        "ISSUER_BASE_URL": settings.base_url,
        "ISSUER_DATA_DIR": str(settings.data_dir),
        "ISSUER_KEYS_DIR": str(settings.keys_dir),
        "ISSUER_DATABASE_URL": settings.database_url,
    }
    checked = CliRunner().invoke(app, ["conformance", "check", "--all"], env=environment)
    assert checked.exit_code == 0, checked.output
    assert " 0 would fail certification" in checked.output
