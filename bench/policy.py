"""Benchmark: sharing decisions. Prints decisions per second for

1. the seed agreements, and the seeds plus 200 generated agreements (ratio: the cost must not
   grow linearly with the number of agreements; Cedar indexes policies by their scope, and our
   flows put their conditions in `when` clauses, so expect a modest, not a 30x, slowdown);
2. the hub's full decision (the person's attributes from the hub's records and their consent
   from the register, on SQLite, then Cedar and minimisation) against a bare `cedarpy` call on the
   same request and policies (ratio: what the hub adds around Cedar).

    .venv/bin/python bench/policy.py

Figures, not assertions.
"""

from __future__ import annotations

import io
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import cedarpy  # noqa: E402

import adapters  # noqa: E402
from hub.bootstrap import build  # noqa: E402
from hub.domain.callers import Caller  # noqa: E402
from hub.domain.vocab import AgencyKind, MessageType, Purpose  # noqa: E402
from hub.store import migrate  # noqa: E402
from hub.store.models import Agency, SubjectIdentifier  # noqa: E402
from policies.engine import (  # noqa: E402
    Agreements,
    Consent,
    DisclosureRequest,
    Party,
    SubjectAttributes,
    _context,
    _entities,
)
from tests.conftest import make_settings  # noqa: E402
from tests.support.adapters import EXAMPLES  # noqa: E402
from tests.support.world import make_world  # noqa: E402

SEEDS = Path(__file__).resolve().parents[1] / "policies" / "agreements"
VOCAB = dict(
    message_types=[t.value for t in MessageType],
    purposes=[p.value for p in Purpose],
    agency_kinds=[k.value for k in AgencyKind],
)
REQUEST = DisclosureRequest(
    Party("courts-sheffield", "courts"),
    Party("provider-doncaster-alliance", "provider"),
    "conviction",
    "case_management",
    SubjectAttributes(pathway=3),
    Consent.covering(["case_management"], ["provider"]),
)


def rate(call: Callable[[], object], seconds: float = 2.0) -> float:
    for _ in range(200):
        call()
    count, began = 0, time.perf_counter()
    while time.perf_counter() - began < seconds:
        for _ in range(100):
            call()
        count += 100
    return count / (time.perf_counter() - began)


def generated(directory: Path, count: int) -> None:
    for path in SEEDS.glob("*.toml"):
        (directory / path.name).write_text(path.read_text())
    kinds = ["probation", "iom", "courts", "provider", "prison"]
    types = [t.value for t in MessageType]
    for n in range(count):
        (directory / f"generated-{n:03d}.toml").write_text(
            f'''id = "dsa-generated-{n}"
version = "1.0.0"
title = "generated {n}"
review_date = 2099-01-01
retention = "P1Y"

[[flows]]
senders = ["{kinds[n % 5]}-area-{n}"]
recipients = ["{kinds[(n + 1) % 5]}", "{kinds[(n + 2) % 5]}-area-{n}"]
types = ["{types[n % len(types)]}"]
purposes = ["case_management"]
lawful_basis = "statutory_duty"
legal_reference = "generated"
condition = "resource.subject.pathway != {n % 4}"
fields."*".{types[n % len(types)]} = ["a", "b"]
'''
        )


def full_decision_rate(tmp: Path) -> float:
    url = f"sqlite:///{tmp / 'hub.db'}"
    migrate.upgrade(url)
    services = build(make_settings(url, tmp / "var"))
    try:
        make_world(services)
        referral = json.loads((EXAMPLES / "probation-referral.json").read_text())
        referral["pathway"] = 3
        events = json.loads((EXAMPLES / "provider-events.json").read_text())
        for event in events["events"]:
            event.pop("validUntil", None)  # the example's consent ran to 19 November 2026
        for agency, kind, name, body in (
            ("probation-south-yorkshire", "probation", "referrals", json.dumps(referral).encode()),
            (
                "provider-doncaster-alliance",
                "provider",
                "events",
                json.dumps(events).encode(),
            ),
        ):
            document = adapters.document(kind, name)
            assert document is not None
            services.documents.receive(Caller(agency, agency, None), document, io.BytesIO(body))
        with services.db.transaction(readonly=True) as session:
            sender = session.get(Agency, "courts-sheffield")
            recipient = session.get(Agency, "provider-doncaster-alliance")
            holder = session.get(SubjectIdentifier, ("noms", "A4821DC"))
            assert sender and recipient and holder
            subject = services.identity.find(
                session, services.identity.identifiers(session, [holder.subject_id])[0]
            )
            decision = services.messages.decide(
                session, sender, recipient, MessageType.CONVICTION, "case_management", subject
            )
            assert decision.permit and decision.lawful_basis == "consent", decision
            return rate(
                lambda: services.messages.decide(
                    session, sender, recipient, MessageType.CONVICTION, "case_management", subject
                )
            )
    finally:
        services.close()


def main() -> None:
    seeds = Agreements.load(SEEDS, **VOCAB)
    with tempfile.TemporaryDirectory() as tmp:
        many_dir = Path(tmp) / "many"
        many_dir.mkdir()
        generated(many_dir, 200)
        many = Agreements.load(many_dir, **VOCAB)
        assert many.decide(REQUEST).permit and seeds.decide(REQUEST).permit
        seed_rate = rate(lambda: seeds.decide(REQUEST))
        many_rate = rate(lambda: many.decide(REQUEST))
        policies = seeds._policy_set(tuple(a.id for a in seeds.agreements), REQUEST)
        cedar_request = {
            "principal": {"type": "Agency", "id": REQUEST.recipient.agency_id},
            "action": {"type": "Action", "id": "disclose"},
            "resource": {"type": "Message", "id": "message"},
            "context": _context(REQUEST),
        }
        entities = _entities(REQUEST)
        bare_rate = rate(lambda: cedarpy.is_authorized(cedar_request, policies, entities))
        full_rate = full_decision_rate(Path(tmp))
    flows = sum(len(a.flows) for a in many.agreements)
    print("policy bench: one decision, courts -> provider, conviction, pathway 3 with consent")
    print(f"  seed agreements ({len(seeds.agreements)}):              {seed_rate:9.0f} decisions/s")
    print(
        f"  seeds + 200 generated ({len(many.agreements)}, {flows} flows): {many_rate:9.0f} decisions/s   ratio {many_rate / seed_rate:.3f}"
    )
    print(f"  bare cedarpy.is_authorized (seed policies):  {bare_rate:9.0f} decisions/s")
    print(
        f"  hub engine (Agreements.decide):          {seed_rate:9.0f} decisions/s   ratio to bare {seed_rate / bare_rate:.3f}"
    )
    print(
        f"  hub full decision (records, consent register on SQLite, Cedar, fields): {full_rate:9.0f} decisions/s   ratio to bare {full_rate / bare_rate:.3f}"
    )


if __name__ == "__main__":
    main()
