"""Art 9 end to end: a 1:N fingerprint search returns a capped candidate list, the requesting state verifies
it (FP-2), and each state's daily capacity is enforced and resets at midnight UTC (FP-3)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import numpy as np
import pytest

from prum.afis.v1 import afis_pb2, afis_pb2_grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.federation.synthetic.afis import mated_probe, population
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.services.afis.wire import template_to_proto
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.logger import EntryKind

FEDERATION = """
[federation]
name = "afis"
[defaults]
dna_profiles = 0
afis = { person_searches_per_day = 5, trace_searches_per_day = 2, max_candidates = 3 }
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
"""


@pytest.fixture(scope="module")
def fingers() -> tuple[list, list]:
    rng = np.random.default_rng(2008)
    nl = list(population(rng, 40, prefix="NL-F-"))
    fr = list(population(rng, 40, prefix="FR-F-"))
    return nl, fr


@pytest.fixture()
def afis(tmp_path: Path, fingers) -> Iterator[tuple[InProcessFederation, SimulatedClock]]:
    clock = SimulatedClock()
    federation = InProcessFederation(parse_federation(tomllib.loads(FEDERATION)), tmp_path, clock=clock).start()
    for state, pop in zip(("NL", "FR"), fingers):
        stub = afis_pb2_grpc.AfisServiceStub(federation.channel(state))
        reply = stub.Ingest(iter([afis_pb2.IngestRequest(template=template_to_proto(t)) for _, t in pop]), timeout=60)
        assert (reply.accepted, list(reply.rejections)) == (40, [])
    yield federation, clock
    federation.stop()


def trace_of(fingers, number: int, seed: int = 1) -> afis_pb2.Template:
    master, _ = fingers[0][number]
    return template_to_proto(mated_probe(np.random.default_rng(seed), master, f"DE-LT-{number}-{seed}", trace=True))


def search(federation: InProcessFederation, probe: afis_pb2.Template) -> cp_pb2.SearchResponse:
    return federation.contact_point("DE").Search(cp_pb2.SearchRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="burglary, art. 9 search",
        case_reference="DE-2026-LT-1", category=common_pb2.CATEGORY_FINGERPRINT, template=probe,
        deadline_ms=10_000), timeout=30)


def by_state(reply: cp_pb2.SearchResponse) -> dict[str, cp_pb2.StateResult]:
    return {r.state: r for r in reply.results}


def test_a_latent_trace_hits_its_finger_after_verification(afis, fingers) -> None:
    federation, _ = afis
    results = by_state(search(federation, trace_of(fingers, 7)))
    assert results["NL"].status == cp_pb2.RESULT_STATUS_HIT
    assert [c.reference for c in results["NL"].candidates] == ["NL-F-000008"]
    assert "verified by the requesting state" in results["NL"].detail
    assert results["FR"].status == cp_pb2.RESULT_STATUS_NO_HIT  # candidates maybe, none verified


def test_the_candidate_list_is_capped_and_logged_on_both_sides(afis, fingers) -> None:
    federation, _ = afis
    reply = search(federation, trace_of(fingers, 3))
    managing = federation.nodes["NL"].log.query(request_id=reply.request_id)
    supplied = next(e for e in managing if e.kind is EntryKind.AUTOMATED_SUPPLY)
    assert supplied.category is Category.FINGERPRINT and 1 <= supplied.hit_count <= 3  # FP-3: at most 3
    requesting = federation.nodes["DE"].log.query(request_id=reply.request_id)
    assert {(e.kind, e.requested_state) for e in requesting} >= {(EntryKind.AUTOMATED_SUPPLY, "NL"),
                                                                 (EntryKind.AUTOMATED_RECEIPT, "NL")}


def test_daily_trace_capacity_is_refused_when_spent_and_resets_at_midnight(afis, fingers) -> None:
    federation, clock = afis
    answered = {cp_pb2.RESULT_STATUS_HIT, cp_pb2.RESULT_STATUS_NO_HIT}
    for seed in (1, 2):  # DE's 2 trace searches of the day at NL
        assert by_state(search(federation, trace_of(fingers, 7, seed)))["NL"].status in answered
    third = by_state(search(federation, trace_of(fingers, 7, 3)))
    for state in ("NL", "FR"):  # each peer counted DE's two trace searches of the day
        assert (third[state].status, third[state].code) == (cp_pb2.RESULT_STATUS_REFUSED, "RESOURCE_EXHAUSTED")
        assert "resets at 2026-01-06T00:00:00" in third[state].detail and "FP-3" in third[state].detail
    clock.advance(timedelta(days=1))
    assert by_state(search(federation, trace_of(fingers, 7, 4)))["NL"].status in answered


def test_the_probe_is_not_kept(afis, fingers) -> None:
    federation, _ = afis
    probe = trace_of(fingers, 11)
    search(federation, probe)
    gallery = federation.nodes["NL"].gallery
    assert len(gallery) == 40 and probe.reference not in gallery  # PUR-2


def follow_up(federation: InProcessFederation, request_id: str, reference: str) -> cp_pb2.FollowUpResponse:
    return federation.contact_point("DE").FollowUp(cp_pb2.FollowUpRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="identify the burglar, art. 10 request",
        case_reference="DE-2026-LT-1", category=common_pb2.CATEGORY_FINGERPRINT, requested_state="NL",
        reference=reference, original_request_id=request_id), timeout=10)


def test_the_person_behind_a_verified_fingerprint_hit_follows_only_for_that_hit(afis, fingers) -> None:
    """FOL-1 with FP-2: the follow-up names a candidate the requesting state's own check confirmed; a candidate
    it received but did not confirm is no hit, and no follow-up leaves for it. Both sides log it (LOG-3)."""
    federation, _ = afis
    admin = cp_pb2_grpc.ContactPointServiceStub(federation.channel("NL"))
    people = [cp_pb2.RegisterPersonsRequest(person=cp_pb2.PersonalData(
        reference=t.reference, surname=f"Jansen-{n}", first_names="Piet", date_of_birth="1979-05-06",
        nationality="NL")) for n, (_, t) in enumerate(fingers[0])]
    assert admin.RegisterPersons(iter(people), timeout=10).accepted == 40
    reply = search(federation, trace_of(fingers, 7))
    assert [c.reference for c in by_state(reply)["NL"].candidates] == ["NL-F-000008"]
    receipt = next(e for e in federation.nodes["DE"].log.query(request_id=reply.request_id)
                   if e.kind is EntryKind.AUTOMATED_RECEIPT and e.requested_state == "NL")
    received = json.loads(receipt.data_supplied)
    assert received["verified"] == ["NL-F-000008"] and receipt.hit_count == 1
    unconfirmed = [r for r in received["references"] if r != "NL-F-000008"]
    assert unconfirmed, "NL supplied only the mate: nothing to refuse"

    answer = follow_up(federation, reply.request_id, "NL-F-000008")
    assert (answer.person.reference, answer.person.surname) == ("NL-F-000008", "Jansen-7")
    assert not answer.person.contested
    for state, kinds in (("DE", {EntryKind.NON_AUTOMATED_SUPPLY, EntryKind.NON_AUTOMATED_RECEIPT}),
                         ("NL", {EntryKind.NON_AUTOMATED_RECEIPT, EntryKind.NON_AUTOMATED_SUPPLY})):
        entries = federation.nodes[state].log.query(request_id=answer.header.request_id)
        assert {e.kind for e in entries} == kinds
        assert all(e.category is Category.FINGERPRINT and e.reason == "identify the burglar, art. 10 request"
                   for e in entries)

    with pytest.raises(grpc.RpcError) as refused:
        follow_up(federation, reply.request_id, unconfirmed[0])
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND and "FOL-1" in refused.value.details()
