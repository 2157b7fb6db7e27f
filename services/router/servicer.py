"""RouterService: proto <-> the router's core, nothing else; the conversions are in `prum.services.router.wire`.

Refusals are domain errors mapped by the interceptor. Who may call: `Route` any state in its own name (the core
checks the claim against the certificate), the statistics and the log any member (`services/common/callers.py`).

The router also serves the readiness half of `SupervisorService` (`RouterReadinessServicer`), so the Council's
decisions reach its readiness book as they reach every state's (GATE-2, P2-GATE-1): each state's supervisor shares
its steps, votes and revocations with the router too (`ShareReadinessChange`, origin checked against the
certificate), and the router catches up at start with every state's own rows and votes (`SyncReadiness`, called by
the router's process on itself); `GetReadiness` shows its book. Every other supervisor method is UNIMPLEMENTED here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from prum.router.v1 import router_pb2 as pb
from prum.router.v1 import router_pb2_grpc
from prum.services.common.errors import InvalidInput, NotAuthorised
from prum.services.common.identity import ROUTER, check_claim
from prum.services.common.tls import calling_state
from prum.services.common.wire import category_from_proto
from prum.services.router.log import RouterLog
from prum.services.router.routing import Router
from prum.services.router.wire import (
    entry_to_proto,
    result_to_proto,
    search_from_proto,
    several_from_proto,
    stats_to_proto,
)
from prum.services.supervisor import ReadinessBook
from prum.services.supervisor.wire import apply_shared_change, merge_listed_readiness, readiness_to_proto
from prum.supervisor.v1 import supervisor_pb2 as supervisor_pb

#: Entries per page of `ListRoutedQueries` when the request gives no page size.
DEFAULT_PAGE_SIZE = 100


class RouterServicer(router_pb2_grpc.RouterServiceServicer):
    def __init__(self, router: Router, log: RouterLog) -> None:
        self.router = router
        self.log = log

    def Route(self, request: pb.RouteRequest, context: grpc.ServicerContext) -> pb.RouteResponse:
        search = search_from_proto(request)
        results = self.router.route(calling_state(context), search)
        return pb.RouteResponse(request_id=search.request_id, results=[result_to_proto(r) for r in results])

    def RouteSeveral(self, request: pb.RouteSeveralRequest, context: grpc.ServicerContext) -> pb.RouteSeveralResponse:
        search = several_from_proto(request)
        results = self.router.route(calling_state(context), search)
        return pb.RouteSeveralResponse(request_id=search.request_id, results=[result_to_proto(r) for r in results])

    def GetRouterStats(self, request: pb.GetRouterStatsRequest,
                       context: grpc.ServicerContext) -> pb.GetRouterStatsResponse:
        return pb.GetRouterStatsResponse(stats=[stats_to_proto(s) for s in self.log.stats()])

    def ListRoutedQueries(self, request: pb.ListRoutedQueriesRequest,
                          context: grpc.ServicerContext) -> pb.ListRoutedQueriesResponse:
        token = request.page_token
        if token and not token.isdigit():
            raise InvalidInput(f"{token!r}; allowed: empty, or the next_page_token of the previous page",
                               field="page_token")
        size = request.page_size or DEFAULT_PAGE_SIZE
        page, more = self.log.entries(int(token or 0), size, request.requesting_state)
        return pb.ListRoutedQueriesResponse(queries=[entry_to_proto(e) for e in page],
                                            next_page_token=str(page[-1].sequence) if more else "")


class RouterReadinessServicer:
    """The router's readiness book as the supervisors' workflow changes it (GATE-2 for the router connection,
    P2-GATE-1): the router votes in no round and records no step; it takes each state's own changes."""

    def __init__(self, readiness: ReadinessBook, fetch: Callable[[str, str], list[Any]] | None = None) -> None:
        self.readiness = readiness
        # `fetch(state, "readiness")`: what a state's supervisor lists (its own rows and votes); raises if unreached.
        self.fetch = fetch

    def GetReadiness(self, request: supervisor_pb.GetReadinessRequest,
                     context: grpc.ServicerContext) -> supervisor_pb.GetReadinessResponse:
        category = category_from_proto(request.category) if request.category else None
        rows = [r for r in self.readiness.matrix()
                if (not request.state or r.state == request.state) and (category is None or r.category is category)]
        return supervisor_pb.GetReadinessResponse(readiness=[readiness_to_proto(r) for r in rows])

    def ShareReadinessChange(self, request: supervisor_pb.ShareReadinessChangeRequest,
                             context: grpc.ServicerContext) -> supervisor_pb.ShareReadinessChangeResponse:
        """A state's step, vote or revocation, applied here only if its certificate names the state that made it."""
        check_claim(calling_state(context), request.origin_state)
        if request.WhichOneof("change") == "pilot":
            raise InvalidInput("a pilot window is shared with its pilot peer only; the router checks no category's "
                               "readiness (GATE-1 stays with the states)", field="pilot")
        return supervisor_pb.ShareReadinessChangeResponse(
            readiness=readiness_to_proto(apply_shared_change(self.readiness, request)))

    def SyncReadiness(self, request: supervisor_pb.SyncReadinessRequest,
                      context: grpc.ServicerContext) -> supervisor_pb.SyncReadinessResponse:
        """Catch up with every state's own rows and votes (a router that was down, GATE-2); each state vouches for
        its own only, as in a state's catch-up (`merge_listed_readiness`)."""
        if self.fetch is None:
            raise NotAuthorised(f"the router ({ROUTER}) has no channel to the states' supervisors")
        rows: list[supervisor_pb.Readiness] = []
        votes: list[supervisor_pb.CastCouncilVoteRequest] = []
        unreached = []
        for state in self.readiness.members:
            try:
                listed = self.fetch(state, "readiness")
            except (grpc.RpcError, KeyError):
                unreached.append(state)
                continue
            rows += [item for item in listed if isinstance(item, supervisor_pb.Readiness) and item.state == state]
            votes += [item for item in listed
                      if isinstance(item, supervisor_pb.CastCouncilVoteRequest) and item.voting_state == state]
        return supervisor_pb.SyncReadinessResponse(updated=merge_listed_readiness(self.readiness, rows, votes),
                                                   unreached_states=unreached)


#: The methods of `prum.supervisor.v1.SupervisorService` the router serves, with their request and reply types.
ROUTER_READINESS_METHODS: dict[str, tuple[type[Message], type[Message]]] = {
    "GetReadiness": (supervisor_pb.GetReadinessRequest, supervisor_pb.GetReadinessResponse),
    "ShareReadinessChange": (supervisor_pb.ShareReadinessChangeRequest, supervisor_pb.ShareReadinessChangeResponse),
    "SyncReadiness": (supervisor_pb.SyncReadinessRequest, supervisor_pb.SyncReadinessResponse),
}


def add_router_readiness_to_server(servicer: RouterReadinessServicer, server: grpc.Server) -> None:
    """Serve the readiness half of SupervisorService on the router's server: the methods above only, so gRPC answers
    UNIMPLEMENTED for any other (the router files no declaration, holds no joint case, runs no audit)."""
    handlers = {name: grpc.unary_unary_rpc_method_handler(getattr(servicer, name),
                                                          request_deserializer=request.FromString,
                                                          response_serializer=reply.SerializeToString)
                for name, (request, reply) in ROUTER_READINESS_METHODS.items()}
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("prum.supervisor.v1.SupervisorService",
                                                                          handlers),))
