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

from issuer.errors import InvalidInput

DEFAULT_COLOUR = "#1d4ed8"
HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
LOGO_TYPES = {".svg": "image/svg+xml", ".png": "image/png"}
MAX_LOGO_BYTES = 512_000
PAPER_SIZES = ("A4", "Letter")


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
