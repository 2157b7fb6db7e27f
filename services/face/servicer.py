"""FaceService: proto <-> the facial-image core, nothing else; the conversions are in `prum.services.face.wire`.

Refusals are domain errors mapped by the interceptor.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from prum.face.v1 import face_pb2 as pb
from prum.face.v1 import face_pb2_grpc
from prum.services.common.store import ingest_in_one_batch
from prum.services.common.tls import calling_state
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.wire import context_from_proto, header_to_proto
from prum.services.face.exchange import FaceFile, FaceLimits, FaceQuery
from prum.services.face.gallery import FaceGallery
from prum.services.face.plugin import PLUGIN
from prum.services.face.wire import offence_from_proto, search_response, template_from_proto


class FaceServicer(face_pb2_grpc.FaceServiceServicer):
    def __init__(self, state: str, gallery: FaceGallery, exchange: FileManagingSide,
                 limits: FaceLimits | None = None) -> None:
        self.state = state
        self.gallery = gallery
        self.file = FaceFile(gallery, limits or FaceLimits())
        self.exchange = exchange

    def Search(self, request: pb.SearchRequest, context: grpc.ServicerContext) -> pb.SearchResponse:
        query = FaceQuery(template_from_proto(request.probe), offence_from_proto(request.offence))
        header, found = self.exchange.answer(PLUGIN, self.file, context_from_proto(request.context),
                                             calling_state(context), query)
        return search_response(header_to_proto(header), found)

    def Ingest(self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext) -> pb.IngestResponse:
        accepted, rejections = ingest_in_one_batch(
            request_iterator, lambda request: template_from_proto(request.template, "template"),
            lambda request: request.template.reference, self.gallery.add_many)
        return pb.IngestResponse(accepted=accepted, rejections=rejections)

    def Delete(self, request: pb.DeleteRequest, context: grpc.ServicerContext) -> pb.DeleteResponse:
        return pb.DeleteResponse(deleted=self.gallery.remove(request.reference))

    def GetFileStats(self, request: pb.GetFileStatsRequest, context: grpc.ServicerContext) -> pb.GetFileStatsResponse:
        return pb.GetFileStatsResponse(templates=len(self.gallery))
