"""The router's transport to the states' data services over gRPC: each routed search goes to the RPC its
category's wire names (the same RPC a contact point calls in the mesh), on the router's channels, one per state
(`prum.services.common.channels`), a deadline on every call.

An adapter beside the servicers, not a core. A state's status code becomes a routed status here, in one table;
nothing a state answers turns into UNKNOWN.
"""

from __future__ import annotations

from typing import Any

import grpc
from prum.contact_point.v1 import core_data_pb2_grpc
from prum.services.common.category import Category
from prum.services.common.channels import PeerChannels, call_method, status_of_error
from prum.services.common.fan_out import ResultStatus
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.router.routing import Forwarded
from prum.services.router.wire import ROUTED


class GrpcDataServices:
    """The router's `DataServices`: a routed search to one state's data service, on the router's channels."""

    def __init__(self, channels: PeerChannels) -> None:
        self.channels = channels

    def search(self, category: Category, state: str, query: Any, timeout_s: float) -> Forwarded:
        received, route = query  # the caller's context and its RouteRequest or CategorySearch (router.wire)
        wire = ROUTED[category]
        try:
            channel = self.channels.channel(state)
        except KeyError as error:
            return Forwarded(ResultStatus.UNAVAILABLE, "UNAVAILABLE", str(error.args[0]))
        context = type(received)()
        context.CopyFrom(received)
        context.requested_state = state
        try:
            reply = call_method(channel, wire.method, wire.peer_request(context, route), wire.reply_type, timeout_s,
                                context.request_id)
        except grpc.RpcError as error:
            return Forwarded(*status_of_error(error))
        items = wire.items(reply)
        return Forwarded(ResultStatus.HIT if items else ResultStatus.NO_HIT, "OK", "", reply, reply.header.reply_id,
                         len(items))


class GrpcCoreDataStates:
    """The router's `CoreDataForwarder`: a core-data request or decision to one state's contact point, on the
    router's channels (Art 47(1), P2-ROUTER-1)."""

    def __init__(self, channels: PeerChannels) -> None:
        self.channels = channels

    def _stub(self, state: str) -> core_data_pb2_grpc.CoreDataServiceStub:
        return core_data_pb2_grpc.CoreDataServiceStub(self.channels.channel(state))

    def send_request(self, state: str, message: Any, request_id: str, timeout_s: float) -> Any:
        return self._stub(state).OpenCoreDataCase(message, timeout=timeout_s,
                                                  metadata=((REQUEST_ID_KEY, request_id),))

    def send_decision(self, state: str, message: Any, request_id: str, timeout_s: float) -> Any:
        return self._stub(state).DeliverCoreData(message, timeout=timeout_s, metadata=((REQUEST_ID_KEY, request_id),))

    def code_of(self, error: Exception) -> str:
        if isinstance(error, grpc.RpcError):
            return status_of_error(error)[1]
        return "UNAVAILABLE" if isinstance(error, KeyError | OSError) else "INTERNAL"
