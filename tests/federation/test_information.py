"""Art 13-16: information on persons for major events and against terrorism, with conditions that bind the
receiver, deleted when the purpose is met and within one year at the latest (simulated clock)."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from sample_federation import FEDERATION

from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.logger import EntryKind, MessageType

HOOLIGAN = cp_pb2.InformedPerson(surname="Smit", first_names="Jan", date_of_birth="1990-04-01",
                                 place_of_birth="Rotterdam",
                                 circumstances="convicted twice of violence at international matches")


@pytest.fixture()
def clocked(tmp_path: Path) -> Iterator[tuple[InProcessFederation, SimulatedClock]]:
    clock = SimulatedClock()
    federation = InProcessFederation(parse_federation(tomllib.loads(FEDERATION)), tmp_path, clock=clock).start()
    yield federation, clock
    federation.stop()


def send(federation: InProcessFederation, purpose: int, ends_in: timedelta | None,
         clock: SimulatedClock) -> cp_pb2.SendInformationResponse:
    ends = None
    if ends_in is not None:
        ends = Timestamp()
        ends.FromDatetime(clock.now() + ends_in)
    return federation.contact_point("NL").SendInformation(cp_pb2.SendInformationRequest(
        officer_id="NL-NCP-01", ordering_officer_id="NL-NCP-02", reason="Art 14: supporters travelling to the final",
        requested_state="DE", purpose=purpose, event="European football final, Munich", persons=[HOOLIGAN],
        conditions=["use only for policing the event", "no onward transfer without NL's consent"],
        purpose_ends_at=ends), timeout=10)


def received(federation: InProcessFederation) -> list[cp_pb2.ReceivedInformation]:
    stub = cp_pb2_grpc.ContactPointServiceStub(federation.channel("DE"))
    return list(stub.ListReceivedInformation(cp_pb2.ListReceivedInformationRequest(), timeout=5).information)


def test_information_arrives_with_its_conditions_and_is_logged_on_both_sides(clocked) -> None:
    federation, clock = clocked
    reply = send(federation, cp_pb2.INFORMATION_PURPOSE_MAJOR_EVENT, timedelta(days=10), clock)
    (held,) = received(federation)
    assert held.sender_state == "NL" and held.persons[0].surname == "Smit"
    assert list(held.conditions) == ["use only for policing the event", "no onward transfer without NL's consent"]
    sender = federation.nodes["NL"].log.query(request_id=reply.header.request_id)
    receiver = federation.nodes["DE"].log.query(request_id=reply.header.request_id)
    assert [(e.kind, e.message_type, e.category) for e in sender] == [
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.INFORMATION, Category.PERSON_INFORMATION)]
    assert [e.kind for e in receiver] == [EntryKind.NON_AUTOMATED_RECEIPT]
    assert all("Smit" in e.data_supplied and e.reason for e in sender + receiver)  # LOG-3


def test_deleted_when_the_event_is_over(clocked) -> None:
    federation, clock = clocked
    send(federation, cp_pb2.INFORMATION_PURPOSE_MAJOR_EVENT, timedelta(days=10), clock)
    clock.advance(timedelta(days=9, hours=23))
    assert len(received(federation)) == 1
    clock.advance(timedelta(hours=2))
    assert received(federation) == []


def test_deleted_within_one_year_at_the_latest(clocked) -> None:
    federation, clock = clocked
    reply = send(federation, cp_pb2.INFORMATION_PURPOSE_TERRORISM_PREVENTION, timedelta(days=900), clock)
    assert reply.delete_after.ToDatetime().date() == (clock.now() + timedelta(days=365)).date()
    clock.advance(timedelta(days=364))
    assert len(received(federation)) == 1
    clock.advance(timedelta(days=2))
    assert received(federation) == []
    for store in (federation.workdir / "DE").glob("received-information.db*"):
        assert b"Smit" not in store.read_bytes(), store  # erased, not just unlinked from the table


def test_closing_the_purpose_deletes_at_once(clocked) -> None:
    federation, clock = clocked
    reply = send(federation, cp_pb2.INFORMATION_PURPOSE_MAJOR_EVENT, None, clock)
    stub = cp_pb2_grpc.ContactPointServiceStub(federation.channel("DE"))
    stub.CloseInformation(cp_pb2.CloseInformationRequest(information_id=reply.information_id), timeout=5)
    assert received(federation) == []
    for store in (federation.workdir / "DE").glob("received-information.db*"):
        assert b"Smit" not in store.read_bytes(), store
    with pytest.raises(grpc.RpcError) as again:
        stub.CloseInformation(cp_pb2.CloseInformationRequest(information_id=reply.information_id), timeout=5)
    assert again.value.code() == grpc.StatusCode.NOT_FOUND


@pytest.mark.parametrize("change, field", [
    ({"persons": []}, "persons"),
    ({"event": ""}, "event"),
    ({"purpose": cp_pb2.INFORMATION_PURPOSE_UNSPECIFIED}, "purpose"),
    ({"persons": [cp_pb2.InformedPerson(surname="Smit")]}, "circumstances"),
])
def test_incomplete_information_is_refused(clocked, change: dict, field: str) -> None:
    federation, clock = clocked
    request = cp_pb2.SendInformationRequest(
        officer_id="NL-NCP-01", ordering_officer_id="NL-NCP-02", reason="Art 16", requested_state="DE",
        purpose=cp_pb2.INFORMATION_PURPOSE_TERRORISM_PREVENTION, event="threat assessment", persons=[HOOLIGAN])
    for key, value in change.items():
        request.ClearField(key)
        if isinstance(value, list):
            getattr(request, key).extend(value)
        else:
            setattr(request, key, value)
    with pytest.raises(grpc.RpcError) as refused:
        federation.contact_point("NL").SendInformation(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details()


def test_another_state_may_not_read_what_de_received(clocked) -> None:
    federation, clock = clocked
    stub = cp_pb2_grpc.ContactPointServiceStub(federation.channel("DE", as_state="NL"))
    with pytest.raises(grpc.RpcError) as refused:
        stub.ListReceivedInformation(cp_pb2.ListReceivedInformationRequest(), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
