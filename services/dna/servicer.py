"""DnaIndexService: proto <-> core, nothing else; the conversions are in `prum.services.dna.wire`.

Refusals are domain errors mapped by the interceptor.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.identity import check_claim
from prum.services.common.tls import calling_state
from prum.services.dna.exchange import check_comparison_consent
from prum.services.dna.file import DnaFile, DnaHit
from prum.services.dna.plugin import PLUGIN
from prum.services.dna.warmup import compile_kernels
from prum.services.dna.wire import (
    KIND_FROM_PROTO,
    hit_to_proto,
    loci_from_proto,
    match_mark_to_proto,
    query_from_proto,
)
from prum.services.exchange.context import ReplyHeader
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.wire import context_from_proto, header_to_proto


class DnaIndexServicer(dna_pb2_grpc.DnaIndexServiceServicer):
    def __init__(self, state: str, file: DnaFile, exchange: FileManagingSide,
                 comparison_partners: frozenset[str] = frozenset()) -> None:
        self.state = state
        self.file = file
        self.exchange = exchange
        self.comparison_partners = comparison_partners
        compile_kernels()  # once per process: no search waits for numba's first compile

    def _answer(self, request: dna_pb2.SearchRequest | dna_pb2.CompareRequest, context: grpc.ServicerContext,
                query_context: common_pb2.QueryContext) -> tuple[ReplyHeader, list[DnaHit]]:
        return self.exchange.answer(PLUGIN, self.file, context_from_proto(query_context), calling_state(context),
                                    query_from_proto(request.profile))

    def Search(self, request: dna_pb2.SearchRequest, context: grpc.ServicerContext) -> dna_pb2.SearchResponse:
        header, hits = self._answer(request, context, request.context)
        return dna_pb2.SearchResponse(header=header_to_proto(header), hit=bool(hits), hit_count=len(hits),
                                      hits=[hit_to_proto(h) for h in hits],
                                      query_reference=request.profile.reference)

    def Compare(self, request_iterator: Iterator[dna_pb2.CompareRequest],
                context: grpc.ServicerContext) -> Iterator[dna_pb2.CompareResponse]:
        query_context = None
        for position, request in enumerate(request_iterator, start=1):
            if request.HasField("context"):
                query_context = request.context
            if query_context is None:
                raise InvalidInput("the first message of a comparison carries the query context",
                                   field="context")
            if position == 1:
                claimed = query_context.requesting_state
                check_claim(calling_state(context), claimed)
                check_comparison_consent(self.state, self.comparison_partners, claimed)
            if request.profile.kind != dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE:
                raise InvalidInput(f"profile #{position} ({quote(request.profile.reference)}) is not an unidentified "
                                   f"trace; Art 4 compares unidentified profiles only", field="profile.kind")
            header, hits = self._answer(request, context, query_context)
            yield dna_pb2.CompareResponse(header=header_to_proto(header), query_reference=request.profile.reference,
                                          hits=[hit_to_proto(h) for h in hits])

    def Ingest(self, request_iterator: Iterator[dna_pb2.IngestRequest],
               context: grpc.ServicerContext) -> dna_pb2.IngestResponse:
        rows = ((r.profile.reference, KIND_FROM_PROTO.get(r.profile.kind), loci_from_proto(r.profile))
                for r in request_iterator)
        report = self.file.ingest_many(rows)
        return dna_pb2.IngestResponse(accepted=report.accepted, rejections=[
            dna_pb2.Rejection(position=p, reference=ref, reason=reason) for p, ref, reason in report.rejections])

    def Delete(self, request: dna_pb2.DeleteRequest, context: grpc.ServicerContext) -> dna_pb2.DeleteResponse:
        return dna_pb2.DeleteResponse(deleted=self.file.delete(request.reference))

    def Mark(self, request: dna_pb2.MarkRequest, context: grpc.ServicerContext) -> dna_pb2.MarkResponse:
        self.file.mark(request.reference, request.contested, request.note)
        return dna_pb2.MarkResponse()

    def Block(self, request: dna_pb2.BlockRequest, context: grpc.ServicerContext) -> dna_pb2.BlockResponse:
        self.file.block(request.reference, request.blocked, request.reason)
        return dna_pb2.BlockResponse()

    def ListMatchMarks(self, request: dna_pb2.ListMatchMarksRequest,
                       context: grpc.ServicerContext) -> dna_pb2.ListMatchMarksResponse:
        return dna_pb2.ListMatchMarksResponse(marks=[match_mark_to_proto(m) for m in self.file.match_marks(
            request.reference)])

    def GetFileStats(self, request: dna_pb2.GetFileStatsRequest,
                     context: grpc.ServicerContext) -> dna_pb2.GetFileStatsResponse:
        stats = self.file.stats()
        return dna_pb2.GetFileStatsResponse(profiles=stats.profiles, identified_persons=stats.identified_persons,
                                            unidentified_traces=stats.unidentified_traces, blocked=stats.blocked,
                                            contested=stats.contested)
