"""The vehicle register's messages to and from its core's types (protobuf only, no gRPC).

The servicer converts through here, and so does the contact point for a vehicle search: `WIRE` says
where a vehicle key and the records found travel in the officer's search and in the call to a peer's
register.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.descriptor import MethodDescriptor
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.services.common.errors import InvalidInput
from prum.services.common.wire import moment, timestamp
from prum.services.vehicle.exchange import HolderIdentity, VehicleQuery
from prum.services.vehicle.model import (
    Address,
    Company,
    Holder,
    HolderRole,
    NaturalPerson,
    Registration,
    Vehicle,
    VehicleRecord,
    VehicleStatus,
)
from prum.vehicle.v1 import vehicle_pb2 as pb


def _address_to_proto(address: Address) -> pb.Address:
    return pb.Address(street=address.street, postal_code=address.postal_code, city=address.city,
                      country=address.country)


def _address(message: pb.Address) -> Address:
    return Address(message.street, message.postal_code, message.city, message.country)


#: The contract's enum numbers by the core's enum members (`EnumTypeWrapper.Value` is a Python call per field).
_STATUS_TO_PROTO = {status: pb.VehicleStatus.Value(f"VEHICLE_STATUS_{status.name}") for status in VehicleStatus}
_ROLE_TO_PROTO = {role: pb.HolderRole.Value(f"HOLDER_ROLE_{role.name}") for role in HolderRole}


def record_to_proto(record: VehicleRecord) -> pb.VehicleRecord:
    v = record.vehicle
    message = pb.VehicleRecord(vehicle=pb.Vehicle(
        vin=v.vin, registration_number=v.registration_number, make=v.make, model=v.model, colour=v.colour,
        category=v.category, first_registration_date=v.first_registration_date,
        status=_STATUS_TO_PROTO[v.status]))
    for holder in record.holders:
        item = message.holders.add(role=_ROLE_TO_PROTO[holder.role])
        if holder.person is not None:
            p = holder.person
            item.person.CopyFrom(pb.NaturalPerson(surname=p.surname, first_names=p.first_names,
                                                  date_of_birth=p.date_of_birth,
                                                  address=_address_to_proto(p.address)))
        elif holder.company is not None:
            item.company.CopyFrom(pb.Company(name=holder.company.name,
                                             address=_address_to_proto(holder.company.address)))
    for registration in record.registrations:
        message.registrations.add(registration_number=registration.registration_number,
                                  valid_from=timestamp(registration.valid_from),
                                  valid_to=timestamp(registration.valid_to))
    return message


def _name(proto_enum: Any, value: int) -> str | int:
    """The enum value's name, or the bare number when the enum does not define it (parse refuses it)."""
    return proto_enum.Name(value) if value in proto_enum.values() else value  # type: ignore[no-any-return]


def record_from_proto(message: pb.VehicleRecord) -> VehicleRecord:
    v = message.vehicle
    holders = []
    for h in message.holders:
        role = HolderRole.parse(_name(pb.HolderRole, h.role), "holders.role")
        if h.HasField("person"):
            p = h.person
            holders.append(Holder(role, person=NaturalPerson(p.surname, p.first_names, p.date_of_birth,
                                                             _address(p.address))))
        else:
            holders.append(Holder(role, company=Company(h.company.name, _address(h.company.address))))
    registrations = tuple(
        Registration(r.registration_number, moment(r.valid_from, r.HasField("valid_from")),  # type: ignore[arg-type]
                     moment(r.valid_to, r.HasField("valid_to")))
        for r in message.registrations)
    vehicle = Vehicle(v.vin, v.registration_number, v.make, v.model, v.colour, v.category,
                      v.first_registration_date, VehicleStatus.parse(_name(pb.VehicleStatus, v.status), "vehicle.status"))
    return VehicleRecord(vehicle, tuple(holders), registrations)


def holder_from_proto(holder: pb.HolderIdentity) -> HolderIdentity:
    return HolderIdentity(holder.surname, holder.first_names, holder.date_of_birth)


def holder_to_proto(holder: HolderIdentity) -> pb.HolderIdentity:
    return pb.HolderIdentity(surname=holder.surname, first_names=holder.first_names,
                             date_of_birth=holder.date_of_birth)


def query_from_key(key: cp_pb2.VehicleKey | pb.LookupRequest) -> VehicleQuery:
    """The key as given (an officer's, or a peer's lookup): the plug-in checks it (VRD-1, P2-VRD-1)."""
    given = key.WhichOneof("key")
    return VehicleQuery(vin=key.vin if given == "vin" else None,
                        registration_number=key.registration_number if given == "registration_number" else None,
                        at=moment(key.at, key.HasField("at")),
                        holder=holder_from_proto(key.holder) if given == "holder" else None)


class VehicleWire:
    """A vehicle search on the wire: the officer's `vehicle` key, `VehicleRegisterService.Lookup` at each peer,
    `vehicles` back."""

    officer_field = "vehicle"
    result_field = "vehicles"
    method: MethodDescriptor = pb.DESCRIPTOR.services_by_name["VehicleRegisterService"].methods_by_name["Lookup"]
    reply_type = pb.LookupResponse

    def officer_query(self, request: cp_pb2.SearchRequest | cp_pb2.CategoryQuery, max_candidates: int) -> VehicleQuery:
        if not isinstance(request, cp_pb2.SearchRequest):  # a search across several categories is biometric only
            raise InvalidInput("a vehicle search is one category's search (`Search`), not part of a search across "
                               "several", field="category")
        return query_from_key(request.vehicle)

    def peer_request(self, context: common_pb2.QueryContext, query: VehicleQuery) -> pb.LookupRequest:
        request = pb.LookupRequest(context=context, at=timestamp(query.at))
        if query.vin is not None:
            request.vin = query.vin
        elif query.registration_number is not None:
            request.registration_number = query.registration_number
        elif query.holder is not None:
            request.holder.CopyFrom(holder_to_proto(query.holder))
        return request

    def items(self, reply: pb.LookupResponse) -> tuple[pb.VehicleRecord, ...]:
        return tuple(reply.records)


WIRE = VehicleWire()
