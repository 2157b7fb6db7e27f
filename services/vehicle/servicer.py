"""VehicleRegisterService: proto <-> the register core; refusals are domain errors mapped by the interceptor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import grpc

from prum.services.common.category import Category
from prum.services.common.tls import calling_state
from prum.services.common.wire import moment, timestamp
from prum.services.exchange.file_managing import FileManagingSide
from prum.services.exchange.wire import context_from_proto, header_to_proto
from prum.services.vehicle.exchange import lookup_supply, query_record, require_one_key
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
from prum.services.vehicle.register import VehicleRegister
from prum.vehicle.v1 import vehicle_pb2 as pb
from prum.vehicle.v1 import vehicle_pb2_grpc


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


class VehicleRegisterServicer(vehicle_pb2_grpc.VehicleRegisterServiceServicer):
    def __init__(self, state: str, register: VehicleRegister, exchange: FileManagingSide) -> None:
        self.state = state
        self.register = register
        self.exchange = exchange

    def Lookup(self, request: pb.LookupRequest, context: grpc.ServicerContext) -> pb.LookupResponse:
        key = request.WhichOneof("key")
        vin = request.vin if key == "vin" else None
        plate = request.registration_number if key == "registration_number" else None
        at = moment(request.at, request.HasField("at"))
        require_one_key(vin, plate)
        header, records = self.exchange.answer(
            Category.VEHICLE, context_from_proto(request.context), calling_state(context),
            query_record(vin, plate, at), lambda: lookup_supply(self.register, vin, plate, at))
        return pb.LookupResponse(header=header_to_proto(header), records=[record_to_proto(r) for r in records])

    def Ingest(self, request_iterator: Iterator[pb.IngestRequest], context: grpc.ServicerContext) -> pb.IngestResponse:
        report = self.register.ingest_many(record_from_proto(r.record) for r in request_iterator)
        return pb.IngestResponse(accepted=report.accepted, rejections=[
            f"#{position} {reference}: {reason}" for position, reference, reason in report.rejections])

    def GetRegisterStats(self, request: pb.GetRegisterStatsRequest,
                         context: grpc.ServicerContext) -> pb.GetRegisterStatsResponse:
        return pb.GetRegisterStatsResponse(vehicles=self.register.stats().vehicles)
