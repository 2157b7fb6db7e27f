"""The demo's EPRIS part (P2-EPRIS-1..5): a police-record search found through a name variation, a state that does
not take part, and the reasoned follow-up the holding state decides (shared once, refused once), each checked
in both states' logs."""

from __future__ import annotations

import random
from typing import Any

import grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.synthetic.police_records import Variation, planted_query
from prum.federation.synthetic.scenario import Scenario
from prum.police_records.v1 import police_records_pb2 as pb
from prum.police_records.v1 import police_records_pb2_grpc
from prum.services.police_records.index import PoliceRecord
from prum.services.police_records.wire import query_to_proto, record_to_proto


def load_police_records(channel: grpc.Channel, records: list[PoliceRecord]) -> pb.IngestResponse:
    """Load a national police-record index through the streaming Ingest RPC (the state's own certificate)."""
    stream = (pb.IngestRequest(record=record_to_proto(r)) for r in records)
    return police_records_pb2_grpc.PoliceRecordsServiceStub(channel).Ingest(stream, timeout=300)


def _officers(federation: InProcessFederation, state: str) -> tuple[str, str]:
    authorised = [o.officer_id for o in federation.federation.state(state).officers if o.authorised]
    return authorised[0], authorised[-1]


def _varied(records: list[PoliceRecord]) -> tuple[PoliceRecord, Variation]:
    """A record whose name changes when transliterated (Müller -> Mueller), else the first with a compound
    surname, else the first (a typo)."""
    for record in records:
        if not f"{record.first_names}{record.surnames}".isascii():
            return record, Variation.TRANSLITERATION
    for record in records:
        if " " in record.surnames:
            return record, Variation.COMPOUND_SWAPPED
    return records[0], Variation.TYPO


def _search(federation: InProcessFederation, state: str, query: pb.BiographicQuery, deadline_ms: int,
            case: str) -> cp_pb2.SearchResponse:
    officer, ordering = _officers(federation, state)
    return federation.contact_point(state).Search(cp_pb2.SearchRequest(
        officer_id=officer, ordering_officer_id=ordering, reason="armed robbery series, EPRIS search",
        case_reference=case, category=common_pb2.CATEGORY_POLICE_RECORD, person=query,
        deadline_ms=deadline_ms), timeout=deadline_ms / 1000 + 10)


def _follow_up(federation: InProcessFederation, requester: str, holder: str, reference: str, search_id: str,
               share: bool) -> dict[str, Any]:
    officer, ordering = _officers(federation, requester)
    own = police_records_pb2_grpc.PoliceRecordsServiceStub(federation.channel(requester))
    asked = own.RequestRecord(pb.RequestRecordRequest(
        officer_id=officer, ordering_officer_id=ordering, holding_state=holder, reference=reference,
        reason="the match may be the suspect of the robbery series; record needed to confirm the identity",
        search_request_id=search_id), timeout=10)
    pending = asked.decision == pb.DECISION_PENDING
    deciding, _ = _officers(federation, holder)
    decision = pb.DECISION_SHARED if share else pb.DECISION_REFUSED
    police_records_pb2_grpc.PoliceRecordsServiceStub(federation.channel(holder)).DecideRecordRequest(
        pb.DecideRecordRequestRequest(officer_id=deciding, follow_up_id=asked.follow_up_id, decision=decision,
                                      reason="identity confirmed, shared under Art 44(5)" if share
                                      else "refused: an ongoing national investigation"), timeout=10)
    view = own.GetRecordRequest(pb.GetRecordRequestRequest(follow_up_id=asked.follow_up_id), timeout=10).follow_up
    sides = {state: federation.nodes[state].log.query(request_id=asked.follow_up_id) for state in (requester, holder)}
    return {"from": requester, "to": holder, "reference": reference, "pending_until_decided": pending,
            "decision": pb.Decision.Name(view.decision).removeprefix("DECISION_"),
            "record": f"{view.record.first_names} {view.record.surnames}, born {view.record.date_of_birth}"
            if view.HasField("record") else "",
            "logged_on_both_sides": all(len(entries) == 2 and all(e.kind.name.startswith("NON_AUTOMATED")
                                                                  for e in entries) for entries in sides.values())}


def epris(federation: InProcessFederation, scenario: Scenario, deadline_ms: int) -> dict[str, Any]:
    """One search through a name variation from a state taking part to the others, then a follow-up shared and
    one refused. Skipped when fewer than two states take part."""
    taking_part = [code for code in federation.federation.codes if federation.federation.state(code).epris
                   and scenario.police_records.get(code)]
    if len(taking_part) < 2:
        return {"skipped": f"{len(taking_part)} state(s) with police records take part in EPRIS; two are needed"}
    holder, requester = taking_part[0], taking_part[1]
    record, variation = _varied(scenario.police_records[holder])
    query = planted_query(record, variation, random.Random(1))
    reply = _search(federation, requester, query_to_proto(query), deadline_ms, f"{requester}-EPRIS-1")
    results: list[dict[str, Any]] = [{"state": r.state, "status": cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_"),
                "matches": [{"reference": m.reference, "quality": m.quality, "holding_state": m.holding_state}
                            for m in r.police_records], "detail": r.detail} for r in reply.results]
    found = next((m for r in results if r["state"] == holder for m in r["matches"]
                  if m["reference"] == record.reference), None)
    entry: dict[str, Any] = {
        "from": requester, "record": f"{record.first_names} {record.surnames}, born {record.date_of_birth}",
        "holder": holder, "variation": variation.value,
        "query": f"{query.first_names} {query.surnames}, born {query.date_of_birth}",
        "request_id": reply.request_id, "results": results, "found": found,
        "not_taking_part": sorted(r["state"] for r in results if r["status"] == "NOT_READY")}
    if found is not None:
        entry["shared"] = _follow_up(federation, requester, holder, record.reference, reply.request_id, True)
        other, other_variation = scenario.police_records[holder][-1], Variation.YEAR_ONLY
        second = _search(federation, requester, query_to_proto(planted_query(other, other_variation,
                                                                             random.Random(2))),
                         deadline_ms, f"{requester}-EPRIS-2")
        if any(m.reference == other.reference for r in second.results for m in r.police_records):
            entry["refused"] = _follow_up(federation, requester, holder, other.reference, second.request_id, False)
    return entry


def checks(entry: dict[str, Any], federation: InProcessFederation) -> dict[str, bool]:
    """The demo's EPRIS checks; none when the part was skipped."""
    if "skipped" in entry:
        return {}
    outside = [c for c in federation.federation.codes if not federation.federation.state(c).epris]
    shared, refused = entry.get("shared", {}), entry.get("refused", {})
    result = {
        "police_record_hit_through_a_name_variation": entry["found"] is not None,
        "police_record_follow_up_decided_by_the_holder_and_logged_on_both_sides": bool(
            shared.get("pending_until_decided") and shared.get("decision") == "SHARED" and shared.get("record")
            and shared.get("logged_on_both_sides") and refused.get("decision") == "REFUSED"
            and not refused.get("record") and refused.get("logged_on_both_sides")),
    }
    if outside:
        result["state_not_taking_part_in_epris_not_searched"] = entry["not_taking_part"] == sorted(outside)
    return result
