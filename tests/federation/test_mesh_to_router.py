"""P2-TIME-1 end to end: a router federation before the router's date (the 2008 mesh), in the year when states may
use it (through the router between states whose connections are ready, bilateral otherwise), and once it is
mandatory (the bilateral links refuse DNA and fingerprint searches), on the federation's simulated clock."""

from __future__ import annotations

import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import FederationFileError, parse_federation
from prum.router.v1 import router_pb2
from prum.services.common.clock import SimulatedClock
from sample_federation import DONOR, RELATIVE, load, officer_search, profile
from test_router_exchange import ROUTED_FEDERATION, routed_entries, statuses

AVAILABLE = datetime(2027, 6, 1, tzinfo=UTC)
PHASED = ROUTED_FEDERATION.replace("[router]\n", "[router]\navailable_from = 2027-06-01\n").replace(
    'code = "FR"', 'code = "FR"\nrouter_ready = false')


def test_the_dates_are_read_and_checked() -> None:
    federation = parse_federation(tomllib.loads(PHASED))
    assert (federation.router.phases.available_from, federation.router.phases.mandatory_from) == (
        AVAILABLE, datetime(2028, 6, 1, tzinfo=UTC))
    with pytest.raises(FederationFileError, match=r"\[router\].mandatory_from: .*at most one more year"):
        parse_federation(tomllib.loads(PHASED.replace("available_from = 2027-06-01",
                                                      "available_from = 2027-06-01\nmandatory_from = 2030-01-01")))
    with pytest.raises(FederationFileError, match="has no offset"):
        parse_federation(tomllib.loads(PHASED.replace("2027-06-01", "2027-06-01T00:00:00")))


def test_a_federation_moves_from_the_mesh_to_the_router(tmp_path: Path) -> None:
    clock = SimulatedClock(AVAILABLE - timedelta(days=30))
    federation = InProcessFederation(parse_federation(tomllib.loads(PHASED)), tmp_path, clock=clock).start()
    try:
        load(federation, "NL", [profile("NL-P-1", DONOR)])
        load(federation, "FR", [profile("FR-P-7", RELATIVE)])
        # Before the router's date: the 2008 mesh carries every search; the router takes none.
        before = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-T1"), timeout=10)
        assert statuses(before) == {"NL": "HIT", "FR": "HIT", "LU": "NOT_READY"}
        assert routed_entries(federation, before.request_id) == []
        context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                          officer_id="DE-NCP-01", reason="test")
        with pytest.raises(grpc.RpcError) as closed:
            federation.router_client("DE").Route(router_pb2.RouteRequest(
                context=context, category=common_pb2.CATEGORY_DNA, target_states=["NL"],
                profile=profile("Q-1", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
        assert closed.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "P2-TIME-1" in closed.value.details()
        # The year when states may use it: DE and NL (both connections ready) through the router; FR, whose
        # connection the Council has not declared ready, still on its bilateral link.
        clock.set(AVAILABLE + timedelta(days=10))
        between = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-T2"), timeout=10)
        assert statuses(between) == {"NL": "HIT", "FR": "HIT", "LU": "NOT_READY"}
        assert [q.requested_state for q in routed_entries(federation, between.request_id)] == ["NL"]
        # Mandatory: the router carries every search; FR, not connected, is NOT_READY; its bilateral link refuses.
        clock.set(datetime(2028, 6, 1, tzinfo=UTC))
        after = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-T3"), timeout=10)
        assert statuses(after) == {"NL": "HIT", "FR": "NOT_READY", "LU": "NOT_READY"}
        assert sorted(q.requested_state for q in routed_entries(federation, after.request_id)) == ["FR", "NL"]
        direct = dna_pb2.SearchRequest(
            context=common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                            officer_id="DE-NCP-01", reason="bilateral after the date"),
            profile=profile("Q-2", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE))
        with pytest.raises(grpc.RpcError) as refused:
            dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL", as_state="DE")).Search(direct, timeout=5)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "P2-TIME-1" in refused.value.details()
    finally:
        federation.stop()
