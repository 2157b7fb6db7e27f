"""GATE-1 / GATE-2 across the federation: a state's evaluation steps, the Council's unanimous vote and a
withdrawal reach every state's readiness book, and the gates open and close everywhere with them."""

from __future__ import annotations

import uuid

import grpc
import pytest
from sample_federation import DONOR, STRANGER, evaluate_lu, officer_search, pilot_query, profile, supervisor

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.common.category import Category
from prum.supervisor.v1 import supervisor_pb2 as pb
from prum.supervisor.v1 import supervisor_pb2_grpc


def test_a_state_is_taken_through_the_whole_workflow_and_every_state_sees_it(fresh: InProcessFederation) -> None:
    lu = supervisor(fresh, "LU")
    evaluate_lu(fresh)
    assert all(len(node.readiness.get("LU", Category.DNA).steps_done) == 4 for node in fresh.nodes.values())
    tally = None
    for voter in ("DE", "NL", "FR", "LU"):  # unanimity of the members, the subject state included
        tally = supervisor(fresh, voter).CastCouncilVote(pb.CastCouncilVoteRequest(
            subject_state="LU", category=common_pb2.CATEGORY_DNA, voting_state=voter, vote=pb.VOTE_IN_FAVOUR),
            timeout=10)
        assert list(tally.unreached_states) == []
    assert tally is not None and tally.readiness.ready
    assert all(node.readiness.is_ready("LU", Category.DNA) for node in fresh.nodes.values())
    # The gates are open: LU's search is answered, and LU answers DE's.
    reply = fresh.contact_point("LU").Search(officer_search(DONOR, "LU-CS-1", officer_id="LU-NCP-01",
                                                            ordering_officer_id="LU-NCP-02"), timeout=10)
    assert {r.state: r.status for r in reply.results}["NL"] == cp_pb2.RESULT_STATUS_HIT
    found = fresh.contact_point("DE").Search(officer_search(DONOR, "DE-CS-LU", target_states=["LU"]), timeout=10)
    assert found.results[0].status == cp_pb2.RESULT_STATUS_HIT  # LU-P-1 is on LU's file

    withdrawn = lu.RevokeReadiness(pb.RevokeReadinessRequest(state="LU", category=common_pb2.CATEGORY_DNA,
                                                             reason="data-protection audit found a gap"), timeout=10)
    assert withdrawn.readiness.revoked and list(withdrawn.unreached_states) == []
    assert not any(node.readiness.is_ready("LU", Category.DNA) for node in fresh.nodes.values())
    again = fresh.contact_point("DE").Search(officer_search(DONOR, "DE-CS-LU2", target_states=["LU"]), timeout=10)
    assert again.results[0].status == cp_pb2.RESULT_STATUS_NOT_READY


def test_one_vote_against_keeps_the_gate_closed_everywhere(fresh: InProcessFederation) -> None:
    evaluate_lu(fresh)
    for voter, vote in (("DE", pb.VOTE_IN_FAVOUR), ("NL", pb.VOTE_AGAINST), ("FR", pb.VOTE_IN_FAVOUR),
                        ("LU", pb.VOTE_IN_FAVOUR)):
        supervisor(fresh, voter).CastCouncilVote(pb.CastCouncilVoteRequest(
            subject_state="LU", category=common_pb2.CATEGORY_DNA, voting_state=voter, vote=vote), timeout=10)
    assert not any(node.readiness.is_ready("LU", Category.DNA) for node in fresh.nodes.values())


def test_a_state_that_is_down_is_reported_unreached_not_waited_for(fresh: InProcessFederation) -> None:
    fresh.stop("FR")
    reply = supervisor(fresh, "LU").RecordStep(pb.RecordStepRequest(
        state="LU", category=common_pb2.CATEGORY_DNA, step=pb.READINESS_STEP_DECLARATIONS_FILED), timeout=10)
    assert list(reply.unreached_states) == ["FR"]
    assert fresh.nodes["DE"].readiness.get("LU", Category.DNA).steps_done


def test_a_peer_cannot_announce_a_change_in_another_states_name(fresh: InProcessFederation) -> None:
    import grpc

    stub = supervisor_pb2_grpc.SupervisorServiceStub(fresh.channel("NL", as_state="DE"))
    forged = pb.ShareReadinessChangeRequest(origin_state="DE", vote=pb.CastCouncilVoteRequest(
        subject_state="LU", category=common_pb2.CATEGORY_DNA, voting_state="FR", vote=pb.VOTE_IN_FAVOUR))
    with pytest.raises(grpc.RpcError) as refused:
        stub.ShareReadinessChange(forged, timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


# On no state's file: the stranger with three loci changed (two differing alleles already mean no hit).
NOBODY = {**STRANGER, "D3S1358": ["16", "17"], "VWA": ["19", "20"], "FGA": ["22", "25"]}


def test_the_pilot_run_sends_real_test_queries_to_a_peer_before_the_decision(fresh: InProcessFederation) -> None:
    """GATE-1: the pilot opens the gates for its own queries to its peer only, for the run only; passed, the step
    is recorded and reaches every state, and the state is still not ready until the Council decides."""
    run = supervisor(fresh, "LU").RunPilot(pb.RunPilotRequest(state="LU", category=common_pb2.CATEGORY_DNA, peer_state="NL", queries=[
        pilot_query(DONOR, "LU-PILOT-1", cp_pb2.RESULT_STATUS_HIT),  # the donor is on NL's file
        pilot_query(NOBODY, "LU-PILOT-2", cp_pb2.RESULT_STATUS_NO_HIT)]), timeout=60)
    assert run.passed, run.results
    assert [r.status for r in run.results] == [cp_pb2.RESULT_STATUS_HIT, cp_pb2.RESULT_STATUS_NO_HIT]
    assert list(run.unreached_states) == []
    for node in fresh.nodes.values():
        row = node.readiness.get("LU", Category.DNA)
        assert [s.name for s in row.steps_done] == ["PILOT_RUN_PASSED"] and not row.ready
    # Both sides logged the pilot's queries and replies, each under a test query id of the pilot (LOG-1).
    for state in ("LU", "NL"):
        logged = [e for e in fresh.nodes[state].log.export() if e.case_reference.startswith(f"{run.pilot_id}-")]
        assert len(logged) == 4 and {e.request_id for e in logged} == {r.request_id for r in run.results}
        assert len({e.case_reference for e in logged}) == 2  # one id per test query
    query_ids = {e.case_reference for e in logged}
    # The window is closed: the pilot id opens no gate any more, on either side.
    with pytest.raises(grpc.RpcError) as closed:
        fresh.contact_point("LU").Search(officer_search(DONOR, "LU-CS-1", officer_id="LU-NCP-01",
                                                        ordering_officer_id="LU-NCP-02", case_reference=run.pilot_id,
                                                        target_states=["NL"]), timeout=10)
    assert closed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert all(fresh.nodes["NL"].readiness.pilot_peer("LU", Category.DNA, q) is None for q in query_ids)


def test_a_pilot_with_an_unexpected_answer_does_not_pass(fresh: InProcessFederation) -> None:
    run = supervisor(fresh, "LU").RunPilot(pb.RunPilotRequest(
        state="LU", category=common_pb2.CATEGORY_DNA, peer_state="DE",
        queries=[pilot_query(STRANGER, "LU-PILOT-3", cp_pb2.RESULT_STATUS_HIT)]), timeout=60)
    assert not run.passed and run.results[0].status == cp_pb2.RESULT_STATUS_NO_HIT
    assert not any(node.readiness.get("LU", Category.DNA).steps_done for node in fresh.nodes.values())


def test_a_pilot_is_run_by_the_candidate_with_a_ready_peer_only(fresh: InProcessFederation) -> None:
    query = pilot_query(DONOR, "LU-PILOT-4", cp_pb2.RESULT_STATUS_HIT)
    with pytest.raises(grpc.RpcError) as by_hand:  # the pilot is run, not reported
        supervisor(fresh, "LU").RecordStep(pb.RecordStepRequest(state="LU", category=common_pb2.CATEGORY_DNA,
                                                                step=pb.READINESS_STEP_PILOT_RUN_PASSED), timeout=10)
    assert by_hand.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "RunPilot" in by_hand.value.details()
    with pytest.raises(grpc.RpcError) as for_another:  # NL cannot run LU's pilot
        supervisor(fresh, "NL").RunPilot(pb.RunPilotRequest(state="LU", category=common_pb2.CATEGORY_DNA,
                                                            peer_state="DE", queries=[query]), timeout=10)
    assert for_another.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as itself:
        supervisor(fresh, "LU").RunPilot(pb.RunPilotRequest(state="LU", category=common_pb2.CATEGORY_DNA,
                                                            peer_state="LU", queries=[query]), timeout=10)
    assert itself.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    long_reason = pilot_query(DONOR, "LU-PILOT-5", cp_pb2.RESULT_STATUS_HIT)
    long_reason.search.reason = "r" * 490  # within the contract's 500, but not after the pilot's prefix
    with pytest.raises(grpc.RpcError) as too_long:
        supervisor(fresh, "LU").RunPilot(pb.RunPilotRequest(state="LU", category=common_pb2.CATEGORY_DNA,
                                                            peer_state="DE", queries=[long_reason]), timeout=10)
    assert too_long.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert too_long.value.details().startswith("queries[0].search.reason: 490 characters")
    # A made-up pilot id opens no gate: LU's contact point refuses, and so would NL's file.
    with pytest.raises(grpc.RpcError) as forged:
        fresh.contact_point("LU").Search(officer_search(DONOR, "LU-CS-2", officer_id="LU-NCP-01",
                                                        ordering_officer_id="LU-NCP-02",
                                                        case_reference="PILOT-00000000-forged", target_states=["NL"]),
                                         timeout=10)
    assert forged.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_an_officer_cannot_reuse_the_pilot_for_other_queries_while_the_pilot_passes(fresh: InProcessFederation) -> None:
    """GATE-1: inside the pilot window only the pilot's own test queries pass, each once; an officer of the candidate
    who reuses the pilot id, or a test query id read in the log, is refused at LU's contact point and at NL."""
    pilot_id = "PILOT-0f3e2d1c-reuse"
    first, second = f"{pilot_id}-a1b2c3d4e5f6", f"{pilot_id}-f6e5d4c3b2a1"
    # The window as RunPilot opens it: in the candidate's own book, and announced to the peer's supervisor.
    fresh.nodes["LU"].readiness.open_pilot(pilot_id, "LU", Category.DNA, "NL", [first, second])
    supervisor(fresh, "NL", as_state="LU").ShareReadinessChange(pb.ShareReadinessChangeRequest(
        origin_state="LU", pilot=pb.PilotWindow(state="LU", category=common_pb2.CATEGORY_DNA, peer_state="NL",
                                                pilot_id=pilot_id, query_ids=[first, second], open=True)), timeout=10)
    lu = fresh.contact_point("LU")

    def officer(case_reference: str) -> cp_pb2.SearchResponse:
        return lu.Search(officer_search(DONOR, "LU-CS-9", officer_id="LU-NCP-01", ordering_officer_id="LU-NCP-02",
                                        case_reference=case_reference, target_states=["NL"]), timeout=10)

    for reused in (pilot_id, "LU-2026-17"):  # the pilot id itself, an ordinary case: no test query
        with pytest.raises(grpc.RpcError) as refused:
            officer(reused)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "GATE-1" in refused.value.details()
    assert officer(first).results[0].status == cp_pb2.RESULT_STATUS_HIT  # the pilot's first test query passes
    with pytest.raises(grpc.RpcError) as again:  # its id, seen in the log, reused for another query
        officer(first)
    assert again.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "passes once" in again.value.details()
    # Past LU's contact point, straight to NL's file: NL's book holds the id bound to the pilot's request.
    direct = dna_pb2_grpc.DnaIndexServiceStub(fresh.channel("NL", as_state="LU"))
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="LU", requested_state="NL",
                                      officer_id="LU-NCP-01", ordering_officer_id="LU-NCP-02", reason="reuse",
                                      case_reference=first)
    with pytest.raises(grpc.RpcError) as at_nl:
        direct.Search(dna_pb2.SearchRequest(context=context, profile=profile(
            "Q-1", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=10)
    assert at_nl.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert officer(second).results[0].status == cp_pb2.RESULT_STATUS_HIT  # the pilot's second query still passes
