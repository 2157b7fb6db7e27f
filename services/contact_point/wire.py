"""The contact point's messages to and from the exchange's and its own core's types (protobuf only, no gRPC).

A search's per-state results, information supplies (Art 13-16) and the personal data of a follow-up
(FOL-1). Which field carries a category's query and items is its wire's
(`prum.services.categories.CategoryWire`).
"""

from __future__ import annotations

from typing import Any

from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.services.common.errors import InvalidInput
from prum.services.common.wire import STATUS_TO_PROTO, timestamp
from prum.services.contact_point.persons import Person
from prum.services.exchange.follow_up import PersonalData
from prum.services.exchange.information import Information, InformationPurpose, InformedPerson
from prum.services.exchange.requesting import Officer, StateResult
from prum.services.exchange.wire import header_to_proto

INFORMATION_PURPOSE_TO_PROTO = {purpose: cp_pb2.InformationPurpose.Value(f"INFORMATION_PURPOSE_{purpose.name}")
                                for purpose in InformationPurpose}


def state_result_to_proto(result: StateResult[Any], items_field: str) -> cp_pb2.StateResult:
    """One state's result for the officer; its items go into `items_field` (its category's wire's `result_field`)."""
    message = cp_pb2.StateResult(state=result.state, status=STATUS_TO_PROTO[result.status], detail=result.detail,
                                 code=result.code, elapsed_ms=result.elapsed_ms)
    if result.header is not None:
        message.header.CopyFrom(header_to_proto(result.header))
    getattr(message, items_field).extend(result.items)
    return message


def purpose_from_proto(value: int) -> InformationPurpose:
    name = cp_pb2.InformationPurpose.Name(cp_pb2.InformationPurpose.ValueType(value)) if value in cp_pb2.InformationPurpose.values() else ""
    if not name or name.endswith("UNSPECIFIED"):
        raise InvalidInput(f"{value}; allowed: INFORMATION_PURPOSE_MAJOR_EVENT, INFORMATION_PURPOSE_TERRORISM_PREVENTION",
                           field="purpose")
    return InformationPurpose[name.removeprefix("INFORMATION_PURPOSE_")]


def informed_person_from_proto(p: cp_pb2.InformedPerson) -> InformedPerson:
    return InformedPerson(p.surname, p.first_names, p.date_of_birth, p.place_of_birth, p.circumstances)


def informed_person_to_proto(person: InformedPerson) -> cp_pb2.InformedPerson:
    return cp_pb2.InformedPerson(surname=person.surname, first_names=person.first_names,
                                 date_of_birth=person.date_of_birth, place_of_birth=person.place_of_birth,
                                 circumstances=person.circumstances)


def received_information_to_proto(i: Information) -> cp_pb2.ReceivedInformation:
    return cp_pb2.ReceivedInformation(
        information_id=i.information_id, sender_state=i.sender_state, purpose=INFORMATION_PURPOSE_TO_PROTO[i.purpose],
        event=i.event, persons=[informed_person_to_proto(p) for p in i.persons], conditions=list(i.conditions),
        received_at=timestamp(i.received_at), delete_after=timestamp(i.delete_after))


def personal_data_to_proto(data: PersonalData) -> cp_pb2.PersonalData:
    p = data.person
    return cp_pb2.PersonalData(reference=p.reference, surname=p.surname, first_names=p.first_names,
                               date_of_birth=p.date_of_birth, nationality=p.nationality, contested=data.contested,
                               marking_note=data.marking_note)


def person_from_proto(p: cp_pb2.PersonalData) -> Person:
    return Person(p.reference, p.surname, p.first_names, p.date_of_birth, p.nationality)


def personal_data_from_proto(p: cp_pb2.PersonalData) -> PersonalData:
    return PersonalData(person_from_proto(p), p.contested, p.marking_note)


def officer_to_proto(officer: Officer, state: str) -> cp_pb2.Officer:
    return cp_pb2.Officer(officer_id=officer.officer_id, state=state, name=officer.name,
                          authorised=officer.authorised)
