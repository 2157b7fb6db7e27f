"""ContactPointService: the officer's door. Proto <-> the exchange's requesting side and the contact point's
cores, nothing else; the conversions are in `prum.services.contact_point.wire`, and each category's query
and items travel where its wire says (`prum.services.categories`)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.services.categories import CATEGORIES, Registration
from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput
from prum.services.common.tls import calling_state
from prum.services.common.wire import category_from_proto, moment, search_purpose_from_proto, timestamp
from prum.services.contact_point.persons import PersonRegister
from prum.services.contact_point.wire import (
    informed_person_from_proto,
    officer_to_proto,
    person_from_proto,
    personal_data_to_proto,
    purpose_from_proto,
    received_information_to_proto,
    state_result_to_proto,
)
from prum.services.exchange.follow_up import FollowUps
from prum.services.exchange.information import InformationExchange
from prum.services.exchange.requesting import ContactPoint, OfficerSearch
from prum.services.exchange.wire import context_from_proto, header_to_proto


class ContactPointServicer(cp_pb2_grpc.ContactPointServiceServicer):
    def __init__(self, contact_point: ContactPoint, follow_ups: FollowUps, information: InformationExchange,
                 persons: PersonRegister, max_candidates: int = 10,
                 categories: dict[Category, Registration] | None = None) -> None:
        self.contact_point = contact_point
        self.follow_ups = follow_ups
        self.persons = persons  # the register behind the follow-ups' personal data (RegisterPersons fills it)
        self.information = information
        # FP-3: the most candidates this state accepts for verification from each peer.
        self.max_candidates = max_candidates
        self.categories = CATEGORIES if categories is None else categories

    def _registration(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery, where: str = "") -> Registration:
        category = category_from_proto(request.category, f"{where}category")
        registration = self.categories.get(category)
        if registration is None:
            raise InvalidInput(f"{category.name} is not a searched file; allowed: "
                               f"{', '.join(f'CATEGORY_{c.name}' for c in self.categories)}", field=f"{where}category")
        given, expected = request.WhichOneof("query"), registration.wire.officer_field
        if given != expected:
            raise InvalidInput(f"a {category.name} search carries `{expected}`, got {given or 'nothing'}",
                               field=f"{where}query")
        return registration

    def Search(self, request: cp_pb2.SearchRequest, context: grpc.ServicerContext) -> cp_pb2.SearchResponse:
        registration = self._registration(request)
        outcome = self.contact_point.search(OfficerSearch(
            officer_id=request.officer_id, ordering_officer_id=request.ordering_officer_id, reason=request.reason,
            case_reference=request.case_reference, plugin=registration.plugin,
            query=registration.wire.officer_query(request, self.max_candidates),
            target_states=list(request.target_states), deadline_ms=request.deadline_ms,
            purpose=search_purpose_from_proto(request.purpose)))
        return cp_pb2.SearchResponse(request_id=outcome.request_id,
                                     results=[state_result_to_proto(r, registration.wire.result_field)
                                              for r in outcome.results])

    def SearchSeveral(self, request: cp_pb2.SearchSeveralRequest,
                      context: grpc.ServicerContext) -> cp_pb2.SearchSeveralResponse:
        registrations = [self._registration(query, f"queries[{i}].") for i, query in enumerate(request.queries)]
        outcomes = self.contact_point.search_several([OfficerSearch(
            officer_id=request.officer_id, ordering_officer_id=request.ordering_officer_id, reason=request.reason,
            case_reference=request.case_reference, plugin=registration.plugin,
            query=registration.wire.officer_query(query, self.max_candidates),
            target_states=list(request.target_states), deadline_ms=request.deadline_ms,
            purpose=search_purpose_from_proto(request.purpose))
            for registration, query in zip(registrations, request.queries, strict=True)])
        return cp_pb2.SearchSeveralResponse(
            request_id=outcomes[0].request_id if outcomes else "",
            categories=[cp_pb2.CategoryResults(category=query.category,
                                               results=[state_result_to_proto(r, registration.wire.result_field)
                                                        for r in outcome.results])
                        for registration, query, outcome in zip(registrations, request.queries, outcomes, strict=True)])

    def FollowUp(self, request: cp_pb2.FollowUpRequest, context: grpc.ServicerContext) -> cp_pb2.FollowUpResponse:
        ncp = self.contact_point
        ncp.authorise(request.officer_id)
        for name in ("ordering_officer_id", "reason", "requested_state", "reference", "original_request_id"):
            if not getattr(request, name).strip():
                raise InvalidInput("is empty; a follow-up names the hit it follows and why (FOL-1, LOG-3)", field=name)
        query_context = ncp.outgoing_context(request.requested_state, request.officer_id, request.ordering_officer_id,
                                             request.reason, request.case_reference)
        header, data = self.follow_ups.request(query_context, category_from_proto(request.category), request.reference,
                                               request.original_request_id, ncp.transport,  # type: ignore[arg-type]
                                               ncp.deadline_ms / 1000)
        return cp_pb2.FollowUpResponse(header=header_to_proto(header), person=personal_data_to_proto(data))

    def AnswerFollowUp(self, request: cp_pb2.AnswerFollowUpRequest,
                       context: grpc.ServicerContext) -> cp_pb2.AnswerFollowUpResponse:
        header, data = self.follow_ups.answer(context_from_proto(request.context), calling_state(context),
                                              category_from_proto(request.category), request.reference,
                                              request.original_request_id)
        return cp_pb2.AnswerFollowUpResponse(header=header_to_proto(header), person=personal_data_to_proto(data))

    def SendInformation(self, request: cp_pb2.SendInformationRequest,
                        context: grpc.ServicerContext) -> cp_pb2.SendInformationResponse:
        ncp = self.contact_point
        ncp.authorise(request.officer_id)
        if not request.ordering_officer_id.strip():
            raise InvalidInput("is empty; name the officer who ordered the supply (LOG-3)", field="ordering_officer_id")
        query_context = ncp.outgoing_context(request.requested_state, request.officer_id, request.ordering_officer_id,
                                             request.reason, request.case_reference)
        header, information_id, delete_after = self.information.send(
            query_context, purpose_from_proto(request.purpose), request.event,
            tuple(informed_person_from_proto(p) for p in request.persons), tuple(request.conditions),
            moment(request.purpose_ends_at, request.HasField("purpose_ends_at")), ncp.transport,  # type: ignore[arg-type]
            ncp.deadline_ms / 1000)
        return cp_pb2.SendInformationResponse(header=header_to_proto(header), information_id=information_id,
                                              delete_after=timestamp(delete_after))

    def ReceiveInformation(self, request: cp_pb2.ReceiveInformationRequest,
                           context: grpc.ServicerContext) -> cp_pb2.ReceiveInformationResponse:
        header, information = self.information.receive(
            context_from_proto(request.context), calling_state(context), purpose_from_proto(request.purpose),
            request.event, tuple(informed_person_from_proto(p) for p in request.persons), tuple(request.conditions),
            moment(request.purpose_ends_at, request.HasField("purpose_ends_at")))
        return cp_pb2.ReceiveInformationResponse(header=header_to_proto(header),
                                                 information_id=information.information_id,
                                                 delete_after=timestamp(information.delete_after))

    def ListReceivedInformation(self, request: cp_pb2.ListReceivedInformationRequest,
                                context: grpc.ServicerContext) -> cp_pb2.ListReceivedInformationResponse:
        return cp_pb2.ListReceivedInformationResponse(
            information=[received_information_to_proto(i) for i in self.information.store.list()])

    def CloseInformation(self, request: cp_pb2.CloseInformationRequest,
                         context: grpc.ServicerContext) -> cp_pb2.CloseInformationResponse:
        self.information.store.close_purpose(request.information_id)
        return cp_pb2.CloseInformationResponse()

    def RegisterPersons(self, request_iterator: Iterator[cp_pb2.RegisterPersonsRequest],
                        context: grpc.ServicerContext) -> cp_pb2.RegisterPersonsResponse:
        accepted, rejections = self.persons.add_many(person_from_proto(r.person) for r in request_iterator)
        return cp_pb2.RegisterPersonsResponse(accepted=accepted, rejections=rejections)

    def ListOfficers(self, request: cp_pb2.ListOfficersRequest,
                     context: grpc.ServicerContext) -> cp_pb2.ListOfficersResponse:
        state = self.contact_point.state
        return cp_pb2.ListOfficersResponse(
            officers=[officer_to_proto(o, state) for o in self.contact_point.officers.values()])
