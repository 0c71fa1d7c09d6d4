"""WCAG 2.2 contrast (issuer/contrast.py), and the brand stylesheet it shades: whatever colour
an operator picks, text on it and it as text stay readable at 4.5:1."""

from __future__ import annotations

import re

import pytest

from issuer.brand import DARK_SURFACE, LIGHT_SURFACE, Brand
from issuer.contrast import (
    BLACK,
    TEXT_RATIO,
    WHITE,
    contrast_ratio,
    legible_against,
    mix,
    readable_on,
    relative_luminance,
)
from tests.conftest import ROOT

COLOURS = ["#1d4ed8", "#ffff00", "#0f766e", "#000000", "#ffffff", "#777777", "#e11d48"]


def test_the_ratio_is_the_one_wcag_defines() -> None:
    assert relative_luminance(WHITE) == 1 and relative_luminance(BLACK) == 0
    assert contrast_ratio(BLACK, WHITE) == pytest.approx(21)
    assert contrast_ratio(WHITE, BLACK) == contrast_ratio(BLACK, WHITE)
    # WebAIM's checker gives #767676 on white 4.54:1, the lightest grey that passes.
    assert contrast_ratio("#767676", WHITE) == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#777777", WHITE) < TEXT_RATIO


def test_mixing_moves_each_channel_towards_the_other_colour() -> None:
    assert mix("#000000", WHITE, 0.5) == "#808080"
    assert mix("#1d4ed8", "#1d4ed8", 0.3) == "#1d4ed8"
    assert mix("#102030", BLACK, 1) == BLACK


@pytest.mark.parametrize("colour", COLOURS)
def test_text_on_the_brand_colour_always_reads(colour: str) -> None:
    assert contrast_ratio(readable_on(colour), colour) >= TEXT_RATIO


@pytest.mark.parametrize("colour", COLOURS)
@pytest.mark.parametrize("surface", [LIGHT_SURFACE, DARK_SURFACE, WHITE])
def test_the_brand_colour_as_text_is_shaded_until_it_reads(colour: str, surface: str) -> None:
    shade = legible_against(colour, surface)
    assert contrast_ratio(shade, surface) >= TEXT_RATIO


def test_a_colour_that_reads_already_is_kept() -> None:
    assert legible_against("#1d4ed8", LIGHT_SURFACE) == "#1d4ed8"
    assert legible_against("#ffff00", LIGHT_SURFACE) != "#ffff00"


def test_the_surfaces_brand_py_shades_against_are_the_stylesheets() -> None:
    css = (ROOT / "static/app.css").read_text()
    light, dark = re.findall(r"--surface-muted: (#[0-9a-f]{6});", css)
    assert (light, dark) == (LIGHT_SURFACE, DARK_SURFACE)


def test_brand_css_carries_the_colour_for_both_themes() -> None:
    css = Brand.load("Yellow Co", "#ffff00", None, "A4").stylesheet()
    assert "--brand: #ffff00;" in css and "--brand-contrast: #000000;" in css
    light, dark = re.findall(r"--brand-ink: (#[0-9a-f]{6});", css)
    assert contrast_ratio(light, LIGHT_SURFACE) >= TEXT_RATIO
    assert contrast_ratio(dark, DARK_SURFACE) >= TEXT_RATIO
    assert "@media (prefers-color-scheme: dark)" in css
