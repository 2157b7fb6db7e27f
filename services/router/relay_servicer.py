"""CoreDataRelayService: proto <-> the router's core-data relay (`prum.services.router.relay`), nothing else.

Who may call: the relays any state in its own name (the relay checks the sender against the certificate), the log
any member (`services/common/callers.py`). A receiving state's refusal comes back as its own status code (the
interceptor passes a peer's code on).
"""

from __future__ import annotations

import grpc
from prum.contact_point.v1 import core_data_pb2
from prum.router.v1 import core_data_relay_pb2 as pb
from prum.router.v1 import core_data_relay_pb2_grpc
from prum.services.common.tls import calling_state
from prum.services.common.wire import category_from_proto
from prum.services.router.log import RouterLog
from prum.services.router.relay import CoreDataRelay
from prum.services.router.relay_wire import relayed_to_proto


class CoreDataRelayServicer(core_data_relay_pb2_grpc.CoreDataRelayServiceServicer):
    def __init__(self, relay: CoreDataRelay, log: RouterLog) -> None:
        self.relay = relay
        self.log = log

    def RelayCoreDataRequest(self, request: pb.RelayCoreDataRequestRequest,
                             context: grpc.ServicerContext) -> pb.RelayCoreDataRequestResponse:
        asked = request.request
        answer = self.relay.relay_request(calling_state(context), asked.context.request_id,
                                          asked.context.requesting_state, asked.context.requested_state,
                                          category_from_proto(asked.category), asked)
        return pb.RelayCoreDataRequestResponse(response=answer)

    def RelayCoreDataDecision(self, request: pb.RelayCoreDataDecisionRequest,
                              context: grpc.ServicerContext) -> pb.RelayCoreDataDecisionResponse:
        decision = request.decision
        status = core_data_pb2.CoreDataStatus.Name(decision.status).removeprefix("CORE_DATA_STATUS_") \
            if decision.status in core_data_pb2.CoreDataStatus.values() else str(decision.status)
        self.relay.relay_decision(calling_state(context), decision.context.request_id,
                                  decision.context.requesting_state, decision.context.requested_state, status,
                                  decision)
        return pb.RelayCoreDataDecisionResponse()

    def ListRelayedCoreData(self, request: pb.ListRelayedCoreDataRequest,
                            context: grpc.ServicerContext) -> pb.ListRelayedCoreDataResponse:
        return pb.ListRelayedCoreDataResponse(
            forwardings=[relayed_to_proto(e) for e in self.log.relayed(state=request.state)])
