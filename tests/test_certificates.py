"""The PDF certificate, read back with pypdf: paper and orientation, the embedded font, every
character of a name, what page one says and the statements on page two."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from typing import cast

import pytest
from PIL import Image
from pypdf import PageObject, PdfReader
from pypdf.generic import ArrayObject, DictionaryObject, StreamObject

from issuer.badge_images import FONT_REGULAR, BadgeFace, badge_png
from issuer.brand import Brand
from issuer.certificates import CertificateText, certificate_pdf
from tests.conftest import ROOT

ACHIEVEMENT = json.loads((ROOT / "achievements/29-2034.00/proficient.json").read_text())
STATEMENTS = [d["name"] for d in ACHIEVEMENT["resultDescription"]]
URL = "https://badges.example.org/credentials/0b7c2c1e-3c7f-4b9f-9d1a-1f2e3d4c5b6a"
FACE = BadgeFace("Radiologic Technologists and Technicians", "Proficient", "29-2034.00", 3, 4)
BRAND = Brand("St Example Hospital", "#0f766e")
POINTS = {"A4": (841.89, 595.28), "Letter": (792.0, 612.0)}


def certificate_text(name: str = "Zoë Nguyễn", **fields: object) -> CertificateText:
    defaults: dict[str, object] = {
        "learner_label": name,
        "achievement": ACHIEVEMENT["name"],
        "description": ACHIEVEMENT["description"].split("\n\n")[0],
        "statements": STATEMENTS,
        "issuer": "St Example Hospital",
        "issued": "3 March 2025",
        "valid_until": "2028-03-03",
        "page_url": URL,
        "level": "Proficient",
        "level_position": 3,
        "level_count": 4,
        "supervisor": "Dr Sam Müller",
        "confirmations": [
            f"Observed in clinical practice on {n} March 2025 (imaging suite {n}), "
            "confirmed by Dr Sam Müller"
            for n in range(1, len(STATEMENTS) + 1)
        ],
    }
    return CertificateText(**{**defaults, **fields})  # type: ignore[arg-type]


def read(pdf: bytes) -> PdfReader:
    assert pdf.startswith(b"%PDF")
    return PdfReader(io.BytesIO(pdf))


def resources(page: PageObject, kind: str) -> list[DictionaryObject]:
    """The page's fonts ("/Font") or images ("/XObject"), resolved."""
    found = cast(DictionaryObject, page["/Resources"]).get(kind, DictionaryObject())
    return [cast(DictionaryObject, item.get_object()) for item in found.values()]


def size(page: PageObject) -> tuple[float, float]:
    return float(page.mediabox.width), float(page.mediabox.height)


def words(text: str) -> str:
    """Extracted text with its line breaks undone: a wrapped statement reads as written."""
    return " ".join(text.split())


@pytest.mark.parametrize("paper", ["A4", "Letter"])
def test_the_certificate_is_landscape_on_the_brands_paper_in_two_pages(paper: str) -> None:
    brand = Brand("St Example Hospital", "#0f766e", paper=paper)
    reader = read(certificate_pdf(certificate_text(), badge_png(FACE), brand))
    assert len(reader.pages) == 2
    for page in reader.pages:
        assert size(page) == pytest.approx(POINTS[paper], abs=0.5)  # landscape: wider
        assert page.get("/Rotate", 0) == 0


@pytest.mark.parametrize("name", ["Zoë Nguyễn", "Łukasz Żółć"])
def test_every_character_of_a_name_prints_in_the_bundled_font(name: str) -> None:
    # Typed decomposed ("e" + combining marks), as some keyboards and imports give it.
    typed = unicodedata.normalize("NFD", name)
    reader = read(certificate_pdf(certificate_text(typed), badge_png(FACE), BRAND))
    assert name in reader.pages[0].extract_text().splitlines()
    assert name in reader.pages[1].extract_text()
    for page in reader.pages:
        fonts = resources(page, "/Font")
        assert {re.sub(r"^/[A-Z]{6}\+", "", str(f["/BaseFont"])) for f in fonts} == {
            "NotoSans",
            "NotoSansBold",
        }
        for font in fonts:  # embedded, and only the glyphs used (fpdf2 subsets)
            cid_font = cast(ArrayObject, font["/DescendantFonts"])[0].get_object()
            descriptor = cast(DictionaryObject, cid_font["/FontDescriptor"].get_object())
            embedded = cast(StreamObject, descriptor["/FontFile2"].get_object()).get_data()
            assert 1_000 < len(embedded) < FONT_REGULAR.stat().st_size / 4


def test_page_one_says_who_earned_what_attested_by_whom_and_where_to_verify() -> None:
    reader = read(certificate_pdf(certificate_text(), badge_png(FACE), BRAND))
    first = reader.pages[0].extract_text()
    assert "Zoë Nguyễn" in first.splitlines()  # on a line of its own, large
    assert f"Verify at {URL}" in first.splitlines()  # one line: a break would garble a copy
    said = words(first)
    assert f"has earned {ACHIEVEMENT['name']} Proficient, level 3 of 4" in said
    assert "Awarded on 3 March 2025 by St Example Hospital · valid until 2028-03-03" in said
    assert "Attested by Dr Sam Müller, supervisor" in said
    assert not any(statement[:40] in first for statement in STATEMENTS)
    widths = sorted(cast(int, image["/Width"]) for image in resources(reader.pages[0], "/XObject"))
    assert len(widths) == 2 and widths[1] == 400  # the QR code and the 400-pixel badge


def test_page_two_lists_each_statement_once_with_how_it_was_confirmed() -> None:
    text = certificate_text()
    reader = read(certificate_pdf(text, badge_png(FACE), BRAND))
    every = words("\n".join(page.extract_text() for page in reader.pages))
    second = words(reader.pages[1].extract_text())
    assert "[confirmed]" not in every
    for statement, how in zip(STATEMENTS, text.confirmations, strict=True):
        assert every.count(words(statement)) == 1 and words(statement) in second
        assert every.count(how) == 1 and how in second
    assert second.index(words(STATEMENTS[0])) < second.index(words(STATEMENTS[-1]))


@pytest.mark.parametrize(("count", "pages"), [(14, 2), (20, 3)])
def test_more_statements_shrink_to_fit_page_two_then_run_on(count: int, pages: int) -> None:
    statements = [f"{STATEMENTS[n % len(STATEMENTS)]} (variant {n})" for n in range(count)]
    how = [
        f"Observed in clinical practice on {n} March 2025, confirmed by Dr Sam Müller"
        for n in range(count)
    ]
    text = certificate_text(statements=statements, confirmations=how)
    reader = read(certificate_pdf(text, badge_png(FACE), BRAND))
    assert len(reader.pages) == pages
    rest = words("\n".join(page.extract_text() for page in reader.pages[1:]))
    assert all(rest.count(words(s)) == 1 for s in statements)


def test_the_fields_the_current_caller_passes_still_make_a_certificate() -> None:
    text = CertificateText(
        learner_label="Lee Learner",
        achievement=ACHIEVEMENT["name"],
        description="",
        statements=STATEMENTS,
        issuer="Development Issuer",
        issued="3 March 2025",
        valid_until=None,
        page_url=URL,
    )
    reader = read(certificate_pdf(text, badge_png(FACE)))
    assert len(reader.pages) == 2
    assert size(reader.pages[0]) == pytest.approx(POINTS["A4"], abs=0.5)
    first = reader.pages[0].extract_text()
    assert "Lee Learner" in first and "Attested by" not in first and "level" not in first
    assert "DI" in first.splitlines()[0]  # the monogram of "Development Issuer"


def png_logo(colour: str = "#123456") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (240, 80), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def logo_xobjects(reader: PdfReader) -> list[DictionaryObject]:
    return [x for x in resources(reader.pages[0], "/XObject") if cast(int, x["/Width"]) == 240]


def test_the_issuers_logo_heads_page_one_and_without_one_its_monogram() -> None:
    with_png = Brand("St Example Hospital", logo=png_logo(), logo_type="image/png")
    reader = read(certificate_pdf(certificate_text(), badge_png(FACE), with_png))
    assert len(logo_xobjects(reader)) == 1 and "SE" not in reader.pages[0].extract_text()

    svg = (
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100">'
        b'<rect width="300" height="100" fill="#123456"/></svg>'
    )
    with_svg = Brand("St Example Hospital", logo=svg)
    page = read(certificate_pdf(certificate_text(), badge_png(FACE), with_svg)).pages[0]
    contents = page.get_contents()
    assert contents is not None and b"0.0706 0.2039 0.3373 rg" in contents.get_data()  # vectors
    assert "SE" not in page.extract_text()

    reader = read(certificate_pdf(certificate_text(), badge_png(FACE), BRAND))
    assert not logo_xobjects(reader) and reader.pages[0].extract_text().startswith("SE")


@pytest.mark.parametrize(
    "logo",
    [
        b"<svg",
        b"\x89PNG\r\n\x1a\nnot really",
        # fpdf2 would fetch this while drawing: refused, so the monogram stands in.
        b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100">'
        b'<image href="https://example.org/logo.png" width="300" height="100"/></svg>',
    ],
)
def test_a_logo_that_cannot_be_drawn_offline_gives_way_to_the_monogram(logo: bytes) -> None:
    kind = "image/png" if logo.startswith(b"\x89PNG") else "image/svg+xml"
    brand = Brand("St Example Hospital", logo=logo, logo_type=kind)
    reader = read(certificate_pdf(certificate_text(), badge_png(FACE), brand))
    assert reader.pages[0].extract_text().startswith("SE")
