"""Reading the CSV files coordinators upload (enrolment, sign-off records): one way to refuse
what cannot be read, so both uploads say the same thing about the same fault."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from issuer.errors import InvalidInput


def reader(
    data: bytes, columns: Sequence[str], *, max_bytes: int, optional: str = ""
) -> csv.DictReader[str]:
    """A reader over `data` whose header, trimmed and lower-cased, names every one of
    `columns`; InvalidInput for a file too large, not UTF-8, or missing a column (`optional`
    is added to that message: the columns it may also have)."""
    if len(data) > max_bytes:
        raise InvalidInput(f"the file is larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"the file is not UTF-8 text (byte {error.start})") from None
    found = csv.DictReader(io.StringIO(text, newline=""))
    header = [column.strip().lower() for column in (found.fieldnames or [])]
    missing = [column for column in columns if column not in header]
    if missing:
        raise InvalidInput(
            f"the header must name {', '.join(columns)}{optional}; missing {', '.join(missing)}"
        )
    found.fieldnames = header
    return found
