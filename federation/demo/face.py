"""The demo's facial-image search (Prüm II Arts 19-20, P2-FACE-1..4), in the mesh and through the router.

One state's facial-image file holds a suspect and the suspect's twin (a near-duplicate identity,
`federation/synthetic/face.py`); the other states ready for faces hold strangers. An officer of the first
other state searches a camera still of the suspect for a robbery (an offence punishable by at least a year,
P2-FACE-4): the holder answers with candidates, nothing is a match yet (CANDIDATES, P2-FACE-3); the officer confirms
the suspect and rejects the twin; both decisions are logged by the requesting state and by the holder. A search for
shoplifting is refused before anything leaves.
"""

from __future__ import annotations

import json
from typing import Any

import grpc
import numpy as np
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import face_confirmation_pb2 as fc_pb2
from prum.contact_point.v1 import face_confirmation_pb2_grpc as fc_pb2_grpc
from prum.face.v1 import face_pb2, face_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.synthetic.face import captures, population, template, twin_of
from prum.services.common.category import Category
from prum.services.common.reference import ReferenceKind
from prum.services.face.wire import template_to_proto

#: Faces in each ready state's file (small: the demo shows the flow; bench/face_bench.py measures 100k and 1M).
FILE_SIZE = 200


def _load(federation: InProcessFederation, code: str, templates: list[Any]) -> int:
    reply = face_pb2_grpc.FaceServiceStub(federation.channel(code)).Ingest(
        iter([face_pb2.IngestRequest(template=template_to_proto(t)) for t in templates]), timeout=60)
    return int(reply.accepted)


def _decisions(federation: InProcessFederation, code: str, request_id: str) -> dict[str, bool]:
    found = {}
    for entry in federation.nodes[code].log.query(request_id=request_id, category=Category.FACE):
        data = json.loads(entry.data_supplied)
        if "confirmation" in data:
            found[data["confirmation"]["reference"]] = bool(data["confirmation"]["confirmed"])
    return found


def face_search(federation: InProcessFederation, deadline_ms: int, seed: int = 21) -> dict[str, Any]:
    """Load the face files, run the search, confirm one candidate and reject another; what happened, for the report
    and its checks."""
    spec = federation.federation
    ready = [code for code in spec.codes if spec.state(code).is_ready("FACE")]
    if len(ready) < 2:
        return {"skipped": "fewer than two states are ready for facial images"}
    asker, holder = ready[0], ready[1]
    rng = np.random.default_rng(seed)
    loaded = {}
    people = list(population(rng, FILE_SIZE, f"{holder}-FACE-"))
    suspect_identity, suspect = people[7]
    twin = template(f"{holder}-FACE-TWIN", captures(rng, twin_of(rng, suspect_identity)[None, :], 0.92)[0], 88)
    loaded[holder] = _load(federation, holder, [t for _, t in people] + [twin])
    for code in ready[2:]:
        loaded[code] = _load(federation, code, [t for _, t in population(rng, FILE_SIZE, f"{code}-FACE-")])
    still = template(f"{asker}-CCTV-1", captures(rng, suspect_identity[None, :], 0.85)[0], 55,
                     ReferenceKind.UNIDENTIFIED_TRACE, yaw=15)
    officers = [o.officer_id for o in spec.state(asker).officers if o.authorised]

    def search(offence: face_pb2.OffenceCategory.ValueType) -> cp_pb2.SearchResponse:
        return federation.contact_point(asker).Search(cp_pb2.SearchRequest(
            officer_id=officers[0], ordering_officer_id=officers[-1], reason="armed robbery of a jeweller",
            case_reference=f"{asker}-2026-FACE-1", category=common_pb2.CATEGORY_FACE,
            face=face_pb2.FaceQuery(probe=template_to_proto(still), offence=offence),
            deadline_ms=deadline_ms), timeout=deadline_ms / 1000 + 10)

    refused = ""
    try:
        search(face_pb2.OFFENCE_CATEGORY_SHOPLIFTING)
    except grpc.RpcError as error:  # P2-FACE-4: refused before anything leaves
        refused = error.code().name
    reply = search(face_pb2.OFFENCE_CATEGORY_ROBBERY)
    results = [{"state": r.state, "status": cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_"),
                "candidates": [(c.reference, round(c.score, 3)) for c in r.face_candidates]} for r in reply.results]
    held = next(r for r in reply.results if r.state == holder)
    stub = fc_pb2_grpc.FaceConfirmationServiceStub(federation.channel(asker))
    decided = {}
    for candidate in held.face_candidates:
        confirmed = candidate.reference == suspect.reference  # the examiner's comparison of the images
        answer = stub.ConfirmFaceCandidate(fc_pb2.ConfirmFaceCandidateRequest(
            request_id=reply.request_id, state=holder, reference=candidate.reference, confirmed=confirmed,
            officer_id=officers[0], note="compared by a qualified facial examiner"), timeout=10)
        decided[candidate.reference] = {"confirmed": confirmed, "notified": answer.notified}
    logged = {code: _decisions(federation, code, reply.request_id) for code in (asker, holder)}
    expected = {reference: d["confirmed"] for reference, d in decided.items()}
    return {
        "from": asker, "holder": holder, "files": loaded, "request_id": reply.request_id, "results": results,
        "decisions": decided, "logged": logged, "shoplifting_refused": refused,
        "confirmed_and_rejected_logged_on_both_sides": (
            True in expected.values() and False in expected.values()
            and held.status == cp_pb2.RESULT_STATUS_CANDIDATES and logged[asker] == expected == logged[holder]),
    }
