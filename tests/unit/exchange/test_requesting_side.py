"""The requesting half of the exchange without gRPC: the contact point's fan-out against fake peers.

Each peer's outcome is its own status (hit, no hit, not ready, refused, unavailable, deadline, a bug),
the query is durable in the log before it leaves, and each reply's receipt names the references the
category gives its items: a profile's, a template's (only the ones this state verified make a hit),
a vehicle's VIN.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest
from exchange_fakes import FakePeers, answers, contact_point, data, raises, ready_book, refuses
from prum.afis.v1 import afis_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2
from prum.federation.synthetic.afis import population
from prum.federation.synthetic.dna import random_profile
from prum.federation.synthetic.vehicle import vehicle_records
from prum.services.afis.exchange import FingerprintQuery
from prum.services.afis.plugin import PLUGIN as FINGERPRINT
from prum.services.afis.templates import Template
from prum.services.afis.wire import template_to_proto
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import GateClosed, InvalidInput, NotAuthorised
from prum.services.common.reference import ReferenceKind
from prum.services.common.wire import STATUS_TO_PROTO
from prum.services.dna.exchange import DnaQuery
from prum.services.dna.plugin import PLUGIN as DNA
from prum.services.exchange.requesting import ContactPoint, OfficerSearch, ResultStatus, SearchOutcome
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog
from prum.services.vehicle.exchange import VehicleQuery
from prum.services.vehicle.plugin import PLUGIN as VEHICLE
from prum.services.vehicle.wire import record_to_proto

OWN_STATE = "DE"  # the state under test: its log is the `log` fixture (conftest.py)

@pytest.fixture
def peers(log: ProtocolLog) -> Iterator[FakePeers]:
    peers = FakePeers(log)
    yield peers
    peers.released.set()


@pytest.fixture
def de(log: ProtocolLog, peers: FakePeers, clock: SimulatedClock) -> Iterator[ContactPoint]:
    ncp = contact_point("DE", log, ready_book(clock, not_ready=(("AT", Category.DNA),)), peers, clock)
    yield ncp
    ncp.close()


def dna_query(seed: int = 7) -> DnaQuery:
    return DnaQuery("DE-T-1", ReferenceKind.UNIDENTIFIED_TRACE, random_profile(np.random.default_rng(seed)))


def search(ncp: ContactPoint, plugin, query, targets=(), deadline_ms: int = 0) -> SearchOutcome:  # type: ignore[no-untyped-def]
    return ncp.search(OfficerSearch(officer_id="DE-OFF-1", ordering_officer_id="DE-OFF-2", reason="burglary series",
                                    plugin=plugin, query=query, case_reference="DE-2026-17",
                                    target_states=list(targets), deadline_ms=deadline_ms))


def by_state(outcome: SearchOutcome) -> dict:  # type: ignore[type-arg]
    return {r.state: r for r in outcome.results}


def entries(log: ProtocolLog, request_id: str) -> list[LogEntry]:
    return log.query(request_id=request_id)


def receipts(log: ProtocolLog, request_id: str) -> dict[str, LogEntry]:
    return {e.requested_state: e for e in entries(log, request_id) if e.kind is EntryKind.AUTOMATED_RECEIPT}


def test_each_peer_gets_its_own_status_and_only_answers_are_receipted(de: ContactPoint, peers: FakePeers,
                                                                     log: ProtocolLog) -> None:
    peers.behaviours.update(
        NL=answers(dna_pb2.Hit(reference="NL-P-000042")), FR=answers(),
        LU=refuses(ResultStatus.REFUSED, "INVALID_ARGUMENT", "profile.loci: fewer than 6 designated loci"),
        BE=refuses(ResultStatus.UNAVAILABLE, "UNAVAILABLE", "failed to connect to all addresses"))
    outcome = search(de, DNA, dna_query())
    results = by_state(outcome)
    assert [r.state for r in outcome.results] == ["NL", "FR", "LU", "BE", "AT"]  # the members' order
    assert {s: r.status for s, r in results.items()} == {
        "NL": ResultStatus.HIT, "FR": ResultStatus.NO_HIT, "LU": ResultStatus.REFUSED,
        "BE": ResultStatus.UNAVAILABLE, "AT": ResultStatus.NOT_READY}
    assert results["NL"].references == ("NL-P-000042",)
    assert results["AT"].code == "FAILED_PRECONDITION"
    assert sorted(context.requested_state for _, context, _, _ in peers.asked) == ["BE", "FR", "LU", "NL"]  # not AT
    # The query each peer received was durable in the log before it left (LOG-1, LOG-4), with its context.
    for state, before in peers.logged_before.items():
        sent = [e for e in before if e.kind is EntryKind.AUTOMATED_SUPPLY and e.requested_state == state]
        assert len(sent) == 1 and sent[0].message_type is MessageType.QUERY
        assert data(sent[0]) == DNA.query_record(dna_query())
        assert (sent[0].officer_id, sent[0].reason, sent[0].case_reference) == ("DE-OFF-1", "burglary series",
                                                                                "DE-2026-17")
    got = receipts(log, outcome.request_id)
    assert set(got) == {"NL", "FR", "LU"}  # nothing came back from BE; AT was not asked
    assert (got["NL"].outcome, got["NL"].hit_count, got["NL"].reply_id) == (Outcome.HIT, 1, "reply-NL")
    assert data(got["NL"]) == {"reply_id": "reply-NL", "references": ["NL-P-000042"]}
    assert (got["FR"].outcome, data(got["FR"])["references"]) == (Outcome.NO_HIT, [])
    assert (got["LU"].message_type, got["LU"].outcome) == (MessageType.REFUSAL, Outcome.REFUSED)
    assert data(got["LU"])["code"] == "INVALID_ARGUMENT"


def test_a_peer_that_does_not_answer_in_time_holds_up_no_one(de: ContactPoint, peers: FakePeers,
                                                             log: ProtocolLog) -> None:
    peers.behaviours.update(NL=peers.hangs(), FR=answers(dna_pb2.Hit(reference="FR-1")))
    started = time.monotonic()
    outcome = search(de, DNA, dna_query(), targets=["NL", "FR"], deadline_ms=300)
    assert time.monotonic() - started < 2
    results = by_state(outcome)
    assert (results["NL"].status, results["NL"].code) == (ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED")
    assert "300 ms" in results["NL"].detail
    assert results["FR"].status is ResultStatus.HIT
    assert peers.asked[0][3] <= 0.3  # each call carries what is left of the one deadline
    assert set(receipts(log, outcome.request_id)) == {"FR"}  # nothing came back from NL


def test_a_bug_in_the_transport_is_reported_as_a_bug_not_as_an_unavailable_peer(
        de: ContactPoint, peers: FakePeers, log: ProtocolLog) -> None:
    peers.behaviours.update(NL=raises(AttributeError("'NoneType' object has no attribute 'hits'")),
                            FR=raises(ConnectionRefusedError("connection refused")),
                            LU=raises(TimeoutError("read timed out")))
    results = by_state(search(de, DNA, dna_query(), targets=["NL", "FR", "LU"]))
    bug = results["NL"]
    assert (bug.status, bug.code) == (ResultStatus.FAILED, "INTERNAL")
    assert "AttributeError: 'NoneType' object has no attribute 'hits'" in bug.detail and "a bug" in bug.detail
    assert (results["FR"].status, results["FR"].code) == (ResultStatus.UNAVAILABLE, "UNAVAILABLE")  # a broken link
    assert (results["LU"].status, results["LU"].code) == (ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED")
    assert not [e for e in log.export() if e.kind is EntryKind.AUTOMATED_RECEIPT]  # nothing came back to log
    assert STATUS_TO_PROTO[ResultStatus.FAILED] == cp_pb2.RESULT_STATUS_FAILED  # the officer sees it as such


def test_a_peers_own_bug_keeps_its_code(de: ContactPoint, peers: FakePeers, log: ProtocolLog) -> None:
    peers.behaviours["NL"] = refuses(ResultStatus.REFUSED, "INTERNAL", "NL's DNA index failed: ZeroDivisionError")
    outcome = search(de, DNA, dna_query(), targets=["NL"])
    (result,) = outcome.results
    assert (result.status, result.code, result.detail) == (ResultStatus.REFUSED, "INTERNAL",
                                                           "NL's DNA index failed: ZeroDivisionError")
    receipt = receipts(log, outcome.request_id)["NL"]
    assert (receipt.message_type, data(receipt)["code"]) == (MessageType.REFUSAL, "INTERNAL")


def test_a_dna_receipt_names_the_profiles_received(de: ContactPoint, peers: FakePeers, log: ProtocolLog) -> None:
    peers.behaviours["NL"] = answers(dna_pb2.Hit(reference="NL-P-1"), dna_pb2.Hit(reference="NL-T-9"))
    outcome = search(de, DNA, dna_query(), targets=["NL"])
    assert outcome.results[0].references == ("NL-P-1", "NL-T-9")
    receipt = receipts(log, outcome.request_id)["NL"]
    assert (data(receipt)["references"], receipt.hit_count) == (["NL-P-1", "NL-T-9"], 2)


def test_a_vehicle_receipt_names_the_vins_received(de: ContactPoint, peers: FakePeers, log: ProtocolLog) -> None:
    records = list(vehicle_records("NL", 2, seed=3))
    peers.behaviours["NL"] = answers(*(record_to_proto(r) for r in records))
    outcome = search(de, VEHICLE, VehicleQuery(registration_number="XX-123-Y"), targets=["NL"])
    vins = [r.vehicle.vin for r in records]
    assert all(vins) and list(outcome.results[0].references) == vins  # a vehicle's reference is its VIN
    assert data(receipts(log, outcome.request_id)["NL"])["references"] == vins


@pytest.fixture(scope="module")
def fingers() -> list[Template]:
    return [template for _, template in population(np.random.default_rng(11), 2, prefix="F")]


def candidate(template: Template, reference: str, score: float) -> afis_pb2.Candidate:
    return afis_pb2.Candidate(reference=reference, kind=afis_pb2.TEMPLATE_KIND_IDENTIFIED_PERSON, score=score,
                              template=template_to_proto(replace(template, reference=reference)))


def test_a_fingerprint_receipt_names_every_candidate_and_the_ones_this_state_verified(
        de: ContactPoint, peers: FakePeers, log: ProtocolLog, fingers: list[Template]) -> None:
    probe, other = fingers
    peers.behaviours.update(NL=answers(candidate(probe, "NL-F-1", 41.0), candidate(other, "NL-F-2", 40.0)),
                            FR=answers(candidate(other, "FR-F-7", 39.0)))
    outcome = search(de, FINGERPRINT, FingerprintQuery(probe, 10), targets=["NL", "FR"])
    results = by_state(outcome)
    nl = results["NL"]
    assert (nl.status, nl.references) == (ResultStatus.HIT, ("NL-F-1",))  # Art 9(2): only what DE's check confirms
    assert [c.reference for c in nl.items] == ["NL-F-1"] and nl.items[0].score != 41.0  # DE's own score
    assert "2 candidate(s) received, 1 verified" in nl.detail
    assert (results["FR"].status, results["FR"].items) == (ResultStatus.NO_HIT, ())
    got = receipts(log, outcome.request_id)
    assert data(got["NL"])["references"] == ["NL-F-1", "NL-F-2"] and data(got["NL"])["verified"] == ["NL-F-1"]
    assert (got["NL"].outcome, got["NL"].hit_count) == (Outcome.HIT, 1)
    assert (data(got["FR"])["verified"], got["FR"].outcome) == ([], Outcome.NO_HIT)
    assert peers.asked[0][2] == FingerprintQuery(probe, 10)  # FP-3: the most candidates DE verifies goes along


def test_a_fingerprint_reply_that_cannot_be_verified_has_no_hit_and_says_why(
        de: ContactPoint, peers: FakePeers, log: ProtocolLog, fingers: list[Template]) -> None:
    broken = candidate(fingers[0], "NL-F-1", 41.0)
    broken.template.kind = afis_pb2.TEMPLATE_KIND_UNSPECIFIED  # a peer's bug: no valid template
    peers.behaviours["NL"] = answers(broken)
    outcome = search(de, FINGERPRINT, FingerprintQuery(fingers[0], 10), targets=["NL"])
    (result,) = outcome.results
    assert (result.status, result.code, result.items) == (ResultStatus.FAILED, "INTERNAL", ())
    assert "could not be verified" in result.detail and "candidate.kind" in result.detail
    receipt = receipts(log, outcome.request_id)["NL"]  # it came back: its receipt is logged, with no hit
    assert (data(receipt)["references"], data(receipt)["verified"]) == (["NL-F-1"], [])
    assert (receipt.outcome, receipt.hit_count) == (Outcome.NO_HIT, 0)


def test_nothing_leaves_before_the_query_and_the_officer_pass(de: ContactPoint, peers: FakePeers,
                                                              log: ProtocolLog) -> None:
    thin = replace(dna_query(), loci=dict(list(dna_query().loci.items())[:4]))
    with pytest.raises(InvalidInput, match="at least 6"):  # DNA-4, refused here as every peer would
        search(de, DNA, thin)
    with pytest.raises(InvalidInput) as empty:
        search(de, VEHICLE, VehicleQuery())
    assert empty.value.field == "vehicle.key"
    with pytest.raises(NotAuthorised, match="SEC-2"):
        de.search(OfficerSearch("DE-OFF-9", "DE-OFF-2", "burglary", DNA, dna_query()))
    with pytest.raises(InvalidInput, match="LOG-2"):
        de.search(OfficerSearch("DE-OFF-1", "DE-OFF-2", "  ", DNA, dna_query()))
    with pytest.raises(InvalidInput, match="own state"):
        search(de, DNA, dna_query(), targets=["DE"])
    assert not peers.asked and not list(log.export())


def test_a_vin_leaves_normalised_and_is_logged_as_it_left(de: ContactPoint, peers: FakePeers,
                                                          log: ProtocolLog) -> None:
    vin = next(vehicle_records("NL", 1, seed=5)).vehicle.vin
    typed = f"{vin[:3].lower()}-{vin[3:9]} {vin[9:]}"
    peers.behaviours["NL"] = answers()
    outcome = search(de, VEHICLE, VehicleQuery(vin=typed), targets=["NL"])
    assert peers.asked[0][2] == VehicleQuery(vin=vin)
    (sent,) = [e for e in entries(log, outcome.request_id) if e.kind is EntryKind.AUTOMATED_SUPPLY]
    assert data(sent) == {"vin": vin, "at": None}


def test_a_requesting_state_that_is_not_ready_sends_nothing(log: ProtocolLog, peers: FakePeers,
                                                            clock: SimulatedClock) -> None:
    ncp = contact_point("DE", log, ready_book(clock, not_ready=(("DE", Category.VEHICLE),)), peers, clock)
    try:
        with pytest.raises(GateClosed, match="GATE-1"):
            search(ncp, VEHICLE, VehicleQuery(registration_number="XX-123-Y"))
    finally:
        ncp.close()
    assert not peers.asked and not list(log.export())


class SeveralCategoriesPeers(FakePeers):
    """A transport like the router's that carries one query across several categories (P2-ROUTER-2): each peer
    answers its DNA hit and its fingerprint candidates; every query it is given is recorded."""

    several_categories = True

    def __init__(self, log: ProtocolLog, dna_hit: dna_pb2.Hit, candidates: dict[str, afis_pb2.Candidate]) -> None:
        super().__init__(log)
        self.dna_hit, self.candidates = dna_hit, candidates
        self.queries: list[tuple[str, tuple[Category, ...]]] = []

    def ask_several(self, context, queries, timeout_s):  # type: ignore[no-untyped-def]
        self.queries.append((context.requested_state, tuple(queries)))
        self.logged_before[context.requested_state] = self.log.query(request_id=context.request_id)
        peer = context.requested_state
        return {Category.DNA: answers(self.dna_hit)(context, None) if peer == "NL" else answers()(context, None),
                Category.FINGERPRINT: answers(*([self.candidates[peer]] if peer in self.candidates else []))(
                    context, None)}

    def ask(self, category, context, query, timeout_s):  # type: ignore[no-untyped-def]
        return self.ask_several(context, {category: query}, timeout_s)[category]


def several(ncp: ContactPoint, fingers: list[Template], targets=("NL", "FR", "AT")) -> list[SearchOutcome]:  # type: ignore[no-untyped-def]
    common = {"officer_id": "DE-OFF-1", "ordering_officer_id": "DE-OFF-2", "reason": "homicide, one suspect",
              "case_reference": "DE-2026-99", "target_states": list(targets)}
    return ncp.search_several([OfficerSearch(plugin=DNA, query=dna_query(), **common),  # type: ignore[arg-type]
                               OfficerSearch(plugin=FINGERPRINT, query=FingerprintQuery(fingers[0], 10), **common)])  # type: ignore[arg-type]


@pytest.mark.parametrize("one_query", [True, False], ids=["router-one-query-per-peer", "mesh-one-link-per-category"])
def test_one_search_across_dna_and_fingerprints(log: ProtocolLog, clock: SimulatedClock, fingers: list[Template],
                                                one_query: bool) -> None:
    """P2-ROUTER-2: a DNA profile and fingerprints in one search: one request id, one outcome per category, each
    peer's status per category (AT is not ready for DNA only), both categories logged before anything leaves and on
    return, the fingerprint candidates verified by this state (FP-2). Through a transport that carries several
    categories, each peer gets one query; otherwise one per category."""
    hit = dna_pb2.Hit(reference="NL-P-1", kind=dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON)
    peers = SeveralCategoriesPeers(log, hit, {"FR": candidate(fingers[0], "FR-F-1", 40.0),
                                              "AT": candidate(fingers[1], "AT-F-2", 40.0)})
    peers.several_categories = one_query  # type: ignore[misc]
    ncp = contact_point("DE", log, ready_book(clock, not_ready=(("AT", Category.DNA),)), peers, clock)
    try:
        dna, fingerprints = several(ncp, fingers)
    finally:
        ncp.close()
    assert dna.request_id == fingerprints.request_id
    assert {r.state: r.status for r in dna.results} == {
        "NL": ResultStatus.HIT, "FR": ResultStatus.NO_HIT, "AT": ResultStatus.NOT_READY}
    assert {r.state: (r.status, r.references) for r in fingerprints.results} == {
        "NL": (ResultStatus.NO_HIT, ()), "FR": (ResultStatus.HIT, ("FR-F-1",)),
        "AT": (ResultStatus.NO_HIT, ())}  # AT's candidate is another finger: DE's own check rejects it
    if one_query:
        assert sorted(peers.queries) == [("AT", (Category.FINGERPRINT,)),
                                         ("FR", (Category.DNA, Category.FINGERPRINT)),
                                         ("NL", (Category.DNA, Category.FINGERPRINT))]
    else:
        assert sorted(peers.queries) == [("AT", (Category.FINGERPRINT,)), ("FR", (Category.DNA,)),
                                         ("FR", (Category.FINGERPRINT,)), ("NL", (Category.DNA,)),
                                         ("NL", (Category.FINGERPRINT,))]
    logged = entries(log, dna.request_id)
    assert sorted((e.requested_state, e.category, e.message_type) for e in logged) == sorted(
        [(peer, category, message) for peer, category in (("NL", Category.DNA), ("FR", Category.DNA),
                                                          ("NL", Category.FINGERPRINT), ("FR", Category.FINGERPRINT),
                                                          ("AT", Category.FINGERPRINT))
         for message in (MessageType.QUERY, MessageType.REPLY)])
    assert all({e.category for e in before} >= {Category.FINGERPRINT} for before in peers.logged_before.values())


def test_a_search_across_several_categories_is_biometric_and_names_each_once(
        de: ContactPoint, peers: FakePeers, log: ProtocolLog, fingers: list[Template]) -> None:
    common = {"officer_id": "DE-OFF-1", "ordering_officer_id": "DE-OFF-2", "reason": "r", "target_states": ["NL"]}
    with pytest.raises(InvalidInput, match="P2-ROUTER-2"):
        de.search_several([OfficerSearch(plugin=DNA, query=dna_query(), **common),  # type: ignore[arg-type]
                           OfficerSearch(plugin=VEHICLE, query=VehicleQuery(vin="WVWZZZ1JZ3W386752"), **common)])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="twice"):
        de.search_several([OfficerSearch(plugin=DNA, query=dna_query(), **common),  # type: ignore[arg-type]
                           OfficerSearch(plugin=DNA, query=dna_query(8), **common)])  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="queries"):
        de.search_several([])
    assert not peers.asked and not list(log.export())
