"""The Council's readiness decisions reach the Prüm II router (GATE-2 for the router connection, P2-GATE-1), in one
federation run: a state's revocation of its router connection, announced by its supervisor, is enforced by the
router at once; a new Council decision reopens it; a router that was down catches up when it starts again; and the
requesting contact point refuses its own officer before the router does."""

from __future__ import annotations

import uuid
from pathlib import Path

import grpc
import pytest
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.router.v1 import router_pb2
from prum.services.common.category import Category
from prum.services.common.identity import ROUTER
from prum.supervisor.v1 import supervisor_pb2 as pb
from sample_federation import DONOR, officer_search, profile, supervisor
from test_router_exchange import start_routed, statuses

ROUTER_CONNECTION = common_pb2.CATEGORY_ROUTER_CONNECTION


def revoke_router_connection(federation: InProcessFederation, state: str) -> pb.RevokeReadinessResponse:
    return supervisor(federation, state).RevokeReadiness(pb.RevokeReadinessRequest(
        state=state, category=ROUTER_CONNECTION, reason="router connection certificate under review"), timeout=10)


def route_as(federation: InProcessFederation, state: str, targets: list[str]) -> router_pb2.RouteResponse:
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state=state,
                                      requested_state=targets[0] if len(targets) == 1 else ROUTER,
                                      officer_id=f"{state}-NCP-01", reason="test")
    return federation.router_client(state).Route(router_pb2.RouteRequest(
        context=context, category=common_pb2.CATEGORY_DNA, target_states=targets,
        profile=profile("Q-R", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=10)


def test_a_revocation_after_start_is_enforced_by_the_router_and_a_new_decision_reopens_it(tmp_path: Path) -> None:
    federation = start_routed(tmp_path)
    try:
        assert statuses(federation.contact_point("DE").Search(officer_search(DONOR, "DE-G-1", target_states=["NL"]),
                                                              timeout=10)) == {"NL": "HIT"}
        revoked = revoke_router_connection(federation, "NL")
        assert list(revoked.unreached_states) == []  # every state's supervisor and the router took it
        assert federation.router is not None
        row = federation.router.readiness.get("NL", Category.ROUTER_CONNECTION)
        assert row.revoked and row.revocation_reason == "router connection certificate under review"

        # The router refuses NL's connection both ways: NOT_READY for a search of NL, without a call ...
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-G-2", target_states=["NL", "FR"]),
                                                      timeout=10)
        assert statuses(reply) == {"NL": "NOT_READY", "FR": "HIT"}
        assert "P2-GATE-1" in {r.state: r for r in reply.results}["NL"].detail
        assert federation.nodes["NL"].log.query(request_id=reply.request_id) == []
        # ... and NL's own search, sent straight to the router with NL's certificate, refused as a whole.
        with pytest.raises(grpc.RpcError) as refused:
            route_as(federation, "NL", ["FR"])
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "P2-GATE-1" in (refused.value.details() or "")

        # A new Council decision, unanimous, reaches the router too: NL is routed again.
        for voter in federation.federation.codes:
            supervisor(federation, voter).CastCouncilVote(pb.CastCouncilVoteRequest(
                subject_state="NL", category=ROUTER_CONNECTION, voting_state=voter, vote=pb.VOTE_IN_FAVOUR),
                timeout=10)
        assert federation.router.readiness.is_ready("NL", Category.ROUTER_CONNECTION)
        assert {r.state: r.status for r in route_as(federation, "NL", ["FR"]).results} == {
            "FR": route_as(federation, "DE", ["FR"]).results[0].status}
        assert statuses(federation.contact_point("DE").Search(officer_search(DONOR, "DE-G-3", target_states=["NL"]),
                                                              timeout=10)) == {"NL": "HIT"}
    finally:
        federation.stop()


def test_the_contact_point_refuses_its_own_officer_while_its_router_connection_is_not_ready(tmp_path: Path) -> None:
    """P2-GATE-1 at the requesting side: nothing leaves for the router, nothing is logged; vehicles still pass."""
    federation = start_routed(tmp_path)
    try:
        revoke_router_connection(federation, "NL")
        with pytest.raises(grpc.RpcError) as refused:
            federation.contact_point("NL").Search(officer_search(
                DONOR, "NL-G-1", officer_id="NL-NCP-01", ordering_officer_id="NL-NCP-02"), timeout=10)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "connection to the router is not declared ready (P2-GATE-1)" in (refused.value.details() or "")
        page = federation.router_client("DE").ListRoutedQueries(router_pb2.ListRoutedQueriesRequest(page_size=1000),
                                                                timeout=5)
        assert [q for q in page.queries if q.requesting_state == "NL"] == []  # never reached the router
    finally:
        federation.stop()


def test_a_router_that_was_down_catches_up_on_start(tmp_path: Path) -> None:
    federation = start_routed(tmp_path)
    try:
        federation.stop(ROUTER)
        revoked = revoke_router_connection(federation, "FR")
        assert list(revoked.unreached_states) == [ROUTER]  # the router was down: told later, by its catch-up
        assert federation.restart(ROUTER) == {"readiness": []}
        assert federation.router is not None
        assert not federation.router.readiness.is_ready("FR", Category.ROUTER_CONNECTION)
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-G-4", target_states=["NL", "FR"]),
                                                      timeout=10)
        assert statuses(reply) == {"NL": "HIT", "FR": "NOT_READY"}
        # Its log came back from its folder: the search before the restart is still in it.
        assert any(q.requesting_state == "DE" for q in federation.router_client("NL").ListRoutedQueries(
            router_pb2.ListRoutedQueriesRequest(page_size=1000), timeout=5).queries)
    finally:
        federation.stop()


def test_the_router_takes_a_change_only_in_its_makers_name(tmp_path: Path) -> None:
    """GATE-2: the router's book, like a state's, takes a revocation only from the state whose certificate made it."""
    federation = start_routed(tmp_path)
    try:
        stub = supervisor(federation, ROUTER, as_state="DE")
        with pytest.raises(grpc.RpcError) as refused:
            stub.ShareReadinessChange(pb.ShareReadinessChangeRequest(
                origin_state="NL", revocation=pb.RevokeReadinessRequest(
                    state="NL", category=ROUTER_CONNECTION, reason="forged")), timeout=5)
        assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as forged:
            stub.ShareReadinessChange(pb.ShareReadinessChangeRequest(
                origin_state="DE", revocation=pb.RevokeReadinessRequest(
                    state="NL", category=ROUTER_CONNECTION, reason="forged")), timeout=5)
        assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert federation.router is not None and federation.router.readiness.is_ready("NL", Category.ROUTER_CONNECTION)
        seen = stub.GetReadiness(pb.GetReadinessRequest(state="NL", category=ROUTER_CONNECTION), timeout=5).readiness
        assert [(r.state, r.ready) for r in seen] == [("NL", True)]
        with pytest.raises(grpc.RpcError) as unimplemented:  # the readiness half of the service only
            stub.ListDeclarations(pb.ListDeclarationsRequest(), timeout=5)
        assert unimplemented.value.code() == grpc.StatusCode.UNIMPLEMENTED
    finally:
        federation.stop()


def test_in_the_year_between_a_state_not_ready_for_the_router_searches_bilaterally_then_is_refused(
        tmp_path: Path) -> None:
    """P2-GATE-1 with P2-TIME-1: while the bilateral links still carry DNA searches, FR's officer (FR's router
    connection not declared ready) searches on them, not refused; once the router alone carries them, FR's contact
    point refuses its officer before anything leaves."""
    import tomllib
    from datetime import UTC, datetime, timedelta

    from prum.federation.runtime.topology import parse_federation
    from prum.services.common.clock import SimulatedClock
    from sample_federation import load
    from test_mesh_to_router import AVAILABLE, PHASED

    clock = SimulatedClock(AVAILABLE + timedelta(days=10))
    federation = InProcessFederation(parse_federation(tomllib.loads(PHASED)), tmp_path, clock=clock).start()
    try:
        load(federation, "NL", [profile("NL-P-1", DONOR)])
        fr_search = officer_search(DONOR, "FR-G-1", officer_id="FR-NCP-01", ordering_officer_id="FR-NCP-02",
                                   target_states=["NL"])
        between = federation.contact_point("FR").Search(fr_search, timeout=10)
        assert statuses(between) == {"NL": "HIT"}  # on FR's bilateral link
        clock.set(datetime(2028, 6, 1, tzinfo=UTC))  # mandatory
        with pytest.raises(grpc.RpcError) as refused:
            federation.contact_point("FR").Search(fr_search, timeout=10)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "P2-GATE-1" in (refused.value.details() or "")
    finally:
        federation.stop()
