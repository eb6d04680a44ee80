"""Probation's documents in (nDelius and OASys shapes); canonical records out."""

from adapters.probation.referrals import parse_referral

__all__ = ["parse_referral"]
