"""End-to-end fixtures: a real hub process per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.server import RunningHub, start_hub, stop

__all__ = ["RunningHub"]


@pytest.fixture
def hub_server(database_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    # The demo needs an empty database: the test database is freshly migrated and empty.
    process, running = start_hub(tmp_path / "var", database_url)
    try:
        yield running
    finally:
        stop(process)
