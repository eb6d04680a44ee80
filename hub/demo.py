"""The demo world of DESIGN.md: five agencies, their clients and users, a few people.

Credentials are generated here and written only to `var/demo/credentials.json` (mode 0600).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import func, select

from audit.entry import Actor
from hub.bootstrap import Services
from hub.domain.messages import SubjectRef
from hub.domain.vocab import AgencyKind, Role, Scope
from hub.store.models import Agency

AGENCIES = [
    ("probation-south-yorkshire", "South Yorkshire Probation Service", AgencyKind.PROBATION),
    ("iom-sheffield", "Sheffield Integrated Offender Management team", AgencyKind.IOM),
    ("courts-sheffield", "Sheffield Magistrates' and Crown Courts", AgencyKind.COURTS),
    ("provider-doncaster-alliance", "Doncaster Rehabilitation Alliance", AgencyKind.PROVIDER),
    ("prison-doncaster", "HMP Doncaster", AgencyKind.PRISON),
]
USERS = [
    ("ig.officer", "Imran Gill", "probation-south-yorkshire", Role.IG_OFFICER),
    ("case.manager", "Carys Mason", "provider-doncaster-alliance", Role.CASE_MANAGER),
    ("offender.manager", "Olu Mensah", "probation-south-yorkshire", Role.OFFENDER_MANAGER),
    ("iom.officer", "Ian Oakes", "iom-sheffield", Role.IOM_OFFICER),
    ("admin", "Ada Min", "probation-south-yorkshire", Role.ADMINISTRATOR),
    ("volunteer", "Vic Palmer", "provider-doncaster-alliance", Role.VOLUNTEER),
]
IG_AGENCY = "probation-south-yorkshire"  # where the demo's IG officer works
# Vetting for police information (0 none, 1 police information, 2 police intelligence): the
# police IOM team and probation are cleared, and so are the people there who work with the cases.
CLEARANCE = {"probation-south-yorkshire": 2, "iom-sheffield": 2}
USER_CLEARANCE = {"offender.manager": 2, "iom.officer": 2}
# Synthetic people: identifiers only (the identity resolver adds names and dates of birth).
PEOPLE = ["pnc:2011/0482113C", "crn:D123456", "noms:A4821DC"]
DEMO_ACTOR = Actor(user="demo")


def demo_email(username: str, agency_id: str) -> str:
    """A demo user's work email, as documents name them as a case owner."""
    return f"{username}@{agency_id}.example"


def credentials_path(services: Services) -> Path:
    return services.settings.var_dir / "demo" / "credentials.json"


def create_demo_world(services: Services) -> tuple[bool, Path]:
    """Create the demo world when the database has no agencies; (created?, credentials path)."""
    path = credentials_path(services)
    with services.db.transaction() as session:
        if session.scalar(select(func.count()).select_from(Agency)):
            return False, path
        credentials: dict[str, Any] = {}
        for agency_id, name, kind in AGENCIES:
            services.registry.add_agency(
                session,
                agency_id=agency_id,
                name=name,
                kind=kind,
                region="South Yorkshire",
                attributes={"clearance": CLEARANCE.get(agency_id, 0)},
            )
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public_pem = private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            client = services.registry.add_client(
                session,
                agency_id=agency_id,
                name=f"{name} case management system",
                public_key_pem=public_pem,
                issue_secret=True,
                scopes=Scope.default_for_agency(),
                client_id=agency_id,
            )
            credentials[agency_id] = {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "private_key_pem": private.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                ).decode(),
                "kid": client.kid,
            }
        users = []
        for username, display_name, agency_id, role in USERS:
            password = "-".join(secrets.token_urlsafe(6) for _ in range(3))
            services.registry.add_user(
                session,
                username=username,
                display_name=display_name,
                password=password,
                agency_id=agency_id,
                role=role,
                clearance=USER_CLEARANCE.get(username, 0),
                email=demo_email(username, agency_id),
            )
            users.append(
                {
                    "username": username,
                    "password": password,
                    "agency": agency_id,
                    "role": role.value,
                }
            )
        credentials["users"] = users
        # The IG team's tools read every agency's audit entries (`/v1/audit/entries`).
        tools = services.registry.add_client(
            session,
            agency_id=IG_AGENCY,
            name="Information governance audit tools",
            issue_secret=True,
            scopes=[Scope.AUDIT_READ],
            client_id="ig-audit-tools",
        )
        credentials["ig_audit_tools"] = {
            "client_id": tools.client_id,
            "client_secret": tools.client_secret,
            "scope": Scope.AUDIT_READ.value,
        }
        # One person known by three agencies' numbers (the formats' examples are about him).
        services.identity.resolve(session, [SubjectRef.parse(r) for r in PEOPLE], None, DEMO_ACTOR)
        write_private_json(path, credentials)
    return True, path


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write with mode 0600 from the first byte (never world-readable, even briefly)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=2)
    os.replace(tmp, path)
