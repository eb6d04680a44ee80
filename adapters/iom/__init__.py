"""IOM teams' cohort spreadsheets (CSV) in; canonical cohort-membership records out, and back."""

from adapters.base import Document
from adapters.iom.cohort import parse_cohort
from adapters.iom.outbound import render
from hub.domain.vocab import AgencyKind

DOCUMENTS = (
    Document(
        agency_kind=AgencyKind.IOM,
        name="cohort",
        media_type="text/csv",
        parse=parse_cohort,
        title="an IOM cohort extract (CSV)",
    ),
)

__all__ = ["DOCUMENTS", "parse_cohort", "render"]
