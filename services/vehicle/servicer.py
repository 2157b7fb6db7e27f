"""VehicleRegisterService: proto <-> the register core, nothing else; the conversions are in
`prum.services.vehicle.wire`. Refusals are domain errors mapped by the interceptor.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from prum.services.common.tls import calling_state
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.wire import context_from_proto, header_to_proto
from prum.services.vehicle.exchange import require_one_key
from prum.services.vehicle.plugin import PLUGIN
from prum.services.vehicle.register import VehicleRegister
from prum.services.vehicle.wire import query_from_key, record_from_proto, record_to_proto
from prum.vehicle.v1 import vehicle_pb2 as pb
from prum.vehicle.v1 import vehicle_pb2_grpc


class VehicleRegisterServicer(vehicle_pb2_grpc.VehicleRegisterServiceServicer):
    def __init__(self, state: str, register: VehicleRegister, exchange: FileManagingSide) -> None:
        self.state = state
        self.register = register
        self.exchange = exchange

    def Lookup(self, request: pb.LookupRequest, context: grpc.ServicerContext) -> pb.LookupResponse:
        query = query_from_key(request)
        # A search by an owner's or holder's identity is Prüm II's (P2-VRD-1): a router federation's, whose exchange
        # has the router's phases; the 2008 rules allow a VIN or a plate only (VRD-1).
        require_one_key(query, holder_search=self.exchange.router_phases is not None)
        header, records = self.exchange.answer(PLUGIN, self.register, context_from_proto(request.context),
                                               calling_state(context), query)
        return pb.LookupResponse(header=header_to_proto(header), records=[record_to_proto(r) for r in records])

    def Ingest(self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext) -> pb.IngestResponse:
        report = self.register.ingest_many(record_from_proto(r.record) for r in request_iterator)
        return pb.IngestResponse(accepted=report.accepted, rejections=[
            f"#{position} {reference}: {reason}" for position, reference, reason in report.rejections])

    def GetRegisterStats(self, request: pb.GetRegisterStatsRequest,
                         context: grpc.ServicerContext) -> pb.GetRegisterStatsResponse:
        return pb.GetRegisterStatsResponse(vehicles=self.register.stats().vehicles)
