"""The contact point's transport for core data (P2-CORE-1): a request to the requested state and a decision back to
the requesting state, both through the central router's `CoreDataRelayService` (P2-ROUTER-1, Art 47(1)), on the
state's channels, a deadline on every call.

An adapter beside the servicers, not a core. The router passes a receiving state's refusal of a request back with its
status code, and so does this transport (the interceptor passes it on to the officer); a decision that cannot be
delivered is a `ConnectionError`, which the core records on the case.
"""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from prum.router.v1 import core_data_relay_pb2 as relay_pb2
from prum.router.v1 import core_data_relay_pb2_grpc as relay_pb2_grpc
from prum.services.common.channels import PeerChannels
from prum.services.common.identity import ROUTER
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.common.wire import moment
from prum.services.contact_point.core_data_wire import (
    decided_to_proto,
    open_request_to_proto,
    status_from_proto,
)
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.core_data import CaseStatus, CoreDataRequest, Decided
from prum.services.exchange.wire import header_from_proto


class RouterCoreData:
    """The exchange's `CoreDataTransport` in the router topology."""

    def __init__(self, channels: PeerChannels, router: str = ROUTER) -> None:
        self.channels = channels
        self.router = router

    def _stub(self) -> relay_pb2_grpc.CoreDataRelayServiceStub:
        try:
            return relay_pb2_grpc.CoreDataRelayServiceStub(self.channels.channel(self.router))
        except KeyError as error:
            raise ConnectionError(f"the router: {error.args[0]}") from None

    def send_request(self, context: QueryContext, request: CoreDataRequest,
                     timeout_s: float) -> tuple[ReplyHeader, CaseStatus, datetime]:
        # A refusal or failure raises grpc.RpcError with its code, which the officer's call answers with.
        reply = self._stub().RelayCoreDataRequest(
            relay_pb2.RelayCoreDataRequestRequest(request=open_request_to_proto(context, request)),
            timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),)).response
        return (header_from_proto(reply.header), status_from_proto(reply.status),
                moment(reply.due_at, reply.HasField("due_at")) or datetime.now(UTC))

    def send_decision(self, context: QueryContext, decided: Decided, timeout_s: float) -> None:
        try:
            self._stub().RelayCoreDataDecision(
                relay_pb2.RelayCoreDataDecisionRequest(decision=decided_to_proto(context, decided)),
                timeout=timeout_s, metadata=((REQUEST_ID_KEY, context.request_id),))
        except grpc.RpcError as error:  # a decision that does not arrive stays on the case, with why
            raise ConnectionError(f"{error.code().name}: {error.details()}") from None
