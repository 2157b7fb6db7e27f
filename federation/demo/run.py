"""`prum demo`: a federation in one process, planted searches, and a report of what happened.

Starts every state of the federation file on its own loopback port over mTLS, loads synthetic DNA
files through the streaming Ingest RPC, runs the planted searches through each state's contact
point, and gathers per state: results, protocol log entries on both sides, the log's integrity,
and the trace of each search across states.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import grpc
from opentelemetry import trace
from prum.afis.v1 import afis_pb2, afis_pb2_grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.contact_point.v1 import core_data_pb2, core_data_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.demo import police_records as epris_demo
from prum.federation.demo.core_data import core_data_exchanges, overdue_seen, supplied_on_time
from prum.federation.demo.face import face_search
from prum.federation.runtime.launcher import InProcessFederation, compile_kernels
from prum.federation.runtime.topology import Federation
from prum.federation.synthetic.scenario import FileRow, PlannedSearch, build_scenario
from prum.services.afis.wire import template_to_proto
from prum.services.common.clock import SkippingClock
from prum.services.common.tracing import create_tracer_provider
from prum.services.contact_point.persons import CoreDetails, Person
from prum.services.dna.wire import KIND_TO_PROTO
from prum.services.logger import EntryKind, Side
from prum.services.vehicle.wire import record_to_proto
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc

Progress = Callable[[str, int, int], None]


def _profile(reference: str, kind: Any, loci: dict[str, list[str]]) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=KIND_TO_PROTO[kind],
                           loci={k: dna_pb2.Alleles(values=v) for k, v in loci.items()})


def _ingest_stream(rows: list[FileRow]) -> Iterator[dna_pb2.IngestRequest]:
    for row in rows:
        yield dna_pb2.IngestRequest(profile=_profile(row.reference, row.kind, row.loci))


def load_register(channel: grpc.Channel, records: list[Any]) -> vehicle_pb2.IngestResponse:
    """Load a national vehicle register through the streaming Ingest RPC (the state's own certificate)."""
    stream = (vehicle_pb2.IngestRequest(record=record_to_proto(r)) for r in records)
    return vehicle_pb2_grpc.VehicleRegisterServiceStub(channel).Ingest(stream, timeout=300)


READINESS_STEPS = ("DECLARATIONS_FILED", "QUESTIONNAIRE_ANSWERED", "PILOT_RUN_PASSED", "EVALUATION_VISIT_DONE")


def readiness_workflow(federation: InProcessFederation, scenario_searches: list[PlannedSearch],
                       deadline_ms: int) -> dict[str, Any] | None:
    """GATE-1 end to end: a state not ready for DNA reports its evaluation steps, every member votes in the
    Council, the decision reaches every state (GATE-2), and the state's first DNA search goes through."""
    spec = federation.federation
    subject = next((s.code for s in spec.states if not s.is_ready("DNA")), None)
    if subject is None:
        return None
    steps: list[dict[str, Any]] = []
    own = supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(subject))
    template = next(p for p in scenario_searches if p.category == "DNA" and not p.expected_error)
    officers = [o.officer_id for o in spec.state(subject).officers if o.authorised]
    for step in READINESS_STEPS:
        if step == "PILOT_RUN_PASSED":
            steps.append(_pilot_run(federation, own, subject, template, officers, deadline_ms))
            continue
        reply = own.RecordStep(supervisor_pb2.RecordStepRequest(
            state=subject, category=common_pb2.CATEGORY_DNA,
            step=supervisor_pb2.ReadinessStep.Value(f"READINESS_STEP_{step}")), timeout=10)
        steps.append({"step": step.lower().replace("_", " "), "unreached": list(reply.unreached_states)})
    votes = []
    for voter in spec.codes:
        tally = supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(voter)).CastCouncilVote(
            supervisor_pb2.CastCouncilVoteRequest(subject_state=subject, category=common_pb2.CATEGORY_DNA,
                                                  voting_state=voter, vote=supervisor_pb2.VOTE_IN_FAVOUR), timeout=10)
        votes.append({"voter": voter, "in_favour": tally.votes_in_favour, "needed": tally.votes_needed,
                      "unreached": list(tally.unreached_states)})
    seen_ready = sorted(code for code, node in federation.nodes.items() if node.readiness.is_ready(subject, "DNA"))
    first = replace(template, title=f"first DNA search from {subject} after the Council's decision",
                    from_state=subject, officer_id=officers[0], ordering_officer_id=officers[-1],
                    reference=f"{subject}-CS-READY", expected={s: st for s, st in template.expected.items()
                                                              if s != subject} | {template.from_state: ("NO_HIT", "")})
    first.expected.pop(subject, None)
    search = _run_search(federation, first, deadline_ms)
    return {"state": subject, "category": "DNA", "steps": steps, "votes": votes, "ready_in": seen_ready,
            "decided": len(seen_ready) == len(spec.codes), "search": search}


def _pilot_run(federation: InProcessFederation, own: supervisor_pb2_grpc.SupervisorServiceStub, subject: str,
               template: PlannedSearch, officers: list[str], deadline_ms: int) -> dict[str, Any]:
    """The pilot step (GATE-1): the scenario's planted DNA search, sent by the candidate to a ready peer that holds
    the planted profile (or to any ready peer, expecting no hit), must give the planted answer."""
    ready = [s.code for s in federation.federation.states if s.code != subject and s.is_ready("DNA")]
    peer = next((s for s in ready if template.expected.get(s, ("NO_HIT", ""))[0] == "HIT"), ready[0])
    expected = template.expected.get(peer, ("NO_HIT", ""))[0]
    probe = replace(template, from_state=subject, officer_id=officers[0], ordering_officer_id=officers[-1],
                    reference=f"{subject}-PILOT", target_states=(peer,))
    reply = own.RunPilot(supervisor_pb2.RunPilotRequest(
        state=subject, category=common_pb2.CATEGORY_DNA, peer_state=peer, queries=[supervisor_pb2.PilotQuery(
            search=_request(probe, deadline_ms), expected=cp_pb2.ResultStatus.Value(f"RESULT_STATUS_{expected}"))]),
        timeout=deadline_ms / 1000 + 20)
    return {"step": f"pilot run passed (test query to {peer}: {expected.lower().replace('_', ' ')} expected, "
                    f"{'as expected' if reply.passed else 'NOT as expected'})", "unreached": list(reply.unreached_states),
            "pilot": {"peer": peer, "passed": reply.passed, "pilot_id": reply.pilot_id, "results": [
                {"expected": cp_pb2.ResultStatus.Name(r.expected).removeprefix("RESULT_STATUS_"),
                 "status": cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_"), "detail": r.detail}
                for r in reply.results]}}


def load_fingerprints(channel: grpc.Channel, templates: list[Any]) -> afis_pb2.IngestResponse:
    """Load a national AFIS file through the streaming Ingest RPC (the state's own certificate)."""
    stream = (afis_pb2.IngestRequest(template=template_to_proto(t)) for t in templates)
    return afis_pb2_grpc.AfisServiceStub(channel).Ingest(stream, timeout=300)


def load_persons(channel: grpc.Channel, persons: list[Person]) -> cp_pb2.RegisterPersonsResponse:
    """Load the national person register behind identified references (own state's certificate)."""
    stream = (cp_pb2.RegisterPersonsRequest(person=cp_pb2.PersonalData(
        reference=p.reference, surname=p.surname, first_names=p.first_names, date_of_birth=p.date_of_birth,
        nationality=p.nationality)) for p in persons)
    return cp_pb2_grpc.ContactPointServiceStub(channel).RegisterPersons(stream, timeout=300)


def load_core_details(channel: grpc.Channel, details: list[CoreDetails]) -> core_data_pb2.RegisterCoreDetailsResponse:
    """Load what the core data set adds to the person records (P2-CORE-3; own state's certificate). A state without
    person records (no synthetic DNA file) has nothing to register, and the contract refuses an empty list."""
    if not details:
        return core_data_pb2.RegisterCoreDetailsResponse()
    return core_data_pb2_grpc.CoreDataServiceStub(channel).RegisterCoreDetails(core_data_pb2.RegisterCoreDetailsRequest(
        details=[core_data_pb2.CoreDetails(reference=d.reference, aliases=list(d.aliases), place_of_birth=d.place_of_birth,
                                           gender=d.gender, collected_on=d.collected_on, collected_at=d.collected_at,
                                           offence=d.offence, case_number=d.case_number) for d in details]),
        timeout=300)


def follow_up_first_hit(federation: InProcessFederation, searches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Step 2 after the first DNA hit on an identified person: ask for the personal data (FOL-1)."""
    for search in searches:
        for result in search.get("results", []):
            person_hits = [h for h in result["hits"] if h.get("kind") == "IDENTIFIED_PERSON"]
            if search["category"] != "DNA" or result["status"] != "HIT" or not person_hits:
                continue
            officer = federation.federation.state(search["from"]).officers
            request = cp_pb2.FollowUpRequest(
                officer_id=search["officer"], ordering_officer_id=[o.officer_id for o in officer if o.authorised][-1],
                reason="identify the donor of the trace, art. 5 request", case_reference=search["case_reference"],
                category=common_pb2.CATEGORY_DNA, requested_state=result["state"],
                reference=person_hits[0]["reference"], original_request_id=search["request_id"])
            entry: dict[str, Any] = {"from": search["from"], "to": result["state"],
                                     "reference": request.reference, "original_request_id": search["request_id"]}
            try:
                reply = federation.contact_point(search["from"]).FollowUp(request, timeout=10)
            except grpc.RpcError as error:
                entry["error"] = {"code": error.code().name, "message": error.details()}
                return entry
            p = reply.person
            requesting = federation.nodes[search["from"]].log.query(request_id=reply.header.request_id)
            managing = federation.nodes[result["state"]].log.query(request_id=reply.header.request_id)
            entry.update(person=f"{p.first_names} {p.surname}, born {p.date_of_birth}, {p.nationality}",
                         contested=p.contested, request_id=reply.header.request_id,
                         logged_on_both_sides=len(requesting) == 2 and len(managing) == 2
                         and all(e.kind.name.startswith("NON_AUTOMATED") for e in requesting + managing))
            return entry
    return None


def load_file(channel: grpc.Channel, rows: list[FileRow]) -> dna_pb2.IngestResponse:
    """Load a national DNA file through the streaming Ingest RPC (the channel must carry the state's own certificate)."""
    return dna_pb2_grpc.DnaIndexServiceStub(channel).Ingest(_ingest_stream(rows), timeout=300)


@dataclass
class DemoResult:
    report: dict[str, Any]
    ok: bool


def _request(planned: PlannedSearch, deadline_ms: int) -> cp_pb2.SearchRequest:
    request = cp_pb2.SearchRequest(
        officer_id=planned.officer_id, ordering_officer_id=planned.ordering_officer_id, reason=planned.reason,
        case_reference=planned.reference, target_states=list(planned.target_states), deadline_ms=deadline_ms)
    if planned.category == "VEHICLE":
        request.category = common_pb2.CATEGORY_VEHICLE
        request.vehicle.CopyFrom(cp_pb2.VehicleKey(**planned.vehicle_key))
    elif planned.category == "FINGERPRINT":
        assert planned.template is not None
        request.category = common_pb2.CATEGORY_FINGERPRINT
        request.template.CopyFrom(template_to_proto(planned.template))
    else:
        request.category = common_pb2.CATEGORY_DNA
        request.profile.CopyFrom(_profile(planned.reference, planned.kind, planned.loci))
    return request


def _items(result: cp_pb2.StateResult) -> list[dict[str, Any]]:
    """What a person reads of one state's hits: DNA hits, verified fingerprint candidates or vehicle records."""
    if result.candidates:
        return [{"reference": c.reference, "score": round(c.score, 1),
                 "kind": afis_pb2.TemplateKind.Name(c.kind).removeprefix("TEMPLATE_KIND_")} for c in result.candidates]
    if result.vehicles:
        return [{"reference": v.vehicle.vin, "registration_number": v.vehicle.registration_number,
                 "vehicle": f"{v.vehicle.make} {v.vehicle.model}, {v.vehicle.colour}",
                 "status": vehicle_pb2.VehicleStatus.Name(v.vehicle.status).removeprefix("VEHICLE_STATUS_").lower(),
                 "holders": [h.person.surname if h.HasField("person") else h.company.name for h in v.holders]}
                for v in result.vehicles]
    return [{"reference": h.reference,
             "kind": dna_pb2.ProfileKind.Name(h.kind).removeprefix("PROFILE_KIND_"),
             "match_class": dna_pb2.MatchClass.Name(h.match_class).removeprefix("MATCH_CLASS_").lower(),
             "loci_compared": h.loci_compared, "loci_matched": h.loci_matched,
             "contested": h.contested} for h in result.dna_hits]


def _run_search(federation: InProcessFederation, planned: PlannedSearch, deadline_ms: int) -> dict[str, Any]:
    stub = federation.contact_point(planned.from_state)
    request = _request(planned, deadline_ms)
    tracer = trace.get_tracer("prum.demo", tracer_provider=federation.tracer_provider)
    entry: dict[str, Any] = {"title": planned.title, "category": planned.category, "from": planned.from_state,
                             "officer": planned.officer_id, "case_reference": planned.reference}
    started = time.perf_counter()
    with tracer.start_as_current_span("officer search", attributes={"prum.state": planned.from_state}) as span:
        entry["trace_id"] = format(span.get_span_context().trace_id, "032x")
        try:
            reply = stub.Search(request, timeout=deadline_ms / 1000 + 5)
        except grpc.RpcError as error:
            entry.update(error={"code": error.code().name, "message": error.details()}, results=[])
        else:
            entry["request_id"] = reply.request_id
            entry["results"] = [{
                "state": r.state, "status": cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_"),
                "code": r.code, "detail": r.detail, "elapsed_ms": round(r.elapsed_ms, 2),
                "reply_id": r.header.reply_id, "hits": _items(r)} for r in reply.results]
    entry["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
    entry["expected"] = {"error": planned.expected_error} if planned.expected_error else {
        s: {"status": st, "match_class": mc} for s, (st, mc) in planned.expected.items()}
    entry["as_planted"] = _as_planted(entry, planned)
    return entry


def _as_planted(entry: dict[str, Any], planned: PlannedSearch) -> bool:
    if planned.expected_error:
        return entry.get("error", {}).get("code") == planned.expected_error
    if "error" in entry:
        return False
    for result in entry["results"]:
        status, match_class = planned.expected.get(result["state"], ("NO_HIT", ""))
        if result["status"] != status:
            return False
        if match_class and match_class not in {h.get("match_class") for h in result["hits"]}:
            return False
    return True


def _log_evidence(federation: InProcessFederation, searches: list[dict[str, Any]]) -> tuple[list[dict[str, Any]],
                                                                                              list[dict[str, Any]]]:
    """Per state log counts, and per (search, peer) whether both sides logged the supply (LOG-1)."""
    logs = []
    for code, node in federation.nodes.items():
        entries = list(node.log.export())
        verification = node.log.verify()
        logs.append({
            "state": code, "entries": len(entries),
            "requesting_side": sum(e.side is Side.REQUESTING for e in entries),
            "file_managing_side": sum(e.side is Side.FILE_MANAGING for e in entries),
            "supplies": sum(e.kind is EntryKind.AUTOMATED_SUPPLY for e in entries),
            "receipts": sum(e.kind is EntryKind.AUTOMATED_RECEIPT for e in entries),
            "chain_intact": verification.intact,
        })
    pairs = []
    for search in searches:
        for result in search.get("results", []):
            if result["status"] not in ("HIT", "NO_HIT"):
                continue
            requesting = federation.nodes[search["from"]].log.query(request_id=search["request_id"])
            managing = federation.nodes[result["state"]].log.query(request_id=search["request_id"])
            sent = [e for e in requesting if e.requested_state == result["state"]]
            pairs.append({
                "request_id": search["request_id"], "from": search["from"], "to": result["state"],
                "requesting_side": sorted(f"{e.kind.name}:{e.message_type.name}" for e in sent),
                "file_managing_side": sorted(f"{e.kind.name}:{e.message_type.name}" for e in managing),
                "logged_on_both_sides": len(sent) == 2 and len(managing) == 2,
            })
    return logs, pairs


def _trace_spans(path: Path) -> dict[str, set[str]]:
    """trace id -> the states whose servers recorded a span of it."""
    states: dict[str, set[str]] = {}
    if not path.exists():
        return states
    for line in path.read_text("utf-8").splitlines():
        span = json.loads(line)
        trace_id = span["context"]["trace_id"].removeprefix("0x")
        state = (span.get("attributes") or {}).get("prum.state")
        if span.get("kind") == "SpanKind.SERVER" and state:
            states.setdefault(trace_id, set()).add(state)
    return states


def run_demo(federation_spec: Federation, workdir: Path, progress: Progress | None = None) -> DemoResult:
    progress = progress or (lambda step, done, total: None)
    started = time.perf_counter()
    trace_path = workdir / "traces.jsonl"
    workdir.mkdir(parents=True, exist_ok=True)
    if trace_path.exists():
        trace_path.unlink()
    provider = create_tracer_provider("prum-demo", "file", trace_path)
    scenario = build_scenario(federation_spec)
    states = federation_spec.codes
    progress("compiling the DNA and fingerprint kernels (about a minute on a first run, then cached)", 0, 1)
    compile_kernels()
    progress("compiling the DNA and fingerprint kernels (about a minute on a first run, then cached)", 1, 1)
    # Wall-clock time the demo can skip ahead, to show a core-data case past its 48 hours (P2-CORE-1).
    clock = SkippingClock()
    with InProcessFederation(federation_spec, workdir, clock=clock, tracer_provider=provider) as federation:
        progress("states started", len(states), len(states))
        files = []
        for i, code in enumerate(states, start=1):
            reply = load_file(federation.channel(code), scenario.files[code])
            files.append({"state": code, "name": federation_spec.state(code).name, "port": federation.nodes[code].port,
                          "ready": sorted(federation_spec.state(code).ready), "profiles": reply.accepted,
                          "rejected": len(reply.rejections)})
            progress("national DNA files loaded", i, len(states))
        for i, code in enumerate(states, start=1):
            loaded = load_register(federation.channel(code), scenario.registers[code])
            next(f for f in files if f["state"] == code)["vehicles"] = loaded.accepted
            progress("vehicle registers loaded", i, len(states))
        for code in states:
            load_persons(federation.channel(code), scenario.persons[code])
            load_core_details(federation.channel(code), scenario.core_details.get(code, []))
        for i, code in enumerate(states, start=1):
            enrolled = load_fingerprints(federation.channel(code), scenario.fingerprints[code])
            next(f for f in files if f["state"] == code)["fingerprints"] = enrolled.accepted
            progress("fingerprint files loaded", i, len(states))
        for code, records in scenario.police_records.items():  # the states taking part in EPRIS (P2-EPRIS-1)
            next(f for f in files if f["state"] == code)["police_records"] = epris_demo.load_police_records(
                federation.channel(code), records).accepted
        searches = []
        for i, planned in enumerate(scenario.searches, start=1):
            searches.append(_run_search(federation, planned, federation_spec.deadline_ms))
            progress("searches run", i, len(scenario.searches))
        follow_up = follow_up_first_hit(federation, searches)
        faces = face_search(federation, federation_spec.deadline_ms)  # P2-FACE-1..4
        progress("facial-image search and confirmations", 1, 1)
        workflow = readiness_workflow(federation, scenario.searches, federation_spec.deadline_ms)
        if workflow:
            searches.append(workflow["search"])
        core_data = core_data_exchanges(federation, searches, clock)
        epris = epris_demo.epris(federation, scenario, federation_spec.deadline_ms)  # P2-EPRIS-1..5
        epris_checks = epris_demo.checks(epris, federation)
        progress("police-record search and follow-ups (EPRIS)", 1, 1)
        prum_ii: dict[str, Any] = {}
        if federation_spec.topology == "router":  # Prüm II's purposes and Europol (P2-SCOPE-1, P2-EUROPOL-1..3)
            from prum.federation.demo.europol import europol, missing_person

            prum_ii = {"missing_person": missing_person(federation, scenario, federation_spec.deadline_ms),
                       "europol": europol(federation, scenario, federation_spec.deadline_ms)}
            progress("missing-person search and Europol", 1, 1)
        logs, pairs = _log_evidence(federation, searches)
        router_audit: dict[str, Any] | None = None
        if federation.router is not None:  # the supervisors' audit of the router's log (P2-ROUTER-3, P2-LOG-1)
            audited = federation.audit_router_log()
            router_audit = {"checked": audited.checked, "reconciled": audited.reconciled,
                            "findings": [f.__dict__ for f in audited.findings]}
    provider.force_flush()
    provider.shutdown()
    spans = _trace_spans(trace_path)
    for search in searches:
        search["trace_states"] = sorted(spans.get(search["trace_id"], set()))
    checks = {
        "searches_as_planted": all(s["as_planted"] for s in searches),
        "hit_seen": any(r["status"] == "HIT" for s in searches for r in s.get("results", [])),
        "no_hit_seen": any(r["status"] == "NO_HIT" for s in searches for r in s.get("results", [])),
        "not_ready_seen": any(r["status"] == "NOT_READY" for s in searches for r in s.get("results", [])),
        "every_supply_logged_on_both_sides": bool(pairs) and all(p["logged_on_both_sides"] for p in pairs),
        "every_log_chain_intact": all(entry["chain_intact"] for entry in logs),
        "follow_up_after_a_hit_logged_on_both_sides": bool(follow_up and follow_up.get("logged_on_both_sides")),
        "council_decision_reached_every_state": workflow is None or workflow["decided"],
    }
    if "skipped" not in faces:
        checks["face_candidate_confirmed_and_one_rejected_logged_on_both_sides"] = faces[
            "confirmed_and_rejected_logged_on_both_sides"]
        checks["face_search_for_a_minor_offence_refused"] = faces["shoplifting_refused"] == "PERMISSION_DENIED"
    if "missing_person" in prum_ii and "skipped" not in prum_ii["missing_person"]:
        checks["missing_person_search_logged_as_such_on_both_sides"] = bool(
            prum_ii["missing_person"]["logged_as_missing_person_on_both_sides"])
    checks.update(prum_ii.get("europol", {}).get("checks", {}))
    checks.update(epris_checks)
    if router_audit is not None:
        checks["router_log_reconciles_with_the_states_logs"] = (router_audit["checked"] > 0
                                                                and not router_audit["findings"])
    if core_data is not None:  # the router topology (P2-CORE-1..3)
        checks["core_data_supplied_on_time_through_the_router"] = supplied_on_time(core_data)
        checks["overdue_core_data_seen_by_both_states_and_dpas"] = overdue_seen(core_data)
    report = {
        "federation": {"name": federation_spec.name, "topology": federation_spec.topology,
                       "states": len(states), "transport": "gRPC over mutual TLS (federation CA), loopback",
                       "workdir": str(workdir), "traces": str(trace_path)},
        "files": files, "searches": searches, "follow_up": follow_up, "readiness_workflow": workflow, **prum_ii, "logs": logs, "supplies": pairs, "router_audit": router_audit, "checks": checks,
        "core_data": core_data, "faces": faces, "epris": epris,
        "elapsed_s": round(time.perf_counter() - started, 2),
    }
    return DemoResult(report, all(checks.values()))
