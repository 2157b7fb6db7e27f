"""The demo's core data after a confirmed match (Prüm II Art 47, P2-CORE-1..3; router topology only).

After the planted searches: the state that searched by fingerprints asks for the core data behind its verified hit,
naming its expert's confirmation, an offence category and the facts; the requested state decides at once (every
condition holds, its default policy) and the data come back through the router. Then the state whose DNA search hit
an identified person asks for that person's core data; a DNA match is confirmed by the requested state (Art 6(7)),
whose operator does not decide in the demo: the demo skips its clock past the 48 hours, and both states list the
case as overdue and both DPAs' audits report it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import core_data_pb2 as pb
from prum.federation.runtime.launcher import InProcessFederation
from prum.router.v1 import core_data_relay_pb2 as relay_pb2
from prum.router.v1 import core_data_relay_pb2_grpc as relay_pb2_grpc
from prum.services.common.clock import SkippingClock
from prum.services.common.identity import ROUTER
from prum.services.common.wire import timestamp
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc

#: The offence category the demo's requests name (common table of Framework Decision 2009/315).
OFFENCE = "0200"
FACTS = ("A series of burglaries by an organised group; the trace was secured at the latest break-in, and the "
         "suspect is believed to have lived in the requested state.")


def _first_hit(searches: list[dict[str, Any]], category: str) -> tuple[dict[str, Any], dict[str, Any], str] | None:
    """The first search of `category` with a hit on an identified person: (search, result, reference)."""
    for search in searches:
        if search["category"] != category or "request_id" not in search:
            continue
        for result in search["results"]:
            people = [h for h in result["hits"] if h.get("kind") in ("IDENTIFIED_PERSON", "PERSON")]
            if result["status"] == "HIT" and people:
                return search, result, people[0]["reference"]
    return None


def _ask(federation: InProcessFederation, search: dict[str, Any], result: dict[str, Any], reference: str,
         category: common_pb2.Category.ValueType, confirmed_by: str = "") -> dict[str, Any]:
    """One core-data request as the requesting officer sends it; its case as the requesting state keeps it."""
    origin = search["from"]
    authorised = [o.officer_id for o in federation.federation.state(origin).officers if o.authorised]
    request = pb.RequestCoreDataRequest(
        officer_id=search["officer"], ordering_officer_id=authorised[-1], reason="core data after a confirmed match",
        case_reference=search["case_reference"], category=category, requested_state=result["state"],
        reference=reference, original_request_id=search["request_id"], offence_code=OFFENCE, facts=FACTS)
    if confirmed_by:
        request.confirmation.CopyFrom(pb.MatchConfirmation(
            confirmed_by=confirmed_by, confirmed_at=timestamp(federation.clock.now() - timedelta(minutes=5))))
    entry: dict[str, Any] = {"from": origin, "to": result["state"], "reference": reference,
                             "category": common_pb2.Category.Name(category).removeprefix("CATEGORY_")}
    try:
        case = federation.core_data(origin).RequestCoreData(request, timeout=30).core_data_case
    except grpc.RpcError as error:
        entry["error"] = {"code": error.code().name, "message": error.details()}
        return entry
    entry.update(case_id=case.case_id, status=pb.CoreDataStatus.Name(case.status).removeprefix("CORE_DATA_STATUS_"),
                 due_at=case.due_at.ToDatetime().isoformat(timespec="minutes"), delivered=case.delivered)
    if case.status == pb.CORE_DATA_STATUS_SUPPLIED:
        d = case.core_data
        entry["core_data"] = (f"{d.first_names} {d.surnames}, born {d.date_of_birth} in {d.place_of_birth}, "
                              f"{d.nationality}, {d.gender}; {d.offence}, case {d.case_number}")
    return entry


def _logged(federation: InProcessFederation, entry: dict[str, Any], steps: int) -> bool:
    """Both states logged every step of the case (request and decision, each on both sides)."""
    return all(len(federation.nodes[state].log.query(request_id=entry["case_id"])) == steps
               for state in (entry["from"], entry["to"]))


def _router_entries(federation: InProcessFederation, entry: dict[str, Any]) -> list[relay_pb2.RelayedCoreData]:
    stub = relay_pb2_grpc.CoreDataRelayServiceStub(federation.channel(ROUTER, as_state=entry["from"]))
    return [f for f in stub.ListRelayedCoreData(relay_pb2.ListRelayedCoreDataRequest(state=entry["from"]),
                                                timeout=10).forwardings if f.request_id == entry["case_id"]]


def core_data_exchanges(federation: InProcessFederation, searches: list[dict[str, Any]],
                        clock: SkippingClock) -> dict[str, Any] | None:
    """One exchange supplied on time and one overdue, as the module says; None in the mesh (no router)."""
    if federation.federation.topology != "router":
        return None
    report: dict[str, Any] = {}
    fingerprint = _first_hit(searches, "FINGERPRINT")
    if fingerprint is not None:
        search, result, reference = fingerprint
        expert = f"{search['from']}-FP-EXPERT-1"  # the requesting state's qualified staff (Art 47(1)(b))
        on_time = _ask(federation, search, result, reference, common_pb2.CATEGORY_FINGERPRINT, expert)
        if "case_id" in on_time:
            forwardings = _router_entries(federation, on_time)
            text = b"".join(f.SerializeToString() for f in forwardings)
            on_time.update(
                logged_on_both_sides=_logged(federation, on_time, 2),
                router=[f"{f.message} {f.from_state}→{f.to_state} {f.code}" for f in forwardings],
                router_log_without_data=reference.encode() not in text and FACTS[:20].encode() not in text)
        report["on_time"] = on_time
    dna = _first_hit(searches, "DNA")
    if dna is not None:
        search, result, reference = dna
        overdue = _ask(federation, search, result, reference, common_pb2.CATEGORY_DNA)
        if "case_id" in overdue:
            hours = federation.federation.router.core_data_deadline_hours
            clock.advance(timedelta(hours=hours, minutes=1))
            overdue["clock_skipped_hours"] = hours + 1 / 60
            overdue["overdue_at"] = {}
            overdue["dpa_findings"] = {}
            for state in (overdue["from"], overdue["to"]):
                listed = federation.core_data(state).ListCoreDataCases(
                    pb.ListCoreDataCasesRequest(overdue_only=True), timeout=10).cases
                overdue["overdue_at"][state] = any(c.case_id == overdue["case_id"] and c.overdue for c in listed)
                audit = supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(state)).RunAudit(
                    supervisor_pb2.RunAuditRequest(sample_size=1, seed=1), timeout=30).audit
                overdue["dpa_findings"][state] = [f.problem for f in audit.findings
                                                  if overdue["case_id"] in f.problem]
        report["overdue"] = overdue
    return report


def supplied_on_time(report: dict[str, Any] | None) -> bool:
    on_time = (report or {}).get("on_time", {})
    return (on_time.get("status") == "SUPPLIED" and bool(on_time.get("delivered"))
            and bool(on_time.get("logged_on_both_sides")) and bool(on_time.get("router_log_without_data"))
            and len(on_time.get("router", [])) == 2 and all(r.endswith(" OK") for r in on_time["router"]))


def overdue_seen(report: dict[str, Any] | None) -> bool:
    overdue = (report or {}).get("overdue", {})
    return (overdue.get("status") == "OPEN" and len(overdue.get("overdue_at", {})) == 2
            and all(overdue["overdue_at"].values()) and all(overdue.get("dpa_findings", {}).values()))
