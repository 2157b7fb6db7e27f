"""RouterService: proto <-> the router's core, nothing else; the conversions are in `prum.services.router.wire`.

Refusals are domain errors mapped by the interceptor. Who may call: `Route` any state in its own name (the core
checks the claim against the certificate), the statistics and the log any member (`services/common/callers.py`).
"""

from __future__ import annotations

import grpc
from prum.router.v1 import router_pb2 as pb
from prum.router.v1 import router_pb2_grpc
from prum.services.common.errors import InvalidInput
from prum.services.common.tls import calling_state
from prum.services.router.log import RouterLog
from prum.services.router.routing import Router
from prum.services.router.wire import (
    entry_to_proto,
    result_to_proto,
    search_from_proto,
    several_from_proto,
    stats_to_proto,
)

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
