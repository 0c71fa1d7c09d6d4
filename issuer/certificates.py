"""The PDF certificate (fpdf2): one landscape page worth printing for an HR file, then the
statements the award stands for, each once, with how it was confirmed.

Page one says who earned what, from whom and attested by whom, beside the badge and a QR code
to the credential's page: the page is what proves it, the paper proves nothing by itself.
Text is set in the bundled Noto Sans, embedded and subset by fpdf2, so no system font is
read and every character of "Zoë Nguyễn" or "Łukasz Żółć" prints as written.
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import qrcode
from fpdf import FPDF
from fpdf.enums import MethodReturnValue, ResourceAccessPolicy
from fpdf.errors import FPDFException
from fpdf.image_parsing import preload_image

from issuer.badge_images import FONT_BOLD, FONT_REGULAR
from issuer.brand import Brand

FAMILY = "Noto Sans"
INK, MUTED, HAIRLINE = "#111827", "#4b5563", "#d1d5db"
MARGIN = 22.0  # mm, inside the frame
PT = 0.3528  # mm per point
STATEMENT_SIZES = (10.0, 9.5, 9.0, 8.5, 8.0, 7.5)


@dataclass(frozen=True, slots=True)
class CertificateText:
    """What the certificate says, as it should read (dates already formatted)."""

    learner_label: str  # the earner's name
    achievement: str
    description: str
    statements: Sequence[str]
    issuer: str
    issued: str
    valid_until: str | None
    page_url: str
    level: str = ""  # the level's label: "Proficient"
    level_position: int = 0  # from 1; 0 leaves out "level 3 of 4"
    level_count: int = 0
    supervisor: str = ""  # who attested the level; "" leaves out the signature block
    # The coordinator who issued it from existing assessment records (records import): then
    # nobody attested it live, and the signature block says so.
    imported_by: str = ""
    confirmations: Sequence[str] = ()  # how each statement was confirmed, in the same order


def certificate_pdf(text: CertificateText, badge_png: bytes, brand: Brand | None = None) -> bytes:
    """The certificate on the brand's paper (A4 or US Letter), landscape."""
    brand = brand or Brand(text.issuer)
    pdf = FPDF(orientation="landscape", format=brand.paper)
    pdf.set_auto_page_break(auto=False)
    # A logo is the operator's file, but an SVG can still name remote or local images:
    # making a certificate reads nothing beyond the bytes it is given.
    pdf.resource_access_policy = ResourceAccessPolicy.NONE
    pdf.add_font(FAMILY, "", FONT_REGULAR)
    pdf.add_font(FAMILY, "B", FONT_BOLD)
    pdf.set_title(_nfc(f"{text.achievement}: {text.learner_label}"))
    pdf.set_author(_nfc(text.issuer))
    _award_page(pdf, text, badge_png, brand)
    _statements_page(pdf, text, brand)
    return bytes(pdf.output())


def level_words(text: CertificateText) -> str:
    """ "Proficient, level 3 of 4", or as much of it as is known."""
    place = f"level {text.level_position} of {text.level_count}" if text.level_position else ""
    return ", ".join(part for part in (text.level, place) if part)


def _award_page(pdf: FPDF, text: CertificateText, badge_png: bytes, brand: Brand) -> None:
    pdf.add_page()
    width, height = pdf.w, pdf.h
    pdf.set_draw_color(brand.colour)
    pdf.set_line_width(1.2)
    pdf.rect(8, 8, width - 16, height - 16)
    pdf.set_draw_color(HAIRLINE)
    pdf.set_line_width(0.3)
    pdf.rect(11, 11, width - 22, height - 22)
    mark = _logo(pdf, brand, MARGIN, 18, 16)
    label = "CERTIFICATE OF ACHIEVEMENT"
    pdf.set_char_spacing(0.8)
    _line(pdf, width - MARGIN - 80, 18, 80, 16, label, 9, brand.colour, bold=True, align="R")
    pdf.set_char_spacing(0)
    issuer_x = MARGIN + mark + 5
    _fitted(pdf, issuer_x, 18, width - MARGIN - 85 - issuer_x, 16, text.issuer, (13, 11, 9))
    pdf.image(io.BytesIO(badge_png), x=MARGIN, y=46, w=72, h=72)
    y = _award_text(pdf, text, brand, MARGIN + 84, 48)
    bottom = height - MARGIN - 28  # the verification block's top
    if text.supervisor:  # below the text, but never into the verification block
        _signature(pdf, text, brand, MARGIN + 84, min(max(y + 10, 134), bottom - 17))
    _verification(pdf, text, bottom)


def _award_text(pdf: FPDF, text: CertificateText, brand: Brand, x: float, y: float) -> float:
    """Who earned what: the name large, then the achievement, its level and the dates; the y
    below them."""
    width = pdf.w - MARGIN - x
    _line(pdf, x, y, width, 7, "This certifies that", 12, MUTED)
    sizes = (38, 34, 30, 26, 22)
    y = _fitted(pdf, x, y + 8, width, 16, text.learner_label, sizes, bold=True) + 2
    pdf.set_fill_color(brand.colour)
    pdf.rect(x, y, 30, 1.2, style="F")
    _line(pdf, x, y + 5, width, 7, "has earned", 12, MUTED)
    y = _paragraph(pdf, x, y + 14, width, text.achievement, 22, INK, bold=True)
    if level := level_words(text):
        y = _paragraph(pdf, x, y + 1, width, level[0].upper() + level[1:], 14, INK)
    dates = f"Awarded on {text.issued} by {text.issuer}"
    if text.valid_until:
        dates += f" · valid until {text.valid_until}"
    return _paragraph(pdf, x, y + 3, width, dates, 11, MUTED)


def _signature(pdf: FPDF, text: CertificateText, brand: Brand, x: float, y: float) -> None:
    """Who attested the level, over a rule in the brand colour, where a signature would go."""
    attested = (
        f"Issued by {text.imported_by} from {text.supervisor}'s assessment records"
        if text.imported_by
        else f"Attested by {text.supervisor}, supervisor"
    )
    _fitted(pdf, x, y, 110, 7, attested, (12, 11, 10, 9))
    pdf.set_draw_color(brand.colour)
    pdf.set_line_width(0.4)
    pdf.line(x, y + 8, x + 110, y + 8)
    _line(pdf, x, y + 9, 110, 6, f"for {text.issuer}, {text.issued}", 9, MUTED)


def _verification(pdf: FPDF, text: CertificateText, y: float) -> None:
    """The QR code and the address it encodes, the one place where the award can be checked."""
    qr = qrcode.make(text.page_url, box_size=8, border=1)
    buffer = io.BytesIO()
    qr.save(buffer)
    pdf.image(io.BytesIO(buffer.getvalue()), x=MARGIN, y=y, w=28, h=28)
    x = MARGIN + 34
    width = pdf.w - MARGIN - x
    # The address on one line where it can: a line break inside it garbles it when copied.
    _fitted(pdf, x, y + 7, width, 6, f"Verify at {text.page_url}", (11, 10, 9, 8, 7))
    note = (
        "This certificate shows a signed Open Badges 3.0 credential; that page checks its "
        "signature and shows whether it is still valid."
    )
    _paragraph(pdf, x, y + 14, width, note, 8.5, MUTED)


def _statements_page(pdf: FPDF, text: CertificateText, brand: Brand) -> None:
    pdf.add_page()
    width = pdf.w - 2 * MARGIN
    pdf.set_fill_color(brand.colour)
    pdf.rect(0, 0, pdf.w, 4, style="F")
    _line(pdf, MARGIN, 12, width, 6, text.issuer, 9, MUTED)
    y = _paragraph(pdf, MARGIN, 18, width, text.achievement, 16, INK, bold=True)
    earned = " · ".join(part for part in (text.learner_label, level_words(text)) if part)
    y = _paragraph(pdf, MARGIN, y, width, earned, 10, INK)
    if text.description:
        y = _paragraph(pdf, MARGIN, y + 2, width, text.description, 8.5, MUTED)
    heading = (
        "Statements, each from a supervisor's assessment records"
        if text.imported_by
        else "Statements, each confirmed by a supervisor"
    )
    y = _paragraph(pdf, MARGIN, y + 4, width, heading, 11, brand.colour, bold=True) + 1
    _statement_rows(pdf, text, brand, y)
    footer = f"{text.learner_label} · {text.achievement} · Verify at {text.page_url}"
    _fitted(pdf, MARGIN, pdf.h - 14, width, 5, footer, (8, 7, 6), colour=MUTED)


def _statement_rows(pdf: FPDF, text: CertificateText, brand: Brand, y: float) -> None:
    """One row per statement: its number, the statement and how it was confirmed, in the
    largest size at which they all fit on this page (a third page only past 7.5 pt)."""
    full = pdf.w - 2 * MARGIN - 9
    columns = (full * 0.6, full * 0.4 - 5) if text.confirmations else (full, 0.0)
    confirmed = [*text.confirmations, *[""] * len(text.statements)]  # fewer: the rest blank
    rows = [(statement, confirmed[n]) for n, statement in enumerate(text.statements)]
    bottom = pdf.h - 18
    for size in STATEMENT_SIZES:
        heights = [_row_height(pdf, row, columns, size) for row in rows]
        if y + sum(heights) <= bottom:
            break
    for number, ((statement, how), row) in enumerate(zip(rows, heights, strict=True), start=1):
        if y + row > bottom:
            pdf.add_page()
            y = MARGIN
        pdf.set_draw_color(HAIRLINE)
        pdf.set_line_width(0.2)
        pdf.line(MARGIN, y, pdf.w - MARGIN, y)
        _line(pdf, MARGIN, y + 1.2, 8, size * PT * 1.35, f"{number}.", size, brand.colour, True)
        _paragraph(pdf, MARGIN + 9, y + 1.2, columns[0], statement, size, INK)
        if how:
            x = MARGIN + 9 + columns[0] + 5
            _paragraph(pdf, x, y + 1.2, columns[1], how, size - 0.5, MUTED)
        y += row


def _row_height(
    pdf: FPDF, row: tuple[str, str], columns: tuple[float, float], size: float
) -> float:
    statement, how = row
    lines = _count_lines(pdf, statement, columns[0], size)
    if how:
        lines = max(lines, _count_lines(pdf, how, columns[1], size - 0.5))
    return lines * size * PT * 1.35 + 2.4


def _count_lines(pdf: FPDF, value: str, width: float, size: float) -> int:
    pdf.set_font(FAMILY, size=size)
    lines = pdf.multi_cell(width, 1, _nfc(value), dry_run=True, output=MethodReturnValue.LINES)
    return len(cast(list[str], lines))  # fpdf2 types every output= alike


def _logo(pdf: FPDF, brand: Brand, x: float, y: float, height: float) -> float:
    """Draw the issuer's mark `height` mm high (at most 80 mm wide); its width. The logo as
    given, SVG or PNG; without one, or one fpdf2 cannot read, the brand's monogram, drawn
    here because fpdf2 would set the monogram SVG's initials in a core font."""
    if brand.logo is not None:
        try:
            _, _, info = preload_image(
                pdf.image_cache,
                io.BytesIO(brand.logo),
                resource_access_policy=pdf.resource_access_policy,
                svg_limits=pdf.svg_limits,
            )
            if info.width and info.height:
                width = min(height * info.width / info.height, 80)
                pdf.image(
                    io.BytesIO(brand.logo), x=x, y=y, w=width, h=height, keep_aspect_ratio=True
                )
                return width
        except (OSError, ValueError, SyntaxError, FPDFException):
            pass  # an unreadable logo must not cost the learner their certificate
    pdf.set_fill_color(brand.colour)
    pdf.circle(x + height / 2, y + height / 2, height / 2, style="F")
    _line(pdf, x, y, height, height, brand.initials, height * 1.1, "#ffffff", True, "C")
    return height


def _fitted(
    pdf: FPDF,
    x: float,
    y: float,
    width: float,
    height: float,
    value: str,
    sizes: Sequence[float],
    bold: bool = False,
    colour: str = INK,
) -> float:
    """`value` on one line at the largest of `sizes` that fits `width`, else wrapped at the
    smallest; the y below it."""
    style = "B" if bold else ""
    for size in sizes:
        pdf.set_font(FAMILY, style, size)
        if pdf.get_string_width(_nfc(value)) <= width - 2 * pdf.c_margin:
            _line(pdf, x, y, width, height, value, size, colour, bold)
            return y + height
    return _paragraph(pdf, x, y, width, value, sizes[-1], colour, bold)


def _line(
    pdf: FPDF,
    x: float,
    y: float,
    width: float,
    height: float,
    value: str,
    size: float,
    colour: str,
    bold: bool = False,
    align: str = "L",
) -> None:
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.set_text_color(colour)
    pdf.set_xy(x, y)
    pdf.cell(width, height, _nfc(value), align=align)


def _paragraph(
    pdf: FPDF,
    x: float,
    y: float,
    width: float,
    value: str,
    size: float,
    colour: str,
    bold: bool = False,
) -> float:
    """`value` wrapped at word boundaries within `width`; the y below it."""
    pdf.set_font(FAMILY, "B" if bold else "", size)
    pdf.set_text_color(colour)
    pdf.set_xy(x, y)
    pdf.multi_cell(width, size * PT * 1.35, _nfc(value), align="L")
    return pdf.get_y()


def _nfc(value: str) -> str:
    """fpdf2 draws one glyph per character without shaping: a name typed as "e" plus a
    combining tilde would print the mark beside the letter, so compose it first ("ẽ")."""
    return unicodedata.normalize("NFC", value)
