"""GATE-1 / GATE-2 across the federation: a state's evaluation steps, the Council's unanimous vote and a
withdrawal reach every state's readiness book, and the gates open and close everywhere with them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sample_federation import DONOR, officer_search, start_federation

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.federation.launcher import InProcessFederation
from prum.services.logger import Category
from prum.supervisor.v1 import supervisor_pb2 as pb
from prum.supervisor.v1 import supervisor_pb2_grpc

STEPS = (pb.READINESS_STEP_DECLARATIONS_FILED, pb.READINESS_STEP_QUESTIONNAIRE_ANSWERED,
         pb.READINESS_STEP_PILOT_RUN_PASSED, pb.READINESS_STEP_EVALUATION_VISIT_DONE)


@pytest.fixture()
def fresh(tmp_path: Path) -> Iterator[InProcessFederation]:
    federation = start_federation(tmp_path)
    yield federation
    federation.stop()


def supervisor(federation: InProcessFederation, state: str) -> supervisor_pb2_grpc.SupervisorServiceStub:
    return supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(state))


def test_a_state_is_taken_through_the_whole_workflow_and_every_state_sees_it(fresh: InProcessFederation) -> None:
    lu = supervisor(fresh, "LU")
    for step in STEPS:
        assert list(lu.RecordStep(pb.RecordStepRequest(state="LU", category=common_pb2.CATEGORY_DNA, step=step),
                                  timeout=10).unreached_states) == []
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
    for step in STEPS:
        supervisor(fresh, "LU").RecordStep(pb.RecordStepRequest(state="LU", category=common_pb2.CATEGORY_DNA,
                                                                step=step), timeout=10)
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
