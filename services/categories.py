"""The searched categories of the federation, registered in one table: each one's plug-in and its wire.

A category brings two things. Its plug-in (`prum.services.exchange.plugin.CategoryPlugin`, without
gRPC) is what both halves of the exchange call: validate, search, the logged forms, each item's
reference, verification, the follow-up it allows. Its wire (a `CategoryWire`, in its service's `wire`
module, protobuf only) says where its
query and items travel: which field of the officer's `SearchRequest` carries the query, which RPC of
a peer answers it, which field of the officer's `StateResult` carries the items. The contact point's
servicer and its transport dispatch through `CATEGORIES`; nothing else names a category's modules.

Adding a category: its service package (core, plug-in, wire, servicer) and one line below.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.services.afis import plugin as afis_plugin
from prum.services.afis import wire as afis_wire
from prum.services.common.category import Category
from prum.services.dna import plugin as dna_plugin
from prum.services.dna import wire as dna_wire
from prum.services.exchange.plugin import CategoryPlugin
from prum.services.face import plugin as face_plugin
from prum.services.face import wire as face_wire
from prum.services.police_records import plugin as police_records_plugin
from prum.services.police_records import wire as police_records_wire
from prum.services.vehicle import plugin as vehicle_plugin
from prum.services.vehicle import wire as vehicle_wire

Q = TypeVar("Q")
I = TypeVar("I")
I_co = TypeVar("I_co", covariant=True)  #: the wire only gives items out


class CategoryWire(Protocol[Q, I_co]):
    """Where one category's query and items travel: in the officer's search, in the call to a peer, in the
    officer's result. Each searched category's service implements it in its `wire` module, registered with its
    plug-in below."""

    #: The field of the officer's `contact_point.v1.SearchRequest` (its `query` oneof) that carries the query.
    officer_field: str
    #: The field of the officer's `contact_point.v1.StateResult` that carries the items received.
    result_field: str
    #: The peer's unary RPC that answers the query.
    method: MethodDescriptor

    @property
    def reply_type(self) -> type[Message]:
        """The message class of the peer's reply (read-only here, so each wire may name its own)."""
        ...

    def officer_query(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery, max_candidates: int) -> Q:
        """The query of the officer's request, or of one category of a search across several (`CategoryQuery`
        names its query field as `SearchRequest` does); `max_candidates`: the most this state verifies (FP-3)."""
        ...

    def peer_request(self, context: common_pb2.QueryContext, query: Q) -> Message:
        """The request to one peer's data service."""
        ...

    def items(self, reply: Any) -> tuple[I_co, ...]:
        """The items of the peer's reply (an instance of `reply_type`)."""
        ...


@dataclass(frozen=True)
class Registration(Generic[Q, I]):
    """One searched category: its plug-in to the exchange and where its messages travel."""

    plugin: CategoryPlugin[Q, Any, Any, I]
    wire: CategoryWire[Q, I]

    @property
    def category(self) -> Category:
        return self.plugin.category


CATEGORIES: dict[Category, Registration[Any, Any]] = {r.category: r for r in (
    Registration(dna_plugin.PLUGIN, dna_wire.WIRE),
    Registration(afis_plugin.PLUGIN, afis_wire.WIRE),
    Registration(vehicle_plugin.PLUGIN, vehicle_wire.WIRE),
    Registration(face_plugin.PLUGIN, face_wire.WIRE),
    Registration(police_records_plugin.PLUGIN, police_records_wire.WIRE),
)}
