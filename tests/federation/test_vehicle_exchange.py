"""Art 12 end to end: vehicle and holder data for a complete VIN or plate, from the NCP to every ready peer."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.common.category import Category
from prum.services.logger import EntryKind, MessageType
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
from prum.vehicle.v1 import vehicle_pb2

VIN = "WVWZZZ1JZ3W386752"   # a VW of NL's register, plate moved to it from an older car in 2024
OLD_VIN = "WBA3A5C51CF256651"
PLATE = "12-GHJ-3"   # sidecode 7; Dutch plates use no vowels


def at(year: int) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(datetime(year, 6, 1, tzinfo=timezone.utc))
    return stamp


@pytest.fixture(scope="module", autouse=True)
def register(federation: InProcessFederation) -> None:
    address = Address("Lange Voorhout 9", "2514 EA", "Den Haag", "NL")
    since = datetime(2020, 1, 1, tzinfo=timezone.utc)
    moved = datetime(2024, 1, 1, tzinfo=timezone.utc)
    report = federation.nodes["NL"].vehicles.ingest_many([
        VehicleRecord(Vehicle(OLD_VIN, "", "BMW", "320i", "black", "M1", "2012-03-01", VehicleStatus.DEREGISTERED),
                      (Holder(HolderRole.OWNER, company=Company("Autoverhuur Jansen B.V.", address)),),
                      (Registration(PLATE, since, moved),)),
        VehicleRecord(Vehicle(VIN, PLATE, "Volkswagen", "Golf", "blue", "M1", "2003-05-12", VehicleStatus.STOLEN),
                      (Holder(HolderRole.OWNER, person=NaturalPerson("de Vries", "Anna Maria", "1981-02-03",
                                                                      address)),),
                      (Registration(PLATE, moved),)),
    ])
    assert (report.accepted, report.rejections) == (2, [])


def search(federation: InProcessFederation, key: cp_pb2.VehicleKey, targets: tuple[str, ...] = ()
           ) -> cp_pb2.SearchResponse:
    return federation.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="stolen vehicle, art. 12 search",
        case_reference="DE-2026-KFZ-7", category=common_pb2.CATEGORY_VEHICLE, vehicle=key,
        target_states=list(targets), deadline_ms=2000), timeout=10)


def status(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def test_a_vin_search_finds_the_vehicle_and_its_holder(federation: InProcessFederation) -> None:
    reply = search(federation, cp_pb2.VehicleKey(vin=VIN.lower()))
    assert status(reply) == {"NL": "HIT", "FR": "NO_HIT", "LU": "NO_HIT"}  # LU is ready for vehicles, not DNA
    (record,) = next(r for r in reply.results if r.state == "NL").vehicles
    assert record.vehicle.status == vehicle_pb2.VEHICLE_STATUS_STOLEN  # VRD-2: vehicle data
    assert record.holders[0].person.surname == "de Vries"              # VRD-2: holder data


def test_a_plate_answers_for_the_vehicle_registered_under_it_at_that_time(federation: InProcessFederation) -> None:
    now = search(federation, cp_pb2.VehicleKey(registration_number="12 ghj 3"), ("NL",))
    then = search(federation, cp_pb2.VehicleKey(registration_number="12-GHJ-3", at=at(2022)), ("NL",))
    assert [v.vehicle.vin for v in now.results[0].vehicles] == [VIN]
    (old,) = then.results[0].vehicles
    assert old.vehicle.vin == OLD_VIN and old.holders[0].company.name == "Autoverhuur Jansen B.V."


def test_a_foreign_plate_is_a_no_hit_not_a_refusal(federation: InProcessFederation) -> None:
    reply = search(federation, cp_pb2.VehicleKey(registration_number=PLATE), ("FR",))
    assert status(reply) == {"FR": "NO_HIT"}


@pytest.mark.parametrize("key, text", [
    (cp_pb2.VehicleKey(vin="WVWZZZ1JZ3W38"), "VIN"),
    (cp_pb2.VehicleKey(vin="WVWZZZ1JZ3W3867*"), "VIN"),
    (cp_pb2.VehicleKey(), "complete VIN or a complete registration number"),
])
def test_partial_and_wildcard_vins_are_refused_at_the_ncp(federation: InProcessFederation,
                                                          key: cp_pb2.VehicleKey, text: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        search(federation, key)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert text in refused.value.details()


@pytest.mark.parametrize("plate", ["12-GHJ*", "de Vries", "12-GH"])
def test_partial_plates_wildcards_and_names_are_refused_by_the_register(federation: InProcessFederation,
                                                                        plate: str) -> None:
    reply = search(federation, cp_pb2.VehicleKey(registration_number=plate), ("NL",))
    (result,) = reply.results
    assert (status(reply)["NL"], result.code) == ("REFUSED", "INVALID_ARGUMENT")
    assert "registration number" in result.detail


def test_vehicle_supplies_are_logged_on_both_sides_and_the_key_is_not_kept(federation: InProcessFederation) -> None:
    reply = search(federation, cp_pb2.VehicleKey(vin=VIN), ("NL",))
    requesting = federation.nodes["DE"].log.query(request_id=reply.request_id)
    managing = federation.nodes["NL"].log.query(request_id=reply.request_id)
    assert {e.category for e in requesting + managing} == {Category.VEHICLE}
    assert {(e.kind, e.message_type) for e in managing} == {
        (EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY), (EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY)}
    supplied = next(e for e in managing if e.kind is EntryKind.AUTOMATED_SUPPLY)
    assert "de Vries" in supplied.data_supplied
    federation.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="PUR-2 check",
        category=common_pb2.CATEGORY_VEHICLE, vehicle=cp_pb2.VehicleKey(registration_number="99-XZV-9"),
        target_states=["NL"]), timeout=10)
    for store in (federation.workdir / "NL").glob("vehicles.db*"):
        assert b"99-XZV-9" not in store.read_bytes() and b"99XYZ9" not in store.read_bytes()


def test_the_requesting_sides_receipt_of_a_vehicle_hit_logs_its_vin(federation: InProcessFederation) -> None:
    """Art 30 / LOG-1: the receipt named no reference for a vehicle hit (`"references": [""]`): vehicle records
    have no `reference`, their reference is the VIN."""
    reply = search(federation, cp_pb2.VehicleKey(vin=VIN), ("NL",))
    assert status(reply)["NL"] == "HIT"
    (receipt,) = [e for e in federation.nodes["DE"].log.query(request_id=reply.request_id)
                  if e.kind is EntryKind.AUTOMATED_RECEIPT]
    assert json.loads(receipt.data_supplied)["references"] == [VIN]
