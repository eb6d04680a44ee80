"""Benchmark: whole native documents through `POST /v1/adapters/...` end to end.

A generated court centre's day (N defendants, one convicted offence each, every one a new person
resolved by PNC ID) and a generated IOM cohort CSV (M rows), each posted once to a real `hub serve`
(gunicorn, as `make run` starts it) on a fresh database. Prints records per second end to end, the
parser alone on the same document in this process (the baseline: the ratio is what the hub adds
for identity resolution, encryption, storage and audit), and peak memory: the server worker's
high-water RSS (VmHWM) and the parser's peak Python allocation (tracemalloc) against the
document's size.

    make bench                                       # both benches, SQLite
    .venv/bin/python bench/adapters.py --defendants 10000 --rows 50000
    HUB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test .venv/bin/python bench/adapters.py

Figures, not assertions.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from adapters.courts import parse_hearing  # noqa: E402
from adapters.iom import parse_cohort  # noqa: E402
from hub.domain.identifiers import check_letter  # noqa: E402
from tests.support.databases import PostgresFactory  # noqa: E402
from tests.support.server import start_hub, stop  # noqa: E402

SURNAMES = ["Hargreaves", "Booth", "Walsh", "Khan", "O'Neill", "Ormsby", "Birch", "Raman", "Lister"]
FORENAMES = ["Daniel", "Kieran", "Lee", "Patrick", "Tom", "Gemma", "Priya", "Sam", "Jo"]


def pnc(year: int, serial: int) -> str:
    return f"{year}/{serial:07d}{check_letter(int(f'{year % 100:02d}{serial:07d}'))}"


def hearing(defendants: int) -> bytes:
    born = date(1980, 1, 1)
    cases = []
    for i in range(defendants):
        offence = {
            "id": f"offence-{i}",
            "offenceCode": "TH68010",
            "offenceTitle": "Theft from a shop",
            "modeOfTrial": "Either Way",
            "startDate": "2026-10-01",
            "convictionDate": "2026-11-20",
            "plea": {"pleaValue": "GUILTY", "pleaDate": "2026-11-20"},
            "judicialResults": [
                {
                    "label": "Community order",
                    "category": "FINAL",
                    "isConvictedResult": True,
                    "orderedDate": "2026-11-20",
                    "cjsCode": "1116",
                    "durationElement": {"primaryDurationUnit": "M", "primaryDurationValue": 12},
                }
            ],
        }
        defendant = {
            "id": f"defendant-{i}",
            "pncId": pnc(2010 + i % 10, 100000 + i),
            "personDefendant": {
                "personDetails": {
                    "firstName": FORENAMES[i % len(FORENAMES)],
                    "lastName": f"{SURNAMES[i % len(SURNAMES)]}{i}",
                    "dateOfBirth": (born + timedelta(days=i % 9000)).isoformat(),
                    "address": {"address1": f"{i} High Street", "postcode": "S1 2AA"},
                }
            },
            "offences": [offence],
        }
        cases.append(
            {
                "id": f"case-{i}",
                "prosecutionCaseIdentifier": {"caseURN": f"14SY{i:07d}"},
                "defendants": [defendant],
            }
        )
    document = {
        "hearing": {
            "id": "bench-hearing",
            "jurisdictionType": "MAGISTRATES",
            "courtCentre": {"id": "c", "code": "B14LO00", "name": "Sheffield Magistrates' Court"},
            "hearingDays": [{"sittingDay": "2026-11-20T10:00:00Z"}],
            "prosecutionCases": cases,
        }
    }
    return json.dumps(document).encode()


def cohort(rows: int) -> bytes:
    out = io.StringIO()
    out.write("\ufeffpnc,surname,forenames,date_of_birth,iom_category,status,offender_group,")
    out.write("adopted_on,iom_officer,team\r\n")
    for i in range(rows):
        born = date(1975, 1, 1) + timedelta(days=i % 12000)
        out.write(
            f'{pnc(2000 + i % 20, 200000 + i)},"{SURNAMES[i % 9]}{i}",{FORENAMES[i % 9]},'
            f"{born:%d/%m/%Y},Fixed,Adopted,SAC,01/09/2026,PC {i % 400} Walsh,Sheffield IOM\r\n"
        )
    return out.getvalue().encode()


def parse_baseline(parse: Any, raw: bytes) -> tuple[float, int, int]:
    """(records per second, records, peak bytes allocated) for the parser alone: timed without
    tracing, then run again under tracemalloc for its peak."""
    began = time.perf_counter()
    result = parse(raw)
    elapsed = time.perf_counter() - began
    records = len(result.records)
    del result
    tracemalloc.start()
    parse(raw)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return records / elapsed, records, peak


def worker_hwm(server_pid: int) -> int:
    """The largest VmHWM (peak resident set, bytes) among the server's worker processes."""
    peak = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(server_pid) and "VmHWM" in fields:
            peak = max(peak, int(fields["VmHWM"].split()[0]) * 1024)
    return peak


def send(url: str, token: str, path: str, raw: bytes, media: str) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    response = requests.post(
        url + path,
        data=raw,
        headers={"Authorization": f"Bearer {token}", "Content-Type": media},
        timeout=3600,
    )
    elapsed = time.perf_counter() - began
    body = response.json()
    if response.status_code != 200:
        raise SystemExit(f"{path}: {response.status_code} {json.dumps(body)[:500]}")
    return elapsed, body


def token(url: str, creds: dict[str, Any]) -> str:
    response = requests.post(
        url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--defendants", type=int, default=10_000)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument(
        "--postgres", default=None, help="admin URL; default $HUB_BENCH_POSTGRES_URL"
    )
    args = parser.parse_args()
    pg_admin = args.postgres or os.environ.get("HUB_BENCH_POSTGRES_URL")

    documents = [
        (
            "courts",
            "hearings",
            "courts-sheffield",
            hearing(args.defendants),
            "application/json",
            parse_hearing,
        ),
        ("iom", "cohort", "iom-sheffield", cohort(args.rows), "text/csv", parse_cohort),
    ]
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        factory = PostgresFactory(pg_admin) if pg_admin else None
        database_url = factory.create() if factory else f"sqlite:///{var / 'hub.db'}"
        process, hub = start_hub(
            var, database_url, workers=1, extra_env={"HUB_LOG_LEVEL": "WARNING"}
        )
        try:
            idle = worker_hwm(process.pid)
            for kind, name, sender, raw, media, parse in documents:
                base_rate, parsed, parse_peak = parse_baseline(parse, raw)
                elapsed, body = send(
                    hub.url,
                    token(hub.url, hub.credentials[sender]),
                    f"/v1/adapters/{kind}/{name}",
                    raw,
                    media,
                )
                rate = body["accepted"] / elapsed
                lines.append(
                    f"  {kind}/{name}: {len(raw) / 1e6:6.1f} MB, {parsed} records; end to end "
                    f"{elapsed:6.1f} s = {rate:7.1f} records/s (accepted {body['accepted']}, "
                    f"rejected {body['rejected']}); parser alone {base_rate:9.1f} records/s; "
                    f"ratio end-to-end/parser {rate / base_rate:.4f}; parser peak "
                    f"{parse_peak / 1e6:.1f} MB ({parse_peak / len(raw):.1f}x the document)"
                )
            peak = worker_hwm(process.pid)
        finally:
            stop(process)
            if factory:
                factory.drop(database_url)
                factory.close()
    print(f"adapter bench: {'postgresql' if pg_admin else 'sqlite'}, gunicorn 1 gevent worker")
    print("\n".join(lines))
    print(
        f"  server worker peak RSS {peak / 1e6:.0f} MB (idle before the documents {idle / 1e6:.0f} MB)"
    )


if __name__ == "__main__":
    main()
