"""HMPPS prisoner records and release events in; canonical release records out."""

from adapters.prison.releases import parse_prisoner, parse_release_event

__all__ = ["parse_prisoner", "parse_release_event"]
