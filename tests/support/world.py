"""A small world for tests: the demo agencies with clients whose keys are made once per session."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from hub.bootstrap import Services
from hub.demo import AGENCIES, CLEARANCE, USER_CLEARANCE, USERS, demo_email
from hub.domain.vocab import Scope

PASSWORD = "correct horse battery staple"


@cache
def rsa_key(name: str) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def private_pem(name: str) -> str:
    return (
        rsa_key(name)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def public_pem(name: str) -> bytes:
    return (
        rsa_key(name)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


@dataclass
class ClientCreds:
    client_id: str
    agency_id: str
    client_secret: str
    kid: str

    @property
    def private_key_pem(self) -> str:
        return private_pem(self.agency_id)


def make_world(services: Services) -> dict[str, ClientCreds]:
    """The five demo agencies, one client each (key and secret), and the demo users (one password)."""
    creds: dict[str, ClientCreds] = {}
    with services.db.transaction() as session:
        for agency_id, name, kind in AGENCIES:
            services.registry.add_agency(
                session,
                agency_id=agency_id,
                name=name,
                kind=kind,
                region="South Yorkshire",
                attributes={"clearance": CLEARANCE.get(agency_id, 0)},
            )
            new = services.registry.add_client(
                session,
                agency_id=agency_id,
                name="test client",
                public_key_pem=public_pem(agency_id),
                issue_secret=True,
                scopes=Scope.default_for_agency(),
                client_id=agency_id,
            )
            assert new.client_secret and new.kid
            creds[agency_id] = ClientCreds(agency_id, agency_id, new.client_secret, new.kid)
        for username, display_name, agency_id, role in USERS:
            services.registry.add_user(
                session,
                username=username,
                display_name=display_name,
                password=PASSWORD,
                agency_id=agency_id,
                role=role,
                clearance=USER_CLEARANCE.get(username, 0),
                email=demo_email(username, agency_id),
            )
    return creds


def client_assertion(
    creds: ClientCreds, audience: str, *, lifetime: int = 60, jti: str | None = None, **extra: Any
) -> str:
    now = int(time.time())
    claims = {
        "iss": creds.client_id,
        "sub": creds.client_id,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti or uuid.uuid4().hex,
        **extra,
    }
    return jwt.encode(
        claims, rsa_key(creds.agency_id), algorithm="RS256", headers={"kid": creds.kid}
    )


def conviction_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": "courts-sheffield",
        "type": "uk.gov.justice.hub.conviction.v1",
        "time": "2026-03-10T16:00:00Z",
        "subject": "pnc:2011/0482113C",
        "purpose": "case_management",
        "recipient": "provider-doncaster-alliance",
        "datacontenttype": "application/json",
        "data": {
            "offence": {
                "code": "TH68010",
                "title": "Theft from a shop",
                "modeOfTrial": "either_way",
                "committedOn": "2026-02-02",
            },
            "convictionDate": "2026-03-10",
            "court": {"code": "B14LO00", "name": "Sheffield Magistrates' Court"},
            "disposal": {
                "label": "Community order",
                "cjsCode": "1116",
                "duration": {"unit": "M", "value": 12},
            },
            "plea": "guilty",
            "caseUrn": "14SY1234526",
        },
    }
    event.update(overrides)
    return event


def referral_event(**overrides: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "specversion": "1.0",
        "id": uuid.uuid4().hex,
        "source": "probation-south-yorkshire",
        "type": "uk.gov.justice.hub.referral.v1",
        "subject": "crn:D123456",
        "purpose": "resettlement",
        "recipient": "provider-doncaster-alliance",
        "data": {
            "crn": "D123456",
            "nomsNumber": "A4821DC",
            "releaseDate": "2025-11-20",
            "dischargeArea": "Doncaster",
            "pathway": 2,
            "riskOfSeriousHarm": "MEDIUM",
            "riskOfReoffending": {"ogrs3TwoYear": 78},
            "sentencePlanSummary": "Secure accommodation before release; drug treatment referral.",
            "routes": [
                {
                    "route": "accommodation",
                    "statusOnReception": "No fixed abode",
                    "actionTakenInCustody": "Housing application to Doncaster council",
                    "outstandingActions": "Confirm tenancy start date",
                }
            ],
            "officer": {
                "name": "Priya Raman",
                "email": "priya.raman@probation.example",
                "team": "Doncaster OM",
            },
        },
    }
    event.update(overrides)
    return event
