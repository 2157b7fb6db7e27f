"""AfisService: proto <-> the AFIS core, nothing else; the conversions are in `prum.services.afis.wire`.

Refusals are domain errors mapped by the interceptor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from prum.afis.v1 import afis_pb2 as pb
from prum.afis.v1 import afis_pb2_grpc
from prum.common.v1 import common_pb2
from prum.services.afis.capacity import CapacityLedger
from prum.services.afis.exchange import FingerprintFile, FingerprintQuery
from prum.services.afis.gallery import Gallery
from prum.services.afis.plugin import PLUGIN
from prum.services.afis.warmup import compile_kernels
from prum.services.afis.wire import search_response, template_from_proto
from prum.services.common.store import ingest_in_one_batch
from prum.services.common.tls import calling_state
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.plugin import CategoryPlugin
from prum.services.exchange.wire import context_from_proto, header_to_proto


class AfisServicer(afis_pb2_grpc.AfisServiceServicer):
    def __init__(self, state: str, gallery: Gallery, ledger: CapacityLedger, exchange: FileManagingSide,
                 plugin: CategoryPlugin[Any, FingerprintFile, Any, Any] = PLUGIN,
                 evaluation: Callable[[str], common_pb2.Evaluation | None] | None = None) -> None:
        """`plugin` and `evaluation` are Europol's (its retrievals logged, EUR-2; its codes on each candidate,
        EUR-1); a state's service takes the defaults."""
        self.state = state
        self.plugin = plugin
        self.evaluation = evaluation or (lambda reference: None)
        self.gallery = gallery
        self.ledger = ledger
        self.file = FingerprintFile(gallery, ledger)
        self.exchange = exchange
        compile_kernels()  # once per process: no search waits for numba's first compile

    def Search(self, request: pb.SearchRequest, context: grpc.ServicerContext) -> pb.SearchResponse:
        query = FingerprintQuery(template_from_proto(request.probe), request.max_candidates)
        header, found = self.exchange.answer(self.plugin, self.file, context_from_proto(request.context),
                                             calling_state(context), query)
        return search_response(header_to_proto(header), found, self.evaluation)

    def Ingest(self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext) -> pb.IngestResponse:
        accepted, rejections = ingest_in_one_batch(
            request_iterator, lambda request: template_from_proto(request.template, "template"),
            lambda request: request.template.reference, self.gallery.add_many)
        return pb.IngestResponse(accepted=accepted, rejections=rejections)

    def Delete(self, request: pb.DeleteRequest, context: grpc.ServicerContext) -> pb.DeleteResponse:
        return pb.DeleteResponse(deleted=self.gallery.remove(request.reference))

    def GetFileStats(self, request: pb.GetFileStatsRequest, context: grpc.ServicerContext) -> pb.GetFileStatsResponse:
        return pb.GetFileStatsResponse(templates=len(self.gallery))
