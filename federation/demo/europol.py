"""Europol and the search purposes in `prum demo --topology router` (P2-EUROPOL-1..3, EUR-1..3, P2-SCOPE-1).

After the demo's own searches: a missing-person search by a state whose law allows it (the federation file's
`search_purposes`), logged as such on both sides; with Europol running, its synthetic third-country data loaded,
a state's search of Europol's data through the router whose hit carries Europol's evaluation codes, Europol's own
search of the states for its Art 18(2)(a) task, and the EDPS's audit of Europol's log. Each part reports its own
checks; a part that cannot run (no state allows the purpose, Europol not running) is reported as skipped.
"""

from __future__ import annotations

from typing import Any

import grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.synthetic.europol import load as load_europol
from prum.federation.synthetic.europol import third_country_data
from prum.federation.synthetic.scenario import Scenario
from prum.services.common.identity import EUROPOL
from prum.services.common.purpose import SearchPurpose
from prum.services.common.reference import ReferenceKind
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc


def _profile(reference: str, loci: dict[str, list[str]]) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE,
                           loci={k: dna_pb2.Alleles(values=list(v)) for k, v in loci.items()})


def _status(result: cp_pb2.StateResult) -> str:
    return cp_pb2.ResultStatus.Name(result.status).removeprefix("RESULT_STATUS_")


def _search(federation: InProcessFederation, state: str, officers: tuple[str, str], reason: str,
            loci: dict[str, list[str]], reference: str, targets: list[str],
            purpose: common_pb2.SearchPurpose.ValueType,
            deadline_ms: int) -> cp_pb2.SearchResponse:
    return federation.contact_point(state).Search(cp_pb2.SearchRequest(
        officer_id=officers[0], ordering_officer_id=officers[1], reason=reason, case_reference=reference,
        category=common_pb2.CATEGORY_DNA, profile=_profile(reference, loci), target_states=targets,
        purpose=purpose, deadline_ms=deadline_ms), timeout=deadline_ms / 1000 + 5)


def _purposes(federation: InProcessFederation, state: str, request_id: str) -> list[str]:
    node = federation.europol if state == EUROPOL else federation.nodes[state]
    assert node is not None
    return sorted({e.purpose.name for e in node.log.query(request_id=request_id)})


def missing_person(federation: InProcessFederation, scenario: Scenario, deadline_ms: int) -> dict[str, Any]:
    """A missing-person search (P2-SCOPE-1) from the first state whose law allows it, for a person on file in
    another state ready for DNA."""
    spec = federation.federation
    ready = [s.code for s in spec.states if s.is_ready("DNA")]
    searcher = next((s for s in spec.states if SearchPurpose.MISSING_PERSON.name in s.search_purposes
                     and s.code in ready), None)
    holder = next((c for c in ready if searcher is not None and c != searcher.code and scenario.files.get(c)), None)
    if searcher is None or holder is None:
        return {"skipped": "no state ready for DNA declares MISSING_PERSON in its search_purposes"}
    row = next(r for r in scenario.files[holder] if r.kind is ReferenceKind.IDENTIFIED_PERSON)
    officers = [o.officer_id for o in searcher.officers if o.authorised]
    reply = _search(federation, searcher.code, (officers[0], officers[-1]),
                    "missing person, reference sample from the relatives", dict(row.loci),
                    f"{searcher.code}-MP-1", [holder], common_pb2.SEARCH_PURPOSE_MISSING_PERSON, deadline_ms)
    logged = {searcher.code: _purposes(federation, searcher.code, reply.request_id),
              holder: _purposes(federation, holder, reply.request_id)}
    return {"from": searcher.code, "to": holder, "status": _status(reply.results[0]), "logged_purposes": logged,
            "logged_as_missing_person_on_both_sides": all(p == ["MISSING_PERSON"] for p in logged.values())}


def europol(federation: InProcessFederation, scenario: Scenario, deadline_ms: int) -> dict[str, Any]:
    """Europol's part: its data searched by a state, its search of the states, the EDPS's audit."""
    node = federation.europol
    if node is None:
        return {"skipped": "Europol is not part of this federation ([europol] enabled = false)"}
    data = third_country_data(federation.federation.europol, federation.federation.seed)
    loaded = load_europol(node, data)
    spec = federation.federation
    ready = [s for s in spec.states if s.is_ready("DNA")]
    asker = ready[0]
    officers = [o.officer_id for o in asker.officers if o.authorised]
    reference, _, loci = data.profiles[0]
    reply = _search(federation, asker.code, (officers[0], officers[-1]), "trace of an unknown suspect, Art 48 search",
                    dict(loci), f"{asker.code}-EP-1", [EUROPOL], common_pb2.SEARCH_PURPOSE_UNSPECIFIED, deadline_ms)
    result = reply.results[0]
    hits = [{"reference": h.reference, "source": common_pb2.SourceReliability.Name(h.evaluation.source)
             .removeprefix("SOURCE_RELIABILITY_"),
             "information": common_pb2.InformationReliability.Name(h.evaluation.information)
             .removeprefix("INFORMATION_RELIABILITY_"), "file": h.evaluation.file} for h in result.dna_hits]
    # Europol's own search (Art 18(2)(a)) for a person on file in a state, through the router.
    holder = next(c for c in (s.code for s in ready) if scenario.files.get(c))
    row = next(r for r in scenario.files[holder] if r.kind is ReferenceKind.IDENTIFIED_PERSON)
    own = _search(federation, EUROPOL, (f"{EUROPOL}-NCP-01", f"{EUROPOL}-NCP-02"),
                  "cross-checking a trafficking network, Art 18(2)(a) Regulation 2016/794", dict(row.loci), "EP-OP-1",
                  [], common_pb2.SEARCH_PURPOSE_EUROPOL_CROSS_CHECKING, deadline_ms)
    refused = ""
    try:
        _search(federation, EUROPOL, (f"{EUROPOL}-NCP-01", f"{EUROPOL}-NCP-02"), "no task stated", dict(row.loci),
                "EP-OP-2", [], common_pb2.SEARCH_PURPOSE_UNSPECIFIED, deadline_ms)
    except grpc.RpcError as error:
        refused = error.code().name
    audit = supervisor_pb2_grpc.SupervisorServiceStub(federation.channel(EUROPOL)).RunAudit(
        supervisor_pb2.RunAuditRequest(sample_size=10_000, seed=spec.seed), timeout=10).audit
    return {
        "items_loaded": loaded, "searched_by": asker.code, "status": _status(result), "hits": hits,
        "europol_search": {_status_of.state: _status(_status_of) for _status_of in own.results},
        "europol_search_logged_with_task_in": holder,
        "europol_search_logged_purposes": _purposes(federation, holder, own.request_id),
        "search_without_task": refused or "not refused",
        "edps_audit": {"sampled": audit.sampled, "findings": [f.problem for f in audit.findings]},
        "checks": {
            "europol_hit_carries_evaluation_codes": bool(hits) and hits[0]["reference"] == reference
            and all(h["file"] for h in hits),
            "europol_search_through_the_router_logged_with_its_task": _status(
                next(r for r in own.results if r.state == holder)) == "HIT"
            and _purposes(federation, holder, own.request_id) == ["EUROPOL_CROSS_CHECKING"],
            "europol_search_without_task_refused": refused == "PERMISSION_DENIED",
            "edps_audit_of_europols_log_clean": not audit.findings,
        }}
