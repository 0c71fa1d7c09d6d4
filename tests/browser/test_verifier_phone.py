"""The employer's verifier, the credential page and the claim page in a real browser, at 375 and
1280 px: no sideways scrolling, axe-core clean, the badge image drawn, the e-mail check done
from a phone, the print report without the forms, and every page under the strict
Content-Security-Policy without one violation. Screenshots go to test-artifacts/verifier/."""

from __future__ import annotations

import re
import shutil
import time
from typing import Any

import httpx
import pytest

from issuer.config import Settings
from issuer.services import accounts
from issuer.store.db import make_engine, session_factory, transaction
from tests.browser.test_journey import AXE, CHROMIUM, FLAGS, browser_available, server
from tests.browser.test_security import watch_violations
from tests.conftest import ROOT

__all__ = ["browser_available", "server"]

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "verifier"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
SOC, LEVEL = "29-2034.00", "proficient"


def issue(base: str, settings: Settings) -> tuple[str, str]:
    """Enrol Zoë, confirm her ten statements as Sam, attest: (credential URL, claim link)."""
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        coordinator = accounts.create_token(
            session, accounts.user_by_email(session, "coord@example.org")
        )
        supervisor = accounts.create_token(
            session, accounts.user_by_email(session, "sam@example.org")
        )
    engine.dispose()
    with httpx.Client(base_url=base, timeout=30) as api:
        as_coordinator = {"authorization": f"Bearer {coordinator}"}
        as_supervisor = {"authorization": f"Bearer {supervisor}"}
        learner = api.post(
            "/api/users",
            headers=as_coordinator,
            json={"email": "zoe@example.org", "name": "Zoë Nguyễn", "roles": ["learner"]},
        )
        assert learner.status_code == 201, learner.text
        assigned = api.post(
            "/api/assignments",
            headers=as_coordinator,
            json={
                "learner_email": "zoe@example.org",
                "supervisor_email": "sam@example.org",
                "soc": SOC,
            },
        )
        assert assigned.status_code == 201, assigned.text
        path = f"/api/supervisor/learners/{learner.json()['id']}"
        for statement in range(1, 11):
            confirmed = api.post(
                f"{path}/confirmations",
                headers=as_supervisor,
                json={
                    "soc": SOC,
                    "level": LEVEL,
                    "statement": statement,
                    "observed_on": "2026-11-02",
                    "method": "clinical-practice",
                    "setting": "CT suite, St Example Hospital",
                },
            )
            assert confirmed.status_code == 201, confirmed.text
        attested = api.post(
            f"{path}/attestations", headers=as_supervisor, json={"soc": SOC, "level": LEVEL}
        )
        assert attested.status_code == 201, attested.text
    return attested.json()["credential"]["id"], claim_link(settings)


def claim_link(settings: Settings) -> str:
    for _ in range(100):
        for eml in (settings.data_dir / "outbox").glob("*.eml"):
            found = re.search(r"(http://127\.0\.0\.1:\d+/claim/[A-Za-z0-9_-]+)", eml.read_text())
            if found:
                return found.group(1)
        time.sleep(0.1)
    raise AssertionError("no claim e-mail")


def check(page: Any, label: str) -> None:
    """Screenshot at both widths; no sideways scrolling; axe-core finds nothing serious."""
    for size in (PHONE, DESKTOP):
        page.set_viewport_size(size)
        page.screenshot(path=str(ARTIFACTS / f"{label}-{size['width']}.png"), full_page=True)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size["width"] + 1, (label, size, width)
    page.set_viewport_size(PHONE)
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))"
    )
    assert [v for v in found if v["impact"] in ("serious", "critical")] == [], (label, found)


def drawn(page: Any, selector: str) -> bool:
    return bool(page.locator(selector).evaluate("img => img.complete && img.naturalWidth > 0"))


def test_the_verifier_and_the_badge_pages_on_a_phone(server: tuple[str, Settings]) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = server
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    credential_url, claim = issue(base, settings)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        learner = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
        learner.goto(claim)
        assert "Zoë Nguyễn" in learner.inner_text("main") and drawn(learner, ".claim-badge")
        check(learner, "claim")
        learner.get_by_role("button", name="Continue to my badge").click()
        assert "Add to LinkedIn profile" in learner.inner_text(".actions")
        check(learner, "credential-owner")

        page = browser.new_context(viewport=PHONE, bypass_csp=True).new_page()
        page.goto(credential_url)
        assert "Level 3 of 4: Proficient" in page.inner_text(".credential-level")
        assert page.locator(".levels li").count() == 4
        assert page.get_attribute(".levels li:nth-child(3)", "aria-current") == "step"
        assert drawn(page, ".credential-badge")
        check(page, "credential")

        page.goto(f"{base}/verify")
        check(page, "verify-form")
        page.fill("#url", credential_url)
        page.fill("#email", "ZOE@example.org")
        page.get_by_role("button", name="Verify", exact=True).click()
        assert "✔ Verified" in page.inner_text(".verdict-banner")
        assert "Yes, it matches" in page.inner_text(".belongs")
        assert "zoe@example.org" not in page.content().lower()
        assert "email=" not in page.url and page.input_value("#email") == ""
        assert drawn(page, ".verdict-badge")
        check(page, "verify-result")
        page.fill("#email", "someone@example.org")
        page.get_by_role("button", name="Check the e-mail address").click()
        assert "No match" in page.inner_text(".belongs")

        page.emulate_media(media="print")
        page.screenshot(path=str(ARTIFACTS / "verify-print.png"), full_page=True)
        assert page.locator(".belongs-form").is_hidden()
        assert page.locator(".site-header").is_hidden()
        assert page.locator(".verdict-banner").is_visible()
        assert page.locator(".findings").first.is_visible()
        browser.close()


def test_the_pages_keep_the_content_security_policy(server: tuple[str, Settings]) -> None:
    from playwright.sync_api import sync_playwright

    base, settings = server
    credential_url, claim = issue(base, settings)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport=PHONE).new_page()
        violations = watch_violations(page)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        for address in (claim, credential_url, f"{base}/verify?url={credential_url}"):
            page.goto(address)
            page.wait_for_load_state("networkidle")
        page.fill("#email", "zoe@example.org")
        page.get_by_role("button", name="Check the e-mail address").click()
        page.wait_for_load_state("networkidle")
        assert "Yes, it matches" in page.inner_text(".belongs")
        assert violations == [], violations
        assert errors == [], errors
        browser.close()
