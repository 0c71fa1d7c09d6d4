"""Charts drawn on the server as SVG (issuer/charts.py): numbers become proportional shapes,
every chart says its numbers in words, and nothing in it needs a style the CSP would refuse."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree

import pytest

from issuer import charts

SVG = "{http://www.w3.org/2000/svg}"


@pytest.mark.parametrize(
    ("value", "top"), [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (11, 20), (48, 50), (120, 200)]
)
def test_the_axis_top_is_one_two_or_five_times_a_power_of_ten(value: int, top: int) -> None:
    assert charts.nice_ceiling(value) == top


def test_columns_are_as_tall_as_their_values_and_labelled() -> None:
    svg = charts.columns(
        "issued", "Per month", "May 2026: 4; June 2026: 10.", [("May", 4), ("Jun", 10)]
    )
    root = ElementTree.fromstring(svg)
    heights = [float(r.get("height", "0")) for r in root.iter(f"{SVG}rect")]
    assert heights == [charts.COLUMN_HEIGHT * 4 / 10, charts.COLUMN_HEIGHT]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"May", "Jun", "4", "10"} <= set(texts)
    assert root.get("role") == "img" and root.get("aria-labelledby") == "issued-title issued-desc"
    assert root.find(f"{SVG}title").text == "Per month"  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").text == "May 2026: 4; June 2026: 10."  # type: ignore[union-attr]


def test_an_empty_year_draws_no_column_and_no_division_by_zero() -> None:
    svg = charts.columns("issued", "Per month", "Nothing.", [("May", 0), ("Jun", 0)])
    heights = [float(r.get("height", "0")) for r in ElementTree.fromstring(svg).iter(f"{SVG}rect")]
    assert heights == [0.0, 0.0]


def test_progress_bars_fill_done_then_in_progress_out_of_the_total() -> None:
    rows = [charts.Progress("Emerging", 4, 2, 1), charts.Progress("Advanced", 4, 0, 0)]
    root = ElementTree.fromstring(charts.progress_bars("cohort-1", "Cohort", "In words.", rows))
    bars = [(r.get("class"), float(r.get("width", "0"))) for r in root.iter(f"{SVG}rect")]
    assert bars == [
        ("bar-track", charts.BAR_WIDTH),
        ("bar-done", charts.BAR_WIDTH / 2),
        ("bar-progress", charts.BAR_WIDTH / 4),
        ("bar-track", charts.BAR_WIDTH),
    ]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert texts == ["Emerging", "2 of 4", "Advanced", "0 of 4"]


def test_labels_are_escaped_and_colours_are_classes_not_styles() -> None:
    rows = [charts.Progress('<script>"x"</script> & co', 1, 1, 0)]
    svg = charts.progress_bars("c", "<b>title</b>", "desc & more", rows)
    assert "<script>" not in svg and "<b>" not in svg and "&amp; co" in svg
    ElementTree.fromstring(svg)  # well-formed
    # The Content-Security-Policy allows no style attribute, and the theme must reach the fill.
    assert "style=" not in svg and not re.search(r'fill="#', svg)


def test_a_long_label_is_clipped_beside_its_bar() -> None:
    rows = [charts.Progress("A cohort whose name goes on and on well past the bar", 2, 1, 0)]
    root = ElementTree.fromstring(charts.progress_bars("c", "t", "d", rows))
    label = next(root.iter(f"{SVG}text")).text or ""
    assert len(label) == 40 and label.endswith("…")
