"""Outcome figures end to end: the prison's records and release events and a court's resulted
hearing go in through the adapters; `GET /v1/outcomes` and `/ui/outcomes/` then show, per release
cohort, the people released and reconvicted, the proportion against the baseline, offences per
person and by severity; small counts suppressed (and one more where a total would give it away);
recent cohorts provisional; people merged after the fact counted once; and no identifier, name or
hub id anywhere in either."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest

from audit.entry import Actor
from hub.domain.identifiers import check_letter
from hub.services.outcomes import OutcomeFigures
from tests.integration.test_adapters_api import _post
from tests.integration.test_signin import _sign_in
from tests.support.world import PASSWORD

TODAY = date(2026, 11, 24)
HEARING_DAY = "2024-06-10"
PRISON, COURT = "prison-doncaster", "courts-sheffield"


def _pnc(serial: int) -> str:
    return f"2010/{serial:07d}{check_letter(int(f'10{serial:07d}'))}"


def _noms(index: int) -> str:
    return f"K{7300 + index:04d}QX"


def _name(index: int) -> str:
    return f"Quillfeather{index}"


def _prisoner(index: int, release: str) -> bytes:
    return json.dumps(
        {
            "prisonerNumber": _noms(index),
            "pncNumber": _pnc(4100 + index),
            "firstName": "Ambrose",
            "lastName": _name(index),
            "dateOfBirth": f"1980-03-{index + 1:02d}",
            "legalStatus": "SENTENCED",
            "releaseDate": release,
            "dischargeArea": "Doncaster",
        }
    ).encode()


def _released(index: int, day: str) -> bytes:
    return json.dumps(
        {
            "eventType": "prison-offender-events.prisoner.released",
            "occurredAt": f"{day}T09:05:00+00:00",
            "additionalInformation": {
                "nomsNumber": _noms(index),
                "prisonId": "DNI",
                "reason": "RELEASED",
                "nomisMovementReasonCode": "CR",
            },
        }
    ).encode()


def _offence(number: int, code: str, mode: str, committed: str) -> dict[str, Any]:
    return {
        "id": f"offence-{number}",
        "offenceCode": code,
        "offenceTitle": "An offence",
        "modeOfTrial": mode,
        "startDate": committed,
        "convictionDate": HEARING_DAY,
        "judicialResults": [
            {
                "label": "Community order",
                "category": "FINAL",
                "isConvictedResult": True,
                "orderedDate": HEARING_DAY,
            }
        ],
    }


def _hearing(defendants: list[tuple[str, str, list[dict[str, Any]]]]) -> bytes:
    """One resulted hearing convicting each (PNC, last name, offences)."""
    return json.dumps(
        {
            "hearing": {
                "id": "outcomes-hearing-1",
                "courtCentre": {"code": "B14LO00", "name": "Sheffield Magistrates' Court"},
                "prosecutionCases": [
                    {
                        "prosecutionCaseIdentifier": {"caseURN": "14SY7654321"},
                        "defendants": [
                            {
                                "id": f"defendant-{pnc}",
                                "pncId": pnc,
                                "personDefendant": {
                                    "personDetails": {
                                        "firstName": "Ambrose",
                                        "lastName": last_name,
                                        "dateOfBirth": "1975-01-01",
                                    }
                                },
                                "offences": offences,
                            }
                            for pnc, last_name, offences in defendants
                        ],
                    }
                ],
            }
        }
    ).encode()


def _world(client: Any, services: Any, token: Any) -> list[str]:
    """Eleven people; the hub ids the adapters answered with.

    October 2023: six released (0 to 5). Person 0 is known to the prison only by prison number
    and to the court only by a PNC ID nobody has linked, until an identity merge makes them one:
    two summary offences. Person 1: one either-way offence; person 2: an either-way and two
    indictable violent offences; person 3: an offence before release (not a reconviction);
    4 and 5: none. Person 10 has only a planned release date that month (not a release).
    January 2025: three released (6 to 8), none reconvicted. December 2025: one (9)."""
    prison = token(PRISON)
    hub_ids: list[str] = []

    def send(kind: str, name: str, body: bytes, sender: str = PRISON) -> None:
        sent = _post(client, token(sender) if sender != PRISON else prison, kind, name, body)
        assert sent.status_code == 200, sent.get_json()
        hub_ids.extend(r["subject"] for r in sent.get_json()["records"] if r.get("subject"))

    releases = {i: "2023-10-05" for i in range(6)} | {6: "2025-01-15", 7: "2025-01-15"}
    releases |= {8: "2025-01-20", 9: "2025-12-01"}
    for index, day in releases.items():
        if index:
            send("prison", "prisoners", _prisoner(index, day))
        send("prison", "events", _released(index, day))
    send("prison", "prisoners", _prisoner(10, "2023-10-20"))
    either, summary, indictable = "Either Way", "Summary", "Indictable"
    send(
        "courts",
        "hearings",
        _hearing(
            [
                (
                    _pnc(9000),
                    "Unlinked",
                    [
                        _offence(1, "PL96001", summary, "2024-02-01"),
                        _offence(2, "PL96001", summary, "2024-02-02"),
                    ],
                ),
                (_pnc(4101), _name(1), [_offence(3, "TH68010", either, "2024-03-01")]),
                (
                    _pnc(4102),
                    _name(2),
                    [
                        _offence(4, "TH68010", either, "2024-03-05"),
                        _offence(5, "OF61001", indictable, "2024-04-01"),
                        _offence(6, "OF61001", indictable, "2024-04-02"),
                    ],
                ),
                (_pnc(4103), _name(3), [_offence(7, "TH68010", either, "2023-09-01")]),
            ]
        ),
        COURT,
    )
    with services.db.transaction() as session:
        unlinked = services.identity.find(session, _ref(f"pnc:{_pnc(9000)}"))
        released = services.identity.find(session, _ref(f"noms:{_noms(0)}"))
        assert unlinked is not None and released is not None and unlinked.id != released.id
        services.identity.merge(session, unlinked.id, released.id, Actor(agency=PRISON), None)
    return sorted(set(hub_ids))


def _ref(text: str) -> Any:
    from hub.domain.messages import SubjectRef

    return SubjectRef.parse(text)


def _fixed_clock(services: Any) -> None:
    """The figures as on TODAY (the service the app was built with, with its settings)."""
    built = services.outcomes
    assert isinstance(built, OutcomeFigures)
    services.outcomes = OutcomeFigures(
        services.db,
        services.identity,
        baseline=services.settings.outcome_baseline,
        min_count=services.settings.outcome_min_count,
        today=lambda: TODAY,
    )


def _cell(value: Any) -> dict[str, Any]:
    return {"value": value, "suppressed": value is None}


SECRETS = [
    *(_noms(i) for i in range(11)),
    *(_pnc(4100 + i) for i in range(11)),
    _pnc(9000),
    *(_name(i) for i in range(11)),
    "Ambrose",
    "Unlinked",
    "1980-03-",
    "1975-01-01",
]


@pytest.mark.parametrize("settings_overrides", [{"outcome_min_count": 2}])
def test_outcome_figures_as_json_and_as_a_page(client: Any, services: Any, token: Any) -> None:
    hub_ids = _world(client, services, token)
    _fixed_clock(services)
    response = client.get(
        "/v1/outcomes", headers={"Authorization": f"Bearer {token('iom-sheffield')}"}
    )
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["asOf"] == "2026-11-24" and body["baselinePercent"] == 58.0
    assert body["minimumCount"] == 2
    assert [y["cohort"] for y in body["cohortYears"]] == ["2023/24", "2024/25", "2025/26"]
    first, second, third = body["cohortYears"]

    # October 2023: six released (the planned-only release is not one), three reconvicted
    # (person 0 only through the merge), six offences: two of each band, two violent.
    [october] = first["months"]
    expected = {
        "released": _cell(6),
        "reconvicted": _cell(3),
        "notReconvicted": _cell(3),
        "reconvictedPercent": _cell(50.0),
        "differenceFromBaseline": _cell(-8.0),
        "offences": _cell(6),
        "offencesPerPerson": _cell(1.0),
        "severity": {
            "summary": _cell(2),
            "either_way": _cell(2),
            "indictable_only": _cell(2),
        },
        "flags": {"violence": _cell(2), "sexual": _cell(None)},  # 0 is below 2
    }
    for name, value in expected.items():
        assert october[name] == value, name
        assert first[name] == value, name  # the year is that one month
    assert october["cohort"] == "2023-10" and october["status"] == "final"
    assert first["status"] == "final" and first["from"] == "2023-10-01"
    assert first["to"] == "2024-09-30" and first["windowClosesOn"] == "2026-03-29"

    # January 2025: three released, none reconvicted. The 0 is suppressed, and so is the 3 not
    # reconvicted, which would give it away; the proportion with them. The month is final, its
    # cohort year (waiting for September 2025's releases) provisional.
    [january] = second["months"]
    assert january["released"] == _cell(3)
    assert january["reconvicted"] == _cell(None) and january["notReconvicted"] == _cell(None)
    assert january["reconvictedPercent"] == _cell(None)
    assert january["differenceFromBaseline"] == _cell(None)
    assert january["status"] == "final"
    assert second["status"] == "provisional" and second["windowClosesOn"] == "2027-03-29"

    # December 2025: one person, below the minimum: nothing but suppressed, and provisional.
    [december] = third["months"]
    assert december["released"] == _cell(None) and third["released"] == _cell(None)
    assert december["status"] == "provisional" and third["status"] == "provisional"

    # Nothing about anyone: no identifier, name, date of birth, hub id or pseudonym.
    text = response.get_data(as_text=True)
    pseudonyms = [services.audit.pseudonym(i) for i in hub_ids]
    assert len(hub_ids) >= 10
    for secret in [*SECRETS, *hub_ids, *pseudonyms]:
        assert secret not in text, secret

    # The page: any signed-in user; the same figures in charts and tables.
    assert client.get("/ui/outcomes/").headers["Location"].endswith("/ui/sign-in")
    _sign_in(client, "case.manager", PASSWORD)
    assert 'href="/ui/outcomes/"' in client.get("/ui/").get_data(as_text=True)
    page = client.get("/ui/outcomes/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Baseline 58%" in html and "baseline of 58%" in words
    assert "Suppressed means the number is hidden" in words
    assert "Provisional means" in words
    # The year chart's description and the years table: 50% for 2023/24, the others suppressed.
    assert "2023/24: 50%; 2024/25: suppressed; 2025/26: suppressed. Baseline 58%" in html
    years_table = re.search(r'data-testid="years-table">(.*?)</table>', html, re.S)
    assert years_table is not None
    rows = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
        for row in re.findall(r"<tr class=\"govuk-table__row\">(.*?)</tr>", years_table[1], re.S)
    ]
    assert rows[1:] == [
        "2023/24 Final 6 3 50% -8.0 points",
        "2024/25 Provisional 3 suppressed suppressed suppressed",
        "2025/26 Provisional suppressed suppressed suppressed suppressed",
    ]
    severity = re.search(r'data-testid="severity-2023-24">(.*?)</table>', html, re.S)
    assert severity is not None
    cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", severity[1]))
    assert "October 2023 2 2 2 6 2 suppressed" in cells
    assert '<svg role="img"' in html and "<title id=" in html
    for secret in [*SECRETS, *hub_ids, *pseudonyms]:
        assert secret not in html, secret


def test_outcomes_need_a_token_with_subjects_read(client: Any, token: Any) -> None:
    assert client.get("/v1/outcomes").status_code == 401
    without = client.get(
        "/v1/outcomes",
        headers={"Authorization": f"Bearer {token(COURT, scope='messages:send')}"},
    )
    assert without.status_code == 403
    assert without.mimetype == "application/problem+json"
    assert without.get_json()["type"].endswith("/insufficient-scope")
    empty = client.get(
        "/v1/outcomes", headers={"Authorization": f"Bearer {token(COURT, scope='subjects:read')}"}
    )
    assert empty.status_code == 200 and empty.get_json()["cohortYears"] == []
    spec = client.get("/openapi.json").get_json()
    assert "/v1/outcomes" in spec["paths"]


def test_the_page_says_so_when_there_is_nothing_to_show(client: Any, world: Any) -> None:
    _sign_in(client, "volunteer", PASSWORD)
    page = client.get("/ui/outcomes/")
    assert page.status_code == 200
    assert "no releases from custody recorded yet" in page.get_data(as_text=True)
