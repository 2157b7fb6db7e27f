"""ContactPointService: the officer's door. Proto <-> `ContactPoint` core; nothing else."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import grpc

from prum.afis.v1 import afis_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.services.afis.exchange import template_record, verify_candidates
from prum.services.afis.matching import VERIFY_THRESHOLD
from prum.services.afis.servicer import template_from_proto
from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput
from prum.services.common.tls import calling_state
from prum.services.common.wire import category_from_proto, moment, timestamp
from prum.services.contact_point.follow_up import FollowUps, PersonalData
from prum.services.contact_point.information import InformationExchange, InformationPurpose, InformedPerson
from prum.services.contact_point.peers import INFORMATION_PURPOSE_TO_PROTO, informed_person_to_proto
from prum.services.contact_point.persons import Person
from prum.services.dna.exchange import query_record
from prum.services.dna.profile import check_inclusion, normalize_profile
from prum.services.dna.servicer import kind_from_proto, loci_from_proto
from prum.services.exchange.context import QueryContext
from prum.services.exchange.requesting import ContactPoint, OfficerSearch, ResultStatus, StateResult
from prum.services.exchange.wire import context_from_proto, header_to_proto
from prum.services.vehicle.exchange import query_record as vehicle_query_record
from prum.services.vehicle.identifiers import normalize_vin

STATUS_TO_PROTO = {status: getattr(cp_pb2, f"RESULT_STATUS_{status.value}") for status in ResultStatus}
QUERY_FIELD = {Category.DNA: "profile", Category.FINGERPRINT: "template", Category.VEHICLE: "vehicle"}


def result_to_proto(result: StateResult, category: Category) -> cp_pb2.StateResult:
    message = cp_pb2.StateResult(state=result.state, status=STATUS_TO_PROTO[result.status], detail=result.detail,
                                 code=result.code, elapsed_ms=result.elapsed_ms)
    if result.header is not None:
        message.header.CopyFrom(header_to_proto(result.header))
    if category is Category.DNA:
        message.dna_hits.extend(result.items)
    elif category is Category.FINGERPRINT:
        message.candidates.extend(result.items)
    else:
        message.vehicles.extend(result.items)
    return message


def vehicle_query(key: cp_pb2.VehicleKey) -> tuple[cp_pb2.VehicleKey, dict[str, object]]:
    """VRD-1 at the requesting side: a VIN is checked here (its form is the same everywhere); a plate
    goes out as typed, and each requested state checks it against the plate formats it knows."""
    given = key.WhichOneof("key")
    if given is None:
        raise InvalidInput("is empty; give a complete VIN or a complete registration number (VRD-1)",
                           field="vehicle.key")
    at = moment(key.at, key.HasField("at"))
    if given == "vin":
        vin = normalize_vin(key.vin)
        checked = cp_pb2.VehicleKey(vin=vin, at=key.at if key.HasField("at") else None)
        return checked, vehicle_query_record(vin, None, at)
    return key, vehicle_query_record(None, key.registration_number, at)


def verify_fingerprint_candidates(query: tuple[afis_pb2.Template, int], candidates: tuple[afis_pb2.Candidate, ...]
                                  ) -> tuple[tuple[afis_pb2.Candidate, ...], str]:
    """Art 9(2), FP-2: this state's own matcher verifies each candidate; only a verified one is a hit."""
    probe = template_from_proto(query[0], "template")
    by_reference = {c.reference: c for c in candidates}
    verified = verify_candidates(probe, [template_from_proto(c.template, "candidate") for c in candidates])
    hits = []
    for template, value in verified:
        hit = afis_pb2.Candidate()
        hit.CopyFrom(by_reference[template.reference])
        hit.score = value  # the requesting state's own verification score
        hits.append(hit)
    return tuple(hits), (f"{len(candidates)} candidate(s) received, {len(hits)} verified by the requesting state "
                         f"(score >= {VERIFY_THRESHOLD:g}, Art 9(2))")


def purpose_from_proto(value: int) -> InformationPurpose:
    name = cp_pb2.InformationPurpose.Name(value) if value in cp_pb2.InformationPurpose.values() else ""
    if not name or name.endswith("UNSPECIFIED"):
        raise InvalidInput(f"{value}; allowed: INFORMATION_PURPOSE_MAJOR_EVENT, INFORMATION_PURPOSE_TERRORISM_PREVENTION",
                           field="purpose")
    return InformationPurpose[name.removeprefix("INFORMATION_PURPOSE_")]


def informed_person_from_proto(p: cp_pb2.InformedPerson) -> InformedPerson:
    return InformedPerson(p.surname, p.first_names, p.date_of_birth, p.place_of_birth, p.circumstances)


def personal_data_to_proto(data: PersonalData) -> cp_pb2.PersonalData:
    p = data.person
    return cp_pb2.PersonalData(reference=p.reference, surname=p.surname, first_names=p.first_names,
                               date_of_birth=p.date_of_birth, nationality=p.nationality, contested=data.contested,
                               marking_note=data.marking_note)


class ContactPointServicer(cp_pb2_grpc.ContactPointServiceServicer):
    def __init__(self, contact_point: ContactPoint, follow_ups: FollowUps, information: InformationExchange,
                 max_candidates: int = 10) -> None:
        self.contact_point = contact_point
        self.follow_ups = follow_ups
        self.information = information
        # FP-3: the most candidates this state accepts for verification from each peer.
        self.max_candidates = max_candidates
        contact_point.verifiers[Category.FINGERPRINT] = verify_fingerprint_candidates

    def Search(self, request: cp_pb2.SearchRequest, context: grpc.ServicerContext) -> cp_pb2.SearchResponse:
        category = category_from_proto(request.category)
        if category not in QUERY_FIELD:
            raise InvalidInput(f"{category.name} is not a searched file; allowed: CATEGORY_DNA, "
                               f"CATEGORY_FINGERPRINT, CATEGORY_VEHICLE", field="category")
        given = request.WhichOneof("query")
        if given != QUERY_FIELD[category]:
            raise InvalidInput(f"a {category.name} search carries `{QUERY_FIELD[category]}`, got "
                               f"{given or 'nothing'}", field="query")
        if category is Category.DNA:
            kind = kind_from_proto(request.profile.kind)
            loci = loci_from_proto(request.profile)
            # Refuse here what every peer would refuse (DNA-4/5/6), before anything is supplied.
            check_inclusion(normalize_profile(loci), kind)
            query, query_data = request.profile, query_record(request.profile.reference, kind, loci)
        elif category is Category.VEHICLE:
            query, query_data = vehicle_query(request.vehicle)
        else:
            probe = template_from_proto(request.template, "template")
            query, query_data = (request.template, self.max_candidates), template_record(probe)
        outcome = self.contact_point.search(OfficerSearch(
            officer_id=request.officer_id, ordering_officer_id=request.ordering_officer_id, reason=request.reason,
            case_reference=request.case_reference, category=category, query=query, query_data=query_data,
            target_states=list(request.target_states), deadline_ms=request.deadline_ms))
        return cp_pb2.SearchResponse(request_id=outcome.request_id,
                                     results=[result_to_proto(r, category) for r in outcome.results])

    def FollowUp(self, request: cp_pb2.FollowUpRequest, context: grpc.ServicerContext) -> cp_pb2.FollowUpResponse:
        ncp = self.contact_point
        ncp.authorise(request.officer_id)
        for name in ("ordering_officer_id", "reason", "requested_state", "reference", "original_request_id"):
            if not getattr(request, name).strip():
                raise InvalidInput("is empty; a follow-up names the hit it follows and why (FOL-1, LOG-3)", field=name)
        query_context = QueryContext(
            request_id=str(uuid.uuid4()), requesting_state=ncp.state, requested_state=request.requested_state,
            officer_id=request.officer_id, ordering_officer_id=request.ordering_officer_id, reason=request.reason,
            case_reference=request.case_reference, sent_at=ncp.clock.now())
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
        query_context = QueryContext(
            request_id=str(uuid.uuid4()), requesting_state=ncp.state, requested_state=request.requested_state,
            officer_id=request.officer_id, ordering_officer_id=request.ordering_officer_id, reason=request.reason,
            case_reference=request.case_reference, sent_at=ncp.clock.now())
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
        return cp_pb2.ListReceivedInformationResponse(information=[
            cp_pb2.ReceivedInformation(
                information_id=i.information_id, sender_state=i.sender_state,
                purpose=INFORMATION_PURPOSE_TO_PROTO[i.purpose], event=i.event,
                persons=[informed_person_to_proto(p) for p in i.persons], conditions=list(i.conditions),
                received_at=timestamp(i.received_at), delete_after=timestamp(i.delete_after))
            for i in self.information.store.list()])

    def CloseInformation(self, request: cp_pb2.CloseInformationRequest,
                         context: grpc.ServicerContext) -> cp_pb2.CloseInformationResponse:
        self.information.store.close_purpose(request.information_id)
        return cp_pb2.CloseInformationResponse()

    def RegisterPersons(self, request_iterator: Iterator[cp_pb2.RegisterPersonsRequest],
                        context: grpc.ServicerContext) -> cp_pb2.RegisterPersonsResponse:
        accepted, rejections = self.follow_ups.persons.add_many(
            Person(r.person.reference, r.person.surname, r.person.first_names, r.person.date_of_birth,
                   r.person.nationality) for r in request_iterator)
        return cp_pb2.RegisterPersonsResponse(accepted=accepted, rejections=rejections)

    def ListOfficers(self, request: cp_pb2.ListOfficersRequest,
                     context: grpc.ServicerContext) -> cp_pb2.ListOfficersResponse:
        state = self.contact_point.state
        return cp_pb2.ListOfficersResponse(officers=[
            cp_pb2.Officer(officer_id=o.officer_id, state=state, name=o.name, authorised=o.authorised)
            for o in self.contact_point.officers.values()])
