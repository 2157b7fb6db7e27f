"""Mesh against router: a search to every state in a federation of N states, by topology (issue 20).

For each topology and size: an in-process federation (the default federation scaled to N states, every state
ready, no synthetic files, tracing off), then from DE's contact point S DNA searches to all other states, one at
a time, each with a profile that hits in one peer. Per run: the channels DE's node holds afterwards (one per
peer in the mesh, one to the router), the certificates a state manages, fan-out latency p50 / p99, entries
written per search in the states' protocol logs, the same with one state's link slowed by `SLOW_MS` each way (a
`LatencyProxy` in front of it, which the requester's channel in the mesh and the router's in the router topology
both pass), and with the last state's server stopped. A topology
the federation file refuses is reported as refused, not measured. `prum demo --topology router` shows it;
`bench/topology_compare.py` runs it at chosen sizes.
"""

from __future__ import annotations

import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.topology import FederationFileError, load_federation, parse_federation
from prum.federation.runtime.toxics import LatencyProxy
from prum.federation.synthetic.dna import random_profile
from prum.services.common.category import Category

REQUESTER = "DE"
#: The delay each way on the slow state's link: below the federation's deadline, so it answers, late.
SLOW_MS = 150


def federation_of(states: int, topology: str) -> Any:
    spec = load_federation().scaled(states)
    data = spec.to_file_data()
    data["federation"]["topology"] = topology
    data["federation"]["trace_sample_ratio"] = 0.0
    for state in data["state"]:
        state.update(ready=[c.name for c in Category if c.name in ("DNA", "FINGERPRINT", "VEHICLE")],
                     dna_profiles=0, vehicles=0, fingerprints=0)
    return parse_federation(data, source=f"{states} states, {topology}")


def _profile(loci: dict[str, list[str]], reference: str) -> dna_pb2.Profile:
    return dna_pb2.Profile(reference=reference, kind=dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON,
                           loci={k: dna_pb2.Alleles(values=v) for k, v in loci.items()})


def measure(federation: InProcessFederation, searches: int, rng: np.random.Generator,
            down: str | None = None) -> dict[str, Any]:
    peers = [code for code in federation.federation.codes if code not in (REQUESTER, down)]
    officers = [o for o in federation.federation.state(REQUESTER).officers if o.authorised]
    profiles = [random_profile(rng) for _ in range(searches)]
    for number, loci in enumerate(profiles):  # each search hits in one peer, in turn
        holder = peers[number % len(peers)]
        stored = dna_pb2_grpc.DnaIndexServiceStub(federation.channel(holder)).Ingest(
            iter([dna_pb2.IngestRequest(profile=_profile(loci, f"{holder}-P-{uuid.uuid4().hex[:12]}"))]), timeout=30)
        assert stored.accepted == 1, stored
    contact_point = federation.contact_point(REQUESTER)

    def entries() -> int:
        return sum(node.log.stats().entries for node in federation.nodes.values())

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    before = entries()
    for number, loci in enumerate(profiles):
        request = cp_pb2.SearchRequest(
            officer_id=officers[0].officer_id, ordering_officer_id=officers[-1].officer_id, reason="benchmark",
            case_reference=f"BENCH-{uuid.uuid4().hex[:8]}", category=common_pb2.CATEGORY_DNA,
            profile=_profile(loci, f"{REQUESTER}-T-{number}"))
        started = time.perf_counter()
        reply = contact_point.Search(request, timeout=30)
        latencies.append(time.perf_counter() - started)
        for result in reply.results:
            name = cp_pb2.ResultStatus.Name(result.status).removeprefix("RESULT_STATUS_")
            statuses[name] = statuses.get(name, 0) + 1
    written = entries() - before
    ordered = sorted(latencies)
    return {"searches": searches, "p50_ms": round(statistics.median(ordered) * 1000, 2),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 2),
            "log_entries_per_search": round(written / searches, 1), "statuses": statuses}


def compare(states: int, topology: str, searches: int, seed: int) -> dict[str, Any]:
    """One topology at one size, measured as the module says."""
    try:
        spec = federation_of(states, topology)
    except FederationFileError as refused:
        return {"states": states, "topology": topology, "refused": str(refused)}
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory(prefix="prum-topology-") as folder, \
            InProcessFederation(spec, Path(folder)) as federation:
        result: dict[str, Any] = {"states": states, "topology": topology}
        result["all_up"] = measure(federation, searches, rng)
        requester = federation.nodes[REQUESTER]
        result["channels_held_by_requester"] = len(requester.channels._channels)
        result["certificates_per_state"] = 2  # its own and the federation CA
        slow = spec.codes[-2]
        address = federation.directory[slow]
        with LatencyProxy(address, SLOW_MS) as proxy:
            federation.directory[slow] = proxy.address  # every channel to it now passes the slow link
            result["one_slow"] = {"state": slow, "latency_ms": SLOW_MS,
                                  **measure(federation, max(5, searches // 4), rng)}
        federation.directory[slow] = address
        down = spec.codes[-1]
        federation.stop(down)
        result["one_down"] = {"state": down, **measure(federation, max(5, searches // 4), rng, down)}
    return result
