"""Charts as SVG text, drawn on the server: no JavaScript, nothing the CSP would have to allow.

Pure: numbers and labels in, an `<svg>` string out. Colours are classes (`bar-done`,
`bar-progress`, `bar-track`, `axis`) that static/app.css fills from the brand and the theme,
so a chart follows dark mode and the issuer's colour without a style attribute. Every chart is
an image with a `<title>` and a `<desc>` that says its numbers in words; the page puts the
same numbers in a table beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

COLUMN_WIDTH, COLUMN_GAP, COLUMN_HEIGHT = 30, 10, 150
# A row is its label on one line, then its bar with "done of total" beside it: narrow enough
# to stay legible on a phone, where the chart is drawn about 300 px wide.
LABEL_HEIGHT, BAR_HEIGHT, ROW_GAP, BAR_WIDTH, VALUE_WIDTH = 18, 18, 14, 250, 80


@dataclass(frozen=True, slots=True)
class Progress:
    """One horizontal bar: of `total`, `done` and then `progress` filled, the rest a track."""

    label: str
    total: int
    done: int
    progress: int


def _open(chart_id: str, width: int, height: int, title: str, description: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(description)}</desc>'
    )


def nice_ceiling(value: int) -> int:
    """The axis top: the smallest of 1, 2 or 5 times a power of ten that holds `value`."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if value <= step * factor:
                return step * factor
        step *= 10


def columns(chart_id: str, title: str, description: str, bars: Sequence[tuple[str, int]]) -> str:
    """Vertical columns, one per (label, value), each value written above its column."""
    top = nice_ceiling(max((v for _, v in bars), default=0) or 1)
    left, base = 36, 24 + COLUMN_HEIGHT
    width = left + len(bars) * (COLUMN_WIDTH + COLUMN_GAP)
    parts = [_open(chart_id, width, base + 28, title, description)]
    # A middle line only where it falls on a whole number (5 has none; 2, 10, 20 do).
    for tick in (0, top // 2, top) if top % 2 == 0 else (0, top):
        y = base - COLUMN_HEIGHT * tick / top
        parts.append(
            f'<line class="grid-line" x1="{left}" x2="{width}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        parts.append(
            f'<text class="axis" x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick}</text>'
        )
    for i, (label, value) in enumerate(bars):
        x = left + COLUMN_GAP / 2 + i * (COLUMN_WIDTH + COLUMN_GAP)
        height = COLUMN_HEIGHT * value / top
        middle = x + COLUMN_WIDTH / 2
        parts.append(
            f'<rect class="bar-done" x="{x:.1f}" y="{base - height:.1f}" '
            f'width="{COLUMN_WIDTH}" height="{height:.1f}" rx="3"/>'
        )
        top_y = base - height - 6
        parts.append(f'<text x="{middle:.1f}" y="{top_y:.1f}" text-anchor="middle">{value}</text>')
        parts.append(
            f'<text class="axis" x="{middle:.1f}" y="{base + 18}" text-anchor="middle">'
            f"{escape(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def progress_bars(chart_id: str, title: str, description: str, rows: Sequence[Progress]) -> str:
    """Horizontal bars, one per row: done, then in progress, then the rest, out of its total;
    "done of total" written after each bar."""
    width = BAR_WIDTH + VALUE_WIDTH
    step = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
    parts = [_open(chart_id, width, len(rows) * step, title, description)]
    for i, row in enumerate(rows):
        y = i * step + LABEL_HEIGHT
        parts.append(f'<text x="0" y="{y - 4}">{escape(_clip(row.label))}</text>')
        parts.append(
            f'<rect class="bar-track" x="0" y="{y}" width="{BAR_WIDTH}" '
            f'height="{BAR_HEIGHT}" rx="3"/>'
        )
        x = 0.0
        for kind, value in (("bar-done", row.done), ("bar-progress", row.progress)):
            part = BAR_WIDTH * value / row.total if row.total else 0
            if part:
                parts.append(
                    f'<rect class="{kind}" x="{x:.1f}" y="{y}" width="{part:.1f}" '
                    f'height="{BAR_HEIGHT}" rx="3"/>'
                )
            x += part
        parts.append(
            f'<text x="{BAR_WIDTH + 8}" y="{y + BAR_HEIGHT - 4}">{row.done} of {row.total}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _clip(label: str, most: int = 40) -> str:
    """A label that fits beside its bar (the table beside the chart has it in full)."""
    return label if len(label) <= most else label[: most - 1].rstrip() + "…"
