"""The first policy engine: default deny, agreements read from files, invalid files refused."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hub.domain.vocab import AgencyKind, MessageType, Purpose
from policies.engine import AgreementError, AgreementRouting, DisclosureRequest, Party

SEEDS = Path(__file__).resolve().parents[2] / "policies" / "agreements"
VOCAB = dict(
    message_types=[t.value for t in MessageType],
    purposes=[p.value for p in Purpose],
    agency_kinds=[k.value for k in AgencyKind],
)
COURTS = Party("courts-sheffield", "courts")
PROVIDER = Party("provider-doncaster-alliance", "provider")
PRISON = Party("prison-doncaster", "prison")


def _request(
    sender: Party,
    recipient: Party,
    message_type: str = "conviction",
    purpose: str = "case_management",
) -> DisclosureRequest:
    return DisclosureRequest(sender, recipient, message_type, purpose)


def test_seed_agreements_permit_with_fields_and_basis() -> None:
    engine = AgreementRouting.load(SEEDS, **VOCAB)
    decision = engine.decide(_request(COURTS, PROVIDER))
    assert decision.permit
    assert decision.agreement_id == "dsa-courts-conviction-information"
    assert decision.lawful_basis == "statutory_duty"
    assert decision.fields == ("offence", "severity", "convictionDate", "court", "disposal")
    assert decision.policy_hash == engine.policy_hash


def test_default_deny() -> None:
    engine = AgreementRouting.load(SEEDS, **VOCAB)
    assert not engine.decide(_request(COURTS, PRISON)).permit
    assert not engine.decide(_request(PROVIDER, COURTS)).permit
    wrong_purpose = engine.decide(_request(COURTS, PROVIDER, purpose="public_protection"))
    assert not wrong_purpose.permit and "purpose" in wrong_purpose.reasons[0]


def test_an_empty_rule_set_denies_everything(tmp_path: Path) -> None:
    engine = AgreementRouting.load(tmp_path, **VOCAB)
    assert not engine.decide(_request(COURTS, PROVIDER)).permit


GOOD = """
id = "dsa-x"
version = "1"
title = "x"
review_date = 2027-01-01
[[flows]]
senders = ["courts"]
recipients = ["provider"]
types = ["conviction"]
purposes = ["case_management"]
lawful_basis = "statutory_duty"
fields.conviction = ["offence"]
"""


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("id = ", "not valid TOML"),
        (GOOD.replace('title = "x"\n', ""), "missing 'title'"),
        (GOOD.replace('"conviction"]', '"gossip"]', 1), "unknown message types"),
        (GOOD.replace('"case_management"', '"curiosity"'), "unknown purposes"),
        (GOOD.replace('"statutory_duty"', '"because"'), "lawful_basis"),
        (
            GOOD.replace('fields.conviction = ["offence"]', 'fields.conviction = "offence"'),
            "list of field names",
        ),
        (
            GOOD.replace('recipients = ["provider"]', 'recipients = ["provder"]'),
            "neither an agency kind",
        ),
        (GOOD.replace('fields.conviction = ["offence"]', ""), "'fields'"),
        (GOOD.replace('senders = ["courts"]', "senders = []"), "'senders'"),
        (GOOD.replace("2027-01-01", '"soon"'), "review_date"),
    ],
)
def test_invalid_agreements_are_refused_naming_the_file(
    tmp_path: Path, text: str, reason: str
) -> None:
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(AgreementError, match=reason) as info:
        AgreementRouting.load(tmp_path, **VOCAB)
    assert "bad.toml" in str(info.value)


def test_policy_hash_follows_the_files(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    first = AgreementRouting.load(tmp_path, **VOCAB).policy_hash
    (tmp_path / "a.toml").write_text(GOOD.replace('version = "1"', 'version = "2"'))
    assert AgreementRouting.load(tmp_path, **VOCAB).policy_hash != first


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    (tmp_path / "b.toml").write_text(GOOD)
    with pytest.raises(AgreementError, match="used twice"):
        AgreementRouting.load(tmp_path, **VOCAB)


def test_consent_is_not_claimed_until_it_can_be_checked(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD.replace('"statutory_duty"', '"consent"'))
    decision = AgreementRouting.load(tmp_path, **VOCAB).decide(_request(COURTS, PROVIDER))
    assert not decision.permit
    assert decision.reasons == ("dsa-x rests on consent, which the hub cannot verify yet",)


def test_an_agreement_past_its_review_date_permits_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD)
    before = AgreementRouting.load(tmp_path, **VOCAB, clock=lambda: date(2026, 12, 31))
    after = AgreementRouting.load(tmp_path, **VOCAB, clock=lambda: date(2027, 1, 2))
    assert before.decide(_request(COURTS, PROVIDER)).permit
    refused = after.decide(_request(COURTS, PROVIDER))
    assert not refused.permit and "review date" in refused.reasons[0]


def test_agency_ids_name_one_agency(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(
        GOOD.replace('recipients = ["provider"]', 'recipients = ["provider-doncaster-alliance"]')
    )
    engine = AgreementRouting.load(tmp_path, **VOCAB)
    assert engine.decide(_request(COURTS, PROVIDER)).permit
    assert not engine.decide(_request(COURTS, Party("provider-elsewhere", "provider"))).permit
