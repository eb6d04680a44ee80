"""Reading fields of a native JSON document, where any field may hold any JSON value.

Each reader returns the value in the type the adapter needs, or raises `FieldError` naming the
field and the reason, which the adapter reports against the record. None (or absent) reads as
empty, so optional fields need no special case.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from marshmallow import ValidationError
from marshmallow.validate import Email

from hub.domain.identifiers import InvalidIdentifier


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


def flag(value: Any, field: str) -> bool | None:
    """An optional JSON boolean (None when absent)."""
    if value is None:
        return None
    if not isinstance(value, bool):
        raise FieldError(field, "expected true or false")
    return value


def text(value: Any, field: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(field, "must be text")
    try:
        value.encode()
    except UnicodeEncodeError:  # a lone surrogate (`"\ud800"` in the JSON): no store takes it
        raise FieldError(field, "not Unicode text") from None
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


def required_date(value: Any, field: str) -> date:
    when = iso_date(value, field)
    if when is None:
        raise FieldError(field, "missing")
    return when


def bounded(value: Any, field: str, limit: int, *, required: bool = False) -> str:
    """Text of at most `limit` characters; "" when absent, unless `required`."""
    raw = text(value, field)
    if required and not raw:
        raise FieldError(field, "missing")
    if len(raw) > limit:
        raise FieldError(field, f"longer than {limit} characters")
    return raw


def one_of(value: Any, field: str, options: Sequence[str]) -> str:
    """One of a fixed vocabulary, exactly as written there."""
    raw = text(value, field)
    if raw not in options:
        raise FieldError(field, f"expected {', '.join(options[:-1])} or {options[-1]}")
    return raw


def items(value: Any, field: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise FieldError(field, "must be a list")
    return value


def identifier(value: Any, field: str, canonical: Callable[[str], str]) -> str:
    """An identifier in its canonical form (`hub.domain.identifiers`); "" when absent."""
    raw = text(value, field)
    if not raw:
        return ""
    try:
        return canonical(raw)
    except InvalidIdentifier as error:
        raise FieldError(field, str(error)) from None


_EMAIL = Email(error="not an email address")


def email(value: Any, field: str, *, required: bool = False) -> str:
    """An email address, checked as the canonical schema checks it (so an address the adapter
    passes is one the hub accepts); "" when absent, unless `required`."""
    raw = bounded(value, field, 254, required=required)
    if raw:
        try:
            _EMAIL(raw)
        except ValidationError as error:
            raise FieldError(field, str(error.messages[0])) from None
    return raw
