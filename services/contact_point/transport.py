"""The contact point's transport to its peers over gRPC: the exchange's requesting side reaches the peers
through it, on the state's channels to them (`prum.services.common.channels`), a deadline on every call.

Two transports: `GrpcPeers` asks each peer's data service directly (the 2008 mesh); `RouterTransport` (the Prüm II
router topology) sends DNA and fingerprint searches through the central router, one `Route` per requested state,
and every other search (vehicles, P2-VRD-1) on `GrpcPeers`' bilateral path.

An adapter beside the servicers, not a core: a search goes to the RPC its category's wire names
(`prum.services.categories`), with no per-category code here. A peer's status code becomes a per-state
result status here, in one table; nothing a peer answers turns into UNKNOWN.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import grpc
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.router.v1 import router_pb2, router_pb2_grpc
from prum.services.categories import CATEGORIES, CategoryWire
from prum.services.common.category import Category
from prum.services.common.channels import PeerChannels, call_method, status_of_error
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.identity import ROUTER
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.common.router_phases import RouterPhases
from prum.services.common.wire import CATEGORY_TO_PROTO, STATUS_FROM_PROTO, category_from_proto, timestamp
from prum.services.contact_point.wire import (
    INFORMATION_PURPOSE_TO_PROTO,
    informed_person_to_proto,
    personal_data_from_proto,
)
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.follow_up import PersonalData
from prum.services.exchange.information import InformationPurpose, InformedPerson
from prum.services.exchange.requesting import PeerAnswer, ResultStatus
from prum.services.exchange.wire import context_to_proto, header_from_proto
from prum.services.router.wire import ROUTED
from prum.services.supervisor import ReadinessBook


def answer_of_error(error: grpc.RpcError) -> PeerAnswer:
    return PeerAnswer(*status_of_error(error))


class GrpcPeers:
    """The exchange's transport to the peers of one state (`PeerTransport`, `FollowUpTransport`,
    `InformationTransport`), on the state's channels to its peers."""

    def __init__(self, channels: PeerChannels,
                 wires: Mapping[Category, CategoryWire[Any, Any]] | None = None) -> None:
        self.channels = channels
        self.wires = wires if wires is not None else {c: r.wire for c, r in CATEGORIES.items()}

    def ask(self, category: Category, context: QueryContext, query: Any, timeout_s: float) -> PeerAnswer[Any]:
        """One search of one peer's data service, by the RPC its category's wire names (`PeerTransport`)."""
        wire = self.wires[category]
        try:
            channel = self.channels.channel(context.requested_state)
        except KeyError as error:
            return PeerAnswer(ResultStatus.UNAVAILABLE, "UNAVAILABLE", str(error.args[0]))
        try:
            reply = call_method(channel, wire.method, wire.peer_request(context_to_proto(context), query),
                                wire.reply_type, timeout_s, context.request_id)
        except grpc.RpcError as error:
            return answer_of_error(error)
        items = wire.items(reply)
        return PeerAnswer(ResultStatus.HIT if items else ResultStatus.NO_HIT, "OK", "", header_from_proto(reply.header),
                          items)

    def follow_up(self, context: QueryContext, category: Category, reference: str, original_request_id: str,
                  timeout_s: float) -> tuple[ReplyHeader, PersonalData]:
        """FOL-1 to the peer's NCP; a refusal keeps the peer's status code (the interceptor passes it on)."""
        reply = cp_pb2_grpc.ContactPointServiceStub(self.channels.channel(context.requested_state)).AnswerFollowUp(
            cp_pb2.AnswerFollowUpRequest(context=context_to_proto(context), category=CATEGORY_TO_PROTO[category],
                                         reference=reference, original_request_id=original_request_id),
            timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),))
        return header_from_proto(reply.header), personal_data_from_proto(reply.person)

    def send_information(self, context: QueryContext, purpose: InformationPurpose, event: str,
                         persons: tuple[InformedPerson, ...], conditions: tuple[str, ...],
                         purpose_ends_at: datetime | None, timeout_s: float) -> tuple[ReplyHeader, str, datetime]:
        """Art 13-16 to the peer's NCP; a refusal keeps the peer's status code."""
        reply = cp_pb2_grpc.ContactPointServiceStub(self.channels.channel(context.requested_state)).ReceiveInformation(
            cp_pb2.ReceiveInformationRequest(
                context=context_to_proto(context), purpose=INFORMATION_PURPOSE_TO_PROTO[purpose], event=event,
                persons=[informed_person_to_proto(p) for p in persons], conditions=list(conditions),
                purpose_ends_at=timestamp(purpose_ends_at)),
            timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),))
        return header_from_proto(reply.header), reply.information_id, reply.delete_after.ToDatetime(tzinfo=UTC)


#: What a search through the router leaves of its deadline for the hop to the router and back: the router's fan-out
#: ends this much before the contact point's, so its per-state status (DEADLINE_EXCEEDED) arrives in time.
ROUTER_HOP_MS = 100


class RouterTransport:
    """The exchange's transport to the peers in the router topology (`PeerTransport`): a search of a category the
    router carries goes to the router (`RouterService.Route`) with the one requested state named, so the requesting
    side (its log entries, its per-state results, its verification) works as in the mesh; any other category goes
    on `bilateral`, its own path (vehicles: P2-VRD-1). Follow-ups and information supplies stay bilateral too."""

    def __init__(self, channels: PeerChannels, bilateral: GrpcPeers,
                 wires: Mapping[Category, CategoryWire[Any, Any]] | None = None, router: str = ROUTER,
                 several_categories: bool = True, phases: RouterPhases | None = None,
                 readiness: ReadinessBook | None = None, clock: Clock | None = None) -> None:
        self.channels = channels
        self.bilateral = bilateral
        self.wires = wires if wires is not None else {c: r.wire for c, r in CATEGORIES.items()}
        self.router = router
        #: Whether the router takes one search across several categories (`[router] several_categories`,
        #: P2-ROUTER-2); then `ask_several` sends it as one `RouteSeveral`.
        self.several_categories = several_categories
        #: P2-TIME-1: before the router's date, and until its use is mandatory between states whose router
        #: connections are not both ready, searches stay on the bilateral links (`RouterPhases.routes`).
        self.phases = phases or RouterPhases()
        self.readiness = readiness
        self.clock = clock or SystemClock()

    def routes(self, context: QueryContext) -> bool:
        """Whether this search goes through the router now (P2-TIME-1, P2-GATE-1)."""
        now = self.clock.now()
        if self.phases.mesh_closed(now) or self.readiness is None:
            return self.phases.in_operation(now)
        return self.phases.routes(now, *(self.readiness.is_ready(state, Category.ROUTER_CONNECTION)
                                         for state in (context.requesting_state, context.requested_state)))

    def ask(self, category: Category, context: QueryContext, query: Any, timeout_s: float) -> PeerAnswer[Any]:
        if category not in ROUTED or not self.routes(context):
            return self.bilateral.ask(category, context, query, timeout_s)
        return self.ask_several(context, {category: query}, timeout_s)[category]

    def ask_several(self, context: QueryContext, queries: Mapping[Category, Any],
                    timeout_s: float) -> dict[Category, PeerAnswer[Any]]:
        """One query of one requested state across the routed categories of `queries` (`Route` for one category,
        `RouteSeveral` for more, P2-ROUTER-2): each category's answer as the mesh would give it. Where the search
        stays bilateral (P2-TIME-1), each category on its link, one after the other within the deadline."""
        if not self.routes(context):
            started = time.monotonic()
            return {category: self.bilateral.ask(category, context, query,
                                                 max(0.001, timeout_s - (time.monotonic() - started)))
                    for category, query in queries.items()}
        try:
            channel = self.channels.channel(self.router)
        except KeyError as error:
            return {c: PeerAnswer(ResultStatus.UNAVAILABLE, "UNAVAILABLE", f"the router: {error.args[0]}")
                    for c in queries}
        proto_context = context_to_proto(context)
        searches = {}
        for category, query in queries.items():
            # what the mesh would send the peer, whose query fields a routed search carries under the same names
            direct = self.wires[category].peer_request(proto_context, query)
            searches[category] = ROUTED[category].route_query(direct)
        stub = router_pb2_grpc.RouterServiceStub(channel)
        deadline_ms = max(1, int(timeout_s * 1000) - ROUTER_HOP_MS)
        metadata = ((REQUEST_ID_KEY, context.request_id),)
        reply: router_pb2.RouteResponse | router_pb2.RouteSeveralResponse
        try:
            if len(queries) == 1:
                (category, fields), = searches.items()
                reply = stub.Route(router_pb2.RouteRequest(
                    context=proto_context, category=CATEGORY_TO_PROTO[category], deadline_ms=deadline_ms,
                    target_states=[context.requested_state], **fields), timeout=timeout_s, metadata=metadata)
            else:
                reply = stub.RouteSeveral(router_pb2.RouteSeveralRequest(
                    context=proto_context, target_states=[context.requested_state], deadline_ms=deadline_ms,
                    searches=[router_pb2.CategorySearch(category=CATEGORY_TO_PROTO[c], **fields)
                              for c, fields in searches.items()]), timeout=timeout_s, metadata=metadata)
        except grpc.RpcError as error:  # the router refused the search as a whole, or could not be reached
            refused = answer_of_error(error)
            return {category: refused for category in queries}
        answers: dict[Category, PeerAnswer[Any]] = {}
        for result in reply.results:
            category = category_from_proto(result.category)
            routed, wire = ROUTED[category], self.wires[category]
            status = STATUS_FROM_PROTO[result.status]
            if result.WhichOneof("reply") != routed.reply_field:
                answers[category] = PeerAnswer(status, result.code, result.detail)
                continue
            answered = getattr(result, routed.reply_field)
            answers[category] = PeerAnswer(status, result.code, result.detail, header_from_proto(answered.header),
                                           wire.items(answered))
        return answers

    def follow_up(self, context: QueryContext, category: Category, reference: str, original_request_id: str,
                  timeout_s: float) -> tuple[ReplyHeader, PersonalData]:
        return self.bilateral.follow_up(context, category, reference, original_request_id, timeout_s)

    def send_information(self, context: QueryContext, purpose: InformationPurpose, event: str,
                         persons: tuple[InformedPerson, ...], conditions: tuple[str, ...],
                         purpose_ends_at: datetime | None, timeout_s: float) -> tuple[ReplyHeader, str, datetime]:
        return self.bilateral.send_information(context, purpose, event, persons, conditions, purpose_ends_at,
                                               timeout_s)
