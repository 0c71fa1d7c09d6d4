"""Raster badge images (Pillow): the level's PNG badge, for baking, and the 1200×630 link
preview that Open Graph (LinkedIn, Slack, email clients) shows for a credential page.

The design matches templates/badges/level.svg: a hexagon in the level's colour, the occupation
and level in white, and one pip per level filled up to this one (colour is not the only signal).
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

LEVEL_COLOURS = ("#0f766e", "#1d4ed8", "#7c3aed", "#b45309", "#be123c", "#4d7c0f")
PREVIEW_SIZE = (1200, 630)


@dataclass(frozen=True, slots=True)
class BadgeFace:
    title: str
    label: str
    soc: str
    position: int  # from 1
    count: int

    @property
    def colour(self) -> str:
        return LEVEL_COLOURS[(self.position - 1) % len(LEVEL_COLOURS)]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _draw_badge(image: Image.Image, face: BadgeFace, origin: tuple[int, int], size: int) -> None:
    draw = ImageDraw.Draw(image)
    x, y, s = origin[0], origin[1], size / 400
    outer = [(200, 12), (363, 106), (363, 294), (200, 388), (37, 294), (37, 106)]
    inner = [(200, 34), (344, 117), (344, 283), (200, 366), (56, 283), (56, 117)]
    draw.polygon([(x + px * s, y + py * s) for px, py in outer], fill=face.colour)
    draw.polygon(
        [(x + px * s, y + py * s) for px, py in inner], outline="white", width=max(1, int(4 * s))
    )
    lines = textwrap.wrap(face.title, 20)[:3]
    for number, line in enumerate(lines):
        draw.text(
            (x + 200 * s, y + (112 + number * 30) * s),
            line,
            fill="white",
            font=_font(int(24 * s)),
            anchor="ms",
        )
    base = 150 + len(lines) * 30
    draw.text(
        (x + 200 * s, y + base * s), face.label, fill="white", font=_font(int(40 * s)), anchor="ms"
    )
    draw.text(
        (x + 200 * s, y + (base + 34) * s),
        f"SOC {face.soc}",
        fill="white",
        font=_font(int(18 * s)),
        anchor="ms",
    )
    for pip in range(face.count):
        cx = x + (200 - (face.count - 1) * 14 + pip * 28) * s
        cy, r = y + 296 * s, 9 * s
        fill = "white" if pip < face.position else None
        draw.ellipse(
            [cx - r, cy - r, cx + r, cy + r], fill=fill, outline="white", width=max(1, int(2 * s))
        )
    draw.text(
        (x + 200 * s, y + 332 * s),
        f"Level {face.position} of {face.count}",
        fill="white",
        font=_font(int(16 * s)),
        anchor="ms",
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def badge_png(face: BadgeFace, size: int = 400) -> bytes:
    """The badge as a square PNG with a transparent background."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    _draw_badge(image, face, (0, 0), size)
    return _png(image)


def preview_png(face: BadgeFace, *, headline: str, issuer: str) -> bytes:
    """A 1200×630 link preview: the badge on the left, who earned what from whom on the right."""
    image = Image.new("RGB", PREVIEW_SIZE, "white")
    _draw_badge(image, face, (60, 75), 480)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, PREVIEW_SIZE[0], 14], fill=face.colour)
    y = 170
    for line in textwrap.wrap(headline, 24)[:4]:
        draw.text((600, y), line, fill="#111827", font=_font(44))
        y += 56
    for line in textwrap.wrap(f"Issued by {issuer}", 40)[:2]:
        draw.text((600, y + 20), line, fill="#4b5563", font=_font(30))
        y += 40
    draw.text((600, 540), "Open Badges 3.0 · verifiable credential", fill="#4b5563", font=_font(26))
    return _png(image)
