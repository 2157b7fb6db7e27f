"""SupervisorService: proto <-> the readiness book (GATE-1, GATE-2). The DPA's log requests, audits
and data-subject cases are served from issue 7 on; until then those RPCs answer UNIMPLEMENTED."""

from __future__ import annotations

import grpc

from prum.services.common.errors import InvalidInput
from prum.services.common.tls import calling_state, check_own_state
from prum.services.common.wire import CATEGORY_FROM_PROTO, CATEGORY_TO_PROTO, category_from_proto, timestamp
from prum.services.supervisor import ReadinessBook
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc


def readiness_to_proto(row) -> supervisor_pb2.Readiness:  # type: ignore[no-untyped-def]
    return supervisor_pb2.Readiness(
        state=row.state, category=CATEGORY_TO_PROTO[row.category],
        steps_done=[supervisor_pb2.ReadinessStep.Value(f"READINESS_STEP_{s.name}") for s in row.steps_done],
        ready=row.ready, decided_at=timestamp(row.decided_at), revoked=row.revoked)


class SupervisorServicer(supervisor_pb2_grpc.SupervisorServiceServicer):
    def __init__(self, state: str, readiness: ReadinessBook) -> None:
        self.state = state
        self.readiness = readiness

    def GetReadiness(self, request: supervisor_pb2.GetReadinessRequest,
                     context: grpc.ServicerContext) -> supervisor_pb2.GetReadinessResponse:
        if request.category and request.category not in CATEGORY_FROM_PROTO:
            raise InvalidInput("unknown category; allowed: CATEGORY_DNA, CATEGORY_FINGERPRINT, CATEGORY_VEHICLE",
                               field="category")
        rows = [r for r in self.readiness.matrix()
                if (not request.state or r.state == request.state)
                and (not request.category or r.category is CATEGORY_FROM_PROTO[request.category])]
        return supervisor_pb2.GetReadinessResponse(readiness=[readiness_to_proto(r) for r in rows])

    def RevokeReadiness(self, request: supervisor_pb2.RevokeReadinessRequest,
                        context: grpc.ServicerContext) -> supervisor_pb2.RevokeReadinessResponse:
        check_own_state(calling_state(context), self.state, "revoke readiness in the supervisor")
        row = self.readiness.revoke(request.state, category_from_proto(request.category), request.reason)
        return supervisor_pb2.RevokeReadinessResponse(readiness=readiness_to_proto(row))
