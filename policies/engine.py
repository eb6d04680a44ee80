"""The policy decision point: may this sender disclose this message to this recipient, and which
of its fields?

Each data sharing agreement is a TOML file in `policies/agreements/`, written for an information
governance officer: who may send what to whom, for which purposes, under which lawful basis (with
its legal reference), which fields each recipient receives, retention and review date. Each of
its `[[flows]]` becomes a Cedar `permit` policy; an optional `condition` narrows it with the
person's attributes (e.g. `resource.subject.pathway == 3`); a flow resting on consent also
requires the person's consent to cover the recipient and the purpose. Its `rules` may add Cedar
`forbid` policies. All are validated against `policies/schema.cedarschema` when loaded; an
invalid file stops the hub, naming the file and the reason.

Cedar decides: default deny, and any matching `forbid` overrides every `permit`. The decision
names the policies that decided it (`<agreement id>/<policy id>`), the agreement, the lawful
basis and the fields to disclose (those of the permitting flows for the recipient's kind). An
agreement past its review date permits nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

import cedarpy

SCHEMA_FILE = Path(__file__).parent / "schema.cedarschema"


class AgreementError(ValueError):
    """An agreement file is invalid; the message names the file and the reason."""


@dataclass(frozen=True)
class Party:
    """An agency at one end of a disclosure, with the attributes policies may use."""

    agency_id: str
    kind: str
    region: str = ""
    clearance: int = 0


@dataclass(frozen=True)
class SubjectAttributes:
    """The person as the hub's own records describe them (never as a sender says)."""

    rosh_level: str = ""
    mappa_category: int = 0
    mappa_level: int = 0
    iom_cohort: bool = False
    pathway: int = 0
    restricted: bool = False
    discharge_area: str = ""
    tier: str = ""  # the IOM category (fixed | flex | free)
    case_owners: frozenset[str] = frozenset()  # agency ids whose staff hold the case


@dataclass(frozen=True)
class Reader:
    """The person at the recipient who will see the message: their role and their own vetting.
    `SYSTEM` stands for the agency's software (an inbox or webhook), with the agency's clearance."""

    role: str
    clearance: int = 0


SYSTEM = "system"


@dataclass(frozen=True)
class Consent:
    """The person's consent as the hub holds it, whichever agency recorded it: the (recipient,
    purpose) pairs the consents in force allow, and the recipients the person refused."""

    given: bool = False
    grants: frozenset[tuple[str, str]] = frozenset()
    exclusions: frozenset[str] = frozenset()

    @classmethod
    def covering(
        cls,
        purposes: Iterable[str],
        recipients: Iterable[str],
        exclusions: Iterable[str] = (),
    ) -> Consent:
        """One consent: every listed recipient, for every listed purpose."""
        pairs = frozenset((r, p) for r in recipients for p in purposes)
        return cls(True, pairs, frozenset(exclusions))


@dataclass(frozen=True)
class DisclosureRequest:
    sender: Party
    recipient: Party
    message_type: str
    purpose: str
    subject: SubjectAttributes = field(default_factory=SubjectAttributes)
    consent: Consent = field(default_factory=Consent)
    classification: str = "personal"
    user: Reader | None = None  # None: the recipient agency's system
    at: datetime | None = None  # when the disclosure happens (now when not given)

    @property
    def reader(self) -> Reader:
        return self.user or Reader(SYSTEM, self.recipient.clearance)


@dataclass(frozen=True)
class DisclosureDecision:
    permit: bool
    reasons: tuple[str, ...]
    policy_hash: str
    agreement_id: str | None = None
    agreement_version: str | None = None
    lawful_basis: str | None = None
    fields: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()  # the Cedar policies that decided
    withheld: tuple[str, ...] = ()  # fields the agreement gives the agency but not this reader

    @property
    def decision(self) -> str:
        return "permit" if self.permit else "deny"


class PolicyDecisionPoint(Protocol):
    policy_hash: str

    def decide(self, request: DisclosureRequest) -> DisclosureDecision: ...

    def may_know(self, agency: Party, subject: SubjectAttributes) -> bool: ...


@dataclass(frozen=True)
class Flow:
    number: int
    senders: frozenset[str]
    recipients: frozenset[str]
    types: frozenset[str]
    purposes: frozenset[str]
    lawful_basis: str
    legal_reference: str
    condition: str
    # recipient kind or id -> message type -> fields; "*" for every recipient of the flow
    fields: Mapping[str, Mapping[str, tuple[str, ...]]]
    # user role -> fields never shown to a user in that role (e.g. volunteers: risk narrative)
    withheld_from: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def fields_for(self, recipient: Party, message_type: str) -> tuple[str, ...]:
        for key in (recipient.agency_id, recipient.kind, "*"):
            if key in self.fields and message_type in self.fields[key]:
                return self.fields[key][message_type]
        return ()

    def cedar(self, agreement_id: str) -> str:
        def one_of(names: Iterable[str]) -> str:
            return "[" + ", ".join(json.dumps(n) for n in sorted(names)) + "]"

        senders, recipients = one_of(self.senders), one_of(self.recipients)
        terms = [
            f"({senders}.contains(context.sender.kind) || {senders}.contains(context.sender.id))",
            f"({recipients}.contains(principal.kind) || {recipients}.contains(principal.id))",
            f"{one_of(self.types)}.contains(resource.type)",
            f"{one_of(self.purposes)}.contains(context.purpose)",
        ]
        if self.lawful_basis == "consent":
            terms += [
                "context.consent.given",
                '(context.consent.grants.contains({"recipient": principal.kind, '
                '"purpose": context.purpose}) || context.consent.grants.contains('
                '{"recipient": principal.id, "purpose": context.purpose}))',
                "!context.consent.exclusions.contains(principal.kind)",
                "!context.consent.exclusions.contains(principal.id)",
            ]
        body = "\n  && ".join(terms)
        # The condition is a clause of its own: every `when` must hold, so nothing written in
        # it can loosen the flow's terms (and `_parse` checks it adds no policy of its own).
        condition = f"\nwhen {{ {self.condition} }}" if self.condition else ""
        return (
            f'@id("flow-{self.number}")\n'
            f'permit (principal is Agency, action == Action::"disclose", resource is Message)\n'
            f"when {{\n  {body}\n}}{condition};\n"
        )


@dataclass(frozen=True)
class Agreement:
    id: str
    version: str
    title: str
    review_date: date
    retention: str
    flows: tuple[Flow, ...]
    rules: str  # Cedar forbid policies
    path: str
    cedar_json: Mapping[str, Any]  # policy id (agreement/...) -> Cedar JSON policy

    def flow(self, policy_id: str) -> Flow | None:
        for flow in self.flows:
            if policy_id == f"{self.id}/flow-{flow.number}":
                return flow
        return None


# Agency ids are `kind-place` (e.g. courts-sheffield); a bare kind name is never an agency id.
AGENCY_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
LAWFUL_BASES = frozenset({"consent", "statutory_duty", "public_protection"})
BASIS_ORDER = {"statutory_duty": 0, "public_protection": 1, "consent": 2}
AGREEMENT_KEYS = frozenset(
    {"id", "version", "title", "review_date", "retention", "parties", "flows", "rules"}
)
FLOW_KEYS = frozenset(
    {
        "senders",
        "recipients",
        "types",
        "purposes",
        "lawful_basis",
        "legal_reference",
        "condition",
        "fields",
        "withheld_from",
    }
)
# The roles a user may hold (hub.domain.vocab.Role) and the agency's own system.
ROLES = frozenset(
    {
        SYSTEM,
        "case_manager",
        "offender_manager",
        "iom_officer",
        "volunteer",
        "ig_officer",
        "administrator",
    }
)


class Agreements:
    """The agreements in force, decided by Cedar. Construct with `load(directory, ...)`."""

    def __init__(
        self,
        agreements: Iterable[Agreement],
        policy_hash: str,
        clock: Callable[[], date] = date.today,
    ) -> None:
        self.agreements = tuple(agreements)
        self.policy_hash = policy_hash
        self._clock = clock
        self._schema = cedarpy.Schema.from_str(SCHEMA_FILE.read_text())
        self._by_id = {a.id: a for a in self.agreements}
        self._sets: dict[tuple[Any, ...], Any] = {}
        self._know_set: Any = None

    def as_of(self, day: date) -> Agreements:
        """The same agreements, decided as on `day` (for example cases and tests)."""
        return Agreements(self.agreements, self.policy_hash, lambda: day)

    def reviews_due(self, within_days: int = 90) -> list[tuple[Agreement, int]]:
        """Agreements whose review date has passed or falls within `within_days`, with the days
        left (negative when past): an agreement past its review date permits nothing."""
        today = self._clock()
        due = [(a, (a.review_date - today).days) for a in self.agreements]
        return sorted(
            ((a, days) for a, days in due if days <= within_days), key=lambda pair: pair[1]
        )

    def may_know(self, agency: Party, subject: SubjectAttributes) -> bool:
        """May this agency learn that the hub knows the person at all? Yes, unless a rule forbids
        it (`action == Action::"know"`): a restricted person is invisible to all but probation."""
        if self._know_set is None:
            forbids = {
                policy_id: policy
                for agreement in self.agreements
                for policy_id, policy in agreement.cedar_json.items()
                if agreement.flow(policy_id) is None
            }
            base = json.loads(
                cedarpy.policies_to_json_str(
                    'permit (principal is Agency, action == Action::"know", resource is Subject);'
                )
            )["staticPolicies"]
            self._know_set = cedarpy.PolicySet.from_json_str(
                json.dumps(
                    {
                        "staticPolicies": {"hub/know": next(iter(base.values())), **forbids},
                        "templates": {},
                        "templateLinks": [],
                    }
                )
            )
        result = cedarpy.is_authorized(
            {
                "principal": {"type": "Agency", "id": agency.agency_id},
                "action": {"type": "Action", "id": "know"},
                "resource": {"type": "Subject", "id": "subject"},
                "context": {},
            },
            self._know_set,
            _entities(DisclosureRequest(agency, agency, "", "", subject=subject)),
        )
        return bool(result.allowed) and not result.diagnostics.errors

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        message_types: Iterable[str],
        purposes: Iterable[str],
        agency_kinds: Iterable[str],
        clock: Callable[[], date] = date.today,
    ) -> Agreements:
        schema_text = SCHEMA_FILE.read_text()
        files = sorted(p for p in directory.glob("*.toml") if not p.name.endswith(".cases.toml"))
        digest = hashlib.sha256(b"schema\0" + schema_text.encode() + b"\0")
        vocab = (frozenset(message_types), frozenset(purposes), frozenset(agency_kinds))
        agreements = []
        for path in files:
            raw = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
            agreements.append(_parse(path, raw, schema_text, *vocab))
        ids = [a.id for a in agreements]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise AgreementError(f"{directory}: agreement ids used twice: {sorted(duplicates)}")
        return cls(agreements, digest.hexdigest(), clock)

    def decide(self, request: DisclosureRequest) -> DisclosureDecision:
        today = self._clock()
        in_force = tuple(a.id for a in self.agreements if a.review_date >= today)
        result = cedarpy.is_authorized(
            {
                "principal": {"type": "Agency", "id": request.recipient.agency_id},
                "action": {"type": "Action", "id": "disclose"},
                "resource": {"type": "Message", "id": "message"},
                "context": _context(request),
            },
            self._policy_set(in_force, request),
            _entities(request),
        )
        decided = tuple(sorted(result.diagnostics.reasons))
        if result.diagnostics.errors:
            # Cedar skips a policy whose evaluation fails, a forbid included: deny instead.
            return DisclosureDecision(
                permit=False,
                reasons=("a sharing rule could not be evaluated; denied until it is fixed",),
                policy_hash=self.policy_hash,
            )
        if result.allowed:
            flows = [
                (agreement, flow)
                for policy in decided
                for agreement in [self._by_id[policy.split("/", 1)[0]]]
                for flow in [agreement.flow(policy)]
                if flow is not None
            ]
            # The strongest basis names the decision: statute before public protection before
            # consent (every permitting policy is still named in the reasons).
            flows.sort(key=lambda pair: (BASIS_ORDER[pair[1].lawful_basis], pair[0].id))
            agreement, first = flows[0]
            fields: list[str] = []
            for _, flow in flows:
                for name in flow.fields_for(request.recipient, request.message_type):
                    if name not in fields:
                        fields.append(name)
            role = request.reader.role
            # A field any permitting flow withholds from the reader's role is withheld: the
            # narrower obligation wins.
            withheld = {n for _, flow in flows for n in flow.withheld_from.get(role, ())}
            kept = tuple(n for n in fields if n not in withheld)
            removed = tuple(n for n in fields if n in withheld)
            notes = (f"withheld from the {role} role: {', '.join(removed)}",) if removed else ()
            return DisclosureDecision(
                permit=True,
                reasons=tuple(f"permitted by {p}" for p in decided) + notes,
                policy_hash=self.policy_hash,
                agreement_id=agreement.id,
                agreement_version=agreement.version,
                lawful_basis=first.lawful_basis,
                fields=kept,
                policies=decided,
                withheld=removed,
            )
        if decided:  # a forbid matched
            reasons = tuple(f"forbidden by {p}" for p in decided)
        else:
            reasons = self._why_not(request, today)
        return DisclosureDecision(
            permit=False, reasons=reasons, policy_hash=self.policy_hash, policies=decided
        )

    def _why_not(self, request: DisclosureRequest, today: date) -> tuple[str, ...]:
        """For people: the nearest flows and what they lacked (Cedar only says nothing matched)."""
        hints = []
        for agreement in self.agreements:
            for flow in agreement.flows:
                if not (
                    {request.sender.kind, request.sender.agency_id} & flow.senders
                    and {request.recipient.kind, request.recipient.agency_id} & flow.recipients
                    and request.message_type in flow.types
                ):
                    continue
                where = f"{agreement.id}/flow-{flow.number}"
                if agreement.review_date < today:
                    hints.append(
                        f"{where}: the agreement passed its review date ({agreement.review_date})"
                    )
                elif request.purpose not in flow.purposes:
                    hints.append(f"{where} does not cover the purpose {request.purpose}")
                elif flow.lawful_basis == "consent":
                    hints.append(
                        f"{where} rests on consent, which the person has not given for this"
                    )
                else:
                    hints.append(f"{where}: its condition on the person is not met")
        return tuple(hints) or (
            "no agreement permits this sender to send this type to this recipient",
        )

    def _policy_set(self, in_force: tuple[str, ...], request: DisclosureRequest) -> Any:
        """The Cedar policies that can bear on this request: every `forbid`, and the `permit` of
        each flow from this sender for this message type (no other flow could match: sender and
        type are in every flow's conditions). So a decision's cost follows the flows that apply,
        not the number of agreements. Parsed once per (agreements in force, sender, type)."""
        key = (in_force, request.sender.kind, request.sender.agency_id, request.message_type)
        cached = self._sets.get(key)
        if cached is not None:
            return cached
        sender = {request.sender.kind, request.sender.agency_id}
        policies: dict[str, Any] = {}
        for agreement in self.agreements:
            for policy_id, policy in agreement.cedar_json.items():
                flow = agreement.flow(policy_id)
                if flow is None:
                    policies[policy_id] = policy  # a restriction holds, review date or not
                elif (
                    agreement.id in in_force
                    and flow.senders & sender
                    and request.message_type in flow.types
                ):
                    policies[policy_id] = policy
        compiled = cedarpy.PolicySet.from_json_str(
            json.dumps({"staticPolicies": policies, "templates": {}, "templateLinks": []})
        )
        if len(self._sets) >= 4096:  # bounded: senders and types are few in practice
            self._sets.clear()
        self._sets[key] = compiled
        return compiled


def _context(request: DisclosureRequest) -> dict[str, Any]:
    consent = request.consent
    return {
        "sender": {
            "id": request.sender.agency_id,
            "kind": request.sender.kind,
            "region": request.sender.region,
        },
        "purpose": request.purpose,
        "user": {"__entity": {"type": "User", "id": "reader"}},
        "now": {
            "__extn": {
                "fn": "datetime",
                "arg": (request.at or datetime.now(UTC))
                .astimezone(UTC)
                .strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        },
        "consent": {
            "given": consent.given,
            "grants": [{"recipient": r, "purpose": p} for r, p in sorted(consent.grants)],
            "exclusions": sorted(consent.exclusions),
        },
    }


def _entities(request: DisclosureRequest) -> list[dict[str, Any]]:
    recipient, person, reader = request.recipient, request.subject, request.reader
    return [
        {
            "uid": {"type": "User", "id": "reader"},
            "attrs": {"role": reader.role, "clearance": reader.clearance},
            "parents": [{"type": "Agency", "id": recipient.agency_id}],
        },
        {
            "uid": {"type": "Agency", "id": recipient.agency_id},
            "attrs": {
                "id": recipient.agency_id,
                "kind": recipient.kind,
                "region": recipient.region,
                "clearance": recipient.clearance,
            },
            "parents": [],
        },
        {
            "uid": {"type": "Subject", "id": "subject"},
            "attrs": {
                "roshLevel": person.rosh_level,
                "mappaCategory": person.mappa_category,
                "mappaLevel": person.mappa_level,
                "iomCohort": person.iom_cohort,
                "pathway": person.pathway,
                "restricted": person.restricted,
                "dischargeArea": person.discharge_area,
                "tier": person.tier,
                "caseOwners": sorted(person.case_owners),
            },
            "parents": [],
        },
        {
            "uid": {"type": "Message", "id": "message"},
            "attrs": {
                "type": request.message_type,
                "classification": request.classification,
                "subject": {"__entity": {"type": "Subject", "id": "subject"}},
            },
            "parents": [],
        },
    ]


def _parse(
    path: Path,
    raw: bytes,
    schema: str,
    types: frozenset[str],
    purposes: frozenset[str],
    kinds: frozenset[str],
) -> Agreement:
    def fail(reason: str) -> AgreementError:
        return AgreementError(f"{path}: {reason}")

    try:
        doc: dict[str, Any] = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise fail(f"not valid TOML: {error}") from None
    doc.setdefault("flows", [])
    for key in ("id", "version", "title", "review_date", "retention"):
        if key not in doc:
            raise fail(f"missing '{key}'")
    if unknown := set(doc) - AGREEMENT_KEYS:
        raise fail(f"unknown keys {sorted(unknown)} (a key after [[flows]] belongs to that flow)")
    if not isinstance(doc["review_date"], date):
        raise fail("'review_date' must be a date (YYYY-MM-DD)")
    agreement_id = str(doc["id"])
    if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", agreement_id):
        raise fail("'id' must be lower-case words joined by hyphens")
    if not isinstance(doc["flows"], list) or not (doc["flows"] or doc.get("rules")):
        raise fail("'flows' must list at least one flow (or 'rules' must restrict something)")
    flows = [
        _flow(n, flow, fail, types, purposes, kinds) for n, flow in enumerate(doc["flows"], start=1)
    ]
    rules = doc.get("rules", "")
    if not isinstance(rules, str):
        raise fail("'rules' must be Cedar policy text")
    for flow in flows:
        try:
            parsed_flow = json.loads(cedarpy.policies_to_json_str(flow.cedar(agreement_id)))
        except Exception as error:  # the Cedar parser's own error, whatever its type
            raise fail(f"flow {flow.number}: the condition does not parse: {error}") from None
        if len(parsed_flow["staticPolicies"]) != 1:
            raise fail(f"flow {flow.number}: the condition must be one Cedar expression")
    text = "".join(f.cedar(agreement_id) for f in flows) + rules
    try:
        validation = cedarpy.validate_policies(text, schema)
    except Exception as error:  # a syntax error surfaces as an exception from the parser
        raise fail(f"the Cedar rules do not parse: {error}") from None
    if not validation.validation_passed:
        problems = "; ".join(str(e) for e in validation.errors)
        raise fail(f"the Cedar rules do not fit the schema: {problems}")
    parsed = json.loads(cedarpy.policies_to_json_str(text))
    cedar_json: dict[str, Any] = {}
    flow_ids = {f"flow-{f.number}" for f in flows}
    for policy in parsed["staticPolicies"].values():
        local = policy.get("annotations", {}).get("id")
        if not local:
            raise fail('every rule needs an @id("...") annotation, to name it in decisions')
        if local in flow_ids and policy["effect"] == "permit":
            pass
        elif policy["effect"] != "forbid":
            raise fail(f"rule {local!r}: 'rules' may only forbid; permissions are flows")
        key = f"{agreement_id}/{local}"
        if key in cedar_json:
            raise fail(f"two rules are named {local!r}")
        cedar_json[key] = policy
    return Agreement(
        id=agreement_id,
        version=str(doc["version"]),
        title=str(doc["title"]),
        review_date=doc["review_date"],
        retention=str(doc["retention"]),
        flows=tuple(flows),
        rules=rules,
        path=str(path),
        cedar_json=cedar_json,
    )


def _flow(
    number: int,
    flow: Any,
    fail: Callable[[str], AgreementError],
    types: frozenset[str],
    purposes: frozenset[str],
    kinds: frozenset[str],
) -> Flow:
    where = f"flow {number}"
    if not isinstance(flow, dict):
        raise fail(f"{where}: must be a table")
    if extra := set(flow) - FLOW_KEYS:
        raise fail(f"{where}: unknown keys {sorted(extra)}")
    senders = _names(flow, "senders", fail, where)
    recipients = _names(flow, "recipients", fail, where)
    flow_types = _names(flow, "types", fail, where)
    flow_purposes = _names(flow, "purposes", fail, where)
    for party in senders | recipients:
        if party not in kinds and not AGENCY_ID.match(party):
            raise fail(f"{where}: {party!r} is neither an agency kind nor an agency id")
    if unknown := flow_types - types:
        raise fail(f"{where}: unknown message types {sorted(unknown)}")
    if unknown := flow_purposes - purposes:
        raise fail(f"{where}: unknown purposes {sorted(unknown)}")
    basis = flow.get("lawful_basis")
    if basis not in LAWFUL_BASES:
        raise fail(f"{where}: 'lawful_basis' must be one of {sorted(LAWFUL_BASES)}")
    reference = flow.get("legal_reference", "")
    if basis != "consent" and not (isinstance(reference, str) and reference.strip()):
        raise fail(f"{where}: a {basis} flow needs its 'legal_reference'")
    condition = flow.get("condition", "")
    if not isinstance(condition, str):
        raise fail(f"{where}: 'condition' must be a Cedar expression")
    field_map = flow.get("fields")
    if not isinstance(field_map, dict) or not field_map:
        raise fail(f"{where}: 'fields' must say which fields each recipient receives")
    parsed: dict[str, dict[str, tuple[str, ...]]] = {}
    for recipient, by_type in field_map.items():
        if recipient != "*" and recipient not in recipients:
            raise fail(f"{where}: fields for {recipient!r}, which is not a recipient of the flow")
        if not isinstance(by_type, dict) or set(by_type) != set(flow_types):
            raise fail(f"{where}: fields.{recipient} must list the fields for each of its types")
        for message_type, names in by_type.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise fail(f"{where}: fields.{recipient}.{message_type} must be a list of names")
        parsed[recipient] = {t: tuple(v) for t, v in by_type.items()}
    if "*" not in parsed and set(parsed) != recipients:
        raise fail(f"{where}: 'fields' must cover every recipient (or use \"*\")")
    withheld = flow.get("withheld_from", {})
    if not isinstance(withheld, dict):
        raise fail(f"{where}: 'withheld_from' must map user roles to field names")
    for role, names in withheld.items():
        if role not in ROLES:
            raise fail(f"{where}: withheld_from.{role}: unknown role (one of {sorted(ROLES)})")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise fail(f"{where}: withheld_from.{role} must be a list of field names")
        given = {n for by_type in parsed.values() for listed in by_type.values() for n in listed}
        if stray := set(names) - given:
            raise fail(f"{where}: withheld_from.{role}: {sorted(stray)} are not fields it gives")
    return Flow(
        number=number,
        senders=senders,
        recipients=recipients,
        types=flow_types,
        purposes=flow_purposes,
        lawful_basis=basis,
        legal_reference=str(reference),
        condition=condition,
        fields=parsed,
        withheld_from={role: frozenset(names) for role, names in withheld.items()},
    )


def _names(
    flow: Mapping[str, Any], key: str, fail: Callable[[str], AgreementError], where: str
) -> frozenset[str]:
    value = flow.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise fail(f"{where}: '{key}' must be a non-empty list of names")
    return frozenset(value)
