"""The design system and the brand (issue 17, item 1): one stylesheet of tokens and
components, light and dark themes from the system setting, print styles, the issuer's brand
from settings on every page and its Open Graph preview, content-hashed assets cached for a
year, a favicon, no inline style or script, and text that breaks only between words."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.web.app import create_app
from tests.conftest import ROOT, prepare_database

CSS = (ROOT / "static/app.css").read_text()
HTML = {"accept": "text/html"}
HASHED = re.compile(r"^/static/[\w.-]+\.[0-9a-f]{12}\.\w+$")


def rules(css: str) -> list[tuple[str, str]]:
    """(selector, declarations) of every rule, nested @media blocks flattened."""
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    return [(s.strip(), d) for s, d in re.findall(r"([^{}]+)\{([^{}]*)\}", css)]


def block(css: str, at_rule: str) -> str:
    """The body of the first `@media …` block whose prelude is `at_rule`."""
    start = css.index(at_rule + " {") + len(at_rule) + 2
    depth, end = 1, start
    while depth:
        depth += {"{": 1, "}": -1}.get(css[end], 0)
        end += 1
    return css[start : end - 1]


def tokens(css: str) -> dict[str, str]:
    return dict(re.findall(r"(--[\w-]+):\s*([^;]+);", css))


@pytest.fixture
def branded(settings: Settings, tmp_path: Path) -> TestClient:
    logo = tmp_path / "logo.svg"
    logo.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle r="5"/></svg>'
    )
    configured = replace(
        settings, issuer_name="St Example Hospital", brand_colour="#0f766e", logo=logo
    )
    prepare_database(configured)
    return TestClient(create_app(configured))


# ── tokens and components ──


def test_the_stylesheet_is_built_on_tokens_of_colour_type_space_and_shape() -> None:
    root = tokens(CSS)
    for token in ("--bg", "--surface", "--ink", "--muted", "--line", "--error", "--done"):
        assert token in root, token
    assert {f"--step-{n}" for n in range(5)} <= root.keys()
    assert {f"--space-{n}" for n in range(1, 9)} <= root.keys()
    assert {"--radius", "--radius-s", "--radius-l", "--font", "--tap"} <= root.keys()
    # Components take their values from the tokens: no colour literal outside the token
    # blocks but the few that must not follow the theme (a danger button, a QR code's paper).
    screen = CSS.replace(block(CSS, "@media print"), "")  # paper is white whatever the theme
    literals = [
        (selector, colour)
        for selector, body in rules(screen)
        if not selector.startswith(":root")
        for colour in re.findall(r"#[0-9a-fA-F]{3,6}\b", body)
    ]
    assert literals == [(".qr svg", "#ffffff")]  # a QR code needs its white paper


@pytest.mark.parametrize(
    "component",
    [
        ".button.primary",  # buttons
        ".field",  # form controls
        'input[type="file"]',
        ".table-wrap",  # tables
        "th a.sort",
        ".pager",
        ".alert.error",  # alerts
        ".card",  # cards
        ".pill",  # badges (status)
        ".empty",  # empty states
        ".site-nav",  # navigation
        '.subnav a[aria-current="page"]',
        ".chart .bar-done",  # charts
    ],
)
def test_each_component_has_its_rule(component: str) -> None:
    assert any(component in selector for selector, _ in rules(CSS)), component


def test_a_dark_theme_follows_the_system_setting_and_redefines_every_colour() -> None:
    light = tokens(CSS.split("@media (prefers-color-scheme: dark)")[0])
    dark = tokens(block(CSS, "@media (prefers-color-scheme: dark)"))
    same = {"--danger", "--danger-hover", "--on-danger"}  # reads on both themes as it is
    colours = {k for k, v in light.items() if v.strip().startswith("#") and "brand" not in k} - same
    assert colours and colours <= dark.keys(), colours - dark.keys()
    assert all(dark[k] != light[k] for k in colours)
    assert "color-scheme: light dark" in CSS


def test_print_hides_the_application_around_the_content() -> None:
    printed = block(CSS, "@media print")
    hidden = printed.split("display: none")[0]
    for part in (".site-header", ".site-footer", ".subnav", "form", "button", ".pager"):
        assert part in hidden, part
    assert "--ink: #000000" in printed and "background: #ffffff" in printed


# ── words break between words; only long tokens anywhere ──


def test_only_long_tokens_may_break_anywhere() -> None:
    breaking = [
        selector
        for selector, body in rules(CSS)
        if re.search(r"overflow-wrap:\s*anywhere|word-break:\s*break-all", body)
    ]
    assert breaking, "a class for long tokens (DIDs, URLs) must exist"
    assert all(".token" in s or "a[href" in s for s in breaking), breaking
    for selector, body in rules(CSS):
        if selector in ("main", "body", "p", "html") or selector.startswith("main,"):
            assert "overflow-wrap" not in body and "word-break" not in body, selector
    assert any(s == ".token" for s, _ in rules(CSS))


# ── no inline style or script: the Content-Security-Policy allows none ──


def page_templates() -> list[Path]:
    return [
        p
        for p in sorted((ROOT / "templates").rglob("*.html"))
        if "mail" not in p.relative_to(ROOT / "templates").parts
    ]


@pytest.mark.parametrize("template", page_templates(), ids=lambda p: p.name)
def test_no_template_has_an_inline_style_or_script(template: Path) -> None:
    text = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)  # not the comments
    assert not re.search(r"\sstyle=", text), "a style= attribute"
    assert "<style" not in text, "a <style> element"
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), "an inline <script>"
    assert not re.search(r"\son[a-z]+=", text), "an event handler attribute"


def test_the_policy_allows_no_inline_style_or_script(branded: TestClient) -> None:
    policy = branded.get("/", headers=HTML).headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    for name in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in directives[name] and "http" not in directives[name]
    assert directives["default-src"] == "'self'"


# ── the brand, from settings, on the pages and in the Open Graph preview ──


def test_the_brand_is_on_every_page_and_in_its_preview(branded: TestClient) -> None:
    for path in ("/", "/login", "/verify", "/achievements/29-2034.00/emerging"):
        page = branded.get(path, headers=HTML).text
        logo = re.search(r'<a class="site-brand" href="/"><img src="([^"]+)"', page)
        assert logo and HASHED.match(logo.group(1)), path
        assert "<span>St Example Hospital</span>" in page, path
        assert "St Example Hospital</title>" in page or path == "/verify", path
        assert '<meta name="theme-color" content="#0f766e">' in page, path
        assert '<meta property="og:site_name" content="St Example Hospital">' in page, path
    home = branded.get("/", headers=HTML).text
    assert home.count('property="og:title"') == 1
    assert f'<meta property="og:image" content="http://127.0.0.1:8000{logo.group(1)}">' in home
    served = branded.get(logo.group(1))
    assert b"<circle" in served.content and served.headers["content-type"].startswith("image/svg")


def test_the_brand_colour_reaches_the_stylesheet(branded: TestClient) -> None:
    page = branded.get("/", headers=HTML).text
    brand_css, app_css = re.findall(r'<link rel="stylesheet" href="([^"]+)">', page)[:2]
    assert "/brand." in brand_css and "/app." in app_css  # brand first: app.css uses it
    assert "--brand: #0f766e;" in branded.get(brand_css).text
    assert "var(--brand)" in CSS and "--brand: #1d4ed8" in CSS  # a fallback, overridden


# ── assets: content-hashed names, cached for a year, a favicon ──


def test_every_asset_has_a_content_hashed_name_and_a_long_cache(branded: TestClient) -> None:
    page = branded.get("/", headers=HTML).text
    local = re.findall(r'(?:href|src)="(/static/[^"]+)"', page)
    assert len(local) >= 4  # logo (twice), brand.css, app.css, app.js
    for url in local:
        assert HASHED.match(url), url
        served = branded.get(url)
        assert served.status_code == 200
        assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert not re.search(r'(?:href|src)="https?://(?!127\.0\.0\.1:8000)', page)  # no CDN
    stale = re.sub(r"\.[0-9a-f]{12}\.", ".000000000000.", local[0])
    assert branded.get(stale).status_code == 404


def test_the_favicon_is_the_brands_logo(branded: TestClient) -> None:
    page = branded.get("/", headers=HTML).text
    icon = re.search(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page)
    assert icon and HASHED.match(icon.group(1))
    favicon = branded.get("/favicon.ico")
    assert favicon.status_code == 200 and b"<circle" in favicon.content
    assert favicon.headers["cache-control"] == "public, max-age=86400"
