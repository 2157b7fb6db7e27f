"""The servicers' proto -> core conversions (issue 16): an enum number its enum does not define, and a missing time,
are refused with InvalidInput naming the field, not with the ValueError of `Enum.Name` or a time made up.
(The validation layer refuses undefined numbers first on a server; the conversions hold on their own.)"""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from prum.afis.v1 import afis_pb2
from prum.logger.v1 import logger_pb2
from prum.services.afis.wire import template_from_proto
from prum.services.common.errors import InvalidInput
from prum.services.logger.servicer import entry_from_proto
from prum.services.vehicle.model import normalize_record
from prum.services.vehicle.wire import record_from_proto
from prum.vehicle.v1 import vehicle_pb2

UNDEFINED = (-1, 99, 2**31 - 1)


@pytest.mark.parametrize("number", UNDEFINED)
def test_a_template_kind_that_is_not_defined(number: int) -> None:
    with pytest.raises(InvalidInput, match=f"probe.kind: kind {number} is not a kind of reference data"):
        template_from_proto(afis_pb2.Template(reference="NL-T-1", kind=number))


def entry(**fields: object) -> logger_pb2.Entry:
    values: dict[str, object] = dict(
        kind=logger_pb2.ENTRY_KIND_NON_AUTOMATED_SUPPLY, message_type=logger_pb2.MESSAGE_TYPE_INFORMATION,
        category=1, side=logger_pb2.SIDE_REQUESTING, requesting_state="NL", requested_state="DE",
        request_id="0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90", reason="Art 14", outcome=logger_pb2.OUTCOME_NO_HIT)
    values.update(fields)
    return logger_pb2.Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["kind", "message_type", "side", "outcome"])
@pytest.mark.parametrize("number", UNDEFINED)
def test_a_log_entry_enum_that_is_not_defined(field: str, number: int) -> None:
    with pytest.raises(InvalidInput, match=f"entry.{field}: {number} is not one of its values; allowed: "):
        entry_from_proto(entry(**{field: number}), "NL")


def test_an_unspecified_log_entry_kind_is_refused_as_before() -> None:
    with pytest.raises(InvalidInput, match="entry.kind: is unspecified; allowed: ENTRY_KIND_AUTOMATED_SUPPLY"):
        entry_from_proto(entry(kind=0), "NL")
    assert entry_from_proto(entry(), "NL").reason == "Art 14"


def record(**changes: object) -> vehicle_pb2.VehicleRecord:
    address = vehicle_pb2.Address(street="Lange Voorhout 1", postal_code="2514 EA", city="Den Haag", country="NL")
    message = vehicle_pb2.VehicleRecord(
        vehicle=vehicle_pb2.Vehicle(vin="WVWZZZ1JZ3W386752", registration_number="12-BDF-3", make="Volkswagen",
                                    model="Golf", colour="blue", category="M1", first_registration_date="2003-05-12",
                                    status=vehicle_pb2.VEHICLE_STATUS_REGISTERED),
        holders=[vehicle_pb2.Holder(role=vehicle_pb2.HOLDER_ROLE_OWNER, person=vehicle_pb2.NaturalPerson(
            surname="de Vries", first_names="Anna", date_of_birth="1981-02-03", address=address))],
        registrations=[vehicle_pb2.Registration(registration_number="12-BDF-3",
                                                valid_from=Timestamp(seconds=1_052_697_600))])
    if "status" in changes:
        message.vehicle.status = changes["status"]  # type: ignore[assignment]
    if "role" in changes:
        message.holders[0].role = changes["role"]  # type: ignore[assignment]
    if changes.get("no_start"):
        message.registrations[0].ClearField("valid_from")
    return message


def test_a_valid_vehicle_record_converts() -> None:
    assert normalize_record(record_from_proto(record()), "NL").vehicle.registration_number == "12-BDF-3"


@pytest.mark.parametrize("field, pattern", [("status", "vehicle.status: 99 is not a vehicle.status"),
                                            ("role", "holders.role: 99 is not a holders.role")])
def test_a_vehicle_enum_that_is_not_defined(field: str, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern):
        record_from_proto(record(**{field: 99}))


def test_a_registration_period_without_a_start_is_refused() -> None:
    """It was read as 1970-01-01 (ToDatetime of the zero Timestamp); a period starts when it is said to start."""
    with pytest.raises(InvalidInput, match=r"registrations\[0\]\.valid_from: must be a timezone-aware datetime"):
        normalize_record(record_from_proto(record(no_start=True)), "NL")
