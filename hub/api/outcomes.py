"""`GET /v1/outcomes`: reconviction outcome figures by release cohort, aggregated only
(`hub.services.outcomes`). Any agency client with `subjects:read` may read them: they hold no
identifier and nothing about any one person, counts below the minimum are suppressed (`null` with
`"suppressed": true`), and so are rates computed from them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Blueprint, current_app
from flask.typing import ResponseReturnValue

from hub.api.auth import require
from hub.domain.errors import NotFound
from hub.domain.vocab import Scope
from hub.services.outcomes import Cohort, Figure, Figures

if TYPE_CHECKING:
    from hub.bootstrap import Services

bp = Blueprint("outcomes_api", __name__, url_prefix="/v1")

MEASURE = (
    "The proportion of people released from custody in each cohort who were convicted at court "
    "of an offence committed within 12 months of their release, the conviction within a further "
    "6 months (out-of-court disposals do not count); the number of such offences per person "
    "released; and those offences by severity band. Each person counts once in a cohort year "
    "(October to September), in the month of their first release in it."
)


def _services() -> Services:
    services: Services = current_app.extensions["hub"]
    return services


@bp.get("/outcomes")
@require(Scope.SUBJECTS_READ)
def outcomes() -> ResponseReturnValue:
    service = _services().outcomes
    if service is None:
        raise NotFound("outcome figures are not available from this hub")
    return as_json(service.figures())


def as_json(figures: Figures) -> dict[str, Any]:
    return {
        "measure": MEASURE,
        "asOf": figures.as_of.isoformat(),
        "baselinePercent": figures.baseline,
        "minimumCount": figures.min_count,
        "suppression": (
            f"Counts below {figures.min_count} are suppressed (value null, suppressed true), "
            "as are rates computed from them and further counts that would let a suppressed "
            "one be worked out from a total."
        ),
        "severityBands": list(figures.bands),
        "cohortYears": [
            {**_cohort(year.total), "months": [_cohort(month) for month in year.months]}
            for year in figures.years
        ],
    }


def _figure(figure: Figure) -> dict[str, Any]:
    return {"value": figure.value, "suppressed": figure.suppressed}


def _cohort(cohort: Cohort) -> dict[str, Any]:
    return {
        "cohort": cohort.key,
        "from": cohort.starts.isoformat(),
        "to": cohort.ends.isoformat(),
        "status": "final" if cohort.final else "provisional",
        "windowClosesOn": cohort.window_closes_on.isoformat(),
        "released": _figure(cohort.released),
        "reconvicted": _figure(cohort.reconvicted),
        "notReconvicted": _figure(cohort.not_reconvicted),
        "reconvictedPercent": _figure(cohort.reconvicted_percent),
        "differenceFromBaseline": _figure(cohort.difference),
        "offences": _figure(cohort.offences),
        "offencesPerPerson": _figure(cohort.offences_per_person),
        "severity": {band: _figure(f) for band, f in cohort.severity.items()},
        "flags": {flag: _figure(f) for flag, f in cohort.flags.items()},
    }
