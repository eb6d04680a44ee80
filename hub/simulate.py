"""`hub simulate`: the living demo. A synthetic population of people leaving HMP Doncaster
(`hub.synthetic`, calibrated on the sources) drives the hub's real HTTP API as the five demo
agencies would: the prison's prisoner records and release events, probation's case summaries and
referral forms, the provider's case events (handover, consent, needs, engagement, RAG rating, risk
escalation), the IOM team's cohort spreadsheet and the courts' resulted hearings, each through its
agency's adapter with the agency's own client credentials (`client_secret_basic`).

Simulated time runs faster than real time: one simulated day every `speed` seconds (0: as fast
as the hub answers; running until stopped, the first 90 simulated days always are, so that alerts
are already arriving when the pace slows). The calendar starts in the past (two years back, or
`days` back), so nothing is dated after the real today; when it reaches today it keeps pace with
the clock. Progress is kept beside the credentials, so a second run against the same demo world
with the same seed continues where the first stopped instead of sending the same people again.

The hub may not be listening yet (the simulator waits, saying so), tokens expire (a new one is
fetched before expiry, and once more on a 401), and a busy hub answers 429 or 5xx (the simulator
backs off and sends again: documents are idempotent). It logs one line per simulated day with
counts only: never a name, a date of birth or an identifier, and never what the hub answered
about a record. SIGINT and SIGTERM stop it between two requests.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import requests

from hub.synthetic import Day, Officer, Population, Staff

DEFAULT_SPEED = 2.0  # real seconds per simulated day: a month a minute
DEFAULT_SEED = 2011  # the year the Doncaster pilot began
LOOKBACK = timedelta(days=730)  # where the calendar starts without --days or --start
# Running until stopped, the first simulated months go as fast as the hub answers, so that people
# released early are already reoffending (and alerts arriving) when the pace slows.
WARMUP = timedelta(days=90)
MAX_BACKOFF = 30.0
CAUGHT_UP_POLL = 60.0  # seconds between looks at the clock once the calendar reaches today
TIMEOUT = 60
SCOPE = "messages:send"
# Each day's documents, in order: (agency kind, adapter path, the population's document kind).
SENDS = (
    ("prison", "prison/prisoners", "prisoners"),
    ("prison", "prison/events", "releases"),
    ("provider", "provider/events", "provider_events"),  # the handover names who gets referrals
    ("probation", "probation/cases", "cases"),
    ("probation", "probation/referrals", "referrals"),
    ("iom", "iom/cohort", "cohort"),
    ("courts", "courts/hearings", "hearings"),
)
DAY_COUNTS = (
    "prisoners",
    "released",
    "referrals",
    "case_summaries",
    "handovers",
    "provider_events",
    "risk_escalations",
    "cohort_changes",
    "hearings",
    "convictions",
    "reconvictions",
    "before_release",
    "acquittals",
    "out_of_court",
)
ANSWERS = ("accepted", "held", "rejected")

Log = Callable[[str], None]


class SimulationError(Exception):
    """The simulation cannot run (says why, for people)."""


class Stopped(Exception):
    """SIGINT or SIGTERM: stop between two requests."""


@dataclass(frozen=True)
class Options:
    url: str
    credentials: Path
    speed: float = DEFAULT_SPEED
    seed: int = DEFAULT_SEED
    days: int | None = None  # None: until stopped
    start: date | None = None  # the first simulated day
    state: Path | None = None  # where progress is kept (None: nowhere)


def demo_staff() -> Staff:
    """The demo's case manager, offender manager and IOM officer, as documents name them (work
    email, or the IOM officer's name), so alerts reach their pages."""
    from hub.demo import USERS, demo_email
    from hub.domain.vocab import Role

    users = {role: (username, name, agency) for username, name, agency, role in USERS}
    officers = {}
    for role, team in (
        (Role.CASE_MANAGER, "Community team"),
        (Role.OFFENDER_MANAGER, "Doncaster Offender Management"),
    ):
        username, name, agency = users[role]
        officers[role] = Officer(name, demo_email(username, agency), team, "N07A001")
    return Staff(
        officers[Role.CASE_MANAGER], officers[Role.OFFENDER_MANAGER], users[Role.IOM_OFFICER][1]
    )


def demo_agencies() -> dict[str, str]:
    """The demo world's agency id of each kind."""
    from hub.demo import AGENCIES

    return {kind.value: agency_id for agency_id, _, kind in AGENCIES}


class HubClient:
    """The agencies' side of the API: a token per agency, documents posted through adapters."""

    def __init__(
        self,
        url: str,
        credentials: Mapping[str, Any],
        log: Log,
        wait: Callable[[float], bool],
        http: Any = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._url = url.rstrip("/")
        self._credentials = credentials
        self._log = log
        self._wait = wait  # sleeps; True when told to stop
        self._http = http if http is not None else requests.Session()
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}

    def _pause(self, seconds: float) -> None:
        if self._wait(seconds):
            raise Stopped

    def wait_until_ready(self) -> None:
        told = False
        while True:
            try:
                if self._http.get(self._url + "/readyz", timeout=5).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if not told:
                self._log(f"simulate: waiting for the hub at {self._url} to answer")
                told = True
            self._pause(1.0)

    def _call(self, what: str, path: str, **kwargs: Any) -> Any:
        """POST, sending again after no answer, 429 or 5xx, with exponential backoff."""
        delay = 1.0
        while True:
            try:
                response = self._http.post(self._url + path, timeout=TIMEOUT, **kwargs)
            except requests.RequestException:
                self._log(f"simulate: no answer from the hub ({what}); trying again in {delay:g} s")
                self._pause(delay)
                delay = min(delay * 2, MAX_BACKOFF)
                continue
            if response.status_code != 429 and response.status_code < 500:
                return response
            wait = _retry_after(response) or delay
            self._log(
                f"simulate: the hub answered {response.status_code} ({what}); "
                f"trying again in {wait:g} s"
            )
            self._pause(wait)
            delay = min(delay * 2, MAX_BACKOFF)

    def token(self, agency_id: str) -> str:
        held = self._tokens.get(agency_id)
        if held and held[1] > self._clock():
            return held[0]
        creds = self._credentials[agency_id]
        response = self._call(
            f"token for {agency_id}",
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": SCOPE},
            auth=(creds["client_id"], creds["client_secret"]),
        )
        if response.status_code != 200:
            raise SimulationError(
                f"the hub refused {agency_id}'s client ({response.status_code} "
                f"{_error_code(response)}): are the credentials from this hub's demo world?"
            )
        body = response.json()
        lifetime = float(body.get("expires_in", 600))
        # A new token a minute before this one expires (the hub allows 30 s of skew).
        self._tokens[agency_id] = (body["access_token"], self._clock() + max(lifetime - 60, 1))
        return str(body["access_token"])

    def send(self, agency_id: str, adapter: str, body: bytes, media_type: str) -> Counter[str]:
        """Post one document; counts of what the hub did with its records."""
        path = f"/v1/adapters/{adapter}"
        for attempt in (1, 2):
            headers = {
                "Authorization": f"Bearer {self.token(agency_id)}",
                "Content-Type": media_type,
            }
            response = self._call(adapter, path, data=body, headers=headers)
            if response.status_code == 401 and attempt == 1:
                self._tokens.pop(agency_id, None)  # expired or revoked early: a new one, once
                continue
            break
        report = _json(response)
        if response.status_code in (200, 422) and isinstance(report.get("records"), list):
            return Counter(
                {
                    "accepted": int(report.get("accepted", 0)),
                    "held": int(report.get("held", 0)),
                    "rejected": int(report.get("rejected", 0)),
                }
            )
        # Only the status and the problem's code: a problem's detail may name a record.
        self._log(
            f"simulate: the hub refused a {adapter} document "
            f"({response.status_code} {_error_code(response)})"
        )
        return Counter({"rejected": 1})


def _json(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _error_code(response: Any) -> str:
    body = _json(response)
    code = body.get("error") or str(body.get("type", "")).rsplit("/", 1)[-1]
    return str(code)[:60] or "no problem code"


def _retry_after(response: Any) -> float | None:
    try:
        return min(float(response.headers.get("Retry-After", "")), MAX_BACKOFF)
    except ValueError:
        return None


def send_day(client: HubClient, agencies: Mapping[str, str], day: Day) -> Counter[str]:
    answers: Counter[str] = Counter()
    for kind, adapter, documents in SENDS:
        found = day.documents[documents]
        if not found:
            continue
        if documents == "cohort":
            bodies = [(day.cohort_csv(), "text/csv")]
        elif documents == "provider_events":
            bodies = [(json.dumps({"events": found}).encode(), "application/json")]
        else:
            bodies = [(json.dumps(d).encode(), "application/json") for d in found]
        for body, media_type in bodies:
            answers += client.send(agencies[kind], adapter, body, media_type)
    return answers


def day_line(day: Day, answers: Counter[str]) -> str:
    counts = " ".join(f"{name}={day.counts[name]}" for name in DAY_COUNTS)
    hub = " ".join(f"{name}={answers[name]}" for name in ANSWERS)
    return f"simulate: {day.on.isoformat()} {counts} | hub {hub}"


def load_credentials(path: Path, agencies: Mapping[str, str]) -> dict[str, Any]:
    try:
        credentials = json.loads(path.read_text())
    except FileNotFoundError:
        raise SimulationError(
            f"no demo credentials at {path}: create the demo world first (`hub demo`, as "
            "`make run` does)"
        ) from None
    except (OSError, ValueError) as error:
        raise SimulationError(f"cannot read the demo credentials at {path}: {error}") from None
    missing = sorted(a for a in agencies.values() if "client_secret" not in credentials.get(a, {}))
    if missing:
        raise SimulationError(f"the credentials at {path} have no client for {', '.join(missing)}")
    return dict(credentials)


def _world(credentials: Mapping[str, Any], agencies: Mapping[str, str]) -> str:
    """Which demo world the credentials belong to (a new world has new key ids); no secret."""
    kids = "|".join(str(credentials[a].get("kid", a)) for a in sorted(agencies.values()))
    return hashlib.sha256(kids.encode()).hexdigest()[:16]


def _begin(options: Options, world: str, today: date) -> tuple[date, date]:
    """(first simulated day, first day still to send): where a previous run against the same
    world with the same seed stopped, or a new start."""
    if options.start is None and options.state is not None:
        try:
            state = json.loads(options.state.read_text())
            if state["seed"] == options.seed and state["world"] == world:
                return date.fromisoformat(state["start"]), date.fromisoformat(state["next"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # no progress kept (or not readable): a new start
    if options.start is not None:
        start = options.start
    elif options.days is not None:
        start = today - timedelta(days=options.days)
    else:
        start = today - LOOKBACK
    if start > today:
        raise SimulationError(f"the simulation cannot start after today ({today.isoformat()})")
    return start, start


def _keep(options: Options, world: str, start: date, following: date) -> None:
    if options.state is None:
        return
    state = {
        "seed": options.seed,
        "world": world,
        "start": start.isoformat(),
        "next": following.isoformat(),
    }
    tmp = options.state.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, options.state)


def run(
    options: Options,
    *,
    log: Log,
    stop: threading.Event,
    today: Callable[[], date] = date.today,
    clock: Callable[[], float] = time.monotonic,
    http: Any = None,
) -> Counter[str]:
    """Simulate until `options.days` have been sent or `stop` is set; the totals."""
    agencies = demo_agencies()
    credentials = load_credentials(options.credentials, agencies)
    world = _world(credentials, agencies)
    start, first = _begin(options, world, today())
    client = HubClient(options.url, credentials, log, stop.wait, http, clock)
    population = Population(options.seed, start, demo_staff())
    day = start
    while day < first:  # a run that continues: the same people, nothing sent twice
        population.day(day)
        day += timedelta(days=1)
    totals: Counter[str] = Counter()
    done = 0
    paced_from = start + WARMUP if options.days is None else start
    try:
        client.wait_until_ready()
        log(_opening(options, start, day, paced_from))
        due, caught_up = clock(), False
        while options.days is None or done < options.days:
            if day > today():
                if not caught_up:
                    log("simulate: the simulated calendar has reached today: a day a day from now")
                    caught_up = True
                if stop.wait(CAUGHT_UP_POLL):
                    raise Stopped
                continue
            plan = population.day(day)
            answers = send_day(client, agencies, plan)
            totals += plan.counts + answers
            log(day_line(plan, answers))
            done += 1
            day += timedelta(days=1)
            _keep(options, world, start, day)
            # The next day `speed` seconds after this one began, or at once if the hub was
            # slower than that (a slow spell is never made up for with a burst).
            due = max(due + options.speed, clock()) if day > paced_from else clock()
            if stop.wait(max(due - clock(), 0)):
                raise Stopped
    except Stopped:
        log(f"simulate: stopped after {done} simulated days")
    else:
        summary = " ".join(f"{name}={totals[name]}" for name in (*DAY_COUNTS, *ANSWERS))
        log(f"simulate: finished {done} simulated days: {summary}")
    return totals


def _opening(options: Options, start: date, day: date, paced_from: date) -> str:
    pace = f"one simulated day every {options.speed:g} s" if options.speed else "at full speed"
    if options.speed and day < paced_from:
        pace = f"as fast as the hub answers until {paced_from.isoformat()}, then {pace}"
    return (
        f"simulate: {'continuing' if day > start else 'starting'} at {day.isoformat()}, {pace} "
        f"(seed {options.seed}); HUB_SIMULATE=0 make run runs the hub without it"
    )


def run_until_signalled(options: Options, log: Log) -> Counter[str]:
    """`run`, stopping cleanly on SIGINT or SIGTERM (`make run` sends SIGTERM when it ends)."""
    stop = threading.Event()
    previous = {
        number: signal.signal(number, lambda *_: stop.set())
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        return run(options, log=log, stop=stop)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
