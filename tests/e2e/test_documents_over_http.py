"""Native documents through a running gunicorn: a CSV sent without a length (chunked, as a
streaming client sends a file) is refused at the document limit, with nothing stored; a document
within it is read row by row."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.support.adapters import EXAMPLES
from tests.support.server import RunningHub, start_hub, stop

LIMIT = 4096


@pytest.fixture
def small_limit_hub(database_url: str, tmp_path: Path) -> Iterator[RunningHub]:
    process, running = start_hub(
        tmp_path / "var", database_url, extra_env={"HUB_MAX_DOCUMENT_BYTES": str(LIMIT)}
    )
    try:
        yield running
    finally:
        stop(process)


def _token(hub: RunningHub) -> str:
    creds = hub.credentials["iom-sheffield"]
    response = requests.post(
        hub.token_endpoint,
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def test_a_chunked_document_over_the_limit_is_413_and_stores_nothing(
    small_limit_hub: RunningHub,
) -> None:
    hub = small_limit_hub
    headers = {"Authorization": f"Bearer {_token(hub)}", "Content-Type": "text/csv"}
    example = (EXAMPLES / "iom-cohort.csv").read_bytes()
    row = b"2011/0482113C,Hargreaves,Daniel,14/07/1991,Fixed,Adopted,SAC,01/09/2025,PC 1,Team\r\n"

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent with Transfer-Encoding: chunked
        yield example
        for _ in range(2 * LIMIT // len(row)):
            yield row

    url = hub.url + "/v1/adapters/iom/cohort"
    refused = requests.post(url, data=chunks(), headers=headers, timeout=30)
    assert refused.status_code == 413, refused.text
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert refused.json()["limit"] == LIMIT

    # Nothing was stored: the same rows within the limit are all new.
    accepted = requests.post(url, data=example, headers=headers, timeout=30)
    assert accepted.status_code == 200, accepted.text
    body = accepted.json()
    assert body["accepted"] == 3
    assert not any(r.get("alreadyReceived") for r in body["records"])
