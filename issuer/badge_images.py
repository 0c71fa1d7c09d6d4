"""The level's badge, one design in two formats, and the 1200×630 link preview that Open Graph
(LinkedIn, Slack, e-mail clients) shows for a credential page.

`badge_layout` places everything in the badge's 400×400 box: the hexagon in the level's colour,
the occupation, level and SOC code in white, and one pip per level, filled up to this one
(colour is not the only signal). templates/badges/level.svg writes that layout as SVG and
`badge_png` draws the same layout with Pillow, so the two formats cannot drift apart.

Text is set in the bundled Noto Sans (issuer/data/fonts/) and measured with it: wrapping at
word boundaries and shrinking long titles only works with the font's real widths, and a
fresh machine then draws the same image as ours, every character of a name included.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from issuer.brand import Brand

FONTS_DIR = Path(__file__).parent / "data" / "fonts"
FONT_REGULAR = FONTS_DIR / "NotoSans-Regular.ttf"
FONT_BOLD = FONTS_DIR / "NotoSans-Bold.ttf"
# An SVG cannot carry the font at a sensible size, so it names it first, then look-alikes.
SVG_FONT_FAMILY = "'Noto Sans', 'Open Sans', 'Helvetica Neue', Arial, sans-serif"

LEVEL_COLOURS = ("#0f766e", "#1d4ed8", "#7c3aed", "#b45309", "#be123c", "#4d7c0f")
PREVIEW_SIZE = (1200, 630)
BOX = 400  # the badge's own units (the SVG viewBox)
CENTRE = 200
OUTER = ((200, 12), (363, 106), (363, 294), (200, 388), (37, 294), (37, 106))
INNER = ((200, 34), (344, 117), (344, 283), (200, 366), (56, 283), (56, 117))
TEXT_WIDTH = 248  # inside the inner hexagon's upright sides (56…344), with a margin
TEXT_BAND = (104, 274)  # the title, level and SOC code are centred between these heights
# (font size, most lines) tried in turn: shrink first, then wrap further, then cut short.
TITLE_STEPS = ((24, 3), (22, 3), (20, 3), (18, 3), (16, 3), (16, 4))
LABEL_STEPS = ((40, 1), (36, 1), (32, 1), (28, 1), (24, 2), (20, 2))
PIP_Y, PIP_R, PIP_STEP = 296, 9, 28
CAP_HEIGHT, DESCENT = 0.714, 0.24  # of Noto Sans, per unit of font size
SUPERSAMPLE = 4  # Pillow draws edges without anti-aliasing: draw large, then scale down


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


@dataclass(frozen=True, slots=True)
class TextLine:
    text: str
    y: float  # baseline, centred on CENTRE
    size: int
    bold: bool


@dataclass(frozen=True, slots=True)
class Pip:
    cx: float
    filled: bool


@dataclass(frozen=True, slots=True)
class BadgeLayout:
    """Everything the badge shows, where, in the badge's 400×400 units."""

    colour: str
    lines: tuple[TextLine, ...]
    pips: tuple[Pip, ...]
    centre: int = CENTRE
    pip_y: int = PIP_Y
    pip_r: int = PIP_R
    font_family: str = SVG_FONT_FAMILY
    outer: str = " ".join(f"{x},{y}" for x, y in OUTER)  # SVG `points`
    inner: str = " ".join(f"{x},{y}" for x, y in INNER)


@lru_cache(maxsize=64)
def font(size: float, bold: bool = False) -> ImageFont.FreeTypeFont:
    """The bundled Noto Sans at `size` pixels, loaded once: measuring a title wraps it
    dozens of times. Shared by request threads, which is safe while Pillow holds the GIL
    around FreeType (a free-threaded Python needs Pillow ≥ 12.2, python-pillow/Pillow#9497)."""
    return ImageFont.truetype(str(FONT_BOLD if bold else FONT_REGULAR), size)


def wrap(text: str, size: float, bold: bool, width: float) -> list[str]:
    """`text` in lines no wider than `width`, broken between words; a word wider than a whole
    line is broken between characters (a name or code must not overflow the badge)."""
    measure = font(size, bold).getlength
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and measure(candidate) <= width:
            lines[-1] = candidate
            continue
        while measure(word) > width and len(word) > 1:
            cut = max(n for n in range(1, len(word)) if measure(word[:n]) <= width or n == 1)
            lines.append(word[:cut])
            word = word[cut:]
        lines.append(word)
    return lines or [""]


def fit(
    text: str, steps: tuple[tuple[int, int], ...], width: float, bold: bool = True
) -> tuple[list[str], int]:
    """`text` at the first (size, most lines) step it wraps into, its lines balanced; past the
    last step, the lines that fit at its size, the last one cut short with an ellipsis."""
    for size, most in steps:
        lines = wrap(text, size, bold, width)
        if len(lines) <= most:
            return _balance(text, size, bold, width, len(lines)), size
    measure = font(size, bold).getlength
    lines = lines[:most]
    while len(lines[-1]) > 1 and measure(lines[-1] + "…") > width:
        lines[-1] = lines[-1][:-1]
    lines[-1] = lines[-1].rstrip() + "…"
    return lines, size


def _balance(text: str, size: float, bold: bool, width: float, count: int) -> list[str]:
    """The same number of lines at the narrowest width that keeps it, so that a title reads
    "Radiologic Technologists / and Technicians", not "Radiologic Technologists and / X"."""
    measure = font(size, bold).getlength
    low, high = max(measure(word) for word in text.split() or [""]), width
    while high - low > 1:
        middle = (low + high) / 2
        low, high = (
            (low, middle) if len(wrap(text, size, bold, middle)) <= count else (middle, high)
        )
    return wrap(text, size, bold, high)


def badge_layout(face: BadgeFace) -> BadgeLayout:
    """Where the badge's text and pips go. The text block (title, level, SOC code) is centred
    in TEXT_BAND whatever its length, so a two-line title leaves no gap; a long title or
    level shrinks the title further until the block fits the band."""
    label = _rows(face.label, LABEL_STEPS, True, 0.2, 10)
    soc = _rows(f"SOC {face.soc}", ((18, 1), (16, 1), (14, 1)), False, 0, 0)
    # The title stays smaller than the level, so the two never read as one block of text.
    steps = tuple(s for s in TITLE_STEPS if s[0] <= 0.8 * label[0][1]) or TITLE_STEPS[-1:]
    for start in range(len(steps)):
        rows = _rows(face.title, steps[start:], True, 0.3, 12) + label + soc
        height = sum((CAP_HEIGHT + DESCENT) * size + gap for _, size, _, gap in rows)
        if height <= TEXT_BAND[1] - TEXT_BAND[0]:
            break
    top = (TEXT_BAND[0] + TEXT_BAND[1] - height) / 2
    lines = []
    for text, size, bold, gap in rows:
        lines.append(TextLine(text, round(top + CAP_HEIGHT * size, 1), size, bold))
        top += (CAP_HEIGHT + DESCENT) * size + gap
    level = TextLine(f"Level {face.position} of {face.count}", 332, 16, False)
    first = CENTRE - (face.count - 1) * PIP_STEP / 2
    pips = tuple(Pip(first + n * PIP_STEP, n < face.position) for n in range(face.count))
    return BadgeLayout(face.colour, (*lines, level), pips)


def _rows(
    text: str, steps: tuple[tuple[int, int], ...], bold: bool, leading: float, gap: float
) -> list[tuple[str, int, bool, float]]:
    """`text` fitted, as (line, size, bold, space below) rows: `leading` × size between its
    own lines, `gap` after the last."""
    lines, size = fit(text, steps, TEXT_WIDTH, bold)
    rows = [(line, size, bold, leading * size) for line in lines]
    rows[-1] = (rows[-1][0], size, bold, gap)
    return rows


def badge_image(face: BadgeFace, size: int = BOX) -> Image.Image:
    """The badge drawn from its layout, `size` pixels square, on a transparent background."""
    layout = badge_layout(face)
    scale = size * SUPERSAMPLE / BOX
    image = Image.new("RGBA", (size * SUPERSAMPLE,) * 2, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)

    def at(x: float, y: float) -> tuple[float, float]:
        return x * scale, y * scale

    draw.polygon([at(x, y) for x, y in OUTER], fill=layout.colour)
    # A line is stroked on its path, as SVG strokes; a polygon's outline would fall inside it.
    ring = [at(x, y) for x, y in (*INNER, INNER[0])]
    draw.line(ring, fill="white", width=round(4 * scale), joint="curve")
    for line in layout.lines:
        draw.text(
            at(layout.centre, line.y),
            line.text,
            fill="white",
            font=font(line.size * scale, line.bold),
            anchor="ms",
        )
    for pip in layout.pips:
        cx, cy = at(pip.cx, layout.pip_y)
        r = (layout.pip_r + 1) * scale  # the SVG's 2-unit stroke is centred on r
        draw.ellipse(
            [cx - r, cy - r, cx + r, cy + r],
            fill="white" if pip.filled else None,
            outline="white",
            width=round(2 * scale),
        )
    return image.resize((size, size), Image.Resampling.LANCZOS)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def badge_png(face: BadgeFace, size: int = BOX) -> bytes:
    """The badge as a square PNG with a transparent background (the SVG's raster twin)."""
    return _png(badge_image(face, size))


def preview_png(
    face: BadgeFace,
    *,
    headline: str,
    issuer: str,
    brand: Brand | None = None,
    earner: str | None = None,
) -> bytes:
    """A 1200×630 link preview: the badge on the left; the issuer's mark and name, the
    achievement and, only when given, who earned it on the right. The caller passes `earner`
    for a public credential page only: a preview travels further than the page it links to."""
    brand = brand or Brand(issuer)
    image = Image.new("RGB", PREVIEW_SIZE, "white")
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, 560, PREVIEW_SIZE[1]], fill=_tint(brand.colour, 0.08))
    draw.rectangle([0, 0, PREVIEW_SIZE[0], 12], fill=brand.colour)
    badge = badge_image(face, 460)
    image.paste(badge, (50, 95), badge)
    x, width = 610, 540
    mark = _issuer_mark(image, brand, (x, 60))
    name_x = x + mark + 20 if mark else x
    lines, size = fit(issuer, ((30, 1), (30, 2), (26, 2), (22, 2)), x + width - name_x)
    y = 96 - (len(lines) - 1) * size * 0.6  # the name's lines centred on the mark
    for line in lines:
        draw.text((name_x, y), line, fill="#111827", font=font(size, True), anchor="lm")
        y += size * 1.2
    lines, size = fit(headline, ((54, 3), (48, 3), (42, 3), (36, 4)), width)
    y = 200 + size
    for line in lines:
        draw.text((x, y), line, fill="#111827", font=font(size, True), anchor="ls")
        y += round(size * 1.25)
    if earner:
        (line,), size = fit(f"Earned by {earner}", ((34, 1), (30, 1), (26, 1)), width, False)
        draw.text((x, y + 24), line, fill="#374151", font=font(size), anchor="ls")
    draw.line([(x, 540), (x + 80, 540)], fill=brand.colour, width=4)
    draw.text((x, 580), "Open Badges 3.0 · verifiable credential", "#4b5563", font(24), "ls")
    return _png(image)


def _issuer_mark(image: Image.Image, brand: Brand, origin: tuple[int, int]) -> int:
    """Draw the issuer's mark 72 pixels high at `origin`; its width. A PNG logo as it is; no
    logo: the brand's monogram (its initials in its colour). Pillow cannot draw an SVG logo,
    and a monogram the issuer never chose would misrepresent it: then only the name shows."""
    x, y = origin
    if brand.logo is None:
        draw = ImageDraw.Draw(image)
        draw.ellipse([x, y, x + 72, y + 72], fill=brand.colour)
        draw.text((x + 36, y + 36), brand.initials, "white", font(30, True), "mm")
        return 72
    if brand.logo_type != "image/png":
        return 0
    logo = Image.open(io.BytesIO(brand.logo)).convert("RGBA")
    logo.thumbnail((240, 72), Image.Resampling.LANCZOS)
    image.paste(logo, (x, y + (72 - logo.height) // 2), logo)
    return logo.width


def _tint(colour: str, amount: float) -> str:
    """`colour` mixed into white: `amount` of it, the rest white."""
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(255 - (255 - c) * amount):02x}" for c in rgb)
