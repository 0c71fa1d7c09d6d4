"""The supervisor's checklist on a phone (375 × 812) in a real browser: ten statements confirmed
in place with htmx and no page load, focus on the next statement each time, tap targets of
44 px at least, axe-core clean, and the same flow under the Content-Security-Policy (no bypass)
without a single violation; and, without JavaScript, the same forms posted and the page coming
back at the next statement. Screenshots at 375 and 1280 px go to test-artifacts/checklist/."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from issuer.config import Settings
from issuer.services import accounts, roster
from issuer.store.db import make_engine, session_factory, transaction
from tests.browser.test_journey import AXE, CHROMIUM, FLAGS, browser_available, login, server
from tests.browser.test_security import watch_violations
from tests.conftest import ROOT

__all__ = ["browser_available", "server"]

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "checklist"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
SOC, LEVEL, LABEL = "29-2034.00", "proficient", "Proficient"
# Every control of the checklist that is drawn (a closed <details> hides its note field), and
# its links but those in a sentence (WCAG 2.5.8 exempts inline targets).
SMALL_TARGETS = """() => [...document.querySelectorAll(
    '.checklist button, .checklist select, .checklist input:not([type=hidden]),' +
    '.checklist summary, .checklist a:not(p a)'
  )].filter(e => e.getClientRects().length).map(e => {
    const r = e.getBoundingClientRect();
    return {what: e.id || e.textContent.trim().slice(0, 40), width: r.width, height: r.height};
  }).filter(t => t.width < 44 || t.height < 44)"""


def enrol(settings: Settings, email: str, name: str) -> int:
    """A learner assigned to Sam (the supervisor the `server` fixture made) in SOC."""
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        learner = accounts.create_user(session, email=email, name=name, roles=["learner"])
        roster.assign(
            session,
            accounts.user_by_email(session, "coord@example.org"),
            learner_email=email,
            supervisor_email="sam@example.org",
            soc=SOC,
        )
        learner_id = learner.id
    engine.dispose()
    return learner_id


class Phone:
    """One supervisor's page on the checklist, counting every page load after the first."""

    def __init__(self, page: Any, base: str, learner_id: int) -> None:
        self.page, self.shots = page, 0
        page.set_viewport_size(PHONE)
        login(page, base, "sam@example.org")
        page.goto(f"{base}/supervisor/learners/{learner_id}/{SOC}/{LEVEL}")
        page.evaluate("window.sameDocument = true")
        self.loads: list[str] = []
        page.on(
            "framenavigated",
            lambda frame: self.loads.append(frame.url) if frame == page.main_frame else None,
        )

    def no_page_load(self) -> None:
        assert self.loads == [], self.loads
        assert self.page.evaluate("window.sameDocument") is True
        assert self.page.evaluate("performance.getEntriesByType('navigation').length") == 1

    def confirm_all(self) -> None:
        """Statement by statement, as a supervisor does: the first needs its setting, the
        rest start from the one before."""
        page = self.page
        page.fill("#setting-1", "CT suite, St Example")
        for number in range(1, 11):
            if number > 1:
                assert page.input_value(f"#setting-{number}") == "CT suite, St Example"
            page.get_by_role("button", name=f"Confirm statement {number}", exact=True).click()
            page.wait_for_selector(f"#statement-{number}.confirmed")
            assert f"statement {number} confirmed" in page.inner_text("#checklist-status")
            expected = f"statement-{number + 1}-text" if number < 10 else "attest-title"
            assert page.evaluate("document.activeElement.id") == expected, number
            top = page.evaluate("document.activeElement.getBoundingClientRect().top")
            assert 0 <= top < PHONE["height"], (number, "focus is off screen", top)
        self.no_page_load()

    def check(self, label: str) -> None:
        """Screenshot, tap targets, no sideways scrolling, and axe-core (an inline script:
        only in a context that bypasses the policy)."""
        self.shots += 1
        width = self.page.viewport_size["width"]
        self.page.screenshot(
            path=str(ARTIFACTS / f"{self.shots:02d}-{label}-{width}.png"), full_page=True
        )
        assert self.page.evaluate(SMALL_TARGETS) == [], label
        assert self.page.evaluate("document.documentElement.scrollWidth") <= width + 1, label
        self.page.add_script_tag(path=str(AXE))
        found = self.page.evaluate(
            "async () => (await axe.run(document)).violations"
            ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
        )
        assert [v for v in found if v["impact"] in ("serious", "critical")] == [], label


def test_ten_statements_on_a_phone_without_a_page_load(server: tuple[str, Settings]) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = server
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    learner_id = enrol(settings, "lee@example.org", "Lee Learner")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
        phone = Phone(page, base, learner_id)
        phone.check("checklist")
        page.set_viewport_size(DESKTOP)
        phone.check("checklist")
        page.set_viewport_size(PHONE)
        phone.confirm_all()
        heights = page.evaluate(
            "[...document.querySelectorAll('li.confirmed')].map(li => li.offsetHeight)"
        )
        assert len(heights) == 10 and max(heights) < 64, heights  # one line each
        phone.check("summary")
        summary = page.inner_text("#attest")
        assert "Issued to Lee Learner" in summary and "Attest the Proficient level" in summary
        assert page.locator("#attest img").evaluate("img => img.complete && img.naturalWidth") > 0

        # Withdrawn and confirmed again, in place too.
        page.get_by_role("button", name="Withdraw confirmation 4").click()
        page.wait_for_selector("#statement-4.open")
        assert page.evaluate("document.activeElement.id") == "statement-4-text"
        assert "9 of 10" in page.inner_text("#checklist-count")
        assert "Attest the Proficient level" not in page.inner_text("#attest")
        page.get_by_role("button", name="Confirm statement 4", exact=True).click()
        page.wait_for_selector("#statement-4.confirmed")
        phone.no_page_load()

        page.set_viewport_size(DESKTOP)
        phone.check("summary")
        page.set_viewport_size(PHONE)
        page.get_by_role("button", name=f"Attest the {LABEL} level").click()
        assert "credential is issued" in page.inner_text("[role=status]")
        phone.check("attested")
        browser.close()


def test_the_same_flow_keeps_the_content_security_policy(server: tuple[str, Settings]) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = server
    learner_id = enrol(settings, "max@example.org", "Max Learner")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport=PHONE).new_page()
        violations = watch_violations(page)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        phone = Phone(page, base, learner_id)
        assert page.evaluate("typeof htmx") == "object"
        phone.confirm_all()
        page.get_by_role("button", name="Withdraw confirmation 7").click()
        page.wait_for_selector("#statement-7.open")
        phone.no_page_load()
        assert violations == [], violations
        assert errors == [], errors
        browser.close()


def test_without_javascript_the_page_comes_back_at_the_next_statement(
    server: tuple[str, Settings],
) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = server
    learner_id = enrol(settings, "ana@example.org", "Ana Learner")
    url = f"{base}/supervisor/learners/{learner_id}/{SOC}/{LEVEL}"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport=PHONE, java_script_enabled=False).new_page()
        login(page, base, "sam@example.org")
        page.goto(url)
        assert page.locator("#date-1").is_visible()
        page.fill("#setting-1", "Ward 4")
        page.select_option("#method-1", "discussion")
        page.get_by_role("button", name="Confirm statement 1", exact=True).click()
        page.wait_for_url(f"{url}?next=2#statement-2")
        assert "statement 1 confirmed" in page.inner_text("[role=status]")
        assert "1 of 10" in page.inner_text("#checklist-count")
        # The next form is unfolded, filled in from the one before.
        assert page.locator("#setting-2").is_visible() and not page.locator("#date-3").is_visible()
        assert page.input_value("#setting-2") == "Ward 4"
        assert page.input_value("#method-2") == "discussion"
        page.screenshot(path=str(ARTIFACTS / "no-javascript-375.png"), full_page=True)
        page.get_by_role("button", name="Confirm statement 2", exact=True).click()
        page.wait_for_url(f"{url}?next=3#statement-3")
        # Withdrawn, a statement is the one to confirm again, as with htmx.
        page.get_by_role("button", name="Withdraw confirmation 1").click()
        page.wait_for_url(f"{url}?next=1#statement-1")
        assert "statement 1 withdrawn" in page.inner_text("[role=status]")
        assert page.locator("#setting-1").is_visible() and not page.locator("#date-3").is_visible()
        assert "1 of 10" in page.inner_text("#checklist-count")
        browser.close()
