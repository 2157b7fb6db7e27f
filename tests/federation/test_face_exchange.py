"""Facial images end to end (Prüm II Arts 19-20, P2-FACE-1..4), in the 2008 mesh and through the Prüm II router: a
1:N face search returns capped candidate lists (P2-FACE-2), nothing is a match until an officer of the requesting
state confirms it (P2-FACE-3: one candidate confirmed, one rejected, both sides' logs), only a confirmed candidate
allows a follow-up, only offences punishable by at least a year are searched (P2-FACE-4), and a state not ready
for faces is NOT_READY or refused (GATE-1)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import core_data_pb2
from prum.contact_point.v1 import face_confirmation_pb2 as fc_pb2
from prum.contact_point.v1 import face_confirmation_pb2_grpc as fc_pb2_grpc
from prum.face.v1 import face_pb2, face_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.federation.synthetic.face import captures, population, template, twin_of
from prum.router.v1 import router_pb2
from prum.services.common.category import Category
from prum.services.common.reference import ReferenceKind
from prum.services.common.wire import timestamp
from prum.services.exchange.follow_up import hit_was_supplied
from prum.services.face.wire import template_to_proto
from prum.services.logger import EntryKind, MessageType, Outcome

FEDERATION = """
[federation]
name = "faces"
topology = "{topology}"
deadline_ms = 5000
[defaults]
dna_profiles = 0
fingerprints = 0
vehicles = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
face = {{ max_candidates = 10, threshold = 0.3 }}
[[state]]
code = "FR"
face = {{ max_candidates = 2, threshold = -1.0 }}
[[state]]
code = "LU"
ready = ["DNA", "FINGERPRINT", "VEHICLE"]
"""

SUSPECT, TWIN = "NL-FACE-000005", "NL-FACE-TWIN-5"


@pytest.fixture(scope="module", params=["mesh", "router"])
def faces(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[tuple[InProcessFederation, np.ndarray]]:
    federation = InProcessFederation(parse_federation(tomllib.loads(FEDERATION.format(topology=request.param))),
                                     tmp_path_factory.mktemp(f"faces-{request.param}")).start()
    rng = np.random.default_rng(20)
    nl = list(population(rng, 30, "NL-FACE-"))
    identity = nl[5][0]
    twin = template(TWIN, captures(rng, twin_of(rng, identity)[None, :], 0.92)[0], 90)
    for state, templates in (("NL", [t for _, t in nl] + [twin]),
                             ("FR", [t for _, t in population(rng, 30, "FR-FACE-")])):
        reply = face_pb2_grpc.FaceServiceStub(federation.channel(state)).Ingest(
            iter([face_pb2.IngestRequest(template=template_to_proto(t)) for t in templates]), timeout=30)
        assert (reply.accepted, list(reply.rejections)) == (len(templates), [])
    persons = federation.contact_point("NL").RegisterPersons(iter([cp_pb2.RegisterPersonsRequest(
        person=cp_pb2.PersonalData(reference=r, surname="Jansen", first_names="Piet", date_of_birth="1980-02-03",
                                   nationality="NL")) for r in (SUSPECT, TWIN)]), timeout=10)
    assert persons.accepted == 2
    yield federation, identity
    federation.stop()


def probe_of(identity: np.ndarray, reference: str = "DE-CCTV-1") -> face_pb2.FaceTemplate:
    # A camera still at fidelity 0.85: about 0.78 against the suspect's mugshot, about 0.55 against the twin's.
    vector = captures(np.random.default_rng(7), identity[None, :], 0.85)[0]
    return template_to_proto(template(reference, vector, 55, ReferenceKind.UNIDENTIFIED_TRACE, yaw=12))


def face_search(federation: InProcessFederation, probe: face_pb2.FaceTemplate, state: str = "DE",
                offence: int = face_pb2.OFFENCE_CATEGORY_ROBBERY, **overrides: object) -> cp_pb2.SearchResponse:
    fields: dict[str, object] = {
        "officer_id": f"{state}-NCP-01", "ordering_officer_id": f"{state}-NCP-02",
        "reason": "armed robbery, Art 20 search", "case_reference": f"{state}-2026-F-1",
        "category": common_pb2.CATEGORY_FACE, "face": face_pb2.FaceQuery(probe=probe, offence=offence),
        "deadline_ms": 5000}
    fields.update(overrides)
    return federation.contact_point(state).Search(cp_pb2.SearchRequest(**fields), timeout=20)  # type: ignore[arg-type]


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def confirm(federation: InProcessFederation, request_id: str, reference: str, confirmed: bool,
            officer: str = "DE-NCP-01") -> fc_pb2.ConfirmFaceCandidateResponse:
    return fc_pb2_grpc.FaceConfirmationServiceStub(federation.channel("DE")).ConfirmFaceCandidate(
        fc_pb2.ConfirmFaceCandidateRequest(request_id=request_id, state="NL", reference=reference, confirmed=confirmed,
                                           officer_id=officer, note="compared by a qualified examiner"), timeout=10)


def decisions(federation: InProcessFederation, state: str, request_id: str) -> dict[str, tuple[bool, Outcome]]:
    found = {}
    for entry in federation.nodes[state].log.query(request_id=request_id, category=Category.FACE):
        data = json.loads(entry.data_supplied)
        if "confirmation" in data:
            found[data["confirmation"]["reference"]] = (data["confirmation"]["confirmed"], entry.outcome)
    return found


def test_candidates_are_pending_until_an_officer_confirms_one_and_rejects_another(faces) -> None:
    """P2-FACE-2, P2-FACE-3, GATE-1, PUR-2, LOG-2: candidates, one confirmed and one rejected, logged on both sides."""
    federation, identity = faces
    size = len(federation.nodes["NL"].faces)
    reply = face_search(federation, probe_of(identity))
    assert statuses(reply) == {"NL": "CANDIDATES", "FR": "CANDIDATES", "LU": "NOT_READY"}
    by_state = {r.state: r for r in reply.results}
    assert [c.reference for c in by_state["NL"].face_candidates] == [SUSPECT, TWIN]
    assert by_state["NL"].face_candidates[0].score > 0.7 > by_state["NL"].face_candidates[1].score > 0.3
    assert len(by_state["FR"].face_candidates) == 2  # FR's cap (P2-FACE-2), threshold -1: impostors only
    assert "pending an officer's confirmation" in by_state["NL"].detail
    # PUR-2: the probe is searched and forgotten; NL's file is unchanged.
    assert len(federation.nodes["NL"].faces) == size
    # Nothing is a hit yet on either side: no follow-up or core data rests on a pending candidate.
    for state, kind in (("DE", EntryKind.AUTOMATED_RECEIPT), ("NL", EntryKind.AUTOMATED_SUPPLY)):
        assert not hit_was_supplied(federation.nodes[state].log, reply.request_id, "DE", "NL", Category.FACE,
                                    SUSPECT, kind)
    receipt = [e for e in federation.nodes["DE"].log.query(request_id=reply.request_id)
               if e.requested_state == "NL" and e.message_type is MessageType.REPLY]
    assert [(e.outcome, json.loads(e.data_supplied)["pending_confirmation"]) for e in receipt] == [
        (Outcome.NO_HIT, [SUSPECT, TWIN])]
    assert receipt[0].officer_id == "DE-NCP-01" and receipt[0].reason and receipt[0].ordering_officer_id  # LOG-2

    confirmed = confirm(federation, reply.request_id, SUSPECT, True)
    rejected = confirm(federation, reply.request_id, TWIN, False, officer="DE-NCP-02")
    assert confirmed.notified and rejected.notified, (confirmed.detail, rejected.detail)
    expected = {SUSPECT: (True, Outcome.HIT), TWIN: (False, Outcome.NO_HIT)}
    assert decisions(federation, "DE", reply.request_id) == expected  # the requesting state's log
    assert decisions(federation, "NL", reply.request_id) == expected  # and the requested state's
    for state, kind in (("DE", EntryKind.AUTOMATED_RECEIPT), ("NL", EntryKind.AUTOMATED_SUPPLY)):
        log = federation.nodes[state].log
        assert hit_was_supplied(log, reply.request_id, "DE", "NL", Category.FACE, SUSPECT, kind)
        assert not hit_was_supplied(log, reply.request_id, "DE", "NL", Category.FACE, TWIN, kind)
    nl_decision = [e for e in federation.nodes["NL"].log.query(request_id=reply.request_id)
                   if "confirmation" in json.loads(e.data_supplied)]
    assert {e.officer_id for e in nl_decision} == {"DE-NCP-01", "DE-NCP-02"}  # who decided, on NL's side too

    for state in ("DE", "NL"):  # the DPA's audit (AUD-1) reads the face entries as any other: nothing unlawful
        node = federation.nodes[state]
        assert node.authority is not None
        face_entries = {e.sequence for e in node.log.query(request_id=reply.request_id)}
        audit = node.authority.run_audit(sample_size=10_000, seed=21)
        assert face_entries <= set(audit.sequences) and not [f for f in audit.findings if f.sequence in face_entries]
    if federation.router is not None:  # P2-ROUTER-3: the routed face search reconciles with both states' logs
        audited = federation.audit_router_log()
        assert not [f for f in audited.findings if f.request_id == reply.request_id], audited.findings
        text = b"".join(q.SerializeToString() for q in federation.router_client("DE").ListRoutedQueries(
            router_pb2.ListRoutedQueriesRequest(page_size=1000), timeout=5).queries)
        assert SUSPECT.encode() not in text and b"DE-CCTV-1" not in text  # the router keeps no face data

    # Only the confirmed candidate allows a follow-up (FOL-1 after P2-FACE-3).
    def follow_up(reference: str) -> cp_pb2.FollowUpResponse:
        return federation.contact_point("DE").FollowUp(cp_pb2.FollowUpRequest(
            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="confirmed face match",
            category=common_pb2.CATEGORY_FACE, requested_state="NL", reference=reference,
            original_request_id=reply.request_id), timeout=10)

    assert follow_up(SUSPECT).person.surname == "Jansen"
    with pytest.raises(grpc.RpcError) as refused:
        follow_up(TWIN)
    assert refused.value.code() is grpc.StatusCode.NOT_FOUND


def test_a_candidate_is_decided_once_and_only_if_received(faces) -> None:
    federation, identity = faces
    reply = face_search(federation, probe_of(identity, "DE-CCTV-2"), target_states=["NL"])
    assert confirm(federation, reply.request_id, SUSPECT, False).notified
    with pytest.raises(grpc.RpcError) as twice:
        confirm(federation, reply.request_id, SUSPECT, True)
    assert twice.value.code() is grpc.StatusCode.FAILED_PRECONDITION and "decided once" in twice.value.details()
    with pytest.raises(grpc.RpcError) as unknown:
        confirm(federation, reply.request_id, "NL-FACE-000007", True)
    assert unknown.value.code() is grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as trainee:
        confirm(federation, reply.request_id, TWIN, True, officer="DE-TRAINEE")
    assert trainee.value.code() is grpc.StatusCode.PERMISSION_DENIED  # qualified, authorised staff only (SEC-2)


def test_an_offence_under_one_year_is_refused_on_both_sides(faces) -> None:
    """P2-FACE-4: refused by the requesting contact point before anything leaves, and by the requested state."""
    federation, identity = faces
    with pytest.raises(grpc.RpcError) as refused:
        face_search(federation, probe_of(identity, "DE-CCTV-3"), offence=face_pb2.OFFENCE_CATEGORY_SHOPLIFTING)
    assert refused.value.code() is grpc.StatusCode.PERMISSION_DENIED
    assert "P2-FACE-4" in refused.value.details() and "ROBBERY" in refused.value.details()
    # A requesting state that skipped its own check: NL refuses and logs the refusal.
    context = common_pb2.QueryContext(request_id="5b0c1a9e-1111-4222-8333-944455556666", requesting_state="DE",
                                      requested_state="NL", officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                                      reason="shoplifting", case_reference="DE-2026-F-9")
    context.sent_at.GetCurrentTime()
    probe = probe_of(identity, "DE-CCTV-4")
    if federation.federation.topology == "router":  # the bilateral link is closed: through the router
        (routed,) = federation.router_client("DE").Route(router_pb2.RouteRequest(
            context=context, category=common_pb2.CATEGORY_FACE, target_states=["NL"],
            face=face_pb2.FaceQuery(probe=probe, offence=face_pb2.OFFENCE_CATEGORY_SHOPLIFTING)), timeout=10).results
        assert (routed.status, routed.code) == (cp_pb2.RESULT_STATUS_REFUSED, "PERMISSION_DENIED")
    else:
        with pytest.raises(grpc.RpcError) as direct:
            face_pb2_grpc.FaceServiceStub(federation.channel("NL", as_state="DE")).Search(face_pb2.SearchRequest(
                context=context, probe=probe, offence=face_pb2.OFFENCE_CATEGORY_SHOPLIFTING), timeout=10)
        assert direct.value.code() is grpc.StatusCode.PERMISSION_DENIED
    logged = federation.nodes["NL"].log.query(request_id=context.request_id)
    assert [(e.message_type, e.outcome) for e in logged if e.kind is EntryKind.AUTOMATED_SUPPLY] == [
        (MessageType.REFUSAL, Outcome.REFUSED)]


def test_a_state_not_ready_for_faces_is_refused(faces) -> None:
    """GATE-1 for FACE: LU, not ready, may not search (nothing leaves) and is NOT_READY to others."""
    federation, identity = faces
    with pytest.raises(grpc.RpcError) as refused:
        face_search(federation, probe_of(identity, "LU-CCTV-1"), state="LU")
    assert refused.value.code() is grpc.StatusCode.FAILED_PRECONDITION and "FACE" in refused.value.details()


def test_core_data_follow_a_confirmed_face_match_only(faces) -> None:
    """P2-CORE-1(b) with P2-FACE-3: core data through the router for the confirmed candidate, none for the rejected."""
    federation, identity = faces
    if federation.federation.topology != "router":
        pytest.skip("core data travel through the router (Art 47(1)); the mesh refuses them (P2-CORE-1's tests)")
    reply = face_search(federation, probe_of(identity, "DE-CCTV-5"), target_states=["NL"])
    assert confirm(federation, reply.request_id, SUSPECT, True).notified
    assert confirm(federation, reply.request_id, TWIN, False).notified

    def ask(reference: str) -> core_data_pb2.RequestCoreDataResponse:
        return federation.core_data("DE").RequestCoreData(core_data_pb2.RequestCoreDataRequest(
            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="armed robbery, core data",
            case_reference="DE-2026-F-1", category=common_pb2.CATEGORY_FACE, requested_state="NL",
            reference=reference, original_request_id=reply.request_id, offence_code="0200",
            facts="An armed robbery of a jeweller in Aachen on 2 March; the camera still matches NL's mugshot.",
            confirmation=core_data_pb2.MatchConfirmation(confirmed_by="DE-NCP-01",
                                                         confirmed_at=timestamp(federation.clock.now()))), timeout=20)

    case = ask(SUSPECT).core_data_case
    assert case.status == core_data_pb2.CORE_DATA_STATUS_SUPPLIED and case.core_data.surnames == "Jansen"
    with pytest.raises(grpc.RpcError) as rejected:
        ask(TWIN)
    assert rejected.value.code() is grpc.StatusCode.NOT_FOUND and "confirmed" in rejected.value.details()


def test_one_search_across_dna_and_faces(faces) -> None:
    """P2-ROUTER-2: a DNA profile and a face at once (one RouteSeveral per state through the router, one link per
    category in the mesh); the face half stays candidates pending confirmation (P2-FACE-3)."""
    from sample_federation import DONOR, profile

    federation, identity = faces
    reply = federation.contact_point("DE").SearchSeveral(cp_pb2.SearchSeveralRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="armed robbery, DNA and a camera still",
        case_reference="DE-2026-F-7", target_states=["NL", "FR"], deadline_ms=5000, queries=[
            cp_pb2.CategoryQuery(category=common_pb2.CATEGORY_DNA, profile=profile("DE-CS-SV", DONOR)),
            cp_pb2.CategoryQuery(category=common_pb2.CATEGORY_FACE, face=face_pb2.FaceQuery(
                probe=probe_of(identity, "DE-CCTV-SV"), offence=face_pb2.OFFENCE_CATEGORY_HOMICIDE))]), timeout=20)
    by_category = {c.category: {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_")
                                for r in c.results} for c in reply.categories}
    assert by_category == {common_pb2.CATEGORY_DNA: {"NL": "NO_HIT", "FR": "NO_HIT"},
                           common_pb2.CATEGORY_FACE: {"NL": "CANDIDATES", "FR": "CANDIDATES"}}
    nl = {r.state: r for r in reply.categories[1].results}["NL"]
    assert [c.reference for c in nl.face_candidates] == [SUSPECT, TWIN]
    assert not hit_was_supplied(federation.nodes["DE"].log, reply.request_id, "DE", "NL", Category.FACE, SUSPECT,
                                EntryKind.AUTOMATED_RECEIPT)
