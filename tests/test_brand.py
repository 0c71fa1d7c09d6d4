"""The brand the settings give: checked at start-up, one value for every place it shows."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from issuer.brand import Brand
from issuer.config import Settings
from issuer.errors import InvalidInput
from issuer.web.app import create_app


def test_without_a_logo_the_brand_draws_a_monogram() -> None:
    brand = Brand.load("St Example Hospital", "#0F766E", None, "A4")
    assert brand.colour == "#0f766e" and brand.initials == "SE"
    logo, kind = brand.logo_file()
    assert kind == "image/svg+xml" and b">SE</text>" in logo and b'fill="#0f766e"' in logo
    assert Brand.load("Zoë Nguyễn — Training", "#000000", None, "A4").initials == "ZN"


@pytest.mark.parametrize(
    ("colour", "logo", "paper", "message"),
    [
        ("blue", None, "A4", "ISSUER_BRAND_COLOUR"),
        ("#12345", None, "A4", "ISSUER_BRAND_COLOUR"),
        ("#123456", Path("logo.gif"), "A4", "ISSUER_LOGO"),
        ("#123456", Path("/nonexistent/logo.svg"), "A4", "cannot be read"),
        ("#123456", None, "A3", "ISSUER_CERTIFICATE_PAPER"),
    ],
)
def test_a_bad_brand_setting_is_named(
    colour: str, logo: Path | None, paper: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message):
        Brand.load("X", colour, logo, paper)


def test_the_logo_is_served_under_a_content_hashed_name(settings: Settings, tmp_path: Path) -> None:
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    client = TestClient(create_app(replace(settings, logo=logo)))
    url = client.app.state.templates.env.globals["logo_url"]  # type: ignore[attr-defined]
    assert url.startswith("/static/logo.") and url.endswith(".png")
    served = client.get(url)
    assert served.content == logo.read_bytes() and served.headers["content-type"] == "image/png"
    assert "immutable" in served.headers["cache-control"]


def test_settings_read_the_brand_from_the_environment() -> None:
    settings = Settings.from_env(
        {"ISSUER_BRAND_COLOUR": "#0f766e", "ISSUER_CERTIFICATE_PAPER": "Letter"}
    )
    assert settings.brand().colour == "#0f766e" and settings.brand().paper == "Letter"
