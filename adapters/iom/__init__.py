"""IOM teams' cohort spreadsheets (CSV) in; canonical cohort-membership records out."""

from adapters.iom.cohort import parse_cohort

__all__ = ["parse_cohort"]
