"""The Content-Security-Policy in a real browser: our own pages break none of it, and markup an
attacker gets into a page (an inline handler, a `javascript:` link) does not run.

The attack this replays: a credential whose `issuer.url` was `javascript:…` was rendered as a
link on the verify result; a signed-in coordinator who clicked it ran a script that read the
CSRF token and created a coordinator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from issuer.config import Settings
from tests.browser.test_journey import CHROMIUM, FLAGS, browser_available, login, server

__all__ = ["browser_available", "server"]

pytestmark = pytest.mark.browser
PAGES = ("/", "/verify", "/login", "/docs", "/coordinator", "/coordinator/credentials")


def watch_violations(page: Any) -> list[str]:
    """Every CSP violation the page reports, as the browser's console sees it."""
    seen: list[str] = []
    page.on(
        "console",
        lambda message: (
            seen.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    return seen


def test_our_pages_keep_the_policy_and_injected_markup_does_not_run(
    server: tuple[str, Settings], tmp_path: Path, unsigned_credential: dict[str, Any]
) -> None:
    from playwright.sync_api import sync_playwright

    base, _ = server
    hostile = {
        **unsigned_credential,
        "name": 'Badge <img src=x onerror="window.pwned=1">',
        "issuer": {
            "id": "did:example:evil",
            "type": ["Profile"],
            "name": "Evil <script>window.pwned=2</script>",
            "url": "javascript:window.pwned=3",
        },
    }
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        violations = watch_violations(page)
        login(page, base, "coord@example.org")
        for path in PAGES:
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
        assert violations == [], violations

        page.goto(f"{base}/verify")
        page.fill("#credential", json.dumps(hostile))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_load_state("networkidle")
        assert "Not verified" in page.inner_text("[role=status]")
        assert page.locator("a[href^='javascript:']").count() == 0
        assert page.evaluate("window.pwned") is None
        assert violations == [], violations

        # Suppose markup did get in: the policy still stops it.
        page.evaluate(
            """() => {
                document.body.insertAdjacentHTML('beforeend',
                  '<img src="/nothing.png" onerror="window.pwned=4">' +
                  '<a id="evil" href="javascript:window.pwned=5">x</a>');
            }"""
        )
        page.click("#evil")
        page.wait_for_timeout(300)
        assert page.evaluate("window.pwned") is None
        assert any("inline" in text or "javascript" in text for text in violations), violations
        browser.close()
