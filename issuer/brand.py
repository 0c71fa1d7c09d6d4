"""The issuer's brand: its name, its primary colour and its logo, as the settings give them.

One value for everything that shows the issuer (pages, e-mails, badge images, the PDF
certificate, link previews), so they cannot drift apart. Without a logo file the brand draws
a monogram of the issuer's initials in its colour, so nothing ever shows a blank space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

from issuer.contrast import WHITE, legible_against, mix, readable_on
from issuer.errors import InvalidInput

DEFAULT_COLOUR = "#1d4ed8"
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
MAX_LOGO_BYTES = 512_000
PAPER_SIZES = ("A4", "Letter")
# The surfaces static/app.css puts brand-coloured text on that are hardest to read against:
# `--surface-muted` of its light and of its dark theme (tests/test_brand.py keeps them in step).
LIGHT_SURFACE = "#eef1f5"
DARK_SURFACE = "#1b2538"


@dataclass(frozen=True, slots=True)
class Brand:
    name: str
    colour: str = DEFAULT_COLOUR
    logo: bytes | None = None  # the file's bytes; None: the monogram
    logo_type: str = "image/svg+xml"
    paper: str = "A4"  # the certificate's page size

    @classmethod
    def load(cls, name: str, colour: str, logo: Path | None, paper: str) -> Brand:
        """The brand from ISSUER_ISSUER_NAME, ISSUER_BRAND_COLOUR, ISSUER_LOGO and
        ISSUER_CERTIFICATE_PAPER; InvalidInput naming the setting that is wrong."""
        if not HEX_COLOUR.fullmatch(colour):
            raise InvalidInput(f"ISSUER_BRAND_COLOUR {colour!r} is not a #rrggbb colour")
        if paper not in PAPER_SIZES:
            raise InvalidInput(f"ISSUER_CERTIFICATE_PAPER must be one of {', '.join(PAPER_SIZES)}")
        if logo is None:
            return cls(name, colour.lower(), None, paper=paper)
        kind = LOGO_TYPES.get(logo.suffix.lower())
        if kind is None:
            raise InvalidInput(f"ISSUER_LOGO {logo} must be an .svg or .png file")
        try:
            data = logo.read_bytes()
        except OSError as error:
            raise InvalidInput(f"ISSUER_LOGO {logo} cannot be read: {error.strerror}") from None
        if len(data) > MAX_LOGO_BYTES:
            raise InvalidInput(f"ISSUER_LOGO {logo} is larger than {MAX_LOGO_BYTES:,} bytes")
        return cls(name, colour.lower(), data, kind, paper)

    @property
    def initials(self) -> str:
        words = [w for w in re.split(r"[\s\-–—]+", self.name) if w[:1].isalpha()]
        return "".join(w[0].upper() for w in words[:2]) or "?"

    def logo_file(self) -> tuple[bytes, str]:
        """(bytes, media type) of the logo: the configured file, or the monogram as SVG."""
        if self.logo is not None:
            return self.logo, self.logo_type
        return self.monogram_svg().encode("utf-8"), "image/svg+xml"

    def monogram_svg(self) -> str:
        return (
            '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64" role="img" '
            f'aria-label="{escape(self.name)}"><circle cx="32" cy="32" r="32" '
            f'fill="{self.colour}"/><text x="32" y="41" text-anchor="middle" '
            'font-family="system-ui, sans-serif" font-size="26" font-weight="700" '
            f'fill="#ffffff">{escape(self.initials)}</text></svg>'
        )

    def stylesheet(self) -> str:
        """`brand.css`, made at start-up and served as a static asset: the brand colour reaches
        every page as custom properties, since the Content-Security-Policy allows no inline
        style. `--brand` fills (buttons, bars, the header's rule) with `--brand-contrast` text
        on it; `--brand-ink` is the colour as text (links, focus rings), shaded until it reads
        at 4.5:1 on the theme's surfaces; `--brand-soft` a pale tint for secondary fills."""
        colour = self.colour
        light = legible_against(colour, LIGHT_SURFACE)
        dark = legible_against(colour, DARK_SURFACE)
        return (
            f"/* Generated from ISSUER_BRAND_COLOUR ({colour}) by issuer/brand.py. */\n"
            f":root {{ --brand: {colour}; --brand-contrast: {readable_on(colour)}; "
            f"--brand-ink: {light}; --brand-soft: {mix(colour, WHITE, 0.7)}; }}\n"
            "@media (prefers-color-scheme: dark) {\n"
            f"  :root {{ --brand-ink: {dark}; --brand-soft: {mix(colour, DARK_SURFACE, 0.6)}; }}\n"
            "}\n"
        )
