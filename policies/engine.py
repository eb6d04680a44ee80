"""The policy decision point: may this sender disclose this message to this recipient?

This first engine reads the `[[flows]]` of each agreement: a flow permits a sender (agency kind or
id) to send listed message types to a recipient (kind or id) for listed purposes, disclosing the
listed fields. Anything no flow permits is denied: default deny, and an empty rule set denies
everything. The Cedar engine of the data sharing agreements replaces this class behind the same
`PolicyDecisionPoint` protocol.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol


class AgreementError(ValueError):
    """An agreement file is invalid; the message names the file and the reason."""


@dataclass(frozen=True)
class Party:
    """The agency at one end of a disclosure, with the attributes policies may use."""

    agency_id: str
    kind: str


@dataclass(frozen=True)
class DisclosureRequest:
    sender: Party
    recipient: Party
    message_type: str
    purpose: str


@dataclass(frozen=True)
class DisclosureDecision:
    permit: bool
    reasons: tuple[str, ...]
    policy_hash: str
    agreement_id: str | None = None
    agreement_version: str | None = None
    lawful_basis: str | None = None
    fields: tuple[str, ...] = ()

    @property
    def decision(self) -> str:
        return "permit" if self.permit else "deny"


class PolicyDecisionPoint(Protocol):
    policy_hash: str

    def decide(self, request: DisclosureRequest) -> DisclosureDecision: ...


@dataclass(frozen=True)
class Flow:
    senders: frozenset[str]
    recipients: frozenset[str]
    types: frozenset[str]
    purposes: frozenset[str]
    lawful_basis: str
    fields: Mapping[str, tuple[str, ...]]

    def matches(self, request: DisclosureRequest) -> bool:
        return (
            bool({request.sender.kind, request.sender.agency_id} & self.senders)
            and bool({request.recipient.kind, request.recipient.agency_id} & self.recipients)
            and request.message_type in self.types
        )


@dataclass(frozen=True)
class Agreement:
    id: str
    version: str
    title: str
    review_date: date
    flows: tuple[Flow, ...]
    path: str


# Agency ids are `kind-place` (e.g. courts-sheffield); a bare kind name is never an agency id.
AGENCY_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)+$")
LAWFUL_BASES = frozenset({"consent", "statutory_duty", "public_protection"})


class AgreementRouting:
    """Decides from agreement files. Construct with `load(directory, ...)`."""

    def __init__(
        self,
        agreements: Iterable[Agreement],
        policy_hash: str,
        clock: Callable[[], date] = date.today,
    ) -> None:
        self.agreements = tuple(agreements)
        self.policy_hash = policy_hash
        self._clock = clock

    @classmethod
    def load(
        cls,
        directory: Path,
        *,
        message_types: Iterable[str],
        purposes: Iterable[str],
        agency_kinds: Iterable[str],
        clock: Callable[[], date] = date.today,
    ) -> AgreementRouting:
        files = sorted(directory.glob("*.toml"))
        digest = hashlib.sha256()
        agreements = []
        vocab = (frozenset(message_types), frozenset(purposes), frozenset(agency_kinds))
        for path in files:
            raw = path.read_bytes()
            digest.update(path.name.encode() + b"\0" + raw + b"\0")
            agreements.append(_parse(path, raw, *vocab))
        ids = [a.id for a in agreements]
        duplicates = {i for i in ids if ids.count(i) > 1}
        if duplicates:
            raise AgreementError(f"{directory}: agreement ids used twice: {sorted(duplicates)}")
        return cls(agreements, digest.hexdigest(), clock)

    def decide(self, request: DisclosureRequest) -> DisclosureDecision:
        refusals: list[str] = []
        today = self._clock()
        for agreement in self.agreements:
            for flow in agreement.flows:
                if not flow.matches(request):
                    continue
                if request.purpose not in flow.purposes:
                    refusals.append(f"{agreement.id} does not cover the purpose {request.purpose}")
                    continue
                if agreement.review_date < today:
                    refusals.append(
                        f"{agreement.id} passed its review date ({agreement.review_date})"
                    )
                    continue
                if flow.lawful_basis == "consent":
                    # Claiming consent needs a consent record to check; none is held yet.
                    refusals.append(
                        f"{agreement.id} rests on consent, which the hub cannot verify yet"
                    )
                    continue
                return DisclosureDecision(
                    permit=True,
                    reasons=(f"permitted by {agreement.id} v{agreement.version}",),
                    policy_hash=self.policy_hash,
                    agreement_id=agreement.id,
                    agreement_version=agreement.version,
                    lawful_basis=flow.lawful_basis,
                    fields=flow.fields.get(request.message_type, ()),
                )
        reasons = tuple(refusals) or (
            "no agreement permits this sender to send this type to this recipient",
        )
        return DisclosureDecision(permit=False, reasons=reasons, policy_hash=self.policy_hash)


def _parse(
    path: Path, raw: bytes, types: frozenset[str], purposes: frozenset[str], kinds: frozenset[str]
) -> Agreement:
    def fail(reason: str) -> AgreementError:
        return AgreementError(f"{path}: {reason}")

    try:
        doc: dict[str, Any] = tomllib.loads(raw.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise fail(f"not valid TOML: {error}") from None
    for key in ("id", "version", "title", "review_date", "flows"):
        if key not in doc:
            raise fail(f"missing '{key}'")
    if not isinstance(doc["review_date"], date):
        raise fail("'review_date' must be a date (YYYY-MM-DD)")
    flows = []
    for n, flow in enumerate(doc["flows"], start=1):
        where = f"flow {n}"
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
        field_map = flow.get("fields", {})
        if not isinstance(field_map, dict) or set(field_map) != set(flow_types):
            raise fail(f"{where}: 'fields' must list the disclosed fields for each of its types")
        for message_type, names in field_map.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise fail(f"{where}: fields.{message_type} must be a list of field names")
        flows.append(
            Flow(
                senders=senders,
                recipients=recipients,
                types=flow_types,
                purposes=flow_purposes,
                lawful_basis=basis,
                fields={t: tuple(v) for t, v in field_map.items()},
            )
        )
    return Agreement(
        id=str(doc["id"]),
        version=str(doc["version"]),
        title=str(doc["title"]),
        review_date=doc["review_date"],
        flows=tuple(flows),
        path=str(path),
    )


def _names(flow: Mapping[str, Any], key: str, fail: Any, where: str) -> frozenset[str]:
    value = flow.get(key)
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise fail(f"{where}: '{key}' must be a non-empty list of names")
    return frozenset(value)
