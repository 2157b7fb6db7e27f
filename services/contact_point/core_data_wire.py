"""The core-data service's messages to and from the exchange's core-data types (protobuf only, no gRPC): requests,
decisions, cases and the core data set (P2-CORE-1..3). The contact point's core-data servicer and transport, and the
router's relay, convert through here."""

from __future__ import annotations

from datetime import UTC, datetime

from prum.contact_point.v1 import core_data_pb2 as pb
from prum.services.common.errors import InvalidInput
from prum.services.common.wire import CATEGORY_TO_PROTO, category_from_proto, moment, timestamp
from prum.services.contact_point.persons import CoreDetails
from prum.services.exchange.context import QueryContext
from prum.services.exchange.core_data import (
    CaseSide,
    CaseStatus,
    Confirmation,
    CoreDataCase,
    CoreDataRequest,
    CoreDataSet,
    Decided,
    Decision,
)
from prum.services.exchange.wire import context_to_proto

STATUS_TO_PROTO = {status: pb.CoreDataStatus.Value(f"CORE_DATA_STATUS_{status.name}") for status in CaseStatus}
STATUS_FROM_PROTO = {value: status for status, value in STATUS_TO_PROTO.items()}
SIDE_TO_PROTO = {CaseSide.REQUESTING: pb.CORE_DATA_SIDE_REQUESTING, CaseSide.REQUESTED: pb.CORE_DATA_SIDE_REQUESTED}
DECISION_FROM_PROTO = {pb.CoreDataDecision.Value(f"CORE_DATA_DECISION_{d.name}"): d for d in Decision}


def status_from_proto(value: int, field: str = "status") -> CaseStatus:
    try:
        return STATUS_FROM_PROTO[pb.CoreDataStatus.ValueType(value)]
    except KeyError:
        raise InvalidInput(f"{value}; allowed: {', '.join(pb.CoreDataStatus.Name(v) for v in STATUS_FROM_PROTO)}",
                           field=field) from None


def decision_from_proto(value: int) -> Decision:
    try:
        return DECISION_FROM_PROTO[pb.CoreDataDecision.ValueType(value)]
    except KeyError:
        raise InvalidInput(f"{value}; allowed: CORE_DATA_DECISION_SUPPLY, CORE_DATA_DECISION_REFUSE, "
                           f"CORE_DATA_DECISION_DELAY", field="decision") from None


def confirmation_from_proto(message: pb.MatchConfirmation, present: bool) -> Confirmation | None:
    if not present:
        return None
    return Confirmation(message.confirmed_by,
                        moment(message.confirmed_at, message.HasField("confirmed_at")) or datetime.now(UTC))


def confirmation_to_proto(confirmation: Confirmation | None) -> pb.MatchConfirmation | None:
    if confirmation is None:
        return None
    return pb.MatchConfirmation(confirmed_by=confirmation.confirmed_by,
                                confirmed_at=timestamp(confirmation.confirmed_at))


def core_data_from_proto(message: pb.CoreDataSet, present: bool) -> CoreDataSet | None:
    if not present:
        return None
    return CoreDataSet(message.reference, message.first_names, message.surnames, tuple(message.aliases),
                       message.date_of_birth, message.place_of_birth, message.nationality, message.gender,
                       message.collected_on, message.collected_at, message.offence, message.case_number)


def core_data_to_proto(data: CoreDataSet | None) -> pb.CoreDataSet | None:
    if data is None:
        return None
    return pb.CoreDataSet(
        reference=data.reference, first_names=data.first_names, surnames=data.surnames, aliases=list(data.aliases),
        date_of_birth=data.date_of_birth, place_of_birth=data.place_of_birth, nationality=data.nationality,
        gender=data.gender, collected_on=data.collected_on, collected_at=data.collected_at, offence=data.offence,
        case_number=data.case_number)


def details_from_proto(message: pb.CoreDetails) -> CoreDetails:
    return CoreDetails(message.reference, tuple(message.aliases), message.place_of_birth, message.gender,
                       message.collected_on, message.collected_at, message.offence, message.case_number)


def officer_request_from_proto(message: pb.RequestCoreDataRequest) -> CoreDataRequest:
    return CoreDataRequest(category_from_proto(message.category), message.reference, message.original_request_id,
                           message.offence_code, message.facts,
                           confirmation_from_proto(message.confirmation, message.HasField("confirmation")))


def open_request_from_proto(message: pb.OpenCoreDataCaseRequest) -> CoreDataRequest:
    return CoreDataRequest(category_from_proto(message.category), message.reference, message.original_request_id,
                           message.offence_code, message.facts,
                           confirmation_from_proto(message.confirmation, message.HasField("confirmation")))


def open_request_to_proto(context: QueryContext, request: CoreDataRequest) -> pb.OpenCoreDataCaseRequest:
    return pb.OpenCoreDataCaseRequest(
        context=context_to_proto(context), category=CATEGORY_TO_PROTO[request.category], reference=request.reference,
        original_request_id=request.original_request_id, confirmation=confirmation_to_proto(request.confirmation),
        offence_code=request.offence_code, facts=request.facts)


def decided_from_proto(message: pb.DeliverCoreDataRequest) -> Decided:
    return Decided(status_from_proto(message.status), message.reason,
                   moment(message.decided_at, message.HasField("decided_at")) or datetime.now(UTC), message.reply_id,
                   core_data_from_proto(message.core_data, message.HasField("core_data")),
                   confirmation_from_proto(message.requested_confirmation, message.HasField("requested_confirmation")))


def decided_to_proto(context: QueryContext, decided: Decided) -> pb.DeliverCoreDataRequest:
    return pb.DeliverCoreDataRequest(
        context=context_to_proto(context), reply_id=decided.reply_id, status=STATUS_TO_PROTO[decided.status],
        reason=decided.reason, requested_confirmation=confirmation_to_proto(decided.requested_confirmation),
        core_data=core_data_to_proto(decided.core_data), decided_at=timestamp(decided.decided_at))


def case_to_proto(case: CoreDataCase, now: datetime) -> pb.CoreDataCase:
    r = case.request
    return pb.CoreDataCase(
        case_id=case.case_id, side=SIDE_TO_PROTO[case.side], requesting_state=case.requesting_state,
        requested_state=case.requested_state, category=CATEGORY_TO_PROTO[r.category],
        original_request_id=r.original_request_id, reference=r.reference, offence_code=r.offence_code, facts=r.facts,
        confirmation=confirmation_to_proto(r.confirmation),
        requested_confirmation=confirmation_to_proto(case.requested_confirmation), opened_at=timestamp(case.opened_at),
        due_at=timestamp(case.due_at), status=STATUS_TO_PROTO[case.status], decided_at=timestamp(case.decided_at),
        reason=case.reason, overdue=case.overdue(now), core_data=core_data_to_proto(case.core_data),
        delivered=case.delivered, delivery_detail=case.delivery_detail)
