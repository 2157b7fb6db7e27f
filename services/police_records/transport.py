"""The police-record follow-up's client to a peer's `PoliceRecordsService` (gRPC): the reasoned request to the
holding state and its decision back to the requesting state (P2-EPRIS-4), over the federation's mTLS channels."""

from __future__ import annotations

import grpc
from prum.police_records.v1 import police_records_pb2 as pb
from prum.police_records.v1 import police_records_pb2_grpc
from prum.services.common.channels import PeerChannels
from prum.services.exchange.context import QueryContext
from prum.services.exchange.record_requests import Decision
from prum.services.exchange.wire import context_to_proto
from prum.services.police_records.index import PoliceRecord
from prum.services.police_records.wire import DECISION_TO_PROTO, record_to_proto


class GrpcRecordRequests:
    """`RecordRequestTransport` over gRPC; a link that fails is an `OSError` (`ConnectionError`)."""

    def __init__(self, channels: PeerChannels, timeout_s: float) -> None:
        self.channels = channels
        self.timeout_s = timeout_s

    def _stub(self, state: str) -> police_records_pb2_grpc.PoliceRecordsServiceStub:
        return police_records_pb2_grpc.PoliceRecordsServiceStub(self.channels.channel(state))

    def send_request(self, context: QueryContext, reference: str, search_request_id: str) -> None:
        try:
            self._stub(context.requested_state).ReceiveRecordRequest(pb.ReceiveRecordRequestRequest(
                context=context_to_proto(context), reference=reference, search_request_id=search_request_id),
                timeout=self.timeout_s)
        except grpc.RpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise ConnectionError(f"{context.requested_state}: {error.details()}") from error
            raise

    def send_decision(self, requesting_state: str, follow_up_id: str, decision: Decision, reason: str,
                      record: PoliceRecord | None) -> None:
        request = pb.ReceiveRecordDecisionRequest(follow_up_id=follow_up_id, decision=DECISION_TO_PROTO[decision],
                                                  reason=reason)
        if record is not None:
            request.record.CopyFrom(record_to_proto(record))
        try:
            self._stub(requesting_state).ReceiveRecordDecision(request, timeout=self.timeout_s)
        except grpc.RpcError as error:
            raise ConnectionError(f"{requesting_state}: {error.code().name} {error.details()}") from error
