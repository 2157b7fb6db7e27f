"""The facial-image service's messages to and from its core's types (protobuf only, no gRPC).

The servicer converts through here, and so does the contact point for a face search: `WIRE` says where a probe
and its candidates travel in the officer's search and in the call to a peer's facial-image file.
"""

from __future__ import annotations

from google.protobuf.descriptor import MethodDescriptor
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.face.v1 import face_pb2 as pb
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.face.exchange import FaceCandidates, FaceQuery
from prum.services.face.offences import Offence
from prum.services.face.templates import FaceTemplate

KIND_TO_PROTO = {ReferenceKind.IDENTIFIED_PERSON: pb.FACE_KIND_IDENTIFIED_PERSON,
                 ReferenceKind.UNIDENTIFIED_TRACE: pb.FACE_KIND_UNIDENTIFIED_TRACE}
KIND_FROM_PROTO: dict[int, ReferenceKind] = {v: k for k, v in KIND_TO_PROTO.items()}
OFFENCE_TO_PROTO = {o: pb.OffenceCategory.Value(f"OFFENCE_CATEGORY_{o.name}") for o in Offence}
OFFENCE_FROM_PROTO: dict[int, Offence] = {v: k for k, v in OFFENCE_TO_PROTO.items()}


def template_from_proto(message: pb.FaceTemplate, field: str = "probe") -> FaceTemplate:
    if message.kind not in KIND_FROM_PROTO:
        raise InvalidInput(f"{message.kind}; allowed: FACE_KIND_IDENTIFIED_PERSON, FACE_KIND_UNIDENTIFIED_TRACE "
                           f"(P2-FACE-1)", field=f"{field}.kind")
    return FaceTemplate.make(message.reference, KIND_FROM_PROTO[message.kind], list(message.features),
                             message.quality, message.width, message.height, message.yaw_degrees, field)


def template_to_proto(template: FaceTemplate) -> pb.FaceTemplate:
    return pb.FaceTemplate(reference=template.reference, kind=KIND_TO_PROTO[template.kind],
                           features=template.features.tolist(), quality=template.quality, width=template.width,
                           height=template.height, yaw_degrees=template.yaw_degrees)


def offence_from_proto(value: int, field: str = "offence") -> Offence:
    if value not in OFFENCE_FROM_PROTO:
        raise InvalidInput(f"{value}; allowed: {', '.join(pb.OffenceCategory.Name(v) for v in OFFENCE_TO_PROTO.values())} "
                           f"(P2-FACE-4: the request states the offence)", field=field)
    return OFFENCE_FROM_PROTO[value]


def query_from_proto(message: pb.FaceQuery, field: str = "face") -> FaceQuery:
    return FaceQuery(template_from_proto(message.probe, f"{field}.probe"),
                     offence_from_proto(message.offence, f"{field}.offence"))


def query_to_proto(query: FaceQuery) -> pb.FaceQuery:
    return pb.FaceQuery(probe=template_to_proto(query.probe), offence=OFFENCE_TO_PROTO[query.offence])


def search_response(header: common_pb2.ReplyHeader, found: FaceCandidates) -> pb.SearchResponse:
    return pb.SearchResponse(header=header, candidates=[
        pb.Candidate(reference=c.reference, kind=KIND_TO_PROTO[t.kind], score=c.score, template=template_to_proto(t))
        for c, t in found.candidates])


class FaceWire:
    """A face search on the wire: the officer's `face`, `FaceService.Search` at each peer, `face_candidates` back."""

    officer_field = "face"
    result_field = "face_candidates"
    method: MethodDescriptor = pb.DESCRIPTOR.services_by_name["FaceService"].methods_by_name["Search"]
    reply_type = pb.SearchResponse

    def officer_query(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery, max_candidates: int) -> FaceQuery:
        return query_from_proto(request.face, "face")  # the cap is the requested state's (P2-FACE-2)

    def peer_request(self, context: common_pb2.QueryContext, query: FaceQuery) -> pb.SearchRequest:
        return pb.SearchRequest(context=context, probe=template_to_proto(query.probe),
                                offence=OFFENCE_TO_PROTO[query.offence])

    def items(self, reply: pb.SearchResponse) -> tuple[pb.Candidate, ...]:
        return tuple(reply.candidates)


WIRE = FaceWire()
