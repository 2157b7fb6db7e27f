"""The police-record index's messages to and from its core's types (protobuf only, no gRPC).

`WIRE` says where a biographic query and the matches travel: the officer's `person` query, each peer's
`PoliceRecordsService.Search`, the officer's `police_records` result.
"""

from __future__ import annotations

from google.protobuf.descriptor import MethodDescriptor
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.police_records.v1 import police_records_pb2 as pb
from prum.services.common.errors import InvalidInput
from prum.services.exchange.record_requests import Decision
from prum.services.police_records.index import BiographicQuery, Match, PoliceRecord

DECISION_TO_PROTO = {decision: pb.Decision.Value(f"DECISION_{decision.name}") for decision in Decision}
DECISION_FROM_PROTO: dict[int, Decision] = {int(number): decision for decision, number in DECISION_TO_PROTO.items()}


def query_from_proto(message: pb.BiographicQuery) -> BiographicQuery:
    return BiographicQuery(message.first_names, message.surnames, message.date_of_birth, message.nationality,
                           message.place_of_birth, message.country_of_birth, message.gender)


def query_to_proto(query: BiographicQuery) -> pb.BiographicQuery:
    return pb.BiographicQuery(first_names=query.first_names, surnames=query.surnames,
                              date_of_birth=query.date_of_birth, nationality=query.nationality,
                              place_of_birth=query.place_of_birth, country_of_birth=query.country_of_birth,
                              gender=query.gender)


def record_from_proto(message: pb.PoliceRecord) -> PoliceRecord:
    return PoliceRecord(message.reference, message.first_names, message.surnames, message.date_of_birth,
                        tuple(message.aliases), message.nationality, message.place_of_birth,
                        message.country_of_birth, message.gender)


def record_to_proto(record: PoliceRecord) -> pb.PoliceRecord:
    return pb.PoliceRecord(reference=record.reference, first_names=record.first_names, surnames=record.surnames,
                           aliases=list(record.aliases), date_of_birth=record.date_of_birth,
                           nationality=record.nationality, place_of_birth=record.place_of_birth,
                           country_of_birth=record.country_of_birth, gender=record.gender)


def match_to_proto(match: Match, holding_state: str) -> pb.Match:
    return pb.Match(reference=match.reference, quality=match.quality, holding_state=holding_state)


def decision_from_proto(number: int, field: str = "decision") -> Decision:
    decision = DECISION_FROM_PROTO.get(number)
    if decision is None or decision is Decision.PENDING:
        raise InvalidInput(f"{number}; allowed: DECISION_SHARED or DECISION_REFUSED", field=field)
    return decision


class PoliceRecordWire:
    """A police-record search on the wire: the officer's `person`, `PoliceRecordsService.Search` at each peer,
    `police_records` back."""

    officer_field = "person"
    result_field = "police_records"
    method: MethodDescriptor = pb.DESCRIPTOR.services_by_name["PoliceRecordsService"].methods_by_name["Search"]
    reply_type = pb.SearchResponse

    def officer_query(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery,
                      max_candidates: int) -> BiographicQuery:
        if not isinstance(request, cp_pb2.SearchRequest):  # a search across several categories is biometric only
            raise InvalidInput("a police-record search is one category's search (`Search`), not part of a search "
                               "across several", field="category")
        return query_from_proto(request.person)

    def peer_request(self, context: common_pb2.QueryContext, query: BiographicQuery) -> pb.SearchRequest:
        return pb.SearchRequest(context=context, person=query_to_proto(query))

    def items(self, reply: pb.SearchResponse) -> tuple[pb.Match, ...]:
        return tuple(reply.matches)


WIRE = PoliceRecordWire()
