"""AfisService: proto <-> the AFIS core; refusals are domain errors mapped by the interceptor."""

from __future__ import annotations

from collections.abc import Iterator

import grpc

from prum.afis.v1 import afis_pb2 as pb
from prum.afis.v1 import afis_pb2_grpc
from prum.services.afis.capacity import CapacityLedger
from prum.services.afis.exchange import CandidateList, search_supply, template_record
from prum.services.afis.gallery import Gallery
from prum.services.afis.templates import Minutia, MinutiaType, Template, TemplateKind
from prum.services.afis.warmup import compile_kernels
from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput
from prum.services.common.tls import calling_state
from prum.services.common.wire import timestamp
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.wire import context_from_proto, header_to_proto


def template_from_proto(message: pb.Template, field: str = "probe") -> Template:
    if message.kind == pb.TEMPLATE_KIND_UNSPECIFIED:
        raise InvalidInput("is unspecified; allowed: TEMPLATE_KIND_IDENTIFIED_PERSON, TEMPLATE_KIND_UNIDENTIFIED_TRACE "
                           "(FP-1)", field=f"{field}.kind")
    return Template(
        reference=message.reference, kind=TemplateKind.parse(
            pb.TemplateKind.Name(message.kind) if message.kind in pb.TemplateKind.values() else message.kind,
            f"{field}.kind"),  # an undefined number is refused by parse, not by Name's ValueError
        finger_position=message.finger_position, width=message.width, height=message.height,
        resolution_ppi=message.resolution_ppi,
        minutiae=tuple(Minutia(m.x, m.y, m.angle, MinutiaType.parse(m.type, f"{field}.minutiae.type"), m.quality)
                       for m in message.minutiae))


def template_to_proto(template: Template) -> pb.Template:
    return pb.Template(
        reference=template.reference, kind=pb.TemplateKind.Value(f"TEMPLATE_KIND_{template.kind.name}"),
        finger_position=template.finger_position, width=template.width, height=template.height,
        resolution_ppi=template.resolution_ppi,
        minutiae=[pb.Minutia(x=m.x, y=m.y, angle=m.angle, type=int(m.type), quality=m.quality)
                  for m in template.minutiae])


class AfisServicer(afis_pb2_grpc.AfisServiceServicer):
    def __init__(self, state: str, gallery: Gallery, ledger: CapacityLedger, exchange: FileManagingSide) -> None:
        self.state = state
        self.gallery = gallery
        self.ledger = ledger
        self.exchange = exchange
        compile_kernels()  # once per process: no search waits for numba's first compile

    def Search(self, request: pb.SearchRequest, context: grpc.ServicerContext) -> pb.SearchResponse:
        probe = template_from_proto(request.probe)
        query = context_from_proto(request.context)
        header, found = self.exchange.answer(
            Category.FINGERPRINT, query, calling_state(context), template_record(probe),
            lambda: search_supply(self.gallery, self.ledger, query.requesting_state, probe, request.max_candidates))
        assert isinstance(found, CandidateList)
        return pb.SearchResponse(
            header=header_to_proto(header), remaining_daily_capacity=found.grant.remaining,
            capacity_resets_at=timestamp(found.grant.resets_at),
            candidates=[pb.Candidate(reference=c.reference, kind=pb.TemplateKind.Value(f"TEMPLATE_KIND_{t.kind.name}"),
                                     score=c.score, template=template_to_proto(t)) for c, t in found.candidates])

    def Ingest(self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext) -> pb.IngestResponse:
        accepted, rejections, batch = 0, [], []
        for position, request in enumerate(request_iterator, start=1):
            try:
                batch.append(template_from_proto(request.template, "template"))
            except InvalidInput as error:
                rejections.append(f"#{position} {request.template.reference}: {error}")
        if batch:
            accepted = self.gallery.add_many(batch)
        return pb.IngestResponse(accepted=accepted, rejections=rejections)

    def Delete(self, request: pb.DeleteRequest, context: grpc.ServicerContext) -> pb.DeleteResponse:
        return pb.DeleteResponse(deleted=self.gallery.remove(request.reference))

    def GetFileStats(self, request: pb.GetFileStatsRequest, context: grpc.ServicerContext) -> pb.GetFileStatsResponse:
        return pb.GetFileStatsResponse(templates=len(self.gallery))
