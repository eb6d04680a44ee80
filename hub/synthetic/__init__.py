"""A synthetic population of people leaving HMP Doncaster, as the agencies' own documents: what
`hub simulate` sends the hub (`hub.simulate`). Pure: no clock, no network; the same seed and
start day give the same people and the same documents, day by day.

`calibration` holds the figures, each with its source in DOMAIN.md's seeds; `population` makes
the people and what happens to them; `documents` writes it in each agency's own format
(tests/fixtures/formats/FORMATS.md). Everything is synthetic and looks it: surnames of invented
syllables, prison and case numbers beginning with Z, PNC and CRO serials from 9000000 and 900000
(with valid check letters), invented streets, postcodes ending 9ZZ.
"""

from hub.synthetic.people import Officer, Person, Staff
from hub.synthetic.population import Day, Population

__all__ = ["Day", "Officer", "Person", "Population", "Staff"]
