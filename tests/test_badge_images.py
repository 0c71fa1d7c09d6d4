"""The badge's one design in SVG and PNG, its text fitted with the bundled font, and the link
preview (brand, achievement, and the earner only when the caller names them)."""

from __future__ import annotations

import base64
import importlib.util
import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageDraw

from issuer.badge_images import (
    CAP_HEIGHT,
    CENTRE,
    FONT_BOLD,
    FONT_REGULAR,
    PREVIEW_SIZE,
    TEXT_BAND,
    TEXT_WIDTH,
    BadgeFace,
    BadgeLayout,
    badge_layout,
    badge_png,
    font,
    preview_png,
)
from issuer.brand import Brand
from issuer.config import TEMPLATES_DIR
from issuer.web.templating import make_templates
from tests.browser.test_journey import CHROMIUM, FLAGS

SVG = "{http://www.w3.org/2000/svg}"
RADIOLOGY = BadgeFace("Radiologic Technologists and Technicians", "Proficient", "29-2034.00", 3, 4)
LONG = BadgeFace(
    "Nuclear Medicine Technologists and Magnetic Resonance Imaging Specialists in Hospital "
    "Practice",
    "Advanced Practitioner",
    "29-2033.00",
    4,
    6,
)


def render_svg(**context: object) -> ET.Element:
    template = make_templates(TEMPLATES_DIR).get_template("badges/level.svg")
    return ET.fromstring(template.render(caption="a badge", **context))


def white(pixel: tuple[int, ...]) -> bool:
    return all(channel > 200 for channel in pixel[:3]) and pixel[3] > 200


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


@pytest.mark.parametrize("face", [RADIOLOGY, LONG], ids=["radiology", "long"])
def test_the_svg_writes_out_the_layout_that_the_png_draws(face: BadgeFace) -> None:
    layout = badge_layout(face)
    svg = render_svg(badge=layout)
    outer, inner = svg.iter(f"{SVG}polygon")
    assert (outer.get("points"), outer.get("fill")) == (layout.outer, face.colour)
    assert inner.get("points") == layout.inner and inner.get("stroke") == "#ffffff"
    group = svg.find(f"{SVG}g")
    assert group is not None and group.get("font-family", "").startswith("'Noto Sans'")
    texts = [
        (t.text, float(t.get("y", "")), int(t.get("font-size", "")), t.get("font-weight") == "700")
        for t in svg.iter(f"{SVG}text")
    ]
    assert texts == [(line.text, line.y, line.size, line.bold) for line in layout.lines]
    circles = [(float(c.get("cx", "")), c.get("fill") != "none") for c in svg.iter(f"{SVG}circle")]
    assert circles == [(pip.cx, pip.filled) for pip in layout.pips]
    assert_png_draws(layout, Image.open(io.BytesIO(badge_png(face))).convert("RGBA"))


def assert_png_draws(layout: BadgeLayout, image: Image.Image) -> None:
    """The PNG has the layout's colour, its pips and each line of text where the layout puts
    it, as wide as the bundled font sets it (Pillow's default font would be much narrower)."""
    assert image.size == (400, 400) and image.getpixel((2, 2))[3] == 0  # type: ignore[index]
    assert image.getpixel((CENTRE, 24))[:3] == rgb(layout.colour)  # type: ignore[index]
    for pip in layout.pips:
        centre = image.getpixel((round(pip.cx), layout.pip_y))
        assert white(centre) if pip.filled else centre[:3] == rgb(layout.colour)  # type: ignore[arg-type, index]
    for line in layout.lines:
        top, bottom = round(line.y - CAP_HEIGHT * line.size) + 1, round(line.y) - 1
        # Inside the white ring, even where its sides slope in (above 117, below 283).
        reach = min(TEXT_WIDTH / 2 + 2, (top - 34) * 144 / 83 - 6, (366 - bottom) * 144 / 83 - 6)
        columns = [
            x
            for x in range(round(CENTRE - reach), round(CENTRE + reach))
            if any(white(image.getpixel((x, y))) for y in range(top, bottom))  # type: ignore[arg-type]
        ]
        left, right = ink(line.text, line.size, line.bold, (CENTRE, line.y))
        assert columns, line
        assert min(columns) == pytest.approx(left, abs=2), line
        assert max(columns) + 1 == pytest.approx(right, abs=2), line


def ink(text: str, size: float, bold: bool, at: tuple[float, float]) -> tuple[int, int]:
    """Where the bundled font inks `text` set at `at` (middle of its baseline), left to right."""
    canvas = Image.new("L", (1200, 600))
    ImageDraw.Draw(canvas).text(at, text, fill=255, font=font(size, bold), anchor="ms")
    box = canvas.getbbox()
    assert box is not None
    return box[0], box[2]


def test_long_titles_wrap_between_words_and_shrink_within_the_badge() -> None:
    short = badge_layout(RADIOLOGY).lines
    # Balanced lines, not "Radiologic Technologists and" over a lone word.
    assert [(line.text, line.size) for line in short[:3]] == [
        ("Radiologic", 24),
        ("Technologists", 24),
        ("and Technicians", 24),
    ]
    lines = badge_layout(LONG).lines
    title, label = lines[:-4], lines[-4:-2]
    assert " ".join(line.text for line in title) == LONG.title  # whole words, none lost
    assert [line.text for line in label] == ["Advanced", "Practitioner"]
    assert max(line.size for line in title) < min(line.size for line in label) < 40
    for line in lines[:-1]:  # all but "Level 4 of 6", below the pips
        assert font(line.size, line.bold).getlength(line.text) <= TEXT_WIDTH
        assert TEXT_BAND[0] <= line.y - CAP_HEIGHT * line.size and line.y <= TEXT_BAND[1]


def test_a_title_too_long_for_any_size_is_cut_short_visibly() -> None:
    face = BadgeFace("Pneumonoultramicroscopicsilicovolcanoconiosis " * 8, "L", "1", 1, 1)
    lines = badge_layout(face).lines
    title = [line for line in lines if line.size == 16 and line.bold]
    assert len(title) == 4 and title[-1].text.endswith("…")
    assert all(font(16, True).getlength(line.text) <= TEXT_WIDTH for line in title)


def preview(**options: object) -> Image.Image:
    png = preview_png(RADIOLOGY, headline="Radiologic Technologists: Proficient", **options)  # type: ignore[arg-type]
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.size == PREVIEW_SIZE
    return image


def test_the_preview_names_the_earner_only_when_given() -> None:
    brand = Brand("St Example Hospital", "#0f766e")
    anonymous = preview(issuer=brand.name, brand=brand)
    named = preview(issuer=brand.name, brand=brand, earner="Zoë Nguyễn")
    box = ImageChops.difference(anonymous, named).getbbox()
    assert box is not None and box[0] >= 600  # only the right-hand column differs
    assert anonymous.crop(box).getcolors() == [
        (anonymous.crop(box).width * anonymous.crop(box).height, (255, 255, 255))
    ]
    # Drawn in the bundled font, every character of the name included.
    left, right = ink("Earned by Zoë Nguyễn", 34, False, (600, 300))
    assert box[2] - box[0] == pytest.approx(right - left, abs=2)


def test_the_preview_carries_the_brand() -> None:
    brand = Brand("St Example Hospital", "#0f766e")
    image = preview(issuer=brand.name, brand=brand)
    assert image.getpixel((900, 4)) == rgb(brand.colour)  # the bar along the top
    assert image.getpixel((614, 96)) == rgb(brand.colour)  # the monogram's disc
    logo = io.BytesIO()
    Image.new("RGB", (120, 72), "#123456").save(logo, format="PNG")
    with_logo = Brand("St Example Hospital", "#0f766e", logo.getvalue(), "image/png")
    image = preview(issuer=brand.name, brand=with_logo)
    assert image.getpixel((614, 96)) == (0x12, 0x34, 0x56)
    # Without a brand, the issuer's name and the default colour: the old call still works.
    assert preview(issuer="Development Issuer").getpixel((900, 4)) == rgb("#1d4ed8")


@pytest.mark.browser
def test_a_browser_draws_the_svg_as_the_png_is_drawn() -> None:
    """Chromium rasterizes the SVG, with the bundled font given to it as a web font, and the
    result matches badge_png but for anti-aliased edges."""
    if not Path(CHROMIUM).exists() or importlib.util.find_spec("playwright") is None:
        if os.environ.get("CI"):
            pytest.fail("the browser test must run in CI: Chromium or Playwright is missing")
        pytest.skip("Chromium or Playwright is missing")
    from playwright.sync_api import sync_playwright

    svg = make_templates(TEMPLATES_DIR).get_template("badges/level.svg")
    fonts = "".join(
        f"@font-face{{font-family:'Noto Sans';font-weight:{weight};"
        f"src:url(data:font/ttf;base64,{base64.b64encode(path.read_bytes()).decode()})}}"
        for path, weight in ((FONT_REGULAR, 400), (FONT_BOLD, 700))
    )
    html = (
        f"<!doctype html><style>{fonts} html,body{{margin:0}} svg{{display:block}}</style>"
        + svg.render(badge=badge_layout(RADIOLOGY), caption="a badge")
    )
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 400, "height": 400}, device_scale_factor=1)
        page.set_content(html)
        page.evaluate("document.fonts.ready.then(() => true)")
        shot = page.locator("svg").screenshot(omit_background=True)
        browser.close()
    drawn = Image.open(io.BytesIO(shot)).convert("RGBA")

    def apart(png: bytes) -> float:
        """The share of pixels that differ clearly (by more than 96 of 255 in a channel)."""
        r, g, b, a = ImageChops.difference(
            drawn, Image.open(io.BytesIO(png)).convert("RGBA")
        ).split()
        most = ImageChops.lighter(ImageChops.lighter(r, g), ImageChops.lighter(b, a))
        return most.point(lambda value: 255 if value > 96 else 0).histogram()[255] / (400 * 400)

    assert apart(badge_png(RADIOLOGY)) < 0.025  # edges only: measured 1.1 %
    level_two = BadgeFace(RADIOLOGY.title, RADIOLOGY.label, RADIOLOGY.soc, 2, 4)
    assert apart(badge_png(level_two)) > 0.04  # the test can tell designs apart: 5.5 %
