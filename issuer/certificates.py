"""A one-page PDF certificate (fpdf2) for an HR file, with a QR code to the credential page.

Text is set in DejaVu Sans when the system has it (every character kept); otherwise in the PDF
core font Helvetica, which only covers Latin-1, so other characters are transliterated there.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import qrcode
from fpdf import FPDF
from fpdf.enums import XPos, YPos

UNICODE_FONTS = (
    Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    Path("/usr/share/fonts/dejavu/DejaVuSans.ttf"),
)
_LATIN1 = str.maketrans({"—": "-", "–": "-", "“": '"', "”": '"', "‘": "'", "’": "'", "…": "..."})


@dataclass(frozen=True, slots=True)
class CertificateText:
    learner_label: str
    achievement: str
    description: str
    statements: list[str]
    issuer: str
    issued: str
    valid_until: str | None
    page_url: str


def certificate_pdf(text: CertificateText, badge_png: bytes) -> bytes:
    pdf = FPDF(orientation="portrait", format="A4")
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    family, plain = _font(pdf)

    def paragraph(value: str, height: float, size: int, align: str = "L", width: float = 0) -> None:
        pdf.set_font(family, size=size)
        # Start each paragraph at the left margin (fpdf2 would carry on at the right edge).
        pdf.multi_cell(
            width, height, plain(value), align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT
        )

    pdf.image(io.BytesIO(badge_png), x=80, y=14, w=50, h=50)
    pdf.set_y(70)
    paragraph(text.achievement, 10, 22, "C")
    paragraph(f"Awarded to {text.learner_label} by {text.issuer} on {text.issued}", 6, 11, "C")
    if text.valid_until:
        paragraph(f"Valid until {text.valid_until}", 6, 11, "C")
    pdf.ln(4)
    paragraph(text.description, 4.5, 9)
    pdf.ln(2)
    for number, statement in enumerate(text.statements, start=1):
        paragraph(f"{number}. {statement}  [confirmed]", 4, 8)
    qr = qrcode.make(text.page_url, box_size=4, border=1)
    buffer = io.BytesIO()
    qr.save(buffer)
    pdf.image(io.BytesIO(buffer.getvalue()), x=15, y=250, w=32, h=32)
    pdf.set_xy(52, 258)
    paragraph(f"Check this credential: scan the code or open {text.page_url}", 5, 9, width=140)
    return bytes(pdf.output())


def _font(pdf: FPDF) -> tuple[str, Callable[[str], str]]:
    for path in UNICODE_FONTS:
        if path.exists():
            pdf.add_font("DejaVu", fname=str(path))
            return "DejaVu", lambda value: value
    return (
        "Helvetica",
        lambda value: value.translate(_LATIN1).encode("latin-1", "replace").decode("latin-1"),
    )
