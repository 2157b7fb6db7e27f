"""The router topology end to end (Prüm II, issue 20): an NCP's DNA search reaches each peer through the central
router, over mTLS with the router's certificate; both states log as in the mesh; the router logs each routed query
without its data; a state down or not ready has its own status; a vehicle search stays bilateral (P2-VRD-1)."""

from __future__ import annotations

import tomllib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import grpc
import pytest
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.router.v1 import router_pb2
from prum.vehicle.v1 import vehicle_pb2
from prum.services.common.category import Category
from prum.services.common.fan_out import ResultStatus
from prum.services.logger import EntryKind, MessageType
from prum.services.vehicle.model import (
    Address,
    Holder,
    HolderRole,
    NaturalPerson,
    Registration,
    Vehicle,
    VehicleRecord,
    VehicleStatus,
)
from sample_federation import DONOR, RELATIVE, STRANGER, load, officer_search, profile

ROUTED_FEDERATION = """
[federation]
name = "router-test"
topology = "router"
deadline_ms = 2000
[defaults]
dna_profiles = 0
[router]
log_retention = "1y"
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
[[state]]
code = "LU"
ready = ["VEHICLE"]
"""

VIN = "WVWZZZ1JZ3W386752"


def start_routed(workdir: Path, text: str = ROUTED_FEDERATION) -> InProcessFederation:
    federation = InProcessFederation(parse_federation(tomllib.loads(text)), workdir).start()
    load(federation, "NL", [profile("NL-P-1", DONOR), profile("NL-P-2", STRANGER)])
    load(federation, "FR", [profile("FR-P-7", RELATIVE)])
    return federation


@pytest.fixture(scope="module")
def routed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    running = start_routed(tmp_path_factory.mktemp("routed"))
    yield running
    running.stop()


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def routed_entries(federation: InProcessFederation, request_id: str) -> list[router_pb2.RoutedQuery]:
    page = federation.router_client("DE").ListRoutedQueries(router_pb2.ListRoutedQueriesRequest(page_size=1000),
                                                             timeout=5)
    return [q for q in page.queries if q.request_id == request_id]


def test_a_dna_search_reaches_each_peer_through_the_router(routed: InProcessFederation) -> None:
    reply = routed.contact_point("DE").Search(officer_search(DONOR, "DE-CS-R1"), timeout=10)
    assert statuses(reply) == {"NL": "HIT", "FR": "HIT", "LU": "NOT_READY"}
    by_state = {r.state: r for r in reply.results}
    assert [h.reference for h in by_state["NL"].dna_hits] == ["NL-P-1"]
    assert [h.reference for h in by_state["FR"].dna_hits] == ["FR-P-7"]
    header = by_state["NL"].header  # NL's own reply header, handed back by the router unchanged
    assert (header.requesting_state, header.requested_state, header.request_id) == ("DE", "NL", reply.request_id)
    # Both states log as in the mesh: the requesting side query + reply, the requested side receipt + reply.
    for peer in ("NL", "FR"):
        requesting = [e for e in routed.nodes["DE"].log.query(request_id=reply.request_id)
                      if e.requested_state == peer]
        managing = routed.nodes[peer].log.query(request_id=reply.request_id)
        assert {(e.kind, e.message_type) for e in requesting} == {
            (EntryKind.AUTOMATED_SUPPLY, MessageType.QUERY), (EntryKind.AUTOMATED_RECEIPT, MessageType.REPLY)}
        assert {(e.kind, e.message_type) for e in managing} == {
            (EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY), (EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY)}
        assert all((e.requesting_state, e.requested_state) == ("DE", peer) for e in requesting + managing)
        assert all(e.officer_id == "DE-NCP-01" for e in managing)  # the context travels through the router
    # The router's log: one entry per routed query, with who, whom, when, outcome and hit count, no data.
    entries = routed_entries(routed, reply.request_id)
    assert sorted((q.requested_state, q.status, q.hit_count) for q in entries) == [
        ("FR", cp_pb2.RESULT_STATUS_HIT, 1), ("NL", cp_pb2.RESULT_STATUS_HIT, 1)]
    assert all(q.requesting_state == "DE" and q.category == common_pb2.CATEGORY_DNA and q.reply_id
               and q.received_at.seconds > 0 for q in entries)
    text = b"".join(q.SerializeToString() for q in entries)
    for content in (b"NL-P-1", b"FR-P-7", b"DE-CS-R1", b"D3S1358", b"homicide", b"DE-2026-0001"):
        assert content not in text  # P2-ROUTER-1/3: no profile, no reference number, no reason, no case
    db = (routed.workdir / "router" / "router-log.db").read_bytes()
    assert b"NL-P-1" not in db and b"D3S1358" not in db


def test_a_no_hit_and_the_router_statistics(routed: InProcessFederation) -> None:
    unknown = {**STRANGER, "D3S1358": ["9", "10"], "VWA": ["11", "12"]}
    before = {(s.state, s.category): s for s in routed.router_client("NL").GetRouterStats(
        router_pb2.GetRouterStatsRequest(), timeout=5).stats}
    reply = routed.contact_point("DE").Search(officer_search(unknown, "DE-CS-R2", target_states=["NL"]),
                                              timeout=10)
    assert statuses(reply) == {"NL": "NO_HIT"}
    after = {(s.state, s.category): s for s in routed.router_client("NL").GetRouterStats(
        router_pb2.GetRouterStatsRequest(), timeout=5).stats}
    key = ("NL", common_pb2.CATEGORY_DNA)
    old = before.get(key, router_pb2.RouterStats())
    assert (after[key].queries_routed - old.queries_routed, after[key].no_hits - old.no_hits) == (1, 1)


def test_a_state_down_is_unavailable_alone(tmp_path: Path) -> None:
    federation = start_routed(tmp_path)
    try:
        federation.stop("FR")
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-R3"), timeout=10)
        assert statuses(reply) == {"NL": "HIT", "FR": "UNAVAILABLE", "LU": "NOT_READY"}
        (fr,) = [q for q in routed_entries(federation, reply.request_id) if q.requested_state == "FR"]
        assert fr.status == cp_pb2.RESULT_STATUS_UNAVAILABLE
    finally:
        federation.stop()


def test_a_state_whose_router_connection_is_not_ready_is_not_ready(tmp_path: Path) -> None:
    federation = start_routed(tmp_path, ROUTED_FEDERATION.replace('code = "FR"', 'code = "FR"\nrouter_ready = false'))
    try:
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-R4"), timeout=10)
        assert statuses(reply) == {"NL": "HIT", "FR": "NOT_READY", "LU": "NOT_READY"}
        assert "P2-GATE-1" in {r.state: r for r in reply.results}["FR"].detail
        assert federation.nodes["FR"].log.query(request_id=reply.request_id) == []  # FR was never asked
        # FR's own searches do not pass the router (P2-GATE-1): FR's contact point refuses its officer first.
        with pytest.raises(grpc.RpcError) as refused:
            federation.contact_point("FR").Search(officer_search(
                DONOR, "FR-CS-1", officer_id="FR-NCP-01", ordering_officer_id="FR-NCP-02"), timeout=10)
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "P2-GATE-1" in refused.value.details()
    finally:
        federation.stop()


def test_the_router_takes_a_search_only_in_the_callers_own_name(routed: InProcessFederation) -> None:
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="NL", requested_state="FR",
                                      officer_id="NL-NCP-01", reason="test")
    with pytest.raises(grpc.RpcError) as refused:
        routed.router_client("DE").Route(router_pb2.RouteRequest(
            context=context, category=common_pb2.CATEGORY_DNA, target_states=["FR"],
            profile=profile("Q-1", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED  # IdentityMismatch, as in the mesh (SEC-1)


def test_a_search_of_all_states_through_the_router_directly(routed: InProcessFederation) -> None:
    """P2-ROUTER-2: with no state named, every other state; NOT_READY for one not ready, without a call."""
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="EU",
                                      officer_id="DE-NCP-01", reason="test")
    reply = routed.router_client("DE").Route(router_pb2.RouteRequest(
        context=context, category=common_pb2.CATEGORY_DNA,
        profile=profile("Q-2", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
    by_state = {r.state: r for r in reply.results}
    assert {s: r.status for s, r in by_state.items()} == {
        "NL": cp_pb2.RESULT_STATUS_HIT, "FR": cp_pb2.RESULT_STATUS_HIT, "LU": cp_pb2.RESULT_STATUS_NOT_READY}
    assert [h.reference for h in by_state["NL"].dna_reply.hits] == ["NL-P-1"]


def test_a_vehicle_search_stays_bilateral(routed: InProcessFederation) -> None:
    """P2-VRD-1: vehicles never pass the router, and a data service takes no vehicle search from it."""
    since = datetime(2020, 1, 1, tzinfo=UTC)
    address = Address("Lange Voorhout 9", "2514 EA", "Den Haag", "NL")
    report = routed.nodes["NL"].vehicles.ingest_many([VehicleRecord(
        Vehicle(VIN, "12-GHJ-3", "Volkswagen", "Golf", "blue", "M1", "2003-05-12", VehicleStatus.REGISTERED),
        (Holder(HolderRole.OWNER, person=NaturalPerson("de Vries", "Anna Maria", "1981-02-03", address)),),
        (Registration("12-GHJ-3", since),))])
    assert (report.accepted, report.rejections) == (1, [])
    reply = routed.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="stolen vehicle", case_reference="DE-V-1",
        category=common_pb2.CATEGORY_VEHICLE, vehicle=cp_pb2.VehicleKey(vin=VIN), target_states=["NL"]), timeout=10)
    assert statuses(reply) == {"NL": "HIT"}
    assert routed_entries(routed, reply.request_id) == []  # not through the router
    assert routed.nodes["NL"].log.query(request_id=reply.request_id)  # NL logged it, as in the mesh
    with pytest.raises(grpc.RpcError) as refused:  # nor does the router take one
        routed.router_client("DE").Route(router_pb2.RouteRequest(
            context=common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE",
                                            requested_state="NL", officer_id="DE-NCP-01", reason="test"),
            category=common_pb2.CATEGORY_VEHICLE, target_states=["NL"]), timeout=5)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_the_router_connection_is_a_readiness_key_of_every_book(routed: InProcessFederation) -> None:
    """P2-GATE-1: each state's readiness book has the router connection, declared ready by the federation file."""
    assert routed.nodes["DE"].readiness.is_ready("NL", Category.ROUTER_CONNECTION)
    assert routed.router is not None and routed.router.readiness.is_ready("LU", Category.ROUTER_CONNECTION)
    assert not routed.router.readiness.is_ready("LU", Category.DNA)
    assert ResultStatus.NOT_READY.value == "NOT_READY"


def test_a_data_service_takes_a_dna_search_from_the_routers_certificate_but_no_vehicle_lookup(
        routed: InProcessFederation) -> None:
    """P2-ROUTER-1: the router's certificate carries a search in the name its context gives; P2-VRD-1: not for
    vehicles."""
    from prum.dna.v1 import dna_pb2_grpc
    from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc

    channel = routed.channel("NL", as_state="EU")
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                      officer_id="DE-NCP-01", reason="test")
    reply = dna_pb2_grpc.DnaIndexServiceStub(channel).Search(dna_pb2.SearchRequest(
        context=context, profile=profile("Q-3", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
    assert [h.reference for h in reply.hits] == ["NL-P-1"] and reply.header.requesting_state == "DE"
    with pytest.raises(grpc.RpcError) as refused:
        vehicle_pb2_grpc.VehicleRegisterServiceStub(channel).Lookup(vehicle_pb2.LookupRequest(
            context=context, vin=VIN), timeout=5)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_fingerprint_search_goes_through_the_router_and_is_verified_by_the_requesting_state(
        routed: InProcessFederation) -> None:
    """Fingerprints are routed too (P2-ROUTER-1); the requesting state still verifies the candidates (FP-2)."""
    import numpy as np
    from prum.afis.v1 import afis_pb2, afis_pb2_grpc
    from prum.federation.synthetic.afis import mated_probe, population
    from prum.services.afis.wire import template_to_proto

    rng = np.random.default_rng(2024)
    fingers = list(population(rng, 20, prefix="NL-F-"))
    stub = afis_pb2_grpc.AfisServiceStub(routed.channel("NL"))
    stub.Ingest(iter([afis_pb2.IngestRequest(template=template_to_proto(t)) for _, t in fingers]), timeout=60)
    master, _ = fingers[5]
    probe = template_to_proto(mated_probe(np.random.default_rng(1), master, "DE-LT-5", trace=True))
    reply = routed.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="burglary, art. 9 search",
        case_reference="DE-2026-LT-9", category=common_pb2.CATEGORY_FINGERPRINT, template=probe,
        deadline_ms=10_000), timeout=30)
    assert statuses(reply) == {"NL": "HIT", "FR": "NO_HIT", "LU": "NOT_READY"}
    assert [c.reference for c in {r.state: r for r in reply.results}["NL"].candidates] == ["NL-F-000006"]
    entries = routed_entries(routed, reply.request_id)
    assert {(q.requested_state, q.category) for q in entries} == {
        ("NL", common_pb2.CATEGORY_FINGERPRINT), ("FR", common_pb2.CATEGORY_FINGERPRINT)}
    assert b"NL-F-000006" not in b"".join(q.SerializeToString() for q in entries)


def test_with_the_router_down_routed_searches_are_unavailable_and_vehicles_still_pass(tmp_path: Path) -> None:
    federation = start_routed(tmp_path)
    try:
        federation.stop("EU")
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-R5", target_states=["NL", "FR"]),
                                                      timeout=10)
        assert statuses(reply) == {"NL": "UNAVAILABLE", "FR": "UNAVAILABLE"}
        assert federation.nodes["NL"].log.query(request_id=reply.request_id) == []
        vehicle = federation.contact_point("DE").Search(cp_pb2.SearchRequest(
            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="stolen vehicle",
            category=common_pb2.CATEGORY_VEHICLE, vehicle=cp_pb2.VehicleKey(vin=VIN), target_states=["NL"]),
            timeout=10)
        assert statuses(vehicle) == {"NL": "NO_HIT"}  # answered by NL over its bilateral link (P2-VRD-1)
    finally:
        federation.stop()


def several_categories_request(probe, target_states=()):  # type: ignore[no-untyped-def]
    return cp_pb2.SearchSeveralRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="homicide, one suspect's DNA and fingers",
        case_reference="DE-2026-SV-1", target_states=list(target_states), deadline_ms=10_000, queries=[
            cp_pb2.CategoryQuery(category=common_pb2.CATEGORY_DNA, profile=profile("DE-T-SV", DONOR)),
            cp_pb2.CategoryQuery(category=common_pb2.CATEGORY_FINGERPRINT, template=probe)])


@pytest.mark.parametrize("allowed", [True, False], ids=["several-categories", "several-categories-off"])
def test_one_search_across_dna_and_fingerprints_through_the_router(tmp_path: Path, allowed: bool) -> None:
    """P2-ROUTER-2: an officer's search of a DNA profile and fingerprints at once; one request id, per-state results
    per category, both states' logs and the router's per category. Where the federation's router takes no search
    across several categories (`[router] several_categories = false`), the contact point sends one search per
    category and the router refuses a `RouteSeveral` from any client, naming the setting."""
    import numpy as np
    from prum.afis.v1 import afis_pb2, afis_pb2_grpc
    from prum.federation.synthetic.afis import mated_probe, population
    from prum.services.afis.wire import template_to_proto

    text = ROUTED_FEDERATION if allowed else ROUTED_FEDERATION.replace("[router]\n", "[router]\nseveral_categories = false\n")
    federation = start_routed(tmp_path, text)
    try:
        fingers = list(population(np.random.default_rng(2024), 12, prefix="FR-F-"))
        afis_pb2_grpc.AfisServiceStub(federation.channel("FR")).Ingest(
            iter([afis_pb2.IngestRequest(template=template_to_proto(t)) for _, t in fingers]), timeout=60)
        probe = template_to_proto(mated_probe(np.random.default_rng(3), fingers[4][0], "DE-LT-SV", trace=True))
        reply = federation.contact_point("DE").SearchSeveral(several_categories_request(probe), timeout=30)
        by_category = {c.category: {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_")
                                    for r in c.results} for c in reply.categories}
        assert by_category == {common_pb2.CATEGORY_DNA: {"NL": "HIT", "FR": "HIT", "LU": "NOT_READY"},
                               common_pb2.CATEGORY_FINGERPRINT: {"NL": "NO_HIT", "FR": "HIT", "LU": "NOT_READY"}}
        fingerprint_fr = {r.state: r for r in reply.categories[1].results}["FR"]
        assert [c.reference for c in fingerprint_fr.candidates] == ["FR-F-000005"]
        entries = routed_entries(federation, reply.request_id)
        assert sorted((q.requested_state, q.category) for q in entries) == [
            ("FR", common_pb2.CATEGORY_DNA), ("FR", common_pb2.CATEGORY_FINGERPRINT),
            ("NL", common_pb2.CATEGORY_DNA), ("NL", common_pb2.CATEGORY_FINGERPRINT)]
        for peer in ("NL", "FR"):  # each requested state logged both categories under the one request id
            managing = federation.nodes[peer].log.query(request_id=reply.request_id)
            assert {(e.category, e.message_type) for e in managing} == {
                (c, m) for c in (Category.DNA, Category.FINGERPRINT) for m in (MessageType.QUERY, MessageType.REPLY)}
        # The router's RouteSeveral, as a member state's own client would call it.
        context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE",
                                          requested_state="EU", officer_id="DE-NCP-01", reason="test")
        direct = router_pb2.RouteSeveralRequest(context=context, target_states=["NL", "FR"], deadline_ms=5000,
                                                searches=[
            router_pb2.CategorySearch(category=common_pb2.CATEGORY_DNA, profile=profile("Q-2", DONOR)),
            router_pb2.CategorySearch(category=common_pb2.CATEGORY_FINGERPRINT,
                                      fingerprint=router_pb2.FingerprintQuery(probe=probe))])
        if allowed:
            routed = federation.router_client("DE").RouteSeveral(direct, timeout=10)
            assert [(r.state, r.category, r.status) for r in routed.results] == [
                ("NL", common_pb2.CATEGORY_DNA, cp_pb2.RESULT_STATUS_HIT),
                ("NL", common_pb2.CATEGORY_FINGERPRINT, cp_pb2.RESULT_STATUS_NO_HIT),
                ("FR", common_pb2.CATEGORY_DNA, cp_pb2.RESULT_STATUS_HIT),
                ("FR", common_pb2.CATEGORY_FINGERPRINT, cp_pb2.RESULT_STATUS_HIT)]
            assert routed.results[0].WhichOneof("reply") == "dna_reply"
            assert routed.results[3].WhichOneof("reply") == "fingerprint_reply"
        else:
            with pytest.raises(grpc.RpcError) as refused:
                federation.router_client("DE").RouteSeveral(direct, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "several_categories = false" in (refused.value.details() or "")
        twice = router_pb2.RouteSeveralRequest()
        twice.CopyFrom(direct)
        twice.searches[1].CopyFrom(twice.searches[0])
        with pytest.raises(grpc.RpcError) as duplicate:
            federation.router_client("DE").RouteSeveral(twice, timeout=10)
        assert duplicate.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "twice" in (duplicate.value.details() or "")
    finally:
        federation.stop()


def test_the_supervisors_audit_reconciles_the_router_log_with_both_states_logs(tmp_path: Path) -> None:
    """P2-ROUTER-3 / P2-LOG-1: every query the router routed is in the requesting state's log (its query) and, where
    answered or refused, in the requested state's (its reply or refusal), with the same ids, outcome and hit count.
    A member's own client that routes a search without logging it is found (LOG-1)."""
    federation = start_routed(tmp_path, ROUTED_FEDERATION.replace('code = "FR"', 'code = "FR"\nready = ["VEHICLE"]'))
    try:
        hit = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-A1"), timeout=10)
        federation.stop("NL")
        down = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-A2", target_states=["NL"]),
                                                     timeout=10)
        assert statuses(hit)["NL"] == "HIT" and statuses(down) == {"NL": "UNAVAILABLE"}
        # FR is not ready for DNA: DE's contact point does not even ask it (GATE-1), so the router has nothing.
        audit = federation.audit_router_log()
        assert (audit.checked, audit.reconciled, audit.findings) == (2, 2, [])
        context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="LU",
                                          officer_id="DE-NCP-01", reason="a member's own client, logging nothing")
        federation.router_client("DE").Route(router_pb2.RouteRequest(
            context=context, category=common_pb2.CATEGORY_DNA, target_states=["LU"],
            profile=profile("Q-3", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
        audit = federation.audit_router_log()
        assert (audit.checked, audit.reconciled) == (3, 2)
        (finding,) = audit.findings
        assert finding.request_id == context.request_id and "DE's log has no DNA query to LU" in finding.finding
    finally:
        federation.stop()


def holder_search(surname: str, first_names: str, born: str, target: str = "NL") -> cp_pb2.SearchRequest:
    return cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="vehicles of a suspect", case_reference="DE-V-9",
        category=common_pb2.CATEGORY_VEHICLE, target_states=[target], vehicle=cp_pb2.VehicleKey(
            holder=vehicle_pb2.HolderIdentity(surname=surname, first_names=first_names, date_of_birth=born)))


def test_a_search_by_the_owners_identity_under_pruem_ii_and_not_under_2008(routed: InProcessFederation,
                                                                             tmp_path: Path) -> None:
    """P2-VRD-1: under Prüm II a vehicle search may name the owner or holder (complete surname, first names, date of
    birth; case and spacing do not matter), bilaterally like every vehicle search and logged on both sides with the
    key; a partial name is refused before it leaves; a state under the 2008 rules refuses the key (VRD-1)."""
    address = Address("Strandvejen 1", "2100", "København Ø", "DK")
    owner = NaturalPerson("Sørensen", "Jens Peter", "1975-08-30", address)
    report = routed.nodes["NL"].vehicles.ingest_many([VehicleRecord(
        Vehicle("YV1RS61T842345678", "34-KLM-5", "Volvo", "V70", "grey", "M1", "2004-06-01", VehicleStatus.REGISTERED),
        (Holder(HolderRole.OWNER, person=owner),), (Registration("34-KLM-5", datetime(2021, 1, 1, tzinfo=UTC)),))])
    assert report.accepted == 1, report.rejections
    reply = routed.contact_point("DE").Search(holder_search("SØRENSEN", "jens   peter", "1975-08-30"), timeout=10)
    assert statuses(reply) == {"NL": "HIT"}
    assert [v.vehicle.vin for v in reply.results[0].vehicles] == ["YV1RS61T842345678"]
    assert routed_entries(routed, reply.request_id) == []  # vehicles stay off the router
    (query,) = [e for e in routed.nodes["NL"].log.query(request_id=reply.request_id)
                if e.message_type is MessageType.QUERY]
    assert '"surname":"SØRENSEN"' in query.data_supplied  # the key as supplied, on the requested side too
    other = routed.contact_point("DE").Search(holder_search("Sørensen", "Jens Peter", "1975-08-31"), timeout=10)
    assert statuses(other) == {"NL": "NO_HIT"}
    with pytest.raises(grpc.RpcError) as partial:
        routed.contact_point("DE").Search(holder_search("Sør*", "Jens Peter", "1975-08-30"), timeout=10)
    assert partial.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "wildcard" in (partial.value.details() or "")
    mesh = InProcessFederation(parse_federation(tomllib.loads(ROUTED_FEDERATION.replace(
        'topology = "router"', 'topology = "mesh"'))), tmp_path).start()
    try:
        refused = mesh.contact_point("DE").Search(holder_search("Sørensen", "Jens Peter", "1975-08-30"), timeout=10)
        (result,) = refused.results
        assert (result.status, result.code) == (cp_pb2.RESULT_STATUS_REFUSED, "INVALID_ARGUMENT")
        assert "P2-VRD-1" in result.detail and "2008 rules" in result.detail
    finally:
        mesh.stop()


def test_a_match_on_an_unidentified_profile_is_noted_in_the_file(tmp_path: Path) -> None:
    """P2-DNA-5: a requested state may note in its file that another state's search matched one of its unidentified
    profiles (default under Prüm II's router, off under the 2008 mesh); the note is its own, not another state's."""
    from prum.dna.v1 import dna_pb2_grpc

    federation = start_routed(tmp_path)
    try:
        load(federation, "NL", [profile("NL-T-9", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)])
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-M1", target_states=["NL", "FR"]),
                                                      timeout=10)
        assert statuses(reply) == {"NL": "HIT", "FR": "HIT"}
        marks = dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL")).ListMatchMarks(
            dna_pb2.ListMatchMarksRequest(), timeout=5).marks
        assert [(m.reference, m.requesting_state, m.request_id) for m in marks] == [
            ("NL-T-9", "DE", reply.request_id)]  # the trace only: NL-P-1 is an identified person
        assert not dna_pb2_grpc.DnaIndexServiceStub(federation.channel("FR")).ListMatchMarks(
            dna_pb2.ListMatchMarksRequest(), timeout=5).marks  # FR's hit is an identified person
        with pytest.raises(grpc.RpcError) as foreign:
            dna_pb2_grpc.DnaIndexServiceStub(federation.channel("NL", as_state="DE")).ListMatchMarks(
                dna_pb2.ListMatchMarksRequest(), timeout=5)
        assert foreign.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        federation.stop()
    mesh_text = ROUTED_FEDERATION.replace('topology = "router"', 'topology = "mesh"')
    assert parse_federation(tomllib.loads(mesh_text)).state("NL").mark_matched_traces is None
    mesh = InProcessFederation(parse_federation(tomllib.loads(mesh_text)), tmp_path / "mesh").start()
    try:
        assert not mesh.nodes["NL"].dna.mark_matched_traces and mesh.nodes["NL"].dna.match_marks() == []
    finally:
        mesh.stop()
