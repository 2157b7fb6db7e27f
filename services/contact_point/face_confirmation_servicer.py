"""FaceConfirmationService: proto <-> the confirmation core (`prum.services.exchange.face_confirmation`), nothing
else (P2-FACE-3).

`ConfirmFaceCandidate` is for the state's own officers (checked against the list of authorised officers, SEC-2);
`ReceiveFaceConfirmation` for a peer in its own name, carrying its officer's decision on a candidate this state
supplied.
"""

from __future__ import annotations

import grpc
from prum.contact_point.v1 import face_confirmation_pb2 as pb
from prum.contact_point.v1 import face_confirmation_pb2_grpc
from prum.services.common.tls import calling_state
from prum.services.exchange.face_confirmation import ConfirmationTransport, FaceConfirmations, FaceDecision
from prum.services.exchange.requesting import ContactPoint


class FaceConfirmationServicer(face_confirmation_pb2_grpc.FaceConfirmationServiceServicer):
    def __init__(self, contact_point: ContactPoint, confirmations: FaceConfirmations,
                 transport: ConfirmationTransport, timeout_s: float = 3.0) -> None:
        self.contact_point = contact_point
        self.confirmations = confirmations
        self.transport = transport
        self.timeout_s = timeout_s

    def ConfirmFaceCandidate(self, request: pb.ConfirmFaceCandidateRequest,
                             context: grpc.ServicerContext) -> pb.ConfirmFaceCandidateResponse:
        decision = FaceDecision(request.request_id, self.contact_point.state, request.state, request.reference,
                                request.confirmed, request.officer_id, request.note)
        notified, detail = self.confirmations.confirm(decision, self.contact_point.authorise, self.transport,
                                                      self.timeout_s)
        return pb.ConfirmFaceCandidateResponse(notified=notified, detail=detail)

    def ReceiveFaceConfirmation(self, request: pb.ReceiveFaceConfirmationRequest,
                                context: grpc.ServicerContext) -> pb.ReceiveFaceConfirmationResponse:
        self.confirmations.receive(
            FaceDecision(request.request_id, request.requesting_state, self.confirmations.state, request.reference,
                         request.confirmed, request.officer_id, request.note),
            calling_state(context))
        return pb.ReceiveFaceConfirmationResponse(logged=True)
