"""The contact point's transport for facial-image confirmations (P2-FACE-3): an officer's decision to the requested
state's contact point, directly (as a follow-up goes), on the state's channels, a deadline on the call.

An adapter beside the servicers, not a core: a link that failed or a refusal is an answer (the decision is then not
logged there, and the officer is told), never an exception.
"""

from __future__ import annotations

import grpc
from prum.contact_point.v1 import face_confirmation_pb2 as pb
from prum.contact_point.v1 import face_confirmation_pb2_grpc
from prum.services.common.channels import PeerChannels, status_of_error
from prum.services.common.interceptors import REQUEST_ID_KEY
from prum.services.exchange.face_confirmation import FaceDecision


class GrpcFaceConfirmations:
    """The confirmation core's `ConfirmationTransport`, on the state's channels to its peers."""

    def __init__(self, channels: PeerChannels) -> None:
        self.channels = channels

    def notify(self, decision: FaceDecision, timeout_s: float) -> tuple[bool, str]:
        try:
            channel = self.channels.channel(decision.requested_state)
        except KeyError as error:
            return False, f"{decision.requested_state} could not be notified: {error.args[0]}"
        try:
            reply = face_confirmation_pb2_grpc.FaceConfirmationServiceStub(channel).ReceiveFaceConfirmation(
                pb.ReceiveFaceConfirmationRequest(
                    request_id=decision.request_id, requesting_state=decision.requesting_state,
                    reference=decision.reference, confirmed=decision.confirmed, officer_id=decision.officer_id,
                    note=decision.note),
                timeout=timeout_s, metadata=((REQUEST_ID_KEY, decision.request_id),))
        except grpc.RpcError as error:
            _, code, detail = status_of_error(error)
            return False, f"{decision.requested_state} did not log the decision ({code}: {detail})"
        what = "confirmed" if decision.confirmed else "rejected"
        return reply.logged, f"candidate {decision.reference} {what}; logged by {decision.requested_state} too"
