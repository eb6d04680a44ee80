"""HMCTS Common Platform hearing results in; canonical convictions out."""

from adapters.courts.hearings import parse_hearing

__all__ = ["parse_hearing"]
