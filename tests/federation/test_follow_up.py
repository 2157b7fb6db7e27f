"""FOL-1: the personal data behind a hit, in a separate, non-automated request logged on both sides (LOG-3)."""

from __future__ import annotations

import uuid

import grpc
import pytest
from sample_federation import DONOR, officer_search

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.logger import EntryKind, MessageType


@pytest.fixture(scope="module")
def hit(federation: InProcessFederation) -> str:
    """NL's person register is loaded, and DE's search has hit NL-P-1; returns the request id."""
    admin = cp_pb2_grpc.ContactPointServiceStub(federation.channel("NL"))
    loaded = admin.RegisterPersons(iter([cp_pb2.RegisterPersonsRequest(person=cp_pb2.PersonalData(
        reference="NL-P-1", surname="de Vries", first_names="Anna Maria", date_of_birth="1981-02-03",
        nationality="NL"))]), timeout=5)
    assert loaded.accepted == 1
    reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-FOL", target_states=["NL"]),
                                                  timeout=10)
    assert [h.reference for h in reply.results[0].dna_hits] == ["NL-P-1"]
    return reply.request_id


def follow_up(federation: InProcessFederation, request_id: str, reference: str = "NL-P-1",
              officer: str = "DE-NCP-01") -> cp_pb2.FollowUpResponse:
    return federation.contact_point("DE").FollowUp(cp_pb2.FollowUpRequest(
        officer_id=officer, ordering_officer_id="DE-NCP-02", reason="identify the suspect, art. 5 request",
        case_reference="DE-2026-0001", category=common_pb2.CATEGORY_DNA, requested_state="NL",
        reference=reference, original_request_id=request_id), timeout=10)


def test_the_person_behind_a_hit_is_supplied_and_logged_on_both_sides(federation: InProcessFederation,
                                                                       hit: str) -> None:
    reply = follow_up(federation, hit)
    assert (reply.person.surname, reply.person.date_of_birth) == ("de Vries", "1981-02-03")
    assert (reply.header.requesting_state, reply.header.requested_state) == ("DE", "NL")
    requesting = federation.nodes["DE"].log.query(request_id=reply.header.request_id)
    managing = federation.nodes["NL"].log.query(request_id=reply.header.request_id)
    assert {(e.kind, e.message_type) for e in requesting} == {
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.FOLLOW_UP_REQUEST),
        (EntryKind.NON_AUTOMATED_RECEIPT, MessageType.FOLLOW_UP_REPLY)}
    assert {(e.kind, e.message_type) for e in managing} == {
        (EntryKind.NON_AUTOMATED_RECEIPT, MessageType.FOLLOW_UP_REQUEST),
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.FOLLOW_UP_REPLY)}
    for entry in requesting + managing:  # LOG-3: reason, data, date, both authorities
        assert entry.reason == "identify the suspect, art. 5 request" and entry.data_supplied
        assert entry.recorded_at is not None and (entry.requesting_state, entry.requested_state) == ("DE", "NL")
    supplied = next(e for e in managing if e.kind is EntryKind.NON_AUTOMATED_SUPPLY)
    assert "de Vries" in supplied.data_supplied


def test_the_automated_reply_never_carries_personal_data(federation: InProcessFederation, hit: str) -> None:
    managing = federation.nodes["NL"].log.query(request_id=hit)
    automated = [e for e in managing if e.kind is EntryKind.AUTOMATED_SUPPLY]
    assert automated and all("de Vries" not in e.data_supplied for e in automated)


@pytest.mark.parametrize("reference, request_id", [
    ("NL-P-2", None), ("NL-P-1", "0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90")])  # a request with no such hit
def test_a_follow_up_without_a_prior_hit_is_refused(federation: InProcessFederation, hit: str,
                                                     reference: str, request_id: str | None) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        follow_up(federation, request_id or hit, reference)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    assert "FOL-1" in refused.value.details()


def test_the_file_managing_state_checks_its_own_log_too(federation: InProcessFederation, hit: str) -> None:
    stub = cp_pb2_grpc.ContactPointServiceStub(federation.channel("NL", as_state="FR"))
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="FR", requested_state="NL",
                                      officer_id="FR-NCP-01", ordering_officer_id="FR-NCP-02", reason="curiosity")
    with pytest.raises(grpc.RpcError) as refused:
        stub.AnswerFollowUp(cp_pb2.AnswerFollowUpRequest(context=context, category=common_pb2.CATEGORY_DNA,
                                                         reference="NL-P-1", original_request_id=hit), timeout=5)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND  # NL supplied that hit to DE, not to FR
    context.requesting_state = "DE"
    with pytest.raises(grpc.RpcError) as spoofed:
        stub.AnswerFollowUp(cp_pb2.AnswerFollowUpRequest(context=context, category=common_pb2.CATEGORY_DNA,
                                                         reference="NL-P-1", original_request_id=hit), timeout=5)
    assert spoofed.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_marking_of_contested_data_travels_with_the_follow_up(federation: InProcessFederation, hit: str) -> None:
    dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL")).Mark(dna_pb2.MarkRequest(
        reference="NL-P-1", contested=True, note="accuracy contested by the data subject"), timeout=5)
    reply = follow_up(federation, hit)
    assert reply.person.contested and "contested" in reply.person.marking_note


def test_only_authorised_officers_ask(federation: InProcessFederation, hit: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        follow_up(federation, hit, officer="DE-TRAINEE")
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
