"""EPRIS end to end (P2-EPRIS-1..5): a police-record search by name and date of birth from DE's contact point, a
hit through a name variation with its quality and holding state, a state that does not take part, and the
reasoned follow-up the holding state decides, shared once and refused once, logged on both sides."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import parse_federation
from prum.police_records.v1 import police_records_pb2 as pb
from prum.police_records.v1 import police_records_pb2_grpc
from prum.services.common.category import Category
from prum.services.logger import EntryKind, MessageType
from prum.services.police_records.index import PoliceRecord
from prum.services.police_records.wire import record_to_proto

FEDERATION = """
[federation]
name = "epris"
deadline_ms = 2000
[defaults]
dna_profiles = 0
epris = true
[[state]]
code = "DE"
[[state]]
code = "PL"
[[state]]
code = "EL"
[[state]]
code = "LU"
epris = false
"""

RECORDS = {
    "PL": [PoliceRecord("PL-PR-1", "Łukasz", "Wiśniewski", "1984-03-07", (), "PL", "Kraków", "PL", "M"),
           PoliceRecord("PL-PR-2", "Anna", "Nowak", "1990-01-01", gender="F")],
    "EL": [PoliceRecord("EL-PR-9", "Ελένη", "Παπαδοπούλου", "1979-11-02", ("Helen Papadopoulou",), "GR",
                        "Αθήνα", "GR", "F")],
    "DE": [PoliceRecord("DE-PR-5", "Jörg", "Müller", "1970-06-15", gender="M")],
}


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    running = InProcessFederation(parse_federation(tomllib.loads(FEDERATION)),
                                  Path(tmp_path_factory.mktemp("epris"))).start()
    for state, records in RECORDS.items():  # through the state's own Ingest stream
        stub = police_records_pb2_grpc.PoliceRecordsServiceStub(running.channel(state))
        reply = stub.Ingest(iter([pb.IngestRequest(record=record_to_proto(r)) for r in records]), timeout=10)
        assert (reply.accepted, list(reply.rejections)) == (len(records), [])
    yield running
    running.stop()


def search(federation: InProcessFederation, person: pb.BiographicQuery, state: str = "DE",
           targets: tuple[str, ...] = ()) -> cp_pb2.SearchResponse:
    return federation.contact_point(state).Search(cp_pb2.SearchRequest(
        officer_id=f"{state}-NCP-01", ordering_officer_id=f"{state}-NCP-02", reason="armed robbery, EPRIS search",
        case_reference=f"{state}-2026-EPRIS-1", category=common_pb2.CATEGORY_POLICE_RECORD, person=person,
        target_states=list(targets), deadline_ms=2000), timeout=10)


def status(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def service(federation: InProcessFederation, state: str) -> police_records_pb2_grpc.PoliceRecordsServiceStub:
    return police_records_pb2_grpc.PoliceRecordsServiceStub(federation.channel(state))


def test_a_hit_through_transliteration_names_the_reference_quality_and_holding_state(
        federation: InProcessFederation) -> None:
    reply = search(federation, pb.BiographicQuery(first_names="Lukasz", surnames="Wisniewski",
                                                  date_of_birth="1984-07-03"))  # diacritics gone, day/month swapped
    assert status(reply) == {"PL": "HIT", "EL": "NO_HIT", "LU": "NOT_READY"}
    (match,) = next(r for r in reply.results if r.state == "PL").police_records
    assert (match.reference, match.holding_state) == ("PL-PR-1", "PL")
    assert 80 <= match.quality < 100
    assert set(pb.Match.DESCRIPTOR.fields_by_name) == {"reference", "quality", "holding_state"}  # no personal data


def test_greek_script_is_found_from_latin_letters_and_a_year_only(federation: InProcessFederation) -> None:
    reply = search(federation, pb.BiographicQuery(first_names="Eleni", surnames="Papadopoulou",
                                                  date_of_birth="1979"), targets=("EL",))
    assert [m.reference for m in reply.results[0].police_records] == ["EL-PR-9"]


def test_a_state_not_taking_part_is_not_searched_and_cannot_search(federation: InProcessFederation) -> None:
    reply = search(federation, pb.BiographicQuery(first_names="Jorg", surnames="Mueller", date_of_birth="1970-06-15"))
    assert status(reply)["LU"] == "NOT_READY"
    assert "POLICE_RECORD" in next(r for r in reply.results if r.state == "LU").detail
    with pytest.raises(grpc.RpcError) as refused:  # LU's own officers: it has not opted in (P2-EPRIS-1)
        search(federation, pb.BiographicQuery(first_names="Jorg", surnames="Mueller", date_of_birth="1970"), "LU")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION


def test_both_sides_log_the_search_and_the_query_is_kept_nowhere_else(federation: InProcessFederation) -> None:
    reply = search(federation, pb.BiographicQuery(first_names="Jörg", surnames="Muller", date_of_birth="1970-06-15"),
                   targets=("EL",))
    de = federation.nodes["DE"].log.query(request_id=reply.request_id)
    el = federation.nodes["EL"].log.query(request_id=reply.request_id)
    assert {(e.kind, e.message_type) for e in de} == {(EntryKind.AUTOMATED_SUPPLY, MessageType.QUERY),
                                                      (EntryKind.AUTOMATED_RECEIPT, MessageType.REPLY)}
    assert {(e.kind, e.message_type) for e in el} == {(EntryKind.AUTOMATED_RECEIPT, MessageType.QUERY),
                                                      (EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY)}
    assert all(e.category is Category.POLICE_RECORD and e.reason and e.officer_id for e in de + el)  # LOG-2
    index = federation.nodes["EL"].police_records
    assert index is not None and not any(b"Muller" in value or b"muller" in value
                                         for value, _ in index.index_values())  # PUR-2, P2-EPRIS-5


def _follow_up(federation: InProcessFederation, decision: int, reason: str) -> tuple[str, pb.RecordRequestView]:
    reply = search(federation, pb.BiographicQuery(first_names="Lukasz", surnames="Wisnewski",  # a typo
                                                  date_of_birth="1984-03-07"), targets=("PL",))
    (match,) = reply.results[0].police_records
    asked = service(federation, "DE").RequestRecord(pb.RequestRecordRequest(
        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="suspect of the Dresden robbery; need "
        "his record to confirm identity", holding_state="PL", reference=match.reference,
        search_request_id=reply.request_id, case_reference="DE-2026-EPRIS-1"), timeout=10)
    assert asked.decision == pb.DECISION_PENDING  # nothing released automatically (P2-EPRIS-4)
    held = service(federation, "PL").GetRecordRequest(pb.GetRecordRequestRequest(follow_up_id=asked.follow_up_id),
                                                      timeout=10).follow_up
    assert (held.decision, held.requesting_state, held.reference) == (pb.DECISION_PENDING, "DE", "PL-PR-1")
    assert not held.HasField("record")
    decided = service(federation, "PL").DecideRecordRequest(pb.DecideRecordRequestRequest(
        officer_id="PL-NCP-01", follow_up_id=asked.follow_up_id, decision=decision, reason=reason), timeout=10)
    assert (decided.decision, decided.delivered) == (decision, True)
    view = service(federation, "DE").GetRecordRequest(pb.GetRecordRequestRequest(follow_up_id=asked.follow_up_id),
                                                      timeout=10).follow_up
    return asked.follow_up_id, view


def _logged(federation: InProcessFederation, state: str, follow_up_id: str) -> list[tuple[str, str, str]]:
    return sorted((e.kind.value, e.message_type.value, e.outcome.value)
                  for e in federation.nodes[state].log.query(request_id=follow_up_id))


def test_a_reasoned_request_shared_by_the_holding_state_is_logged_on_both_sides(
        federation: InProcessFederation) -> None:
    follow_up_id, view = _follow_up(federation, pb.DECISION_SHARED, "identity confirmed; shared under art. 44(5)")
    assert view.decision == pb.DECISION_SHARED and view.record.surnames == "Wiśniewski"
    assert _logged(federation, "DE", follow_up_id) == [("NON_AUTOMATED_RECEIPT", "FOLLOW_UP_REPLY", "HIT"),
                                                       ("NON_AUTOMATED_SUPPLY", "FOLLOW_UP_REQUEST", "NONE")]
    assert _logged(federation, "PL", follow_up_id) == [("NON_AUTOMATED_RECEIPT", "FOLLOW_UP_REQUEST", "NONE"),
                                                       ("NON_AUTOMATED_SUPPLY", "FOLLOW_UP_REPLY", "HIT")]
    (entry,) = [e for e in federation.nodes["PL"].log.query(request_id=follow_up_id)
                if e.message_type is MessageType.FOLLOW_UP_REQUEST]
    assert entry.reason.startswith("suspect of the Dresden robbery") and entry.officer_id == "DE-NCP-01"


def test_a_refused_request_releases_nothing_and_is_logged_on_both_sides(federation: InProcessFederation) -> None:
    follow_up_id, view = _follow_up(federation, pb.DECISION_REFUSED, "ongoing national investigation")
    assert view.decision == pb.DECISION_REFUSED and view.decision_reason == "ongoing national investigation"
    assert not view.HasField("record")
    for state in ("DE", "PL"):
        replies = [e for e in federation.nodes[state].log.query(request_id=follow_up_id)
                   if e.message_type is MessageType.FOLLOW_UP_REPLY]
        assert [json.loads(e.data_supplied)["record"] for e in replies] == [None]
        assert [e.outcome.value for e in replies] == ["REFUSED"]


def test_a_request_for_a_reference_never_received_is_refused(federation: InProcessFederation) -> None:
    reply = search(federation, pb.BiographicQuery(first_names="Anna", surnames="Nowak", date_of_birth="1990"),
                   targets=("PL",))
    with pytest.raises(grpc.RpcError) as refused:
        service(federation, "DE").RequestRecord(pb.RequestRecordRequest(
            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="fishing", holding_state="PL",
            reference="PL-PR-1", search_request_id=reply.request_id), timeout=10)
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


def test_the_dpas_audit_and_a_data_subjects_request_cover_police_records(federation: InProcessFederation) -> None:
    """Issue 21, both categories: the DPA's audit (AUD-1) reads the police-record entries (search and reasoned
    follow-up) like any other, on both sides, and finds nothing unlawful; a data subject's request about a police
    record is a case with its legal deadline (SUB-1)."""
    from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc

    reply = search(federation, pb.BiographicQuery(first_names="Lukasz", surnames="Wisniewski",
                                                  date_of_birth="1984-03-07"), targets=("PL",))
    follow_up_id, _ = _follow_up(federation, pb.DECISION_REFUSED, "ongoing national investigation")
    for state in ("DE", "PL"):
        node = federation.nodes[state]
        entries = {e.sequence for e in node.log.export() if e.category is Category.POLICE_RECORD
                   and e.request_id in (reply.request_id, follow_up_id)}
        assert entries, state
        audit = node.authority.run_audit(sample_size=10_000, seed=44)
        assert entries <= set(audit.sequences)
        assert not [f for f in audit.findings if f.sequence in entries], audit.findings
    opened = supervisor_pb2_grpc.SupervisorServiceStub(federation.channel("PL")).OpenSubjectCase(
        supervisor_pb2.OpenSubjectCaseRequest(subject_case=supervisor_pb2.SubjectCase(
            kind=supervisor_pb2.SUBJECT_CASE_KIND_INFORMATION, category=common_pb2.CATEGORY_POLICE_RECORD,
            reference="PL-PR-1", description="Which police-record searches matched my record?")), timeout=5)
    case = opened.subject_case
    assert case.category == common_pb2.CATEGORY_POLICE_RECORD and case.due_at.seconds > case.opened_at.seconds


def test_a_pending_request_and_its_decision_survive_a_restart_of_both_states(tmp_path: Path) -> None:
    """Nothing acknowledged is lost: a reasoned request pending at the holding state is still there after it
    restarts, with the national records it holds (its index built anew from them under a new key, P2-EPRIS-5), and
    the decision sent back is still at the requesting state after it restarts."""
    running = InProcessFederation(parse_federation(tomllib.loads(FEDERATION)), tmp_path).start()

    def load(state: str) -> None:
        stub = police_records_pb2_grpc.PoliceRecordsServiceStub(running.channel(state))
        stub.Ingest(iter([pb.IngestRequest(record=record_to_proto(r)) for r in RECORDS[state]]), timeout=10)

    try:
        load("PL")
        reply = search(running, pb.BiographicQuery(first_names="Lukasz", surnames="Wisniewski",
                                                   date_of_birth="1984-03-07"), targets=("PL",))
        asked = service(running, "DE").RequestRecord(pb.RequestRecordRequest(
            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="identity of a robbery suspect",
            holding_state="PL", reference="PL-PR-1", search_request_id=reply.request_id), timeout=10)
        key_before = running.nodes["PL"].police_records._key  # noqa: SLF001 - the index's key, to show it rotated
        running.restart("PL")
        assert running.nodes["PL"].police_records._key != key_before  # noqa: SLF001
        again = search(running, pb.BiographicQuery(first_names="Lukasz", surnames="Wisniewski",
                                                   date_of_birth="1984-03-07"), targets=("PL",))
        assert [m.reference for m in again.results[0].police_records] == ["PL-PR-1"]  # the records were kept
        held = service(running, "PL").GetRecordRequest(pb.GetRecordRequestRequest(follow_up_id=asked.follow_up_id),
                                                       timeout=10).follow_up
        assert (held.decision, held.requesting_state, held.reference) == (pb.DECISION_PENDING, "DE", "PL-PR-1")
        decided = service(running, "PL").DecideRecordRequest(pb.DecideRecordRequestRequest(
            officer_id="PL-NCP-01", follow_up_id=asked.follow_up_id, decision=pb.DECISION_SHARED,
            reason="identity confirmed"), timeout=10)
        assert decided.delivered
        running.restart("DE")
        view = service(running, "DE").GetRecordRequest(pb.GetRecordRequestRequest(follow_up_id=asked.follow_up_id),
                                                       timeout=10).follow_up
        assert view.decision == pb.DECISION_SHARED and view.record.surnames == "Wiśniewski"
    finally:
        running.stop()


def test_a_refusal_names_the_field_as_the_callers_request_spells_it(federation: InProcessFederation) -> None:
    """The officer's request and the peer's search both carry the person as `person`, so a refusal's field path is
    the caller's own, at the contact point and at the data service alike."""
    import uuid

    bad = pb.BiographicQuery(first_names="Anna", surnames="Nowak", date_of_birth="19900")
    with pytest.raises(grpc.RpcError) as at_contact_point:
        search(federation, bad, targets=("PL",))
    context = common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="PL",
                                      officer_id="DE-NCP-01", reason="contract check")
    with pytest.raises(grpc.RpcError) as at_data_service:
        police_records_pb2_grpc.PoliceRecordsServiceStub(federation.channel("PL", as_state="DE")).Search(
            pb.SearchRequest(context=context, person=bad), timeout=10)
    for refused in (at_contact_point, at_data_service):
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (refused.value.details() or "").startswith("person.date_of_birth:")
