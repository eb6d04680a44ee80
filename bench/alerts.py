"""Benchmark: reconviction alerts, from the court's POST to the provider's live stream (issue 7).
Prints, for one hub process and for two (one hub, two processes on one database):

1. latency: a court posts resulted hearings one at a time to the first process (each raises one
   reconviction alert for a person the provider works with), while background clients post
   ordinary messages to that process without pause; the provider reads `GET /v1/inbox/stream`
   (Server-Sent Events) from the last process, so with two the alert crosses processes. Latency
   is from the moment the hearing's POST returned to the moment its alert's event was read off
   the stream (matched by `data.conviction`, the conviction's message id); p50, p99 and max. An
   alert read before its POST's answer counts as 0 (how many is printed);
2. throughput: hearings posted as fast as several clients can (no background load; the clients
   spread over the processes), alerts read off the stream per second, from the first POST to
   the last alert;
3. the ratio two processes / one for each.

Every hearing is about the same person (the one `_world` makes released and known to probation,
the provider and IOM), so each adds a conviction to that person's records, and an alert costs
more as they grow (it reads the person's records): the hearing POST's p50 over the first and the
last fifth of the latency run shows by how much. Each configuration starts from a fresh database.

    .venv/bin/python bench/alerts.py                  # SQLite (each process polls the other)
    .venv/bin/python bench/alerts.py --quick
    .venv/bin/python bench/alerts.py --postgres postgresql://postgres@127.0.0.1:5432/test \\
        --redis redis://127.0.0.1:6379/15             # PostgreSQL, notices through Redis

Without `--redis` two processes hear of each other's deliveries by polling the database twice a
second (`hub.services.live.PollingNotifier`); with it, through Redis pub/sub. The fan-out used is
printed. The servers are `hub serve` (gunicorn, one gevent worker each) as `make run` starts them,
on a fresh database per configuration; `--var DIR` keeps their var dirs (logs: server-*.log).
Figures, not assertions.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.messages import token  # noqa: E402
from hub.domain.identifiers import check_letter  # noqa: E402
from tests.e2e.test_delivery_faults import _hearing  # noqa: E402
from tests.e2e.test_live_alerts import _world  # noqa: E402
from tests.support.databases import PostgresFactory  # noqa: E402
from tests.support.server import RunningHub, start_hub, stop  # noqa: E402
from tests.support.world import conviction_event  # noqa: E402

ALERT = "uk.gov.justice.hub.reconviction-alert.v1"
PROVIDER = "provider-doncaster-alliance"
COURT = "courts-sheffield"
# Background messages: convictions about other people (so the alerted person's history is only
# the hearings') for probation (so the provider's stream carries only what the bench measures).
LOAD_RECIPIENT = "probation-south-yorkshire"


def pnc(serial: int) -> str:
    return f"pnc:2012/{serial:07d}{check_letter(int(f'12{serial:07d}'))}"


def ratio(a: float, b: float) -> float:
    return a / b if b else float("nan")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else float("nan")


class Stream:
    """The provider's SSE stream, read in a thread: when each reconviction alert arrived, by the
    conviction it reports. Reconnects (new token, `Last-Event-ID`) if the stream ends."""

    def __init__(self, hub: RunningHub, issuer: RunningHub) -> None:
        self._url = hub.url + "/v1/inbox/stream"
        self._issuer = issuer
        self.arrived: dict[str, float] = {}
        self.repeats = 0
        self.events = 0
        self.reconnects = 0
        self.errors: list[str] = []
        self._last_id: str | None = None
        self._ready = threading.Event()
        self._stopping = threading.Event()
        self._changed = threading.Condition()
        self._response: requests.Response | None = None
        self._thread = threading.Thread(target=self._run, name="sse-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError(f"the stream did not open: {self.errors}")

    def stop(self) -> None:
        """Close the connection under the reader (a shutdown, so its blocked read returns)."""
        self._stopping.set()
        connection = getattr(getattr(self._response, "raw", None), "_connection", None)
        if getattr(connection, "sock", None) is not None:
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)
        self._thread.join(10)

    def wait_for(self, convictions: set[str], timeout: float) -> set[str]:
        """Wait until every one of `convictions` has arrived (or `timeout`); those missing."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                missing = convictions - self.arrived.keys()
                left = deadline - time.monotonic()
                if not missing or left <= 0:
                    return missing
                self._changed.wait(min(left, 1.0))

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                provider = token(self._issuer.url, self._issuer.credentials[PROVIDER])
                headers = {"Authorization": f"Bearer {provider}", "Accept": "text/event-stream"}
                if self._last_id:
                    headers["Last-Event-ID"] = self._last_id
                with requests.get(self._url, headers=headers, stream=True, timeout=(10, 60)) as r:
                    self._response = r
                    if r.status_code != 200:
                        self.errors.append(f"HTTP {r.status_code}: {r.text[:200]}")
                        time.sleep(1)
                        continue
                    self._read(r)
            except Exception as error:  # noqa: BLE001 (noted; the reader reconnects)
                if not self._stopping.is_set():
                    self.errors.append(f"{type(error).__name__}: {error}")
                    time.sleep(0.5)
            if not self._stopping.is_set():
                self.reconnects += 1

    def _read(self, response: requests.Response) -> None:
        event_id = None
        for line in response.iter_lines(decode_unicode=True):
            at = time.perf_counter()
            if line.startswith("retry:"):
                self._ready.set()  # the stream's listener is in place before this line is sent
            elif line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: ") and event_id is not None:
                self._last_id, event_id = event_id, None
                self.events += 1
                message = json.loads(line[6:])["message"]
                if message["type"] != ALERT:
                    continue
                conviction = message["data"].get("conviction")
                with self._changed:
                    if conviction in self.arrived:
                        self.repeats += 1
                    else:
                        self.arrived[conviction] = at
                    self._changed.notify_all()
            if self._stopping.is_set():
                return


class Court:
    """Posts new resulted hearings; each answer's accepted conviction message ids."""

    def __init__(self, issuer: RunningHub) -> None:
        self._issuer = issuer
        self._headers = {
            "Authorization": f"Bearer {token(issuer.url, issuer.credentials[COURT])}",
            "Content-Type": "application/json",
        }

    def post(self, session: requests.Session, hub: RunningHub | None = None) -> list[str]:
        url = (hub or self._issuer).url + "/v1/adapters/courts/hearings"
        response = session.post(url, data=_hearing(), headers=self._headers, timeout=60)
        if response.status_code != 200:
            raise RuntimeError(f"hearing: HTTP {response.status_code}: {response.text[:300]}")
        return [r["messageId"] for r in response.json()["records"] if r["status"] == "accepted"]


@dataclass
class Load:
    """Clients posting ordinary messages to `hub` without pause until stopped."""

    hub: RunningHub
    clients: int
    sent: int = 0
    failed: int = 0
    seconds: float = 0.0
    _began: float = 0.0
    _stopping: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        court = token(self.hub.url, self.hub.credentials[COURT])
        people = itertools.cycle(range(1_000_001, 1_000_101))  # 100 other people
        headers = {
            "Authorization": f"Bearer {court}",
            "Content-Type": "application/cloudevents+json",
        }

        def worker() -> None:
            session = requests.Session()
            while not self._stopping.is_set():
                with self._lock:
                    person = next(people)
                event = conviction_event(subject=pnc(person), recipient=LOAD_RECIPIENT)
                try:
                    r = session.post(
                        self.hub.url + "/v1/messages",
                        data=json.dumps(event),
                        headers=headers,
                        timeout=60,
                    )
                    ok = r.status_code == 202
                except requests.RequestException:
                    ok = False
                with self._lock:
                    self.sent += ok
                    self.failed += not ok

        self._began = time.perf_counter()
        self._threads = [threading.Thread(target=worker) for _ in range(self.clients)]
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join()
        self.seconds = time.perf_counter() - self._began


@dataclass
class Result:
    label: str
    fanout: str
    latencies: list[float]
    early: int
    missing_latency: int
    post_latencies: list[float]
    latency_seconds: float
    load_rate: float
    load_failed: int
    hearings: int
    alerts: int
    missing_throughput: int
    posts_seconds: float
    alerts_seconds: float
    stream_events: int
    repeats: int
    reconnects: int
    stream_errors: list[str]

    @property
    def alert_rate(self) -> float:
        return self.alerts / self.alerts_seconds if self.alerts_seconds else float("nan")


def measure(
    label: str,
    hubs: list[RunningHub],
    fanout: str,
    *,
    alerts: int,
    burst: int,
    senders: int,
    load_clients: int,
    settle: float,
) -> Result:
    first, last = hubs[0], hubs[-1]
    _world(first)
    stream = Stream(last, first)
    stream.start()
    court = Court(first)
    http = requests.Session()
    try:
        # Warm-up: one alert end to end (connections, caches) before anything is timed.
        warm = set(court.post(http))
        stream.wait_for(warm, settle)

        # 1. Latency, one hearing at a time, under background load.
        load = Load(first, load_clients)
        load.start()
        posted: dict[str, float] = {}
        post_latencies = []
        try:
            time.sleep(1.0)  # the load running before the first hearing
            latency_began = time.perf_counter()
            for _ in range(alerts):
                sent = time.perf_counter()
                ids = court.post(http)
                returned = time.perf_counter()
                post_latencies.append(returned - sent)
                for conviction in ids:
                    posted[conviction] = returned
        finally:
            missing = stream.wait_for(set(posted), settle)
            load.stop()
        latency_seconds = time.perf_counter() - latency_began
        raw = [stream.arrived[c] - t for c, t in posted.items() if c in stream.arrived]
        early = sum(1 for x in raw if x < 0)
        latencies = [max(0.0, x) for x in raw]

        # 2. Throughput: a burst from several clients spread over the processes, no background load.
        counter = iter(range(burst))
        lock = threading.Lock()
        burst_ids: set[str] = set()

        def send(hub: RunningHub) -> None:
            session = requests.Session()
            while True:
                with lock:
                    if next(counter, None) is None:
                        return
                ids = court.post(session, hub)
                with lock:
                    burst_ids.update(ids)

        threads = [
            threading.Thread(target=send, args=(hubs[i % len(hubs)],)) for i in range(senders)
        ]
        began = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        posts_done = time.perf_counter()
        missing_burst = stream.wait_for(burst_ids, settle)
        arrived = [stream.arrived[c] for c in burst_ids if c in stream.arrived]
        alerts_seconds = (max(arrived) - began) if arrived else 0.0
    finally:
        stream.stop()
    return Result(
        label=label,
        fanout=fanout,
        latencies=latencies,
        early=early,
        missing_latency=len(missing),
        post_latencies=post_latencies,
        latency_seconds=latency_seconds,
        load_rate=load.sent / load.seconds,
        load_failed=load.failed,
        hearings=burst,
        alerts=len(arrived),
        missing_throughput=len(missing_burst),
        posts_seconds=posts_done - began,
        alerts_seconds=alerts_seconds,
        stream_events=stream.events,
        repeats=stream.repeats,
        reconnects=stream.reconnects,
        stream_errors=stream.errors[:5],
    )


def run(
    processes: int,
    root: Path,
    database_url: str,
    redis_url: str | None,
    log_level: str,
    go: Callable[[list[RunningHub], str], Result],
) -> Result:
    var = root / f"{processes}-process" / "var"
    env = {"HUB_LOG_LEVEL": log_level}
    if redis_url:
        env["HUB_REDIS_URL"] = redis_url
    running: list[Any] = []
    hubs: list[RunningHub] = []
    try:
        for n in range(processes):
            extra = {**env, "HUB_ISSUER": hubs[0].url} if hubs else env
            process, hub = start_hub(
                var, database_url, workers=1, extra_env=extra, log_name=f"server-{'ab'[n]}.log"
            )
            running.append(process)
            if hubs:
                hub.credentials = hubs[0].credentials
            hubs.append(hub)
        if redis_url:
            fanout = "redis pub/sub"
        elif processes > 1:
            fanout = "polling the database every 0.5 s"
        else:
            fanout = "in process (one process)"
        result = go(hubs, fanout)
    except BaseException:
        for log in sorted(var.glob("server-*.log")):
            print(f"--- {log} (last 3000 characters)\n{log.read_text()[-3000:]}", file=sys.stderr)
        raise
    finally:
        # In parallel: a hub that has served a live stream takes gunicorn's graceful timeout
        # (30 s) to stop, and `stop` kills it after 20.
        stoppers = [threading.Thread(target=stop, args=(p,)) for p in running]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()
    if result.missing_latency or result.missing_throughput or result.stream_errors:
        for log in sorted(var.glob("server-*.log")):
            print(f"--- {log} (last 3000 characters)\n{log.read_text()[-3000:]}", file=sys.stderr)
    return result


def report(result: Result, alerts: int, senders: int, load_clients: int) -> None:
    lat = result.latencies
    print(f"  {result.label}: fan-out {result.fanout}")
    print(
        f"    latency, POST returned -> alert on the stream ({len(lat)}/{alerts} alerts, "
        f"{result.latency_seconds:.1f} s, {load_clients} background clients at "
        f"{result.load_rate:.0f} msg/s, {result.load_failed} failed):"
    )
    print(
        f"      p50 {percentile(lat, 0.5):7.1f} ms   p99 {percentile(lat, 0.99):7.1f} ms   "
        f"max {max(lat, default=float('nan')) * 1000:7.1f} ms   "
        f"(arrived before the POST's answer: {result.early}; never arrived: {result.missing_latency})"
    )
    posts = result.post_latencies
    fifth = max(1, len(posts) // 5)
    print(
        f"      hearing POST itself: p50 {percentile(posts, 0.5):7.1f} ms   "
        f"p99 {percentile(posts, 0.99):7.1f} ms   (p50 of the first {fifth}: "
        f"{percentile(posts[:fifth], 0.5):.1f} ms, of the last {fifth}: {percentile(posts[-fifth:], 0.5):.1f} ms)"
    )
    print(
        f"    throughput, {result.hearings} hearings from {senders} clients over the processes, no background load: "
        f"{result.alert_rate:7.1f} alerts/s on the stream "
        f"(posts done in {result.posts_seconds:.2f} s = {result.hearings / result.posts_seconds:.1f} "
        f"hearings/s; last alert at {result.alerts_seconds:.2f} s; never arrived: {result.missing_throughput})"
    )
    print(
        f"    stream: {result.stream_events} events, {result.repeats} repeated alerts, "
        f"{result.reconnects} reconnects{', errors: ' + '; '.join(result.stream_errors) if result.stream_errors else ''}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=200, help="hearings in the latency run")
    parser.add_argument("--burst", type=int, default=200, help="hearings in the throughput run")
    parser.add_argument("--senders", type=int, default=6, help="clients in the throughput run")
    parser.add_argument("--load-clients", type=int, default=4, help="background clients")
    parser.add_argument("--settle", type=float, default=30.0, help="seconds to wait for alerts")
    parser.add_argument("--quick", action="store_true", help="30 + 60 hearings")
    parser.add_argument(
        "--postgres", default=None, help="admin URL; default $HUB_BENCH_POSTGRES_URL"
    )
    parser.add_argument("--redis", default=None, help="HUB_REDIS_URL for every process")
    parser.add_argument("--var", default=None, help="keep the var dirs (and logs) under here")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args()
    if args.quick:
        args.alerts, args.burst = 30, 60

    pg_admin = args.postgres or os.environ.get("HUB_BENCH_POSTGRES_URL")
    factory = PostgresFactory(pg_admin) if pg_admin else None
    began = time.perf_counter()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.var).resolve() if args.var else Path(tmp)
        try:
            for processes, label in ((1, "1 process"), (2, "2 processes")):
                database_url = (
                    factory.create()
                    if factory
                    else f"sqlite:///{root / f'{processes}-process' / 'var' / 'hub.db'}"
                )

                def go(hubs: list[RunningHub], fanout: str, label: str = label) -> Result:
                    return measure(
                        label,
                        hubs,
                        fanout,
                        alerts=args.alerts,
                        burst=args.burst,
                        senders=args.senders,
                        load_clients=args.load_clients,
                        settle=args.settle,
                    )

                try:
                    results.append(
                        run(processes, root, database_url, args.redis, args.log_level, go)
                    )
                finally:
                    if factory:
                        factory.drop(database_url)
        finally:
            if factory:
                factory.close()

    backend = "postgresql" if pg_admin else "sqlite"
    print(
        f"alerts bench: {backend}{' + redis' if args.redis else ''}, gunicorn 1 gevent worker per "
        f"process, {os.cpu_count()} CPUs, {time.perf_counter() - began:.0f} s in all"
    )
    for result in results:
        report(result, args.alerts, args.senders, args.load_clients)
    one, two = results
    print(
        f"  ratio two/one: latency p50 {ratio(percentile(two.latencies, 0.5), percentile(one.latencies, 0.5)):.2f}x, "
        f"p99 {ratio(percentile(two.latencies, 0.99), percentile(one.latencies, 0.99)):.2f}x, "
        f"alerts/s {ratio(two.alert_rate, one.alert_rate):.2f}x"
    )


if __name__ == "__main__":
    main()
