"""Structured JSON logs: fixed event names, a request id on every line, ids only.

Never log a name, a date of birth, an identifier of a person or a payload: log the hub's own ids
(message id, inbox id, agency id) and codes.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

import structlog


class _Stderr:
    """Whatever `sys.stderr` is when a line is written (not when logging was configured)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: str = "INFO") -> None:
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=True),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


class JsonLineFormatter(logging.Formatter):
    """Standard-library records (gunicorn's own) as JSON lines in the same shape as structlog's."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "event": record.name,
            "level": record.levelname.lower(),
            "message": record.getMessage(),
            "timestamp": datetime.fromtimestamp(record.created, UTC)
            .isoformat()
            .replace("+00:00", "Z"),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, sort_keys=True)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    return structlog.get_logger(name)  # type: ignore[no-any-return]
