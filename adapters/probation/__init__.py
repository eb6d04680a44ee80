"""Probation's documents in (nDelius and OASys shapes); canonical records out, and back."""

from adapters.base import Document
from adapters.probation.cases import parse_case
from adapters.probation.outbound import render
from adapters.probation.referrals import parse_referral
from hub.domain.vocab import AgencyKind

DOCUMENTS = (
    Document(
        agency_kind=AgencyKind.PROBATION,
        name="cases",
        media_type="application/json",
        parse=lambda stream: parse_case(stream.read()),
        title="a case summary (nDelius and OASys)",
    ),
    Document(
        agency_kind=AgencyKind.PROBATION,
        name="referrals",
        media_type="application/json",
        parse=lambda stream: parse_referral(stream.read()),
        title="a pre-release referral form, probation to the provider",
    ),
)

__all__ = ["DOCUMENTS", "parse_case", "parse_referral", "render"]
