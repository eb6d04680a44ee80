"""Benchmark: `POST /v1/messages` end to end against a bare authenticated endpoint, same server,
same run. Prints messages per second, requests per second, and their ratio.

    make bench                       # SQLite (the embedded default)
    HUB_BENCH_POSTGRES_URL=postgresql://postgres@127.0.0.1:5432/test make bench

The server is `hub serve` (gunicorn, gevent workers) exactly as `make run` starts it, on a fresh
database; clients are threads with keep-alive sessions. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.databases import PostgresFactory  # noqa: E402
from tests.support.server import start_hub, stop  # noqa: E402
from tests.support.world import conviction_event  # noqa: E402


def token(url: str, creds: dict[str, Any]) -> str:
    response = requests.post(
        url + "/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(creds["client_id"], creds["client_secret"]),
        timeout=10,
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def drive(
    name: str, clients: int, seconds: float, make_request: Any
) -> tuple[float, list[float], int]:
    """Run `clients` threads for `seconds`; (requests per second, latencies, failures)."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failures = [0] * clients
    stop_at = time.perf_counter() + seconds
    start = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        session = requests.Session()
        start.wait()
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            ok = make_request(session)
            latencies[i].append(time.perf_counter() - t0)
            failures[i] += 0 if ok else 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    flat = [x for xs in latencies for x in xs]
    return len(flat) / elapsed, flat, sum(failures)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--postgres", default=None, help="admin URL; default $HUB_BENCH_POSTGRES_URL"
    )
    args = parser.parse_args()

    import os

    pg_admin = args.postgres or os.environ.get("HUB_BENCH_POSTGRES_URL")
    with tempfile.TemporaryDirectory() as tmp:
        var = Path(tmp) / "var"
        factory = PostgresFactory(pg_admin) if pg_admin else None
        database_url = factory.create() if factory else f"sqlite:///{var / 'hub.db'}"
        process, hub = start_hub(
            var, database_url, workers=args.workers, extra_env={"HUB_LOG_LEVEL": "WARNING"}
        )
        try:
            court = token(hub.url, hub.credentials["courts-sheffield"])
            reader = token(hub.url, hub.credentials["provider-doncaster-alliance"])

            def post_message(session: requests.Session) -> bool:
                event = conviction_event()
                r = session.post(
                    hub.url + "/v1/messages",
                    data=json.dumps(event),
                    headers={
                        "Authorization": f"Bearer {court}",
                        "Content-Type": "application/cloudevents+json",
                    },
                    timeout=30,
                )
                return r.status_code == 202

            def whoami(session: requests.Session) -> bool:
                r = session.get(
                    hub.url + "/v1/whoami",
                    headers={"Authorization": f"Bearer {reader}"},
                    timeout=30,
                )
                return r.status_code == 200

            drive("warm-up", 2, 1.0, whoami)
            bare_rate, bare_lat, bare_fail = drive("whoami", args.clients, args.seconds, whoami)
            msg_rate, msg_lat, msg_fail = drive(
                "messages", args.clients, args.seconds, post_message
            )
        finally:
            stop(process)
            if factory:
                factory.drop(database_url)
                factory.close()

    backend = "postgresql" if pg_admin else "sqlite"
    print(
        f"hub bench: {backend}, gunicorn {args.workers} gevent workers, {args.clients} clients, {args.seconds:.0f}s each"
    )
    print(
        f"  GET  /v1/whoami   (bare authenticated): {bare_rate:8.1f} req/s   p50 {percentile(bare_lat, 0.5):6.1f} ms   p99 {percentile(bare_lat, 0.99):6.1f} ms   failures {bare_fail}"
    )
    print(
        f"  POST /v1/messages (end to end):         {msg_rate:8.1f} msg/s   p50 {percentile(msg_lat, 0.5):6.1f} ms   p99 {percentile(msg_lat, 0.99):6.1f} ms   failures {msg_fail}"
    )
    print(
        f"  ratio messages/bare: {msg_rate / bare_rate:.3f}   (mean latency ratio {statistics.mean(msg_lat) / statistics.mean(bare_lat):.2f}x)"
    )


if __name__ == "__main__":
    main()
