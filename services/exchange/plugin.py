"""What one data category brings to the exchange: the small typed protocol every searched file plugs in through.

Both halves of the exchange are the same for every category; what differs is here. A category
(DNA, fingerprints, vehicles, facial images; police records next) implements `CategoryPlugin`:

- `validate`: the requesting state's check of a query before anything is supplied (DNA-4..6, VRD-1);
- `search`: the requested state's search of its file, as a `Supply` (the result for the caller and
  the logged form of the items supplied, LOG-2);
- `query_record`: the logged form of the query (the data supplied, Art 30), the same on both sides;
- `reference`: each received item's reference (a profile's or template's reference, a vehicle's
  VIN), which the requesting state logs in its receipt and a follow-up names (FOL-1);
- `verifies` / `verify`: the requesting state's own check of what came back, for a category that
  needs one (Art 9(2), FP-2): only what it confirms is a hit;
- `follow_up`: the follow-up a hit allows (FOL-1: the personal data behind it, or none).

A plug-in knows no gRPC. Its messages on the wire (the officer's query, the call to a peer, the
items in the officer's result) are its service's `wire` module's; `prum.services.categories`
registers both, one line per category.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from prum.services.common.category import Category
from prum.services.exchange.context import QueryContext

Q = TypeVar("Q")  #: the query: a profile, a probe with the candidates accepted, a vehicle key
#: the file searched: a DNA file, a gallery with its capacity, a register
F_contra = TypeVar("F_contra", contravariant=True)
#: what a search supplies: the hits, the candidate list, the records (a frozen Supply only gives it out)
S_co = TypeVar("S_co", covariant=True)
I = TypeVar("I")  #: one item as the requesting state receives it (a hit, a candidate, a vehicle record)


class FollowUp(StrEnum):
    """The follow-up a hit of the category allows."""

    NONE = "NONE"  # the reply is all there is (vehicles: the holder comes with the record, VRD-2)
    PERSONAL_DATA = "PERSONAL_DATA"  # FOL-1: the personal data behind a hit, between the contact points


@dataclass(frozen=True)
class Supply(Generic[S_co]):
    """What a searched file gives back: the result for the caller and what the log records of it."""

    result: S_co
    hit_count: int
    #: The logged form of the items supplied (LOG-2: the data supplied).
    data: dict[str, Any] = field(default_factory=dict)


class CategoryPlugin(Protocol[Q, F_contra, S_co, I]):
    """One category's part in both halves of the exchange (see the module docstring)."""

    @property
    def category(self) -> Category: ...

    @property
    def follow_up(self) -> FollowUp: ...

    @property
    def verifies(self) -> bool:
        """Whether the requesting state checks each received item itself (Art 9(2)) before it is a hit."""
        ...

    def validate(self, query: Q) -> Q:
        """The query as it may leave, or the domain error that refuses it before anything is supplied."""
        ...

    def query_record(self, query: Q) -> dict[str, Any]:
        """What the log keeps of the query, on both sides (Art 30: the data supplied)."""
        ...

    def search(self, file: F_contra, context: QueryContext, query: Q) -> Supply[S_co]:
        """The requested state's search of its file; the query is matched and forgotten (PUR-2)."""
        ...

    def reference(self, item: I) -> str:
        """A received item's reference, as receipts log it and a follow-up names it."""
        ...

    def verify(self, query: Q, items: tuple[I, ...]) -> tuple[tuple[I, ...], str]:
        """The items this state's own check confirms, and a line saying what it did. Called only if `verifies`."""
        ...
