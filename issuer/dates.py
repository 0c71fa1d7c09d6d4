"""Dates as people write them, in English like every page and letter: "2 November 2026".

One place for it, so a page, an e-mail and a certificate never write the same day two ways
(strftime's `%d` pads the day: "02 November 2026")."""

from __future__ import annotations

from datetime import date, datetime

MONTHS = (
    "January February March April May June July August September October November December"
).split()


def human_date(value: object) -> str:
    """A date or an XML Schema date-time as people write it; other text as it is. A
    credential's dates are hostile data: what does not parse is shown, never read."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            return str(value)
    if isinstance(value, date):
        return f"{value.day} {MONTHS[value.month - 1]} {value.year}"
    return "" if value is None else str(value)


def short_date(value: date) -> str:
    """A date in a table column, where space is short: "2 Nov 2026"."""
    return f"{value.day} {MONTHS[value.month - 1][:3]} {value.year}"


def human_time(value: datetime) -> str:
    """A moment to the minute, in UTC as stored: "2 November 2026, 14:05 UTC"."""
    return f"{human_date(value)}, {value:%H:%M} UTC"
