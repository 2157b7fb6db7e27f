"""PoliceRecordsService: proto <-> the police-record core, nothing else; conversions in
`prum.services.police_records.wire`. Refusals are domain errors mapped by the interceptor."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from prum.police_records.v1 import police_records_pb2 as pb
from prum.police_records.v1 import police_records_pb2_grpc
from prum.services.common.tls import calling_state
from prum.services.common.wire import timestamp
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.record_requests import RecordRequest, RecordRequests, RecordRequestTransport
from prum.services.exchange.wire import context_from_proto, header_to_proto
from prum.services.police_records.index import PoliceRecordIndex
from prum.services.police_records.plugin import PLUGIN
from prum.services.police_records.wire import (
    DECISION_TO_PROTO,
    decision_from_proto,
    match_to_proto,
    query_from_proto,
    record_from_proto,
    record_to_proto,
)


def _view(item: RecordRequest) -> pb.RecordRequestView:
    view = pb.RecordRequestView(follow_up_id=item.follow_up_id, requesting_state=item.requesting_state,
                                holding_state=item.holding_state, reference=item.reference, reason=item.reason,
                                decision=DECISION_TO_PROTO[item.decision], decision_reason=item.decision_reason)
    if item.record is not None:
        view.record.CopyFrom(record_to_proto(item.record))
    return view


class PoliceRecordsServicer(police_records_pb2_grpc.PoliceRecordsServiceServicer):
    def __init__(self, state: str, index: PoliceRecordIndex, exchange: FileManagingSide, requests: RecordRequests,
                 transport: RecordRequestTransport) -> None:
        self.state = state
        self.index = index
        self.exchange = exchange
        self.requests = requests
        self.transport = transport

    def Search(self, request: pb.SearchRequest, context: grpc.ServicerContext) -> pb.SearchResponse:
        header, matches = self.exchange.answer(PLUGIN, self.index, context_from_proto(request.context),
                                               calling_state(context), query_from_proto(request.person))
        return pb.SearchResponse(header=header_to_proto(header),
                                 matches=[match_to_proto(m, self.state) for m in matches])

    def Ingest(self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext) -> pb.IngestResponse:
        report = self.index.ingest_many(record_from_proto(r.record) for r in request_iterator)
        return pb.IngestResponse(accepted=report.accepted, rejections=[
            f"#{position} {reference}: {reason}" for position, reference, reason in report.rejections])

    def Refresh(self, request: pb.RefreshRequest, context: grpc.ServicerContext) -> pb.RefreshResponse:
        stats = self.index.refresh()
        return pb.RefreshResponse(records=stats.records, refreshed_at=timestamp(stats.refreshed_at),
                                  key_generation=stats.key_generation)

    def GetIndexStats(self, request: pb.GetIndexStatsRequest,
                      context: grpc.ServicerContext) -> pb.GetIndexStatsResponse:
        stats = self.index.stats()
        return pb.GetIndexStatsResponse(records=stats.records, blocking_keys=stats.blocking_keys,
                                        refreshed_at=timestamp(stats.refreshed_at),
                                        key_generation=stats.key_generation)

    def RequestRecord(self, request: pb.RequestRecordRequest,
                      context: grpc.ServicerContext) -> pb.RequestRecordResponse:
        item = self.requests.request(request.officer_id, request.ordering_officer_id, request.reason,
                                     request.holding_state, request.reference, request.search_request_id,
                                     self.transport, request.case_reference)
        return pb.RequestRecordResponse(follow_up_id=item.follow_up_id, decision=DECISION_TO_PROTO[item.decision])

    def ReceiveRecordRequest(self, request: pb.ReceiveRecordRequestRequest,
                             context: grpc.ServicerContext) -> pb.ReceiveRecordRequestResponse:
        item = self.requests.receive(context_from_proto(request.context), calling_state(context), request.reference,
                                     request.search_request_id)
        return pb.ReceiveRecordRequestResponse(decision=DECISION_TO_PROTO[item.decision])

    def DecideRecordRequest(self, request: pb.DecideRecordRequestRequest,
                            context: grpc.ServicerContext) -> pb.DecideRecordRequestResponse:
        item, delivered = self.requests.decide(request.officer_id, request.follow_up_id,
                                               decision_from_proto(request.decision), request.reason, self.transport)
        return pb.DecideRecordRequestResponse(decision=DECISION_TO_PROTO[item.decision], delivered=delivered)

    def ReceiveRecordDecision(self, request: pb.ReceiveRecordDecisionRequest,
                              context: grpc.ServicerContext) -> pb.ReceiveRecordDecisionResponse:
        self.requests.receive_decision(calling_state(context), request.follow_up_id,
                                       decision_from_proto(request.decision), request.reason,
                                       record_from_proto(request.record) if request.HasField("record") else None)
        return pb.ReceiveRecordDecisionResponse()

    def GetRecordRequest(self, request: pb.GetRecordRequestRequest,
                         context: grpc.ServicerContext) -> pb.GetRecordRequestResponse:
        return pb.GetRecordRequestResponse(follow_up=_view(self.requests.get(request.follow_up_id)))
