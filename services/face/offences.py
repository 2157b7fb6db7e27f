"""The offences a facial-image search may be made for (P2-FACE-4), without gRPC.

Prüm II allows facial-image searches only for offences punishable by at least one year of imprisonment; the request
states the offence category. The table is a small fixed one in the broad groups of the common offence-category
table (Framework Decision 2009/315), each with the maximum penalty the simulator assumes for it in years.
"""

from __future__ import annotations

import enum

from prum.services.common.errors import NotAuthorised

#: The least maximum penalty, in years of imprisonment, an offence must carry (P2-FACE-4).
MINIMUM_PENALTY_YEARS = 1.0


class Offence(enum.Enum):
    """An offence category, with the maximum penalty in years the simulator assumes (the value's second part)."""

    HOMICIDE = ("HOMICIDE", 30.0)
    SEXUAL_OFFENCE = ("SEXUAL_OFFENCE", 10.0)
    ROBBERY = ("ROBBERY", 10.0)
    BURGLARY = ("BURGLARY", 5.0)
    TERRORISM = ("TERRORISM", 30.0)
    DRUG_TRAFFICKING = ("DRUG_TRAFFICKING", 12.0)
    FRAUD = ("FRAUD", 5.0)
    SHOPLIFTING = ("SHOPLIFTING", 0.5)
    TRAFFIC_OFFENCE = ("TRAFFIC_OFFENCE", 0.25)
    PUBLIC_ORDER_MINOR = ("PUBLIC_ORDER_MINOR", 0.5)

    @property
    def penalty_years(self) -> float:
        return self.value[1]

    @property
    def allows_face_search(self) -> bool:
        return self.penalty_years >= MINIMUM_PENALTY_YEARS


ALLOWED = tuple(o.name for o in Offence if o.allows_face_search)


def check_offence(offence: Offence, where: str) -> Offence:
    """The offence if it allows a facial-image search, else NotAuthorised saying which do (P2-FACE-4)."""
    if not offence.allows_face_search:
        raise NotAuthorised(f"offence: {offence.name} is punishable by at most {offence.penalty_years:g} year(s); a "
                            f"facial-image search needs an offence punishable by at least "
                            f"{MINIMUM_PENALTY_YEARS:g} year (P2-FACE-4), {where}; allowed: {', '.join(ALLOWED)}")
    return offence
