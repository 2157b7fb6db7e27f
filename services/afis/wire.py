"""The AFIS service's messages to and from its core's types (protobuf only, no gRPC).

The servicer converts through here, and so does the contact point for a fingerprint search: `WIRE`
says where a probe and its candidates travel in the officer's search and in the call to a peer's AFIS.
"""

from __future__ import annotations

from google.protobuf.descriptor import MethodDescriptor
from prum.afis.v1 import afis_pb2 as pb
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.services.afis.exchange import CandidateList, FingerprintQuery
from prum.services.afis.templates import Minutia, MinutiaType, Template
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.common.wire import timestamp


def template_from_proto(message: pb.Template, field: str = "probe") -> Template:
    if message.kind == pb.TEMPLATE_KIND_UNSPECIFIED:
        raise InvalidInput("is unspecified; allowed: TEMPLATE_KIND_IDENTIFIED_PERSON, TEMPLATE_KIND_UNIDENTIFIED_TRACE "
                           "(FP-1)", field=f"{field}.kind")
    return Template(
        reference=message.reference, kind=ReferenceKind.parse(
            pb.TemplateKind.Name(message.kind) if message.kind in pb.TemplateKind.values() else message.kind,
            f"{field}.kind"),  # an undefined number is refused by parse, not by Name's ValueError
        finger_position=message.finger_position, width=message.width, height=message.height,
        resolution_ppi=message.resolution_ppi,
        minutiae=tuple(Minutia(m.x, m.y, m.angle, MinutiaType.parse(m.type, f"{field}.minutiae.type"), m.quality)
                       for m in message.minutiae))


def template_to_proto(template: Template) -> pb.Template:
    return pb.Template(
        reference=template.reference, kind=pb.TemplateKind.Value(f"TEMPLATE_KIND_{template.kind.name}"),
        finger_position=pb.FingerPosition.ValueType(template.finger_position), width=template.width, height=template.height,
        resolution_ppi=template.resolution_ppi,
        minutiae=[pb.Minutia(x=m.x, y=m.y, angle=m.angle, type=pb.MinutiaType.ValueType(m.type), quality=m.quality)
                  for m in template.minutiae])


def search_response(header: common_pb2.ReplyHeader, found: CandidateList) -> pb.SearchResponse:
    """A candidate list supplied, with the capacity left to the requesting state (FP-3)."""
    return pb.SearchResponse(
        header=header, remaining_daily_capacity=found.grant.remaining,
        capacity_resets_at=timestamp(found.grant.resets_at),
        candidates=[pb.Candidate(reference=c.reference, kind=pb.TemplateKind.Value(f"TEMPLATE_KIND_{t.kind.name}"),
                                 score=c.score, template=template_to_proto(t)) for c, t in found.candidates])


class AfisWire:
    """A fingerprint search on the wire: the officer's `template`, `AfisService.Search` at each peer (with the
    most candidates this state accepts, FP-3), `candidates` back."""

    officer_field = "template"
    result_field = "candidates"
    method: MethodDescriptor = pb.DESCRIPTOR.services_by_name["AfisService"].methods_by_name["Search"]
    reply_type = pb.SearchResponse

    def officer_query(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery, max_candidates: int) -> FingerprintQuery:
        return FingerprintQuery(template_from_proto(request.template, "template"), max_candidates)

    def peer_request(self, context: common_pb2.QueryContext, query: FingerprintQuery) -> pb.SearchRequest:
        return pb.SearchRequest(context=context, probe=template_to_proto(query.probe),
                                max_candidates=query.max_candidates)

    def items(self, reply: pb.SearchResponse) -> tuple[pb.Candidate, ...]:
        return tuple(reply.candidates)


WIRE = AfisWire()
