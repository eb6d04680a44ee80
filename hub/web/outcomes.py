"""`/ui/outcomes`: reconviction outcome figures by release cohort, for any signed-in user.

The figures are aggregates with small counts suppressed (`hub.services.outcomes`), so no role
needs shielding from them. Each chart is inline SVG (drawn with presentation attributes only, as
the pages' Content-Security-Policy allows no inline styles) with a title and description for
screen readers, and a table of the same numbers beside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from flask import Blueprint, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from hub.services.outcomes import Cohort, Figure
from hub.web.views import signed_in

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("outcomes", __name__, url_prefix="/ui/outcomes")

BAND_LABELS = {
    "summary": "Summary only",
    "either_way": "Either way",
    "indictable_only": "Indictable only",
    "not_recorded": "Not recorded",
}
FLAG_LABELS = {"violence": "Violence", "sexual": "Sexual"}

# Chart geometry (SVG user units): labels on the left, bars across, values after each bar.
WIDTH, LABEL, AREA = 480, 140, 260
TOP, ROW, BAR, BOTTOM = 34, 34, 24, 30


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    width: float  # 0 when suppressed
    text: str
    text_x: float
    suppressed: bool


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    height: int
    axis_y: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]
    baseline_x: float | None = None
    baseline_text: str = ""


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


def month_label(cohort: Cohort) -> str:
    return f"{cohort.starts:%B %Y}"


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def shown(figure: Figure, suffix: str = "") -> str:
    if figure.value is None:
        return "suppressed"
    if isinstance(figure.value, float):
        return f"{figure.value:g}{suffix}"
    return f"{figure.value:,}{suffix}"


def difference(figure: Figure) -> str:
    if figure.value is None:
        return "suppressed"
    return f"{figure.value:+.1f} points" if figure.value else "0.0 points"


def chart(
    chart_id: str,
    title: str,
    rows: list[tuple[str, Figure]],
    *,
    suffix: str = "",
    scale: float | None = None,
    baseline: float | None = None,
) -> Chart:
    """A horizontal bar chart of `rows` (label, figure); a suppressed figure has no bar and says
    so. `scale` is the axis maximum (100 for percentages; else the largest value, rounded up)."""
    values = [float(f.value) for _, f in rows if f.value is not None]
    top = scale or max(1.0, math.ceil(max(values, default=0.0) * 2) / 2)
    bars = []
    for index, (label, figure) in enumerate(rows):
        width = 0.0 if figure.value is None else AREA * min(float(figure.value), top) / top
        bars.append(
            Bar(
                label=label,
                y=TOP + index * ROW,
                width=round(width, 1),
                text=shown(figure, suffix),
                text_x=round(LABEL + width + 6, 1),
                suppressed=figure.value is None,
            )
        )
    axis_y = TOP + len(rows) * ROW
    ticks = [
        (round(LABEL + AREA * step / 2, 1), f"{top * step / 2:g}{suffix}") for step in range(3)
    ]
    described = "; ".join(f"{label}: {shown(f, suffix)}" for label, f in rows)
    if baseline is not None:
        described += f". Baseline {baseline:g}{suffix}"
    return Chart(
        id=chart_id,
        title=title,
        description=described,
        height=axis_y + BOTTOM,
        axis_y=axis_y,
        bars=bars,
        ticks=ticks,
        baseline_x=None if baseline is None else round(LABEL + AREA * baseline / top, 1),
        baseline_text="" if baseline is None else f"Baseline {baseline:g}{suffix}",
    )


@bp.get("/")
@signed_in
def figures() -> ResponseReturnValue:
    service = _services().outcomes
    if service is None:
        abort(404)
    found = service.figures()
    years_chart = chart(
        "chart-years",
        "Proportion reconvicted by cohort year",
        [(y.total.key, y.total.reconvicted_percent) for y in found.years],
        suffix="%",
        scale=100,
        baseline=found.baseline,
    )
    year_charts = {
        y.total.key: (
            chart(
                f"chart-{y.total.key.replace('/', '-')}-proportion",
                f"Proportion reconvicted by release month, cohort year {y.total.key}",
                [(month_label(m), m.reconvicted_percent) for m in y.months],
                suffix="%",
                scale=100,
                baseline=found.baseline,
            ),
            chart(
                f"chart-{y.total.key.replace('/', '-')}-frequency",
                f"Reconvictions per person by release month, cohort year {y.total.key}",
                [(month_label(m), m.offences_per_person) for m in y.months],
            ),
        )
        for y in found.years
    }
    return render_template(
        "outcomes/figures.html",
        figures=found,
        years_chart=years_chart,
        year_charts=year_charts,
        shown=shown,
        difference=difference,
        month_label=month_label,
        long_date=long_date,
        bands=BAND_LABELS,
        flags=FLAG_LABELS,
        width=WIDTH,
        label_x=LABEL - 8,
        area=(LABEL, LABEL + AREA),
        top=TOP,
        bar_height=BAR,
    )
