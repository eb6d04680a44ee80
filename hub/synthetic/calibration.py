"""The figures the synthetic population is drawn from, with their sources (DOMAIN.md, "Figures
for realistic synthetic data"; `seed:line` in shared/seeds/), and the vocabulary its documents
use. Figures the sources do not give are marked ASSUMED.

- about 200 releases a month (000:424), on weekdays;
- pathways 18% one, 18% two, 64% three (001:385): one is high or very high risk of serious harm,
  two a sentence of 12 months or more, three under 12 months;
- released out of area: 24%, 20% and 30% in the pilot's three cohorts (001:605), 25% here;
- reconvicted (an offence within 12 months of release, convicted within a further 6, out-of-court
  disposals excluded: 001:256): 55.7% after sentences under 12 months (001:258), 35.0% after 12
  months or more (002:614); each reoffender commits 4.8 further offences after under 12 months
  (83,370 / 17,318) and 2.9 after 12 months or more (26,988 / 9,443) (002:613-614);
- engaged with the community case manager 72% a month after release, 57% at 4-12 months
  (000:590-595); those supported sign a consent form (000:958-960);
- the case moves from the custody to the community case manager 6-8 weeks before release
  (000:406), with probation's referral form before release (000:464-484);
- court results up to 6 months after the offence (000:101-104).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


RELEASES_PER_MONTH = 200
WEEKDAYS_PER_MONTH = 365.25 / 12 * 5 / 7
PATHWAY_MIX = {1: 0.18, 2: 0.18, 3: 0.64}
OUT_OF_AREA = 0.25
RECONVICTION_RATE = {1: 0.350, 2: 0.350, 3: 0.557}
OFFENCES_PER_REOFFENDER = {1: 26_988 / 9_443, 2: 26_988 / 9_443, 3: 83_370 / 17_318}
ENGAGED_AT_ONE_MONTH = 0.72
ENGAGED_LATER = 0.57
HANDOVER_DAYS = (42, 56)  # 6-8 weeks before release
RESULT_DAYS = 182  # a court result within 6 months of the offence
# ASSUMED: the sources give no figure for these.
OFFENCE_SCALE_DAYS = 100  # reoffending comes early after release (a truncated exponential)
QUICK_RESULT = 0.4  # results within two weeks (a guilty plea at the first hearing)
LATER_NOT_CONVICTED = 0.1  # of a reoffender's later offences: acquitted or out of court
CHARGED_NOT_CONVICTED = 0.08  # people not reconvicted who face a charge that fails
BEFORE_RELEASE = 0.05  # convicted after release for an offence from before custody
IOM_SHARE = 0.3  # in-area people in for acquisitive crime adopted by IOM (000:331-334)
MAPPA_SHARE = 0.3  # of pathway one
RISK_ESCALATION = 0.1  # people whose provider reports a risk trigger firing
DEMO_OWNER_SHARE = 1 / 3  # cases held by the demo's own users, so their pages fill up
LOOKAHEAD = timedelta(days=HANDOVER_DAYS[1] + 7)  # people exist this long before release

IN_AREA = {"Doncaster": 0.4, "Sheffield": 0.3, "Rotherham": 0.15, "Barnsley": 0.15}
OUT_AREAS = ("Leeds", "Wakefield", "Nottingham", "Lincolnshire", "Kingston upon Hull", "Derby")
POSTCODES = dict(
    zip(
        (*IN_AREA, *OUT_AREAS),
        _words("DN1 S2 S60 S70 LS9 WF1 NG7 LN2 HU3 DE1"),
        strict=True,
    )
)
MAGISTRATES = {
    "Doncaster": ("B14DN00", "Doncaster Magistrates' Court"),
    "Sheffield": ("B14LO00", "Sheffield Magistrates' Court"),
    "Rotherham": ("B14RO00", "Rotherham Magistrates' Court"),
    "Barnsley": ("B14BA00", "Barnsley Magistrates' Court"),
}
CROWN = ("C14SH00", "Sheffield Crown Court")
ELSEWHERE = ("B13LS00", "Leeds Magistrates' Court")  # out-of-area results


@dataclass(frozen=True)
class Offence:
    """An offence as courts record it (CJS-shaped codes; illustrative) and how often it is the
    index offence for each pathway and a further offence after release (relative weights)."""

    code: str
    title: str
    mode: str  # Common Platform's modeOfTrial
    group: str  # IOM's offender group
    index: tuple[int, int, int]  # weights for pathways one, two, three
    further: int


_EW, _S, _I = "Either Way", "Summary", "Indictable"
OFFENCES = (
    Offence("TH68010", "Theft from a shop", _EW, "SAC", (0, 4, 30), 40),
    Offence("TH68023", "Burglary dwelling - with intent to steal", _EW, "SAC", (4, 20, 8), 6),
    Offence("TH68037", "Theft from the person of another", _EW, "SAC", (2, 6, 6), 5),
    Offence("TH68151", "Handle stolen goods", _EW, "SAC", (0, 4, 6), 5),
    Offence("TH68001", "Robbery", _I, "SAC", (20, 12, 0), 2),
    Offence("OF61016", "Assault occasioning actual bodily harm", _EW, "Violence", (20, 14, 8), 6),
    Offence(
        "OF61001", "Wounding with intent to do grievous bodily harm", _I, "Violence", (20, 2, 0), 1
    ),
    Offence("CJ88116", "Assault by beating", _S, "DA", (4, 4, 10), 10),
    Offence("MD71230", "Possess a controlled drug of Class A", _EW, "Drugs", (0, 2, 10), 10),
    Offence("MD71145", "Possess with intent to supply Class A", _EW, "Drugs", (10, 20, 2), 2),
    Offence("CD71039", "Criminal damage", _EW, "Other", (0, 2, 6), 6),
    Offence("PL96001", "Resist or obstruct a constable", _S, "Other", (0, 0, 4), 5),
    Offence("RT88191", "Drive while disqualified", _S, "Other", (0, 4, 6), 4),
)
# (label, CJS result code, duration unit, duration range, weight) for a conviction's disposal.
DISPOSALS = (
    ("Imprisonment", "1002", "M", (1, 11), 30),
    ("Community order", "1116", "M", (6, 24), 30),
    ("Suspended sentence order", "1115", "M", (6, 24), 10),
    ("Fine", "1015", None, None, 20),
    ("Conditional discharge", "1007", "M", (6, 24), 10),
)
# Each reoffending route: (status on reception, action taken in custody, outstanding actions).
ROUTES = {
    "accommodation": ("No fixed abode", "Housing application made", "Confirm an address"),
    "education_training_employment": ("Unemployed", "Level 1 English and maths", "ETE referral"),
    "health": ("Untreated mental health need", "Seen by the in-reach team", "Register with a GP"),
    "substance_misuse": ("Class A use", "Prescribing started", "Drug service on day one"),
    "families": ("No contact with family", "Family day attended", "Mediation referral"),
    "finance_debt": ("Rent arrears", "Benefit claim prepared", "Submit the claim on release"),
    "thinking_behaviour": ("Impulsive", "Thinking skills course begun", "Finish the course"),
}
# Risk triggers probation sets at allocation, and how the provider reports one firing.
TRIGGERS = {
    "ACCOM_LOSS": ("Loses accommodation or is evicted", "Landlord has served notice"),
    "DRUG_RELAPSE": ("Returns to Class A drug use", "Says he has used again"),
    "VIOLENT_ARREST": ("Arrested for any offence of violence", "Arrested after a fight"),
    "MISSED_APPOINTMENTS": ("Misses two appointments in a row", "Not seen for two weeks"),
}

# Names: common forenames (HMP Doncaster holds men), and surnames no one has.
FORENAMES = _words(
    "Aaron Adam Ben Callum Craig Dale Darren Dean Gary Jamie Jason Jordan Kyle Lee Liam Mark "
    "Martin Nathan Paul Reece Ryan Scott Shane Stuart Wayne Zak"
)
STAFF_FORENAMES = _words("Amira Beth Chris Dev Erin Faye Hannah Jo Kiran Lucy Nadia Omar Sam Tess")
SURNAME_STEMS = _words(
    "Bram Quill Zell Vosk Trell Murk Plover Gorse Sprock Wimble Fizzle Norb Tansy Crumb Dabble "
    "Jinks Pollock Wherry"
)
SURNAME_ENDS = _words("thorpe wick ford stead combe ley more gate bottom kettle shaw worth")
STREETS = ("Quillet Road", "Marrowby Lane", "Tansy Close", "Wimble Street", "Gorsemoor Way")
