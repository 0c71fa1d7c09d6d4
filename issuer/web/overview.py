"""The overview's charts: the dashboard's numbers drawn as SVG (issuer/charts.py) and said in
words for the chart's description; the template puts the same numbers in a table."""

from __future__ import annotations

from dataclasses import dataclass

from markupsafe import Markup

from issuer import charts
from issuer.services.dashboard import CohortProgress, MonthCount

NO_COHORT = "No cohort"


@dataclass(frozen=True, slots=True)
class CohortChart:
    progress: CohortProgress
    name: str
    svg: Markup


@dataclass(frozen=True, slots=True)
class MonthChart:
    months: list[MonthCount]
    total: int
    svg: Markup


def _people(count: int, one: str = "learner", many: str = "learners") -> str:
    return f"{count} {one if count == 1 else many}"


def cohort_charts(cohorts: list[CohortProgress]) -> list[CohortChart]:
    """One bar chart per cohort and framework: each level's learners who earned it, who are
    on their way, and the rest."""
    found = []
    for number, cohort in enumerate(cohorts, start=1):
        name = cohort.cohort or NO_COHORT
        title = f"{name}, {cohort.framework}: {_people(cohort.learners)} by level"
        description = "; ".join(
            f"{level.label}: {level.earned} earned, {level.in_progress} in progress, "
            f"{level.not_started} not started"
            for level in cohort.levels
        )
        rows = [
            charts.Progress(level.label, level.learners, level.earned, level.in_progress)
            for level in cohort.levels
        ]
        svg = charts.progress_bars(f"cohort-{number}", title, description + ".", rows)
        # Safe: issuer/charts.py escapes every label and title it writes.
        found.append(CohortChart(cohort, name, Markup(svg)))
    return found


def month_chart(months: list[MonthCount]) -> MonthChart:
    """The credentials issued in each month, oldest first, labelled by month."""
    total = sum(m.issued for m in months)
    first, last = months[0].month, months[-1].month
    title = (
        f"Credentials issued per month, {first:%B %Y} to {last:%B %Y}: "
        f"{_people(total, 'credential', 'credentials')}"
    )
    description = "; ".join(f"{m.month:%B %Y}: {m.issued}" for m in months) + "."
    bars = [(f"{m.month:%b}", m.issued) for m in months]
    return MonthChart(months, total, Markup(charts.columns("issued", title, description, bars)))
