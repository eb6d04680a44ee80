"""The Cedar policy engine: agreements from files, default deny, forbid overrides permit, fields
by recipient, consent and attributes from the hub's records, invalid files refused by name."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.domain.vocab import AgencyKind, MessageType, Purpose, Role
from policies.engine import (
    ROLES,
    SYSTEM,
    AgreementError,
    Agreements,
    Consent,
    DisclosureRequest,
    Party,
    Reader,
    SubjectAttributes,
)

SEEDS = Path(__file__).resolve().parents[2] / "policies" / "agreements"
VOCAB = dict(
    message_types=[t.value for t in MessageType],
    purposes=[p.value for p in Purpose],
    agency_kinds=[k.value for k in AgencyKind],
)
COURTS = Party("courts-sheffield", "courts")
PROVIDER = Party("provider-doncaster-alliance", "provider")
PROBATION = Party("probation-south-yorkshire", "probation", clearance=2)
PRISON = Party("prison-doncaster", "prison")
IOM = Party("iom-sheffield", "iom")
CONSENTED = Consent.covering(["case_management"], ["provider"])


def _request(
    sender: Party,
    recipient: Party,
    message_type: str = "conviction",
    purpose: str = "case_management",
    **kw: object,
) -> DisclosureRequest:
    return DisclosureRequest(sender, recipient, message_type, purpose, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def seeds() -> Agreements:
    return Agreements.load(SEEDS, **VOCAB).as_of(date(2026, 12, 1))


def test_seed_agreements_permit_with_fields_and_basis(seeds: Agreements) -> None:
    decision = seeds.decide(_request(COURTS, PROVIDER))
    assert decision.permit
    assert decision.agreement_id == "dsa-courts-conviction-information"
    assert decision.policies == ("dsa-courts-conviction-information/flow-2",)
    assert decision.lawful_basis == "statutory_duty"
    assert decision.fields == ("offence", "severity", "convictionDate", "court", "disposal")
    assert decision.policy_hash == seeds.policy_hash
    probation = seeds.decide(_request(COURTS, PROBATION))
    assert "plea" in probation.fields and "caseUrn" in probation.fields


def test_default_deny(seeds: Agreements) -> None:
    assert not seeds.decide(_request(COURTS, PRISON)).permit
    assert not seeds.decide(_request(PROVIDER, COURTS)).permit
    wrong_purpose = seeds.decide(_request(COURTS, PROVIDER, purpose="public_protection"))
    assert not wrong_purpose.permit and "purpose" in wrong_purpose.reasons[0]


def test_voluntary_cases_need_the_persons_consent(seeds: Agreements) -> None:
    voluntary = SubjectAttributes(pathway=3)
    refused = seeds.decide(_request(COURTS, PROVIDER, subject=voluntary))
    assert not refused.permit
    assert any("consent" in reason for reason in refused.reasons)
    permitted = seeds.decide(_request(COURTS, PROVIDER, subject=voluntary, consent=CONSENTED))
    assert permitted.permit and permitted.lawful_basis == "consent"
    assert "disposal" not in permitted.fields  # the consent flow discloses less
    excluded = Consent.covering(["case_management"], ["provider"], exclusions=["provider"])
    assert not seeds.decide(_request(COURTS, PROVIDER, subject=voluntary, consent=excluded)).permit
    other_purpose = Consent.covering(["resettlement"], ["provider"])
    assert not seeds.decide(
        _request(COURTS, PROVIDER, subject=voluntary, consent=other_purpose)
    ).permit


def test_a_forbid_overrides_every_permit(seeds: Agreements) -> None:
    restricted = SubjectAttributes(restricted=True)
    refused = seeds.decide(_request(COURTS, PROVIDER, subject=restricted))
    assert not refused.permit
    assert refused.policies == ("hub-wide-restrictions/restricted-person",)
    assert seeds.decide(_request(COURTS, PROBATION, subject=restricted)).permit


def test_police_intelligence_never_reaches_an_uncleared_provider(seeds: Agreements) -> None:
    intelligence = dict(classification="police_intelligence")
    to_provider = seeds.decide(
        _request(IOM, PROVIDER, "cohort-membership", "case_management", **intelligence)
    )
    assert not to_provider.permit
    assert "hub-wide-restrictions/intelligence-needs-clearance" in to_provider.policies
    # No seed agreement sends the IOM case summary to a provider, cleared or not.
    cleared_provider = Party("provider-doncaster-alliance", "provider", clearance=2)
    summary = seeds.decide(
        _request(
            IOM,
            cleared_provider,
            "case-summary",
            "risk_management",
            user=Reader("case_manager", 2),
            **intelligence,
        )
    )
    assert not summary.permit and summary.policies == ()
    cleared = seeds.decide(
        _request(IOM, PROBATION, "case-summary", "risk_management", **intelligence)
    )
    assert cleared.permit and "riskSummary" in cleared.fields
    uncleared = Party("probation-elsewhere", "probation", clearance=1)
    assert not seeds.decide(
        _request(IOM, uncleared, "case-summary", "risk_management", **intelligence)
    ).permit


def test_fields_differ_by_recipient(seeds: Agreements) -> None:
    to_probation = seeds.decide(_request(IOM, PROBATION, "cohort-membership"))
    to_provider = seeds.decide(_request(IOM, PROVIDER, "cohort-membership"))
    assert "offenderGroup" in to_probation.fields and "offenderGroup" not in to_provider.fields
    summary = seeds.decide(
        _request(
            Party("probation-south-yorkshire", "probation"),
            PROVIDER,
            "case-summary",
            "risk_management",
        )
    )
    assert summary.permit and "riskSummary" not in summary.fields  # never the risk narrative


def test_an_empty_rule_set_denies_everything(tmp_path: Path) -> None:
    engine = Agreements.load(tmp_path, **VOCAB)
    assert not engine.decide(_request(COURTS, PROVIDER)).permit


GOOD = """
id = "dsa-x"
version = "1"
title = "x"
review_date = 2027-01-01
retention = "P1Y"
[[flows]]
senders = ["courts"]
recipients = ["provider"]
types = ["conviction"]
purposes = ["case_management"]
lawful_basis = "statutory_duty"
legal_reference = "an Act"
fields."*".conviction = ["offence"]
"""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id = ", "not valid TOML"),
        (GOOD.replace('title = "x"\n', ""), "missing 'title'"),
        (GOOD.replace('"conviction"]', '"gossip"]', 1), "unknown message types"),
        (GOOD.replace('"case_management"', '"curiosity"'), "unknown purposes"),
        (GOOD.replace('"statutory_duty"', '"because"'), "lawful_basis"),
        (GOOD.replace('legal_reference = "an Act"\n', ""), "legal_reference"),
        (GOOD.replace('= ["offence"]', '= "offence"'), "list of names"),
        (
            GOOD.replace('recipients = ["provider"]', 'recipients = ["provder"]'),
            "neither an agency kind",
        ),
        (GOOD.replace('fields."*".conviction = ["offence"]', ""), "'fields'"),
        (GOOD.replace('fields."*"', "fields.probation"), "not a recipient"),
        (GOOD.replace('senders = ["courts"]', "senders = []"), "'senders'"),
        (GOOD.replace("2027-01-01", '"soon"'), "review_date"),
        (GOOD + 'condition = "resource.subject.pathwya == 3"\n', "schema"),
        (GOOD + 'condition = "resource.subject.pathway =="\n', "parse"),
        (GOOD + 'colour = "red"\n', "unknown keys"),
        (GOOD + 'withheld_from.gardener = ["offence"]\n', "unknown role"),
        (GOOD + 'withheld_from.volunteer = ["plea"]\n', "not fields it gives"),
        (GOOD + 'withheld_from.volunteer = "offence"\n', "list of field names"),
        (
            GOOD.replace("[[flows]]", "rules = 'permit (principal, action, resource);'\n[[flows]]"),
            "@id",
        ),
        (
            GOOD.replace(
                "[[flows]]",
                "rules = '@id(\"open\") permit (principal, action, resource);'\n[[flows]]",
            ),
            "may only forbid",
        ),
    ],
)
def test_invalid_agreements_are_refused_naming_the_file(
    tmp_path: Path, text: str, reason: str
) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(AgreementError, match=reason) as info:
        Agreements.load(tmp_path, **VOCAB)
    assert "bad.toml" in str(info.value)


def test_policy_hash_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    first = Agreements.load(tmp_path, **VOCAB).policy_hash
    (tmp_path / "a.toml").write_text(GOOD.replace('version = "1"', 'version = "2"'))
    assert Agreements.load(tmp_path, **VOCAB).policy_hash != first


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(AgreementError, match="used twice"):
        Agreements.load(tmp_path, **VOCAB)


def test_an_agreement_past_its_review_date_permits_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    before = Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2026, 12, 31))
    after = Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2027, 1, 2))
    assert before.decide(_request(COURTS, PROVIDER)).permit
    refused = after.decide(_request(COURTS, PROVIDER))
    assert not refused.permit and "review date" in refused.reasons[0]


def test_agency_ids_name_one_agency(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        GOOD.replace('recipients = ["provider"]', 'recipients = ["provider-doncaster-alliance"]')
    )
    engine = Agreements.load(tmp_path, **VOCAB)
    assert engine.decide(_request(COURTS, PROVIDER)).permit
    assert not engine.decide(_request(COURTS, Party("provider-elsewhere", "provider"))).permit


# Random people, recipients, purposes and consent against the seed agreements.
_parties = st.sampled_from(
    [COURTS, PROVIDER, PROBATION, PRISON, IOM, Party("provider-x", "provider", clearance=2)]
)
_subjects = st.builds(
    SubjectAttributes,
    rosh_level=st.sampled_from(["", "LOW", "MEDIUM", "HIGH", "VERY_HIGH"]),
    mappa_category=st.integers(0, 3),
    mappa_level=st.integers(0, 3),
    iom_cohort=st.booleans(),
    pathway=st.integers(0, 3),
    restricted=st.booleans(),
)
_kinds = st.frozensets(st.sampled_from([k.value for k in AgencyKind]))
_consents = st.builds(
    Consent,
    given=st.booleans(),
    grants=st.frozensets(
        st.tuples(
            st.sampled_from([k.value for k in AgencyKind] + ["provider-doncaster-alliance"]),
            st.sampled_from([p.value for p in Purpose]),
        )
    ),
    exclusions=_kinds,
)
_readers = st.one_of(
    st.none(),
    st.builds(Reader, role=st.sampled_from(sorted(ROLES)), clearance=st.integers(0, 2)),
)
_requests = st.builds(
    DisclosureRequest,
    user=_readers,
    sender=_parties,
    recipient=_parties,
    message_type=st.sampled_from([t.value for t in MessageType]),
    purpose=st.sampled_from([p.value for p in Purpose]),
    subject=_subjects,
    consent=_consents,
    classification=st.sampled_from(
        ["personal", "special_category", "police_intelligence", "commercially_sensitive"]
    ),
)


@settings(max_examples=300, deadline=None)
@given(_requests)
def test_a_permit_always_names_a_flow_whose_terms_it_meets(request: DisclosureRequest) -> None:
    engine = _seeds()
    decision = engine.decide(request)
    if not decision.permit:
        return
    assert decision.policies
    for policy in decision.policies:
        agreement_id, local = policy.split("/", 1)
        [agreement] = [a for a in engine.agreements if a.id == agreement_id]
        flow = agreement.flow(policy)
        assert flow is not None  # only flows permit
        assert {request.sender.kind, request.sender.agency_id} & flow.senders
        assert {request.recipient.kind, request.recipient.agency_id} & flow.recipients
        assert request.message_type in flow.types and request.purpose in flow.purposes
        if flow.lawful_basis == "consent":
            assert request.consent.given
            assert {
                (request.recipient.kind, request.purpose),
                (request.recipient.agency_id, request.purpose),
            } & request.consent.grants
            assert not {request.recipient.kind, request.recipient.agency_id} & (
                request.consent.exclusions
            )


@settings(max_examples=300, deadline=None)
@given(_requests)
def test_any_matching_forbid_denies(request: DisclosureRequest) -> None:
    decision = _seeds().decide(request)
    restricted = request.subject.restricted and request.recipient.kind != "probation"
    intelligence = request.classification == "police_intelligence" and (
        request.recipient.clearance < 2 or request.reader.clearance < 2
    )
    narrative = request.reader.role == "volunteer" and request.message_type in (
        "case-summary",
        "risk-escalation",
    )
    if restricted or intelligence or narrative:
        assert not decision.permit
    if decision.permit and request.reader.role == "volunteer":
        assert not {"riskOfSeriousHarm", "riskOfReoffending", "sentencePlanSummary"} & set(
            decision.fields
        )


_SEEDS: list[Agreements] = []


def _seeds() -> Agreements:
    if not _SEEDS:
        _SEEDS.append(Agreements.load(SEEDS, **VOCAB).as_of(date(2026, 12, 1)))
    return _SEEDS[0]


def test_the_roles_rules_may_name_are_the_hubs_roles() -> None:
    assert {r.value for r in Role} | {SYSTEM} == ROLES


def test_a_volunteer_sees_the_referral_without_its_risk_detail(seeds: Agreements) -> None:
    probation = Party("probation-south-yorkshire", "probation")
    agency = seeds.decide(_request(probation, PROVIDER, "referral", "resettlement"))
    volunteer = seeds.decide(
        _request(probation, PROVIDER, "referral", "resettlement", user=Reader("volunteer"))
    )
    assert agency.permit and volunteer.permit
    assert volunteer.withheld == ("riskOfSeriousHarm", "riskOfReoffending", "sentencePlanSummary")
    assert volunteer.fields == tuple(f for f in agency.fields if f not in volunteer.withheld)
    assert any("withheld from the volunteer role" in r for r in volunteer.reasons)
    summary = seeds.decide(
        _request(probation, PROVIDER, "case-summary", "risk_management", user=Reader("volunteer"))
    )
    assert not summary.permit
    assert summary.policies == ("hub-wide-restrictions/no-risk-narrative-to-volunteers",)


def test_a_restricted_person_is_known_to_probation_only(seeds: Agreements) -> None:
    restricted = SubjectAttributes(restricted=True)
    assert seeds.may_know(PROBATION, restricted)
    for agency in (PROVIDER, IOM, COURTS, PRISON):
        assert not seeds.may_know(agency, restricted)
        assert seeds.may_know(agency, SubjectAttributes())


GATED = """
id = "dsa-intelligence-to-cleared-providers"
version = "1"
title = "Police intelligence to a cleared provider's vetted staff"
review_date = 2027-01-01
retention = "P1Y"
[[flows]]
senders = ["iom"]
recipients = ["provider"]
types = ["case-summary"]
purposes = ["risk_management"]
lawful_basis = "public_protection"
legal_reference = "Crime and Disorder Act 1998 s.115"
condition = "principal.clearance >= 2 && context.user.clearance >= 2"
fields."*".case-summary = ["roshLevel", "riskSummary"]
"""


def test_a_clearance_gated_agreement_reaches_only_vetted_people(tmp_path: Path) -> None:
    (tmp_path / "gated.toml").write_text(GATED)
    restrictions = "hub-wide-restrictions.toml"
    (tmp_path / restrictions).write_text((SEEDS / restrictions).read_text())
    engine = Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2026, 12, 1))
    cleared = Party("provider-doncaster-alliance", "provider", clearance=2)

    def permits(recipient: Party, user: Reader | None) -> bool:
        request = _request(
            IOM,
            recipient,
            "case-summary",
            "risk_management",
            classification="police_intelligence",
            user=user,
        )
        return engine.decide(request).permit

    assert permits(cleared, Reader("case_manager", 2))
    assert permits(cleared, None)  # the cleared provider's own system
    assert not permits(cleared, Reader("case_manager", 1))
    assert not permits(cleared, Reader("volunteer", 2))  # never the risk narrative
    assert not permits(PROVIDER, Reader("case_manager", 2))  # the provider is not cleared


EMBARGO = """
id = "embargo"
version = "1"
title = "Nothing after the pilot ends"
review_date = 2027-01-01
retention = "P0D"
rules = '''
@id("after-the-pilot")
forbid (principal, action == Action::"disclose", resource)
when { context.now >= datetime("2026-12-25T00:00:00Z") };
'''
"""


def test_rules_may_use_the_time_tier_and_case_owners(tmp_path: Path) -> None:
    condition = (
        "resource.subject.caseOwners.contains(principal.id) && resource.subject.tier == 'fixed'"
    ).replace("'", '\\"')
    (tmp_path / "a.toml").write_text(GOOD + f'condition = "{condition}"\n')
    (tmp_path / "b.toml").write_text(EMBARGO)
    engine = Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2026, 12, 1))
    owned = SubjectAttributes(tier="fixed", case_owners=frozenset({PROVIDER.agency_id}))
    before = datetime(2026, 12, 1, tzinfo=UTC)
    assert engine.decide(_request(COURTS, PROVIDER, subject=owned, at=before)).permit
    assert not engine.decide(
        _request(COURTS, PROVIDER, subject=SubjectAttributes(tier="fixed"), at=before)
    ).permit
    assert not engine.decide(
        _request(COURTS, PROVIDER, subject=replace(owned, tier="flex"), at=before)
    ).permit
    late = engine.decide(
        _request(COURTS, PROVIDER, subject=owned, at=datetime(2026, 12, 25, tzinfo=UTC))
    )
    assert not late.permit and late.policies == ("embargo/after-the-pilot",)


def test_reviews_due_names_agreements_near_or_past_their_date(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    assert Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2026, 1, 1)).reviews_due() == []
    [(soon, days)] = Agreements.load(
        tmp_path, **VOCAB, clock=lambda: date(2026, 12, 1)
    ).reviews_due()
    assert soon.id == "dsa-x" and days == 31
    [(_, past)] = Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2027, 2, 1)).reviews_due()
    assert past == -31
