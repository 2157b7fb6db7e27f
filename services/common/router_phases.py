"""When the Prüm II router may, then must, carry the biometric searches (P2-TIME-1, Art 75(1) of Regulation
(EU) 2024/982), without gRPC.

The Commission sets the date from which states *may* use the router; its use becomes *mandatory* one year later
(postponable by at most one more year). Before the first date the 2008 mesh carries every search. Between the two,
a search goes through the router when both states' router connections are declared ready (P2-GATE-1) and on the
bilateral link otherwise: the move of a state from the mesh to the router is a Council decision in that window.
From the second date the bilateral links no longer carry DNA or fingerprint searches: the router does, and a state
whose router connection is not ready is not reachable for them.

The dates are federation-file settings (`[router] available_from`, `mandatory_from`); without them the router
carries the searches from the start (the federation is already past both dates).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from prum.services.common.errors import InvalidInput


def one_year_after(moment: datetime) -> datetime:
    """The same day and time one year later (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year + 1)
    except ValueError:
        return moment.replace(year=moment.year + 1, day=28)


@dataclass(frozen=True)
class RouterPhases:
    """The two dates of P2-TIME-1; `mandatory_from` defaults to one year after `available_from`."""

    available_from: datetime | None = None
    mandatory_from: datetime | None = None

    def __post_init__(self) -> None:
        if self.mandatory_from is not None and self.available_from is None:
            raise InvalidInput("is set without available_from; the router becomes mandatory one year after it may "
                               "be used (P2-TIME-1)", field="router.mandatory_from")
        if self.available_from is None:
            return
        earliest = one_year_after(self.available_from)
        if self.mandatory_from is None:
            object.__setattr__(self, "mandatory_from", earliest)
            return
        latest = one_year_after(earliest)
        if not earliest <= self.mandatory_from <= latest:
            raise InvalidInput(f"{self.mandatory_from.isoformat()}; allowed: one year after available_from "
                               f"({earliest.isoformat()}), postponed by at most one more year "
                               f"({latest.isoformat()}) (P2-TIME-1)", field="router.mandatory_from")

    def in_operation(self, now: datetime) -> bool:
        """Whether the router carries searches at `now` at all."""
        return self.available_from is None or now >= self.available_from

    def mesh_closed(self, now: datetime) -> bool:
        """Whether the bilateral links no longer carry DNA and fingerprint searches at `now`."""
        return self.mandatory_from is None or now >= self.mandatory_from

    def routes(self, now: datetime, requesting_ready: bool, requested_ready: bool) -> bool:
        """Whether a DNA or fingerprint search between two states goes through the router at `now`, given whether
        each state's router connection is declared ready."""
        if not self.in_operation(now):
            return False
        return self.mesh_closed(now) or (requesting_ready and requested_ready)

    def why_not_in_operation(self) -> str:
        assert self.available_from is not None
        return (f"the router carries searches from {self.available_from.isoformat()} (P2-TIME-1); until then the "
                f"2008 bilateral links do")

    def why_mesh_closed(self) -> str:
        since = f" since {self.mandatory_from.isoformat()}" if self.mandatory_from else ""
        return (f"DNA, fingerprint and facial-image searches go through the Prüm II router{since} (P2-TIME-1); the "
                f"bilateral link no longer carries them")
