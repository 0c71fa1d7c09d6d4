"""Dates as people write them: the day unpadded, the same way on every page, letter and PDF."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from issuer.dates import human_date, human_time, short_date

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        (date(2026, 12, 1), "1 December 2026"),
        (datetime(2026, 12, 9, 23, 59, tzinfo=UTC), "9 December 2026"),
        (date(2026, 11, 30), "30 November 2026"),
        ("2026-01-02T03:04:05Z", "2 January 2026"),
        ("2026-07-04", "4 July 2026"),
        # Hostile data from a credential is shown as it is, never guessed at.
        ("next Tuesday", "next Tuesday"),
        (None, ""),
    ],
)
def test_a_date_is_written_with_the_day_unpadded(value: object, written: str) -> None:
    assert human_date(value) == written


def test_short_dates_and_times_unpad_the_day_too() -> None:
    assert short_date(date(2026, 3, 5)) == "5 Mar 2026"
    assert human_time(datetime(2026, 3, 5, 7, 8, tzinfo=UTC)) == "5 March 2026, 07:08 UTC"


def test_no_page_or_letter_writes_a_day_with_strftime() -> None:
    """`%d` pads the day ("01 December"), so a page and its e-mail wrote one day two ways, and
    tests written on the 10th–31st passed while the same tests failed on the 1st–9th."""
    padded = re.compile(r"[\"']%d ")  # "%d %B %Y"; ISO's "%Y-%m-%d" pads by design
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("templates", "issuer")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".html", ".py", ".txt", ".svg")
        and path.name != "dates.py"
        and padded.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
