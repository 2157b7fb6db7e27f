"""Europol as a participant of the Prüm II federation, end to end over the router (P2-EUROPOL-1..3, EUR-1..3).

A state searches Europol's third-country data by naming Europol (a search of all states does not include it); the
hit carries Europol's evaluation codes (EUR-1) and the retrieval is logged with the user, the subject and the file
(EUR-2). Europol searches the states through the router for its Art 18(2)(a) and (c) tasks only: without one its
contact point refuses, and so does the requested state, which logs the refusal; it has no bilateral path. The EDPS
audits Europol's log and files; the yearly review and the deletion 3 years after a file closes run on the clock
(EUR-3)."""

from __future__ import annotations

import json
import tomllib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.federation.synthetic.europol import load as load_europol
from prum.federation.synthetic.europol import third_country_data
from prum.router.v1 import router_pb2
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.identity import EUROPOL
from prum.services.common.purpose import SearchPurpose
from prum.services.dna.wire import loci_from_proto
from prum.services.europol.evaluation import Evaluation
from prum.services.logger import EntryKind, MessageType, Outcome, Side
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from sample_federation import DONOR, RELATIVE, STRANGER, load, officer_search, profile

EUROPOL_FEDERATION = """
[federation]
name = "europol-test"
topology = "router"
deadline_ms = 3000
[defaults]
dna_profiles = 0
[europol]
enabled = true
dna_profiles = 12
fingerprints = 6
[[state]]
code = "DE"
search_purposes = ["MISSING_PERSON"]
[[state]]
code = "NL"
[[state]]
code = "FR"
"""


def start(workdir: Path, clock: SimulatedClock | None = None) -> InProcessFederation:
    federation = InProcessFederation(parse_federation(tomllib.loads(EUROPOL_FEDERATION)), workdir, clock=clock).start()
    assert federation.europol is not None
    load_europol(federation.europol, third_country_data(federation.federation.europol, seed=3))
    # A person a third country reported, whose profile matches the trace DE searches.
    donor = profile("XP-D-DONOR", DONOR)
    federation.europol.dna.ingest_many([(donor.reference, "IDENTIFIED_PERSON", loci_from_proto(donor))])
    federation.europol.files.add_many([("XP-D-DONOR", Category.DNA, Evaluation.parse("B", "2", "AWF-TC-US"))])
    load(federation, "NL", [profile("NL-P-1", DONOR), profile("NL-P-2", STRANGER)])
    load(federation, "FR", [profile("FR-P-7", RELATIVE)])
    return federation


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    federation = start(tmp_path_factory.mktemp("europol"))
    yield federation
    federation.stop()


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def europol_search(**overrides: object) -> cp_pb2.SearchRequest:
    fields: dict[str, object] = dict(officer_id="XP-NCP-01", ordering_officer_id="XP-NCP-02",
                                     reason="cross-check of a trafficking network, Art 18(2)(a)",
                                     case_reference="EP-OP-2026-7",
                                     purpose=common_pb2.SEARCH_PURPOSE_EUROPOL_CROSS_CHECKING)
    fields.update(overrides)
    return officer_search(DONOR, "EP-Q-1", **fields)


def routed_entries(federation: InProcessFederation, request_id: str) -> list[router_pb2.RoutedQuery]:
    page = federation.router_client("DE").ListRoutedQueries(router_pb2.ListRoutedQueriesRequest(page_size=1000),
                                                             timeout=5)
    return [q for q in page.queries if q.request_id == request_id]


def test_a_state_searches_europols_third_country_data_through_the_router_and_the_hit_carries_its_codes(
        running: InProcessFederation) -> None:
    reply = running.contact_point("DE").Search(officer_search(DONOR, "DE-CS-E1", target_states=[EUROPOL]), timeout=10)
    assert statuses(reply) == {EUROPOL: "HIT"}
    (result,) = reply.results
    (hit,) = result.dna_hits
    assert hit.reference == "XP-D-DONOR"
    # EUR-1: the evaluation codes travel with the supplied data.
    assert (hit.evaluation.source, hit.evaluation.information, hit.evaluation.file) == (
        common_pb2.SOURCE_RELIABILITY_B, common_pb2.INFORMATION_RELIABILITY_2, "AWF-TC-US")
    assert [(q.requesting_state, q.requested_state) for q in routed_entries(running, reply.request_id)] == [
        ("DE", EUROPOL)]  # through the router (P2-EUROPOL-2)
    # EUR-2: Europol's log holds the retrieval: user reference, date and time, data subject, file.
    assert running.europol is not None
    (retrieval,) = [e for e in running.europol.log.query(request_id=reply.request_id)
                    if e.kind is EntryKind.AUTOMATED_SUPPLY]
    data = json.loads(retrieval.data_supplied)
    assert data["user"] == "DE/DE-NCP-01" and retrieval.officer_id == "DE-NCP-01"
    assert data["retrievals"] == [{"subject": "XP-D-DONOR", "file": "AWF-TC-US", "evaluation": "B2"}]
    assert retrieval.recorded_at is not None and retrieval.side is Side.FILE_MANAGING
    # DE logs its side as with any state.
    assert {(e.kind, e.outcome) for e in running.nodes["DE"].log.query(request_id=reply.request_id)} == {
        (EntryKind.AUTOMATED_SUPPLY, Outcome.NONE), (EntryKind.AUTOMATED_RECEIPT, Outcome.HIT)}


def test_a_fingerprint_candidate_of_europol_carries_its_codes_and_is_verified_by_the_requesting_state(
        running: InProcessFederation) -> None:
    import numpy as np
    from prum.federation.synthetic.afis import mated_probe
    from prum.services.afis.wire import template_to_proto

    data = third_country_data(running.federation.europol, seed=3)  # the same data `start` loaded
    probe = template_to_proto(mated_probe(np.random.default_rng(5), data.masters[2], "DE-LT-E1", trace=True))
    reply = running.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="burglary, latent trace",
        category=common_pb2.CATEGORY_FINGERPRINT, template=probe, target_states=[EUROPOL], deadline_ms=10_000),
        timeout=30)
    assert statuses(reply) == {EUROPOL: "HIT"}
    (candidate,) = reply.results[0].candidates  # verified by DE's own matcher (FP-2)
    expected = data.evaluations[candidate.reference]
    assert candidate.reference == data.templates[2].reference
    assert (candidate.evaluation.file, common_pb2.SourceReliability.Name(candidate.evaluation.source)) == (
        expected.file, f"SOURCE_RELIABILITY_{expected.source.value}")
    assert running.europol is not None
    (retrieval,) = [e for e in running.europol.log.query(request_id=reply.request_id)
                    if e.kind is EntryKind.AUTOMATED_SUPPLY]
    assert {"subject": data.templates[2].reference, "file": expected.file, "evaluation": expected.code} in json.loads(
        retrieval.data_supplied)["retrievals"]


def test_europol_takes_a_missing_person_search_from_a_state_whose_law_allows_it(running: InProcessFederation) -> None:
    """P2-SCOPE-1 with Europol's data: the purpose DE declared is known to Europol too, and logged on both sides."""
    reply = running.contact_point("DE").Search(officer_search(
        DONOR, "DE-MP-E1", target_states=[EUROPOL], purpose=common_pb2.SEARCH_PURPOSE_MISSING_PERSON), timeout=10)
    assert statuses(reply) == {EUROPOL: "HIT"}
    assert running.europol is not None
    assert {e.purpose for e in running.europol.log.query(request_id=reply.request_id)} == {
        SearchPurpose.MISSING_PERSON}
    with pytest.raises(grpc.RpcError) as refused:  # NL's law does not allow it
        running.contact_point("NL").Search(officer_search(
            DONOR, "NL-MP-E1", officer_id="NL-NCP-01", ordering_officer_id="NL-NCP-02", target_states=[EUROPOL],
            purpose=common_pb2.SEARCH_PURPOSE_MISSING_PERSON), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_search_of_all_states_leaves_europol_out(running: InProcessFederation) -> None:
    """Europol is searched only when named: a search of all states is a search of the member states."""
    reply = running.contact_point("DE").Search(officer_search(DONOR, "DE-CS-E2"), timeout=10)
    assert statuses(reply) == {"NL": "HIT", "FR": "HIT"}
    assert running.europol is not None and running.europol.log.query(request_id=reply.request_id) == []


def test_a_states_hit_has_no_evaluation_codes(running: InProcessFederation) -> None:
    reply = running.contact_point("DE").Search(officer_search(DONOR, "DE-CS-E3", target_states=["NL"]), timeout=10)
    (hit,) = reply.results[0].dna_hits
    assert not hit.HasField("evaluation")


def test_europol_searches_the_states_through_the_router_for_its_task(running: InProcessFederation) -> None:
    reply = running.contact_point(EUROPOL).Search(europol_search(), timeout=10)
    assert statuses(reply) == {"NL": "HIT", "FR": "HIT", "DE": "NO_HIT"}
    assert sorted((q.requesting_state, q.requested_state) for q in routed_entries(running, reply.request_id)) == [
        (EUROPOL, "DE"), (EUROPOL, "FR"), (EUROPOL, "NL")]
    for state in ("NL", "FR"):
        entries = running.nodes[state].log.query(request_id=reply.request_id)
        assert {(e.requesting_state, e.purpose) for e in entries} == {(EUROPOL, SearchPurpose.EUROPOL_CROSS_CHECKING)}
    assert running.europol is not None
    assert {e.purpose for e in running.europol.log.query(request_id=reply.request_id)} == {
        SearchPurpose.EUROPOL_CROSS_CHECKING}


def test_europol_makes_no_vehicle_search(running: InProcessFederation) -> None:
    with pytest.raises(grpc.RpcError) as refused:
        running.contact_point(EUROPOL).Search(cp_pb2.SearchRequest(
            officer_id="XP-NCP-01", ordering_officer_id="XP-NCP-02", reason="test", category=common_pb2.CATEGORY_VEHICLE,
            vehicle=cp_pb2.VehicleKey(vin="WVWZZZ1JZ3W386752"),
            purpose=common_pb2.SEARCH_PURPOSE_EUROPOL_CROSS_CHECKING), timeout=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("purpose", [common_pb2.SEARCH_PURPOSE_UNSPECIFIED,
                                     common_pb2.SEARCH_PURPOSE_EUROPOL_STRATEGIC_ANALYSIS,
                                     common_pb2.SEARCH_PURPOSE_MISSING_PERSON])
def test_a_europol_search_without_its_task_basis_is_refused_by_its_contact_point(
        running: InProcessFederation, purpose: int) -> None:
    assert running.europol is not None
    before = sum(1 for _ in running.europol.log.export())
    with pytest.raises(grpc.RpcError) as refused:
        running.contact_point(EUROPOL).Search(europol_search(purpose=purpose), timeout=10)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "Art 18(2)(a) and (c)" in (refused.value.details() or "")
    assert sum(1 for _ in running.europol.log.export()) == before  # nothing was sent, nothing logged


def test_a_europol_search_without_its_task_basis_is_refused_and_logged_by_the_requested_state(
        running: InProcessFederation) -> None:
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state=EUROPOL, requested_state="NL",
                                      officer_id="XP-NCP-01", reason="strategic report",
                                      purpose=common_pb2.SEARCH_PURPOSE_EUROPOL_STRATEGIC_ANALYSIS)
    reply = running.router_client(EUROPOL).Route(router_pb2.RouteRequest(
        context=context, category=common_pb2.CATEGORY_DNA, target_states=["NL"],
        profile=profile("EP-Q-2", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=10)
    (result,) = reply.results
    assert (result.status, result.code) == (cp_pb2.RESULT_STATUS_REFUSED, "PERMISSION_DENIED")
    entries = running.nodes["NL"].log.query(request_id=context.request_id)
    assert {(e.kind, e.message_type, e.outcome) for e in entries} == {
        (EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY, Outcome.NONE),
        (EntryKind.AUTOMATED_SUPPLY, MessageType.REFUSAL, Outcome.REFUSED)}
    assert {(e.requesting_state, e.purpose) for e in entries} == {(EUROPOL, SearchPurpose.EUROPOL_STRATEGIC_ANALYSIS)}


def test_europol_has_no_bilateral_path_to_a_states_data(running: InProcessFederation) -> None:
    """P2-EUROPOL-1: even with its task, Europol's search of a state's DNA file must come through the router."""
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state=EUROPOL, requested_state="NL",
                                      officer_id="XP-NCP-01", reason="cross-check",
                                      purpose=common_pb2.SEARCH_PURPOSE_EUROPOL_CROSS_CHECKING)
    with pytest.raises(grpc.RpcError) as refused:
        dna_pb2_grpc.DnaIndexServiceStub(running.channel("NL", as_state=EUROPOL)).Search(dna_pb2.SearchRequest(
            context=context, profile=profile("EP-Q-3", DONOR, dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE)), timeout=5)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "router" in (refused.value.details() or "")


def test_the_router_log_reconciles_with_europols_log(running: InProcessFederation) -> None:
    """The supervisors' audit of the router's log (P2-ROUTER-3, P2-LOG-1) finds Europol's side of every routed search
    in Europol's log, both ways."""
    by_state = running.contact_point("DE").Search(officer_search(DONOR, "DE-CS-E7", target_states=[EUROPOL]),
                                                  timeout=10)
    by_europol = running.contact_point(EUROPOL).Search(europol_search(), timeout=10)
    audit = running.audit_router_log()
    assert audit.checked >= 4
    assert not [f for f in audit.findings if f.request_id in (by_state.request_id, by_europol.request_id)]
    # The only findings: the searches another test of this module sent to the router around Europol's contact
    # point (its log has no query for them), which is what the audit is there to catch.
    assert all(f.finding.startswith(f"{EUROPOL}'s log has no DNA query") for f in audit.findings), audit.findings


def edps(federation: InProcessFederation) -> supervisor_pb2_grpc.SupervisorServiceStub:
    return supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(EUROPOL))


def test_the_edps_audits_europols_log_with_eur2s_fields(running: InProcessFederation) -> None:
    running.contact_point("NL").Search(officer_search(DONOR, "NL-CS-E1", officer_id="NL-NCP-01",
                                                      ordering_officer_id="NL-NCP-02", target_states=[EUROPOL]),
                                       timeout=10)
    running.contact_point(EUROPOL).Search(europol_search(), timeout=10)
    audit = edps(running).RunAudit(supervisor_pb2.RunAuditRequest(sample_size=10_000, seed=1), timeout=10).audit
    assert audit.sampled >= 4 and list(audit.findings) == []
    # A retrieval logged without its subject and file is a finding of the EDPS (EUR-2).
    from prum.services.europol.audit import check_europol_entry

    assert running.europol is not None
    retrieval = next(e for e in running.europol.log.export() if e.side is Side.FILE_MANAGING and e.hit_count)
    stripped = retrieval.with_fields(data_supplied=json.dumps({"hits": []}))
    assert check_europol_entry(stripped) == ["a retrieval of Europol's data without its logged retrievals (EUR-2)"]


def test_the_review_on_the_clock_lists_items_due_and_deletes_the_expired_visible_to_the_edps(tmp_path: Path) -> None:
    clock = SimulatedClock()
    federation = start(tmp_path, clock)
    try:
        node = federation.europol
        assert node is not None
        assert list(edps(federation).RunAudit(supervisor_pb2.RunAuditRequest(sample_size=100), timeout=10)
                    .audit.findings) == []
        clock.advance(timedelta(days=366))  # a year without review: every item is due, and the EDPS sees it late
        late = edps(federation).RunAudit(supervisor_pb2.RunAuditRequest(sample_size=100), timeout=10).audit
        assert any("reviewed at least yearly (EUR-3)" in f.problem for f in late.findings)
        review = node.files.review()
        assert "XP-D-DONOR" in review.due and review.deleted == ()
        node.files.decide("XP-D-DONOR", keep=True)
        assert not any("XP-D-DONOR" in f.problem for f in edps(federation).RunAudit(
            supervisor_pb2.RunAuditRequest(sample_size=100), timeout=10).audit.findings)
        # The file closes; 3 years later its items are deleted, and the search no longer finds them.
        node.files.close_file("AWF-TC-US")
        clock.advance(timedelta(days=3 * 365 + 1))
        review = node.files.review()
        assert "XP-D-DONOR" in review.deleted
        assert node.files.item("XP-D-DONOR") is None and node.dna.stats().profiles == 12 - 4
        reply = federation.contact_point("DE").Search(officer_search(DONOR, "DE-CS-E9", target_states=[EUROPOL]),
                                                      timeout=10)
        assert statuses(reply) == {EUROPOL: "NO_HIT"}
        assert [r.kind for r in node.files.reviews()][-1] == "REVIEW" and node.files.reviews()[-1].deleted
        assert not any("3 years after" in f.problem for f in edps(federation).RunAudit(
            supervisor_pb2.RunAuditRequest(sample_size=100), timeout=10).audit.findings)
    finally:
        federation.stop()
