"""The living demo. Its synthetic population (`hub.synthetic`) against the figures it is
calibrated on (DOMAIN.md), its documents against the real adapters and canonical schemas, and the
simulator (`hub.simulate`) against a scripted hub: the calendar never passes today and a second
run continues the first; tokens are reused, renewed and renewed again after a 401; a busy or
absent hub is waited for; what the hub says about records is never logged."""

from __future__ import annotations

import io
import json
import threading
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

import adapters
from hub.api.schemas import load_data
from hub.demo import AGENCIES
from hub.domain.reconviction import Result, Verdict, classify
from hub.simulate import (
    CAUGHT_UP_POLL,
    HubClient,
    Options,
    SimulationError,
    Stopped,
    demo_staff,
    run,
)
from hub.synthetic import Day, Person, Population
from hub.synthetic.calibration import (
    ENGAGED_AT_ONE_MONTH,
    OFFENCES_PER_REOFFENDER,
    OUT_OF_AREA,
    PATHWAY_MIX,
    RECONVICTION_RATE,
    RELEASES_PER_MONTH,
)

START = date(2025, 1, 6)  # a Monday
ADAPTERS = {
    "prisoners": ("prison", "prisoners"),
    "releases": ("prison", "events"),
    "cases": ("probation", "cases"),
    "referrals": ("probation", "referrals"),
    "hearings": ("courts", "hearings"),
}


@cache
def simulated(seed: int, days: int) -> tuple[Population, tuple[Day, ...]]:
    population = Population(seed, START, demo_staff())
    return population, tuple(population.day(START + timedelta(days=i)) for i in range(days))


def reconvicted(person: Person) -> bool:
    """Whether the hub's own rule counts the person as reconvicted after their release."""
    return any(
        classify(Result(c.committed_on, o.on), [person.released_on]).verdict is Verdict.RECONVICTION
        for o in person.occasions
        if o.outcome == "convicted"
        for c in o.charges
    )


@pytest.mark.parametrize("seed", [1, 2011])
def test_a_simulated_year_matches_the_sources_figures(seed: int) -> None:
    population, days = simulated(seed, 365)
    end = START + timedelta(days=365)
    people = [p for p in population.people if START <= p.released_on < end]
    released = sum(day.counts["released"] for day in days)
    assert released == len(people)
    assert abs(released / 12 - RELEASES_PER_MONTH) <= 12  # about 200 a month (000:424)
    pathways = Counter(p.pathway for p in people)
    for pathway, share in PATHWAY_MIX.items():  # 18% / 18% / 64% (001:385)
        assert abs(pathways[pathway] / released - share) < 0.03
    out_of_area = sum(p.out_of_area for p in people) / released  # 20-30% (001:605)
    assert abs(out_of_area - OUT_OF_AREA) < 0.03
    # Reconvicted by the hub's own rule: 55.7% after < 12 months, 35.0% after 12 months or more.
    expected = sum(share * RECONVICTION_RATE[pathway] for pathway, share in PATHWAY_MIX.items())
    rate = sum(reconvicted(p) for p in people) / released
    assert abs(rate - expected) < 0.04
    for pathways_of, tolerance in (((3,), 0.3), ((1, 2), 0.35)):  # offences per reoffender
        reoffenders = [p for p in people if p.reoffends and p.pathway in pathways_of]
        offences = [
            sum(
                len(o.charges)
                for o in p.occasions
                if o.outcome == "convicted" and o.charges[0].committed_on >= p.released_on
            )
            for p in reoffenders
        ]
        mean = sum(offences) / len(offences)
        assert abs(mean - OFFENCES_PER_REOFFENDER[pathways_of[0]]) < tolerance
    # Those engaged a month after release signed the consent form (000:590-595, 958-960).
    events = [e for day in days for e in day.documents["provider_events"]]
    kinds = Counter(e["kind"] for e in events)
    assert abs(kinds["consent"] / kinds["handover"] - ENGAGED_AT_ONE_MONTH) < 0.04


def test_the_same_seed_makes_the_same_people_and_documents() -> None:
    def documents(seed: int) -> list[str]:
        population = Population(seed, START, demo_staff())
        days = [population.day(START + timedelta(days=i)) for i in range(60)]
        return [json.dumps(day.documents, sort_keys=True) for day in days]

    assert documents(7) == documents(7)
    assert documents(7) != documents(8)
    with pytest.raises(ValueError, match="in order"):
        Population(7, START).day(START + timedelta(days=1))


def test_every_document_is_read_by_its_agencys_adapter_and_names_the_demo_users() -> None:
    _, days = simulated(2011, 240)
    records: Counter[str] = Counter()
    for day in days:
        bodies = [
            (*ADAPTERS[kind], json.dumps(document).encode())
            for kind, (agency_kind, name) in ADAPTERS.items()
            for document in day.documents[kind]
        ]
        if day.documents["provider_events"]:
            events = json.dumps({"events": day.documents["provider_events"]}).encode()
            bodies.append(("provider", "events", events))
        if day.documents["cohort"]:
            bodies.append(("iom", "cohort", day.cohort_csv()))
        for agency_kind, name, body in bodies:
            document = adapters.document(agency_kind, name)
            assert document is not None
            parsed = document.parse(io.BytesIO(body))
            assert parsed.errors == [], (agency_kind, name, parsed.errors[:3])
            for record in parsed.records:
                load_data(record.type, record.data)  # raises on anything the hub would refuse
                records[record.type.value] += 1
    assert set(records) >= {
        "release",
        "case-summary",
        "referral",
        "handover",
        "consent",
        "cohort-membership",
        "conviction",
        "risk-escalation",
    }
    sent = [
        d for day in days for kind in ("referrals", "provider_events") for d in day.documents[kind]
    ]
    named = {json.dumps(d) for d in sent}
    assert any("case.manager@provider-doncaster-alliance.example" in d for d in named)
    assert any("offender.manager@probation-south-yorkshire.example" in d for d in named)
    assert any(row[8] == "Ian Oakes" for day in days for row in day.documents["cohort"])


def test_nothing_is_sent_before_it_happens() -> None:
    _, days = simulated(2011, 200)
    for day in days:
        for event in day.documents["releases"]:
            assert event["occurredAt"][:10] == day.on.isoformat()
        for hearing in day.documents["hearings"]:
            assert hearing["hearing"]["hearingDays"][0]["sittingDay"][:10] == day.on.isoformat()
            for case in hearing["hearing"]["prosecutionCases"]:
                for offence in case["defendants"][0]["offences"]:
                    assert offence["startDate"] < day.on.isoformat()
        for event in day.documents["provider_events"]:
            dated = [
                v
                for k, v in event.items()
                if k in ("on", "assessedOn", "signedOn", "contactOn", "ratedOn", "observedOn")
            ]
            assert len(dated) == 1 and dated[0] <= day.on.isoformat()


# -- the simulator against a scripted hub --------------------------------------------------------


class Answer:
    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None):
        self.status_code = status
        self._body = body
        self.headers = headers or {}

    def json(self) -> Any:
        if self._body is None:
            raise ValueError("no JSON")
        return self._body


class ScriptedHub:
    """The hub's HTTP answers: ready, tokens on request, every record accepted, unless a path's
    script says otherwise (an Answer, or an exception to raise)."""

    def __init__(self, script: dict[str, list[Any]] | None = None, ready_after: int = 0) -> None:
        self.script = script or {}
        self.ready_after = ready_after
        self.posts: list[tuple[str, dict[str, str], Any]] = []
        self.tokens = 0

    def get(self, url: str, timeout: float) -> Answer:
        self.ready_after -= 1
        if self.ready_after >= 0:
            raise requests.ConnectionError("refused")
        return Answer(200, {"status": "ready"})

    def post(self, url: str, timeout: float, **kwargs: Any) -> Answer:
        path = urlsplit(url).path
        self.posts.append((path, kwargs.get("headers") or {}, kwargs.get("data")))
        if self.script.get(path):
            answer = self.script[path].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer  # type: ignore[no-any-return]
        if path == "/oauth/token":
            self.tokens += 1
            return Answer(200, {"access_token": f"token-{self.tokens}", "expires_in": 600})
        return Answer(200, {"accepted": 1, "held": 0, "rejected": 0, "records": [{}]})

    def adapter_posts(self) -> list[tuple[str, dict[str, str], Any]]:
        return [post for post in self.posts if post[0].startswith("/v1/adapters/")]


CREDENTIALS = {
    agency_id: {"client_id": agency_id, "client_secret": f"secret-{agency_id}", "kid": agency_id}
    for agency_id, _, _ in AGENCIES
}


class StopWhenCaughtUp(threading.Event):
    """Sleeps take no time; the wait for the next real day stops the run."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0)
        return timeout == CAUGHT_UP_POLL


def test_the_calendar_stops_at_today_and_a_second_run_continues(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(CREDENTIALS))
    today = date(2026, 3, 2)
    options = Options(
        url="http://hub.test",
        credentials=credentials,
        speed=2,
        seed=7,
        start=today - timedelta(days=10),
        state=tmp_path / "simulation.json",
    )
    hub, lines = ScriptedHub(), []
    totals = run(options, log=lines.append, stop=StopWhenCaughtUp(), today=lambda: today, http=hub)
    days = [line.split()[1] for line in lines if line.startswith("simulate: 2")]
    assert days[0] == (today - timedelta(days=10)).isoformat() and days[-1] == today.isoformat()
    assert "reached today" in lines[-2] and lines[-1] == "simulate: stopped after 11 simulated days"
    sent = hub.adapter_posts()
    assert totals["accepted"] == len(sent) and totals["released"] > 0
    order = [path.rsplit("/", 2)[-2] + "/" + path.rsplit("/", 1)[-1] for path, _, _ in sent[:3]]
    assert order[0] == "prison/prisoners"  # who the person is, before what happens to them
    assert all(headers["Authorization"].startswith("Bearer token-") for _, headers, _ in sent)
    assert hub.tokens == len({path.split("/")[3] for path, _, _ in sent})  # one per agency
    state = json.loads(options.state.read_text())  # type: ignore[union-attr]
    assert state["next"] == (today + timedelta(days=1)).isoformat()

    # The next run (no --start) continues where this one stopped: nothing is sent again.
    again, more = ScriptedHub(), []
    later = replace(options, start=None)
    run(later, log=more.append, stop=StopWhenCaughtUp(), today=lambda: today, http=again)
    assert more[0].startswith(f"simulate: continuing at {(today + timedelta(days=1)).isoformat()}")
    assert again.adapter_posts() == []
    # A day later it sends that day, and only that day.
    tomorrow, most = ScriptedHub(), []
    run(
        later,
        log=most.append,
        stop=StopWhenCaughtUp(),
        today=lambda: today + timedelta(days=1),
        http=tomorrow,
    )
    assert [line.split()[1] for line in most if line.startswith("simulate: 2")] == [
        (today + timedelta(days=1)).isoformat()
    ]


def client(hub: ScriptedHub, waits: list[float], lines: list[str], now: list[float]) -> HubClient:
    def wait(seconds: float) -> bool:
        waits.append(seconds)
        return False

    return HubClient("http://hub.test", CREDENTIALS, lines.append, wait, hub, lambda: now[0])


def test_tokens_are_reused_renewed_before_expiry_and_after_a_401() -> None:
    unauthorised = Answer(401, {"type": "https://hub.justice.example/problems/invalid-token"})
    hub = ScriptedHub({"/v1/adapters/iom/cohort": [Answer(200, {"records": []}), unauthorised]})
    waits: list[float] = []
    now = [1000.0]
    hub_client = client(hub, waits, [], now)
    for _ in range(2):
        hub_client.send("prison-doncaster", "prison/events", b"{}", "application/json")
    assert hub.tokens == 1
    now[0] += 545  # within a minute of expiry: a new token before the next request
    hub_client.send("prison-doncaster", "prison/events", b"{}", "application/json")
    assert hub.tokens == 2
    hub_client.send("iom-sheffield", "iom/cohort", b"", "text/csv")  # first token for IOM
    answered = hub_client.send("iom-sheffield", "iom/cohort", b"", "text/csv")  # 401, then again
    assert hub.tokens == 4 and answered["accepted"] == 1
    last = [headers["Authorization"] for path, headers, _ in hub.posts if path.endswith("cohort")]
    assert last[-2:] == ["Bearer token-3", "Bearer token-4"]
    assert waits == []


def test_a_busy_or_absent_hub_is_waited_for_with_backoff() -> None:
    path = "/v1/adapters/courts/hearings"
    hub = ScriptedHub(
        {
            path: [
                requests.ConnectionError("refused"),
                Answer(503),
                Answer(429, {}, {"Retry-After": "7"}),
                Answer(502),
            ]
        },
        ready_after=2,
    )
    waits: list[float] = []
    lines: list[str] = []
    hub_client = client(hub, waits, lines, [0.0])
    hub_client.wait_until_ready()
    assert lines == ["simulate: waiting for the hub at http://hub.test to answer"]
    answered = hub_client.send("courts-sheffield", "courts/hearings", b"{}", "application/json")
    assert answered["accepted"] == 1
    assert waits == [1.0, 1.0, 1.0, 2.0, 7.0, 8.0]  # readiness, then 1, 2, Retry-After, 8
    assert [line.split("(")[0] for line in lines[1:]] == [
        "simulate: no answer from the hub ",
        "simulate: the hub answered 503 ",
        "simulate: the hub answered 429 ",
        "simulate: the hub answered 502 ",
    ]


def test_what_the_hub_says_about_records_is_never_logged() -> None:
    path = "/v1/adapters/probation/referrals"
    refused = Answer(
        403,
        {
            "type": "https://hub.justice.example/problems/wrong-agency-kind",
            "detail": "referral for Z000123 Fizzlewick",
        },
    )
    rejected = Answer(
        422,
        {"accepted": 0, "held": 0, "rejected": 1, "records": [{"record": "referral for Z000123"}]},
    )
    hub = ScriptedHub({path: [refused, rejected]})
    lines: list[str] = []
    hub_client = client(hub, [], lines, [0.0])
    first = hub_client.send(
        "probation-south-yorkshire", "probation/referrals", b"{}", "application/json"
    )
    second = hub_client.send(
        "probation-south-yorkshire", "probation/referrals", b"{}", "application/json"
    )
    assert first["rejected"] == 1 and second["rejected"] == 1
    assert lines == [
        "simulate: the hub refused a probation/referrals document (403 wrong-agency-kind)"
    ]


def test_credentials_the_hub_refuses_stop_the_simulation_saying_why(tmp_path: Path) -> None:
    hub = ScriptedHub({"/oauth/token": [Answer(401, {"error": "invalid_client"})]})
    with pytest.raises(SimulationError, match="refused prison-doncaster's client .*invalid_client"):
        client(hub, [], [], [0.0]).token("prison-doncaster")
    with pytest.raises(SimulationError, match="no demo credentials"):
        run(
            Options(url="http://hub.test", credentials=tmp_path / "absent.json"),
            log=print,
            stop=threading.Event(),
        )


def test_a_stop_while_waiting_ends_the_run_cleanly(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    credentials.write_text(json.dumps(CREDENTIALS))
    stop = threading.Event()
    stop.set()
    lines: list[str] = []
    options = Options(url="http://hub.test", credentials=credentials, days=3)
    assert run(options, log=lines.append, stop=stop, http=ScriptedHub(ready_after=5)) == Counter()
    assert lines[-1] == "simulate: stopped after 0 simulated days"
    with pytest.raises(Stopped):
        HubClient(
            "http://hub.test", CREDENTIALS, print, stop.wait, ScriptedHub(ready_after=1)
        ).wait_until_ready()
