"""The router's messages to and from its core's types (protobuf only, no gRPC), and where each routed category
travels: in `RouteRequest`, in the call to a state's data service (the RPC its category's wire names for the mesh),
and in `RoutedResult`.

The router's servicer and transport convert through here, and so does a contact point's `RouterTransport`.
Adding a routed category: one `RoutedWire` in `ROUTED` (DNA, fingerprints, facial images).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message
from prum.afis.v1 import afis_pb2
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2
from prum.face.v1 import face_pb2
from prum.router.v1 import router_pb2 as pb
from prum.services.afis import wire as afis_wire
from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput
from prum.services.common.wire import CATEGORY_TO_PROTO, STATUS_TO_PROTO, category_from_proto, timestamp
from prum.services.dna import wire as dna_wire
from prum.services.face import wire as face_wire
from prum.services.router.log import RoutedEntry, RouterStats
from prum.services.router.routing import RoutedResult, RoutedSearch


@dataclass(frozen=True)
class RoutedWire:
    """Where one routed category's query and reply travel."""

    category: Category
    #: The field of `RouteRequest` (its `query` oneof) that carries the query.
    query_field: str
    #: The field of `RoutedResult` (its `reply` oneof) that carries the state's reply.
    reply_field: str
    #: The data service's RPC that answers the query: the one its category's wire names for the mesh.
    method: MethodDescriptor
    reply_type: type[Message]
    #: The request to one state's data service, from the context addressed to it and the router's request (a
    #: `RouteRequest` or a `CategorySearch`).
    peer_request: Callable[[common_pb2.QueryContext, Any], Message]
    #: The query fields of a `RouteRequest` from the request a contact point would send the state directly.
    route_query: Callable[[Any], dict[str, Any]]
    #: The items of a state's reply (hits or candidates): HIT when there are some.
    items: Callable[[Any], tuple[Any, ...]]


ROUTED: dict[Category, RoutedWire] = {w.category: w for w in (
    RoutedWire(
        Category.DNA, "profile", "dna_reply", dna_wire.WIRE.method, dna_pb2.SearchResponse,
        lambda context, route: dna_pb2.SearchRequest(context=context, profile=route.profile),
        lambda request: {"profile": request.profile},
        dna_wire.WIRE.items),
    RoutedWire(
        Category.FINGERPRINT, "fingerprint", "fingerprint_reply", afis_wire.WIRE.method, afis_pb2.SearchResponse,
        lambda context, route: afis_pb2.SearchRequest(context=context, probe=route.fingerprint.probe,
                                                      max_candidates=route.fingerprint.max_candidates),
        lambda request: {"fingerprint": pb.FingerprintQuery(probe=request.probe,
                                                            max_candidates=request.max_candidates)},
        afis_wire.WIRE.items),
    RoutedWire(
        Category.FACE, "face", "face_reply", face_wire.WIRE.method, face_pb2.SearchResponse,
        lambda context, route: face_pb2.SearchRequest(context=context, probe=route.face.probe,
                                                      offence=route.face.offence),
        lambda request: {"face": face_pb2.FaceQuery(probe=request.probe, offence=request.offence)},
        face_wire.WIRE.items),
)}



def routed_wire(category: Category) -> RoutedWire:
    try:
        return ROUTED[category]
    except KeyError:
        raise InvalidInput(f"{category.name}; the router carries {', '.join(c.name for c in ROUTED)} searches "
                           f"only (vehicle searches stay on their own path, P2-VRD-1)", field="category") from None


def _query_of(category: Category, context: common_pb2.QueryContext, message: Any,
              where: str) -> tuple[common_pb2.QueryContext, Any]:
    """The query of `category` as the core carries it, unread, to the transport: the caller's context and
    `message` (a `RouteRequest` or a `CategorySearch`: both name the query fields alike), checked to carry it."""
    wire = routed_wire(category)
    if message.WhichOneof("query") != wire.query_field:
        raise InvalidInput(f"is {message.WhichOneof('query') or 'not set'}; a {category.name} search carries "
                           f"`{wire.query_field}`", field=where)
    return context, message


def search_from_proto(request: pb.RouteRequest) -> RoutedSearch:
    """The core's search; the request itself travels on as its query, for the transport to forward."""
    category = category_from_proto(request.category)
    context = request.context
    return RoutedSearch(request_id=context.request_id, requesting_state=context.requesting_state,
                        requested_state=context.requested_state,
                        queries={category: _query_of(category, context, request, "query")},
                        target_states=tuple(request.target_states), deadline_ms=request.deadline_ms)


def several_from_proto(request: pb.RouteSeveralRequest) -> RoutedSearch:
    """The core's search across several categories; each `CategorySearch` travels on as its category's query."""
    context = request.context
    queries: dict[Category, Any] = {}
    for index, search in enumerate(request.searches):
        where = f"searches[{index}]"
        category = category_from_proto(search.category, f"{where}.category")
        if category in queries:
            raise InvalidInput(f"{category.name} is searched twice; each category at most once", field=where)
        queries[category] = _query_of(category, context, search, f"{where}.query")
    return RoutedSearch(request_id=context.request_id, requesting_state=context.requesting_state,
                        requested_state=context.requested_state, queries=queries,
                        target_states=tuple(request.target_states), deadline_ms=request.deadline_ms)


def result_to_proto(result: RoutedResult) -> pb.RoutedResult:
    message = pb.RoutedResult(state=result.state, category=CATEGORY_TO_PROTO[result.category],
                              status=STATUS_TO_PROTO[result.status], code=result.code, detail=result.detail,
                              elapsed_ms=result.elapsed_ms)
    if result.reply is not None:
        getattr(message, ROUTED[result.category].reply_field).CopyFrom(result.reply)
    return message


def entry_to_proto(entry: RoutedEntry) -> pb.RoutedQuery:
    return pb.RoutedQuery(
        sequence=entry.sequence, request_id=entry.request_id, reply_id=entry.reply_id,
        requesting_state=entry.requesting_state, requested_state=entry.requested_state,
        category=CATEGORY_TO_PROTO[entry.category], received_at=timestamp(entry.received_at),
        answered_at=timestamp(entry.answered_at), status=STATUS_TO_PROTO[entry.status], code=entry.code,
        hit_count=entry.hit_count, elapsed_ms=entry.elapsed_ms)


def stats_to_proto(stats: RouterStats) -> pb.RouterStats:
    return pb.RouterStats(state=stats.state, category=CATEGORY_TO_PROTO[stats.category],
                          queries_routed=stats.queries_routed, hits=stats.hits, no_hits=stats.no_hits,
                          refusals=stats.refusals, failures=stats.failures)
