"""What review found: consents combine pair by pair, a condition cannot loosen its flow, and a
restriction outlives its agreement's review date."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from policies.engine import AgreementError, Agreements, Consent, SubjectAttributes
from tests.unit.test_policy_engine import COURTS, GOOD, PROVIDER, SEEDS, VOCAB, _request

RESTRICTION = """rules = '''
@id("r")
forbid (principal, action == Action::"disclose", resource is Message)
when { resource.subject.restricted };
'''
"""


def test_two_consents_never_combine_into_a_pair_neither_allowed() -> None:
    # One consent lets the provider have it for resettlement, another lets probation for case
    # management: the provider may not have it for case management.
    both = Consent(
        True, frozenset({("provider", "resettlement"), ("probation", "case_management")})
    )
    voluntary = SubjectAttributes(pathway=3)
    seeds = Agreements.load(SEEDS, **VOCAB)
    assert not seeds.decide(_request(COURTS, PROVIDER, subject=voluntary, consent=both)).permit
    one = Consent.covering(["case_management"], ["provider"])
    assert seeds.decide(_request(COURTS, PROVIDER, subject=voluntary, consent=one)).permit


@pytest.mark.parametrize(
    "condition",
    [
        'condition = "resource.subject.pathway == 3) || (true"\n',
        "condition = 'true }; @id(\"open\") permit (principal, action, resource) when { true'\n",
    ],
)
def test_a_condition_cannot_loosen_its_flow(tmp_path: Path, condition: str) -> None:
    (tmp_path / "a.toml").write_text(GOOD + condition)
    with pytest.raises(AgreementError, match="condition"):
        Agreements.load(tmp_path, **VOCAB)


def test_a_restriction_holds_after_its_agreement_is_due_for_review(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(GOOD.replace("2027-01-01", "2099-01-01"))
    (tmp_path / "b.toml").write_text(
        GOOD.replace('id = "dsa-x"', 'id = "dsa-y"').replace("[[flows]]", RESTRICTION + "[[flows]]")
    )
    later = Agreements.load(tmp_path, **VOCAB, clock=lambda: date(2028, 1, 1))
    assert later.decide(_request(COURTS, PROVIDER)).permit
    refused = later.decide(_request(COURTS, PROVIDER, subject=SubjectAttributes(restricted=True)))
    assert not refused.permit and refused.policies == ("dsa-y/r",)
