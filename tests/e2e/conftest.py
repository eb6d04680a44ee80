"""End-to-end fixtures: a real hub process per test, and headless Debian Chromium for the
browser tests."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.support.server import RunningHub, start_hub, stop

__all__ = ["RunningHub"]

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = (
        os.environ.get("HUB_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not path:
        raise RuntimeError(
            "Debian's chromium is needed for the browser tests: run scripts/ensure-chromium"
        )
    return path


@pytest.fixture
def hub_server(database_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    # The demo needs an empty database: the test database is freshly migrated and empty.
    # Audit entries join a signed checkpoint within a second (the pages show proofs at once).
    process, running = start_hub(
        tmp_path / "var", database_url, extra_env={"HUB_AUDIT_MAX_MERGE_DELAY": "1"}
    )
    try:
        yield running
    finally:
        stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
