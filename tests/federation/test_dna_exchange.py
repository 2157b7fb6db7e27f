"""A cross-border DNA search end to end: NCP -> peers over mTLS -> per-state results and both-side logs."""

from __future__ import annotations

import socket
import time
import uuid
from pathlib import Path

import grpc
import pytest
from sample_federation import DONOR, RELATIVE, STRANGER, officer_search, profile, start_federation

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.logger import EntryKind, MessageType, Side


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def test_hit_near_match_and_not_ready(federation: InProcessFederation) -> None:
    reply = federation.contact_point("DE").Search(officer_search(DONOR), timeout=10)
    assert statuses(reply) == {"NL": "HIT", "FR": "HIT", "LU": "NOT_READY"}
    by_state = {r.state: r for r in reply.results}
    (nl_hit,) = by_state["NL"].dna_hits
    assert (nl_hit.reference, nl_hit.match_class) == ("NL-P-1", dna_pb2.MATCH_CLASS_FULL)
    assert nl_hit.kind == dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON  # DNA-2: the flag travels with the hit
    assert nl_hit.loci_matched >= 6
    (fr_hit,) = by_state["FR"].dna_hits
    assert (fr_hit.reference, fr_hit.match_class) == ("FR-P-7", dna_pb2.MATCH_CLASS_NEAR)
    # DNA-10: the reply carries both states' codes, the request's reference and a reply id and time.
    header = by_state["NL"].header
    assert (header.requesting_state, header.requested_state, header.request_id) == ("DE", "NL", reply.request_id)
    assert header.reply_id and header.replied_at.seconds > 0
    assert "not ready" in by_state["LU"].detail


def test_no_hit(federation: InProcessFederation) -> None:
    unknown = {**STRANGER, "D3S1358": ["9", "10"], "VWA": ["11", "12"]}
    reply = federation.contact_point("DE").Search(officer_search(unknown, "DE-CS-NOHIT"), timeout=10)
    assert statuses(reply) == {"NL": "NO_HIT", "FR": "NO_HIT", "LU": "NOT_READY"}


def test_every_supply_is_logged_on_both_sides_with_all_fields(federation: InProcessFederation) -> None:
    reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-LOG", target_states=["NL"]),
                                                  timeout=10)
    requesting = federation.nodes["DE"].log.query(request_id=reply.request_id)
    managing = federation.nodes["NL"].log.query(request_id=reply.request_id)
    assert {(e.kind, e.message_type) for e in requesting} == {
        (EntryKind.AUTOMATED_SUPPLY, MessageType.QUERY), (EntryKind.AUTOMATED_RECEIPT, MessageType.REPLY)}
    assert {(e.kind, e.message_type) for e in managing} == {
        (EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY), (EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY)}
    for entry in requesting + managing:  # LOG-2: data, exact time, both authorities' codes
        assert (entry.requesting_state, entry.requested_state) == ("DE", "NL")
        assert entry.recorded_at is not None and entry.data_supplied
    for entry in requesting:  # LOG-2, requesting side: reason and both officers
        assert entry.side is Side.REQUESTING
        assert (entry.officer_id, entry.ordering_officer_id) == ("DE-NCP-01", "DE-NCP-02")
        assert entry.reason == "homicide, art. 3 search"
    query_sent = next(e for e in requesting if e.message_type is MessageType.QUERY)
    assert "DE-CS-LOG" in query_sent.data_supplied
    reply_sent = next(e for e in managing if e.kind is EntryKind.AUTOMATED_SUPPLY)
    assert "NL-P-1" in reply_sent.data_supplied and reply_sent.hit_count == 1
    assert federation.nodes["DE"].log.verify().intact and federation.nodes["NL"].log.verify().intact


def _direct_search(federation: InProcessFederation, to: str, as_state: str, claimed: str) -> dna_pb2.SearchResponse:
    stub = dna_pb2_grpc.DnaIndexServiceStub(federation.channel(to, as_state=as_state))
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state=claimed,
                                      requested_state=to, officer_id=f"{claimed}-NCP-01",
                                      ordering_officer_id=f"{claimed}-NCP-02", reason="test")
    return stub.Search(dna_pb2.SearchRequest(context=context, profile=profile(
        "Q-1", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)


def test_gate_refuses_a_requesting_state_that_is_not_ready(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _direct_search(federation, to="NL", as_state="LU", claimed="LU")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "LU is not ready for DNA" in refused.value.details()
    refusals = [e for e in federation.nodes["NL"].log.query() if e.message_type is MessageType.REFUSAL]
    assert any(e.requesting_state == "LU" for e in refusals)


def test_gate_refuses_a_search_of_a_state_that_is_not_ready(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _direct_search(federation, to="LU", as_state="DE", claimed="DE")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_ncp_of_a_state_that_is_not_ready_refuses_its_officers(federation: InProcessFederation) -> None:
    request = officer_search(DONOR, officer_id="LU-NCP-01", ordering_officer_id="LU-NCP-02")
    with pytest.raises(grpc.RpcError) as refused:
        federation.contact_point("LU").Search(request, timeout=10)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_a_state_may_only_query_in_its_own_name(federation: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        _direct_search(federation, to="NL", as_state="DE", claimed="FR")
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert "certificate identifies state DE" in refused.value.details()


def test_only_the_own_state_administers_its_file(federation: InProcessFederation) -> None:
    stub = dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL", as_state="DE"))
    with pytest.raises(grpc.RpcError) as refused:
        stub.Delete(dna_pb2.DeleteRequest(reference="NL-P-1"), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("loci, field", [
    ({k: DONOR[k] for k in list(DONOR)[:4]}, "6"),
    ({**DONOR, "NOT_A_LOCUS": ["1", "2"]}, "NOT_A_LOCUS"),
])
def test_inclusion_rules_refuse_bad_profiles(federation: InProcessFederation, loci: dict, field: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        federation.contact_point("DE").Search(officer_search(loci, "DE-CS-BAD"), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert field in refused.value.details()


@pytest.mark.parametrize("overrides, code, text", [
    ({"officer_id": "DE-TRAINEE"}, grpc.StatusCode.PERMISSION_DENIED, "not specially authorised"),
    ({"officer_id": "XX-NOBODY"}, grpc.StatusCode.PERMISSION_DENIED, "not an officer"),
    ({"reason": ""}, grpc.StatusCode.INVALID_ARGUMENT, "reason"),
    ({"ordering_officer_id": ""}, grpc.StatusCode.INVALID_ARGUMENT, "ordering_officer_id"),
    ({"target_states": ["DE"]}, grpc.StatusCode.INVALID_ARGUMENT, "own state"),
    ({"target_states": ["SE"]}, grpc.StatusCode.INVALID_ARGUMENT, "not a member"),
    ({"category": common_pb2.CATEGORY_UNSPECIFIED}, grpc.StatusCode.INVALID_ARGUMENT, "category"),
])
def test_contact_point_refuses_what_it_must(federation: InProcessFederation, overrides: dict,
                                             code: grpc.StatusCode, text: str) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        federation.contact_point("DE").Search(officer_search(DONOR, **overrides), timeout=10)
    assert refused.value.code() == code
    assert text in refused.value.details()


def test_query_profile_is_not_kept_by_the_searched_state(federation: InProcessFederation) -> None:
    marker = "DE-CS-PUR2-UNIQUE-7731"
    federation.contact_point("DE").Search(officer_search(RELATIVE, marker, target_states=["NL"]), timeout=10)
    folder = federation.workdir / "NL"
    for store in folder.glob("dna.db*"):
        assert marker.encode() not in store.read_bytes(), store
    assert any(marker in e.data_supplied for e in federation.nodes["NL"].log.query())


def test_a_state_that_is_down_is_unavailable_within_the_deadline(tmp_path: Path) -> None:
    federation = start_federation(tmp_path)
    try:
        federation.stop("FR")
        started = time.monotonic()
        reply = federation.contact_point("DE").Search(officer_search(DONOR), timeout=10)
        elapsed = time.monotonic() - started
        assert statuses(reply) == {"NL": "HIT", "FR": "UNAVAILABLE", "LU": "NOT_READY"}
        assert elapsed < 2.5
    finally:
        federation.stop()


def test_a_state_that_does_not_answer_gives_deadline_exceeded(tmp_path: Path) -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts TCP, never speaks TLS: a hung peer
    federation = start_federation(tmp_path)
    try:
        federation.directory["FR"] = f"127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        reply = federation.contact_point("DE").Search(officer_search(DONOR, deadline_ms=700), timeout=10)
        assert statuses(reply)["FR"] == "DEADLINE_EXCEEDED"
        assert statuses(reply)["NL"] == "HIT"
        assert time.monotonic() - started < 2.0
    finally:
        federation.stop()
        silent.close()
