"""CoreDataService: proto <-> the exchange's core-data half (`prum.services.exchange.core_data`), nothing else; the
conversions are in `prum.services.contact_point.core_data_wire`.

Who may call: the officer-facing `RequestCoreData`, `DecideCoreData`, `ListCoreDataCases` and `RegisterCoreDetails`
the state's own authorities (an officer is checked against the list of authorised officers, SEC-2); the peer-facing
`OpenCoreDataCase` and `DeliverCoreData` a peer in its own name, which is the router carrying it (P2-ROUTER-1).
"""

from __future__ import annotations

import grpc
from prum.contact_point.v1 import core_data_pb2 as pb
from prum.contact_point.v1 import core_data_pb2_grpc
from prum.services.common.tls import calling_state
from prum.services.common.wire import timestamp
from prum.services.contact_point.core_data_wire import (
    STATUS_TO_PROTO,
    case_to_proto,
    decided_from_proto,
    decision_from_proto,
    details_from_proto,
    officer_request_from_proto,
    open_request_from_proto,
)
from prum.services.contact_point.persons import PersonRegister
from prum.services.exchange.core_data import CoreDataExchange
from prum.services.exchange.requesting import ContactPoint
from prum.services.exchange.wire import context_from_proto, header_to_proto


class CoreDataServicer(core_data_pb2_grpc.CoreDataServiceServicer):
    def __init__(self, contact_point: ContactPoint, core_data: CoreDataExchange, persons: PersonRegister) -> None:
        self.contact_point = contact_point
        self.core_data = core_data
        self.persons = persons

    def RequestCoreData(self, request: pb.RequestCoreDataRequest,
                        context: grpc.ServicerContext) -> pb.RequestCoreDataResponse:
        ncp = self.contact_point
        ncp.authorise(request.officer_id)
        query_context = ncp.outgoing_context(request.requested_state, request.officer_id, request.ordering_officer_id,
                                             request.reason, request.case_reference)
        case = self.core_data.request(query_context, officer_request_from_proto(request))
        return pb.RequestCoreDataResponse(core_data_case=case_to_proto(case, self.core_data.clock.now()))

    def OpenCoreDataCase(self, request: pb.OpenCoreDataCaseRequest,
                         context: grpc.ServicerContext) -> pb.OpenCoreDataCaseResponse:
        header, case = self.core_data.open_case(context_from_proto(request.context), calling_state(context),
                                                open_request_from_proto(request))
        return pb.OpenCoreDataCaseResponse(header=header_to_proto(header), status=STATUS_TO_PROTO[case.status],
                                           due_at=timestamp(case.due_at))

    def DeliverCoreData(self, request: pb.DeliverCoreDataRequest,
                        context: grpc.ServicerContext) -> pb.DeliverCoreDataResponse:
        self.core_data.deliver(context_from_proto(request.context), calling_state(context),
                               decided_from_proto(request))
        return pb.DeliverCoreDataResponse()

    def DecideCoreData(self, request: pb.DecideCoreDataRequest,
                       context: grpc.ServicerContext) -> pb.DecideCoreDataResponse:
        self.contact_point.authorise(request.officer_id)
        case = self.core_data.decide(request.case_id, decision_from_proto(request.decision), request.officer_id,
                                     request.reason, request.confirmed_by)
        return pb.DecideCoreDataResponse(core_data_case=case_to_proto(case, self.core_data.clock.now()))

    def ListCoreDataCases(self, request: pb.ListCoreDataCasesRequest,
                          context: grpc.ServicerContext) -> pb.ListCoreDataCasesResponse:
        now = self.core_data.clock.now()
        return pb.ListCoreDataCasesResponse(
            cases=[case_to_proto(c, now) for c in self.core_data.cases.list(request.overdue_only)],
            listed_at=timestamp(now))

    def RegisterCoreDetails(self, request: pb.RegisterCoreDetailsRequest,
                            context: grpc.ServicerContext) -> pb.RegisterCoreDetailsResponse:
        accepted, rejections = self.persons.add_details(details_from_proto(d) for d in request.details)
        return pb.RegisterCoreDetailsResponse(accepted=accepted, rejections=rejections)
