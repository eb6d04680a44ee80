"""The synthetic people's documents, each in its agency's own shape
(tests/fixtures/formats/FORMATS.md): what the adapters read."""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from hub.synthetic.calibration import (
    CROWN,
    DISPOSALS,
    ELSEWHERE,
    MAGISTRATES,
    MAPPA_SHARE,
    POSTCODES,
    ROUTES,
    STREETS,
    TRIGGERS,
)
from hub.synthetic.people import Occasion, Officer, Person

PROVIDER = "provider-doncaster-alliance"  # where probation refers (the demo's provider)
ROSH_CODES = {"LOW": "RLRH", "MEDIUM": "RMRH", "HIGH": "RHRH", "VERY_HIGH": "RVHR"}
COHORT_HEADER = (  # the spreadsheet's header row
    "pnc,surname,forenames,date_of_birth,iom_category,status,offender_group,adopted_on,"
    "iom_officer,team\r\n"
)


def prisoner(p: Person) -> dict[str, Any]:
    """The prison's record of someone due for release (`prison/prisoners`)."""
    licence_ends = p.sentenced_on + timedelta(days=round(p.sentence_months * 30.44))
    document: dict[str, Any] = {
        "prisonerNumber": p.noms,
        "pncNumber": p.pnc,
        "croNumber": p.cro,
        "firstName": p.forename,
        "lastName": p.surname,
        "dateOfBirth": p.born.isoformat(),
        "legalStatus": "SENTENCED",
        "sentenceStartDate": p.sentenced_on.isoformat(),
        "releaseDate": p.released_on.isoformat(),
        "conditionalReleaseDate": p.released_on.isoformat(),
        "licenceExpiryDate": licence_ends.isoformat(),
        "mostSeriousOffence": p.offence.title,
        "dischargeArea": p.area,
    }
    if p.sentence_months < 24:  # supervised to a year after release (top-up supervision)
        document["topupSupervisionExpiryDate"] = (p.released_on + timedelta(days=365)).isoformat()
    return document


def released(rng: random.Random, p: Person) -> dict[str, Any]:
    """HMPPS's `prisoner.released` domain event (`prison/events`)."""
    at = f"{p.released_on.isoformat()}T{rng.randint(8, 10):02d}:{rng.randrange(60):02d}:00+00:00"
    return {
        "eventType": "prison-offender-events.prisoner.released",
        "version": 1,
        "occurredAt": at,
        "personReference": {"identifiers": [{"type": "NOMS", "value": p.noms}]},
        "additionalInformation": {
            "nomsNumber": p.noms,
            "prisonId": "DNI",
            "reason": "RELEASED",
            "currentLocation": "OUTSIDE_PRISON",
            "nomisMovementReasonCode": "CR",
        },
    }


def case_summary(
    p: Person, manager: Officer, triggers: Sequence[str], iom: bool, on: date
) -> dict[str, Any]:
    """Probation's case summary, nDelius and OASys (`probation/cases`)."""
    since = on.isoformat()
    rosh = {"code": ROSH_CODES[p.rosh], "description": p.rosh.replace("_", " ").title() + " RoSH"}
    registrations: list[dict[str, Any]] = [{"type": rosh, "startDate": since, "active": True}]
    if p.pathway == 1 and p.key % 10 < MAPPA_SHARE * 10:
        registrations.append(
            {
                "type": {"code": "MAPP"},
                "category": {"code": "M2"},
                "level": {"code": "M1"},
                "startDate": since,
                "active": True,
            }
        )
    if iom:
        registrations.append(
            {
                "type": {"code": "IIOM"},
                "category": {"code": "I3"},
                "startDate": since,
                "active": True,
            }
        )
    forename, _, surname = manager.name.rpartition(" ")
    return {
        "crn": p.crn,
        "otherIds": {"pncNumber": p.pnc, "croNumber": p.cro, "nomsNumber": p.noms},
        "firstName": p.forename,
        "surname": p.surname,
        "dateOfBirth": p.born.isoformat(),
        "registrations": registrations,
        "riskSummary": {
            "overallRiskLevel": p.rosh,
            "whoIsAtRisk": "Known adults and members of the public",
            "natureOfRisk": "Aggression when challenged",
            "riskImminence": "Unlikely unless using drugs",
        },
        "predictors": {"ogrs3TwoYear": 80 if p.pathway == 3 else 55},
        "communityManager": {
            "code": manager.code or "N07A000",
            "name": {"forename": forename, "surname": surname},
            "email": manager.email,
            "team": {"code": "N07DON", "description": manager.team},
        },
        "triggers": [
            {"code": code, "description": TRIGGERS[code][0], "setOn": since} for code in triggers
        ],
    }


def referral(
    rng: random.Random, p: Person, officer: Officer, needs: Sequence[str]
) -> dict[str, Any]:
    """Probation's pre-release referral form to the provider (`probation/referrals`)."""
    ogrs = rng.randint(60, 95) if p.pathway == 3 else rng.randint(25, 70)
    return {
        "crn": p.crn,
        "nomsNumber": p.noms,
        "referredTo": PROVIDER,
        "releaseDate": p.released_on.isoformat(),
        "dischargeArea": p.area,
        "pathway": p.pathway,
        "riskOfSeriousHarm": p.rosh,
        "riskOfReoffending": {"ogrs3TwoYear": ogrs},
        "sentencePlanSummary": "Address the needs below before release; meet on release day.",
        "routes": [
            dict(
                zip(
                    ("statusOnReception", "actionTakenInCustody", "outstandingActions"),
                    ROUTES[r],
                    strict=True,
                ),
                route=r,
            )
            for r in needs
        ],
        "officer": {"name": officer.name, "email": officer.email, "team": officer.team},
    }


def provider_event(kind: str, p: Person, **fields: Any) -> dict[str, Any]:
    """One of the provider's case management events (`provider/events`)."""
    return {"kind": kind, "nomsNumber": p.noms, "pnc": p.pnc, **fields}


def handover(p: Person, on: date, custody: Officer, community: Officer) -> dict[str, Any]:
    """The case file moves from the custody to the community case manager."""
    people = {"from": custody, "to": community}
    sides = {side: {"name": o.name, "email": o.email} for side, o in people.items()}
    return provider_event("handover", p, on=on.isoformat(), **sides)


def consent(p: Person, on: date) -> dict[str, Any]:
    """The provider's record of the person's signed consent form."""
    reference = f"CMS/consent/{p.noms}/{on.isoformat()}.pdf"
    return {
        "kind": "consent",
        "nomsNumber": p.noms,
        "pnc": p.pnc,
        "signedOn": on.isoformat(),
        "recipients": ["probation", "iom", "courts", "prison", "provider"],
        "purposes": ["case-management", "risk-management", "resettlement"],
        "exclusions": [],
        "evidence": {
            "documentRef": reference,
            "sha256": hashlib.sha256(reference.encode()).hexdigest(),
        },
    }


def escalation(rng: random.Random, p: Person, code: str, observed: date) -> dict[str, Any]:
    """The provider's notice to probation that a risk trigger has fired."""
    return {
        "kind": "risk_escalation",
        "nomsNumber": p.noms,
        "pnc": p.pnc,
        "triggerCode": code,
        "observedOn": observed.isoformat(),
        "description": TRIGGERS[code][1],
        "urgency": rng.choice(["routine", "urgent", "urgent", "immediate"]),
    }


def cohort_row(rng: random.Random, p: Person, adopted: date, officer: str) -> list[str]:
    """A row of the IOM team's cohort spreadsheet (`iom/cohort`), adopting the person."""
    return [
        p.pnc,
        p.surname,
        p.forename,
        p.born.strftime("%d/%m/%Y"),
        rng.choice(["Fixed", "Flex", "Free"]),
        "Adopted",
        p.offence.group,
        adopted.strftime("%d/%m/%Y"),
        officer,
        f"{p.area} IOM",
    ]


def hearing(rng: random.Random, p: Person, occasion: Occasion) -> dict[str, Any]:
    """A resulted hearing, HMCTS Common Platform (`courts/hearings`)."""
    crown = occasion.outcome == "convicted" and any(
        c.offence.mode == "Indictable" for c in occasion.charges
    )
    code, name = CROWN if crown else MAGISTRATES.get(p.area, ELSEWHERE)
    day = occasion.on.isoformat()
    offences = []
    for charge in occasion.charges:
        offence: dict[str, Any] = {
            "id": _uuid(rng),
            "offenceCode": charge.offence.code,
            "offenceTitle": charge.offence.title,
            "modeOfTrial": charge.offence.mode,
            "startDate": charge.committed_on.isoformat(),
        }
        if occasion.outcome == "convicted":
            offence["convictionDate"] = day
            offence["plea"] = {"pleaValue": "GUILTY", "pleaDate": day}
            offence["judicialResults"] = [_disposal(rng, day, crown)]
        elif occasion.outcome == "acquitted":
            offence["plea"] = {"pleaValue": "NOT_GUILTY", "pleaDate": day}
            verdict = {"description": "Not guilty", "category": "NOT_GUILTY"}
            offence["verdict"] = {"verdictDate": day, "verdictType": verdict}
            offence["judicialResults"] = [_not_convicted("Dismissed", "DISM - Dismissed", day)]
        else:
            text = "WDRN - Withdrawn: dealt with by a conditional caution"
            offence["judicialResults"] = [_not_convicted("Withdrawn", text, day)]
        offences.append(offence)
    person = {
        "firstName": p.forename,
        "lastName": p.surname,
        "dateOfBirth": p.born.isoformat(),
        "gender": "MALE",
        "address": {
            "address1": f"{p.key % 97 + 1} {STREETS[p.key % len(STREETS)]}",
            "address2": p.area,
            "postcode": f"{POSTCODES[p.area]} 9ZZ",
        },
    }
    defendant = {
        "id": _uuid(rng),
        "pncId": p.pnc,
        "croNumber": p.cro,
        "isYouth": False,
        "personDefendant": {"personDetails": person},
        "offences": offences,
    }
    urn = f"14SY{rng.randrange(10**7):07d}"
    return {
        "hearing": {
            "id": _uuid(rng),
            "jurisdictionType": "CROWN" if crown else "MAGISTRATES",
            "type": {"description": "Trial" if occasion.outcome == "acquitted" else "Sentence"},
            "courtCentre": {"code": code, "name": name},
            "hearingDays": [{"sittingDay": f"{day}T10:00:00.000Z"}],
            "prosecutionCases": [
                {
                    "id": _uuid(rng),
                    "prosecutionCaseIdentifier": {
                        "prosecutionAuthorityCode": "SYPF",
                        "caseURN": urn,
                    },
                    "defendants": [defendant],
                }
            ],
        }
    }


def _disposal(rng: random.Random, day: str, crown: bool) -> dict[str, Any]:
    label, cjs, unit, span, _ = rng.choices(DISPOSALS, [d[4] for d in DISPOSALS])[0]
    result: dict[str, Any] = {
        "label": label,
        "category": "FINAL",
        "isConvictedResult": True,
        "isAdjournmentResult": False,
        "isFinancialResult": label == "Fine",
        "orderedDate": day,
        "cjsCode": cjs,
    }
    if unit and span:
        low, high = (12, 60) if crown and label == "Imprisonment" else span
        result["durationElement"] = {
            "primaryDurationUnit": unit,
            "primaryDurationValue": rng.randint(low, high),
        }
    return result


def _not_convicted(label: str, text: str, day: str) -> dict[str, Any]:
    return {
        "label": label,
        "category": "FINAL",
        "isConvictedResult": False,
        "isAdjournmentResult": False,
        "isFinancialResult": False,
        "orderedDate": day,
        "resultText": text,
    }


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))
