"""Reading fields of a native JSON document, where any field may hold any JSON value.

Each reader returns the value in the type the adapter needs, or raises `FieldError` naming the
field and the reason, which the adapter reports against the record. None (or absent) reads as
empty, so optional fields need no special case.
"""

from __future__ import annotations

from datetime import date
from typing import Any


class FieldError(Exception):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def obj(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(field, "must be an object")
    return value


def text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(field, "must be text")
    return value.strip()


def iso_date(value: Any, field: str) -> date | None:
    """A `YYYY-MM-DD` date (a timestamp's date part is accepted); None when absent."""
    raw = text(value, field)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        raise FieldError(field, "not a date: expected YYYY-MM-DD") from None


def short_text(value: Any, limit: int) -> bool:
    """Whether `value` is non-empty text of at most `limit` characters."""
    return isinstance(value, str) and 0 < len(value.strip()) <= limit
