"""What the browser tests share: Chromium on loopback only, each distinct page checked at
both widths (screenshots, axe-core, no sideways scrolling), and signing in and out by the
pages' accessible names rather than their markup, which other work keeps changing."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.browser.test_journey import AXE, CHROMIUM, FLAGS

WIDTHS = ({"width": 1280, "height": 900}, {"width": 375, "height": 812})
# What makes a page scroll sideways: the text and elements that reach past the viewport.
TOO_WIDE = """() => {
  const out = [], walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ALL);
  const range = document.createRange();
  for (let n = walker.nextNode(); n && out.length < 5; n = walker.nextNode()) {
    if (n.nodeType === Node.TEXT_NODE) range.selectNodeContents(n); else range.selectNode(n);
    if (range.getBoundingClientRect().right > window.innerWidth + 1 && !n.firstElementChild)
      out.push(`${n.parentElement?.tagName} ${n.textContent.trim().slice(0, 60)}`);
  }
  return out;
}"""


class Pages:
    """Each distinct page: a screenshot at 1280 and at 375 px, axe-core at both widths (no
    serious or critical violation), and no sideways scrolling. axe-core is injected as an
    inline script, which our Content-Security-Policy forbids: these contexts bypass the policy
    (tests/browser/test_security.py holds the pages to it).

    What a page gets wrong is noted, not raised, so that one journey reports every page's
    problems; `assert_clean` ends the test with them all."""

    def __init__(self, directory: Path) -> None:
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
        self.directory, self.count = directory, 0
        self.problems: list[tuple[str, int, str, object]] = []

    def check(self, page: Any, label: str, axe: bool = True) -> None:
        self.count += 1
        before = page.viewport_size
        for size in WIDTHS:
            page.set_viewport_size(size)
            width = size["width"]
            shot = self.directory / f"{self.count:02d}-{label}-{width}.png"
            page.screenshot(path=str(shot), full_page=True)
            if not axe:
                continue
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width + 1:
                self.problems.append((label, width, "scrolls sideways", page.evaluate(TOO_WIDE)))
            if not page.evaluate("typeof axe !== 'undefined'"):
                page.add_script_tag(path=str(AXE))
            found = page.evaluate(
                "async () => (await axe.run(document)).violations.map(v => "
                "({id: v.id, impact: v.impact, nodes: v.nodes.map(n => n.target.join(' '))}))"
            )
            serious = [v for v in found if v["impact"] in ("serious", "critical")]
            if serious:
                self.problems.append((label, width, "axe-core", serious))
        page.set_viewport_size(before)

    def assert_clean(self) -> None:
        assert len(list(self.directory.glob("*.png"))) == len(WIDTHS) * self.count
        assert self.problems == [], "\n".join(map(repr, self.problems))


def new_page(browser: Any) -> Any:
    """A fresh browser profile that may reach 127.0.0.1 only (the provider's login page
    imports a web font, for one)."""
    context = browser.new_context(viewport=WIDTHS[0], bypass_csp=True)
    context.set_default_timeout(15_000)
    context.route(
        "**/*",
        lambda route: (
            route.continue_()
            if urlsplit(route.request.url).hostname == "127.0.0.1"
            else route.abort()
        ),
    )
    return context.new_page()


def sign_in(page: Any, base: str, address: str, password: str) -> None:
    page.goto(f"{base}/login")
    form = page.locator("form").filter(has=page.get_by_label("Password", exact=True))
    form.get_by_label("Email", exact=True).fill(address)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_role("button", name="Sign in").click()


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/login$"))


def signed_in_as(page: Any, name: str) -> None:
    """The signed-in navigation: who, and a way out; no "Sign in" link."""
    header = page.get_by_role("banner")
    assert f"Signed in as {name}" in header.inner_text(), page.url
    assert header.get_by_role("button", name="Sign out").count() == 1, page.url
    assert header.get_by_role("link", name="Sign in", exact=True).count() == 0, page.url


def said(page: Any, words: str) -> None:
    """The page's status message (a flash, a result) says `words`."""
    page.get_by_role("status").filter(has_text=words).first.wait_for(timeout=5_000)


@contextmanager
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            yield chromium
        finally:
            chromium.close()
