"""The load test's national files and its query mixes, loaded through the states' Ingest RPCs (no Locust here).

`load_data` puts synthetic files into a running federation, each through the state's own streaming
Ingest RPC with the state's own certificate, as `prum up` and the demo do:
  - the target state (NL by default): a DNA file of `profiles` profiles (`synthetic_file`: 80 % persons,
    20 % traces with drop-out, wildcards, duplicates), a vehicle register of `vehicles` records, and an
    AFIS file of `fingerprints` templates;
  - every other state except the requester: a DNA file of `peer_profiles` profiles (the fan-out's peers).
References start with `<STATE>-LOAD-`, so the data sits beside what `prum up` loaded.

It then draws the query mixes from the same data, at the chosen hit rate:
  - DNA (Art 3 search and the fan-out): relatives of stored profiles that must hit (identical copies,
    partial traces, one wildcard, one microvariant; `query_mix`), and new unrelated persons and stains;
  - vehicles: VINs and current plates of stored vehicles, and valid VINs of no stored vehicle;
  - AFIS: another capture of a stored finger (its mate should lead the candidates), and unrelated fingers;
  - faces: a camera still of a stored face (`federation/synthetic/face.py`, normal conditions) and strangers' faces,
    each for a robbery (P2-FACE-4), searched in the target's facial-image file of `faces` templates.
Each request is stored serialized in `queries.json`, its expectation in its case reference
(`load_checks.case_reference`). The Locust users and the driver's preflight read that file.
"""

from __future__ import annotations

import base64
import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypedDict

import grpc
import numpy as np
from prum.afis.v1 import afis_pb2, afis_pb2_grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.echo.v1 import echo_pb2, echo_pb2_grpc
from prum.face.v1 import face_pb2, face_pb2_grpc
from prum.loadtests.load_checks import CHECKS, QUERY_TYPES, Outcome, case_reference
from prum.police_records.v1 import police_records_pb2, police_records_pb2_grpc
from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc

Progress = Callable[[str, int, int], None]
REQUEST_CLASS: dict[str, Any] = {
    "bare": echo_pb2.EchoRequest, "echo": echo_pb2.EchoRequest, "dna": dna_pb2.SearchRequest,
    "vehicle": vehicle_pb2.LookupRequest,
    "afis": afis_pb2.SearchRequest, "fanout": cp_pb2.SearchRequest, "face": face_pb2.SearchRequest,
    "police_record": police_records_pb2.SearchRequest,
}
DNA_CHUNK = 50_000
VEHICLE_CHUNK = 20_000
AFIS_CHUNK = 1_000
POLICE_RECORD_CHUNK = 20_000
AFIS_QUERIES_MAX = 200  # each probe costs a 1:N search of ~0.1 s of server CPU: a few hundred suffice
FACE_CHUNK = 5_000
REASON = "load test, art. {} search"


@dataclass(frozen=True)
class DataSpec:
    profiles: int = 20_000
    vehicles: int = 20_000
    fingerprints: int = 500
    faces: int = 2_000
    police_records: int = 20_000
    peer_profiles: int = 1_000
    queries: int = 1_000
    hit_rate: float = 0.5
    seed: int = 2008


def stub_call(key: str, channel: grpc.Channel) -> Callable[..., Any]:
    """The unary method of a query type on a channel (the NCP's channel for the fan-out, the bare server's
    insecure channel for bare)."""
    methods: dict[str, Callable[[], Callable[..., Any]]] = {
        "bare": lambda: echo_pb2_grpc.EchoServiceStub(channel).Echo,
        "echo": lambda: echo_pb2_grpc.EchoServiceStub(channel).Echo,
        "dna": lambda: dna_pb2_grpc.DnaIndexServiceStub(channel).Search,
        "vehicle": lambda: vehicle_pb2_grpc.VehicleRegisterServiceStub(channel).Lookup,
        "afis": lambda: afis_pb2_grpc.AfisServiceStub(channel).Search,
        "fanout": lambda: cp_pb2_grpc.ContactPointServiceStub(channel).Search,
        "face": lambda: face_pb2_grpc.FaceServiceStub(channel).Search,
        "police_record": lambda: police_records_pb2_grpc.PoliceRecordsServiceStub(channel).Search,
    }
    return methods[key]()


def stamped(key: str, template: Any) -> Any:
    """A copy of a stored request with a fresh request id (the NCP makes its own for the fan-out)."""
    request = type(template)()
    request.CopyFrom(template)
    if key in ("dna", "vehicle", "afis", "face", "police_record"):
        request.context.request_id = str(uuid.uuid4())
    return request


def _chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _ingest(call: Callable[..., Any], requests: Iterable[Any], total: int, chunk: int, step: str,
            progress: Progress) -> tuple[int, int]:
    """Stream `requests` in Ingest calls of `chunk` messages; returns (accepted, rejected)."""
    accepted = rejected = done = 0
    progress(step, 0, total)
    for part in _chunks(requests, chunk):
        reply = call(iter(part), timeout=max(120.0, len(part) / 100))
        accepted += reply.accepted
        rejected += len(reply.rejections)
        done += len(part)
        progress(step, done, total)
    return accepted, rejected


def _context(spec: Target, key: str, number: int, hit: bool, mate: str = "") -> common_pb2.QueryContext:
    return common_pb2.QueryContext(
        requesting_state=spec.requester, requested_state=spec.target, officer_id=spec.officer,
        ordering_officer_id=spec.ordering_officer, reason=REASON.format({"dna": "3", "vehicle": "12", "afis": "9", "face": "20", "police_record": "44 (EPRIS)"}[key]),
        case_reference=case_reference(key, number, hit, mate))


@dataclass(frozen=True)
class Target:
    """Who asks whom: the requester's officers, the target state, and the fan-out's peers."""

    requester: str
    target: str
    peers: tuple[str, ...]
    officer: str
    ordering_officer: str
    fanout_deadline_ms: int = 3000


def _dna(spec: DataSpec, target: Target, channels: dict[str, grpc.Channel], progress: Progress
         ) -> tuple[dict[str, Any], list[bytes], list[bytes]]:
    from prum.federation.synthetic.dna import CHANGE_CLASS, query_mix, synthetic_file
    from prum.services.dna.wire import KIND_TO_PROTO

    def rows(code: str, batch: Any) -> Iterator[dna_pb2.IngestRequest]:
        for i in range(len(batch)):
            yield dna_pb2.IngestRequest(profile=dna_pb2.Profile(
                reference=f"{code}-LOAD-{i + 1:07d}", kind=KIND_TO_PROTO[batch.kind(i)],
                loci={k: dna_pb2.Alleles(values=v) for k, v in batch.lab(i).items()}))

    loaded: dict[str, Any] = {}
    rng = np.random.default_rng(spec.seed)
    file = synthetic_file(rng, spec.profiles)
    started = time.perf_counter()
    loaded[target.target] = _ingest(dna_pb2_grpc.DnaIndexServiceStub(channels[target.target]).Ingest,
                                    rows(target.target, file), spec.profiles, DNA_CHUNK,
                                    f"DNA profiles into {target.target}", progress)
    for offset, code in enumerate(c for c in target.peers if c != target.target):
        batch = synthetic_file(np.random.default_rng(spec.seed + 100 + offset), spec.peer_profiles)
        loaded[code] = _ingest(dna_pb2_grpc.DnaIndexServiceStub(channels[code]).Ingest, rows(code, batch),
                               spec.peer_profiles, DNA_CHUNK, f"DNA profiles into {code}", progress)
    seconds = time.perf_counter() - started
    hit_rate = spec.hit_rate if spec.profiles else 0.0
    mix = {"duplicate": 0.4 * hit_rate, "trace": 0.2 * hit_rate, "wildcard": 0.2 * hit_rate,
           "microvariant": 0.2 * hit_rate, "person": 0.6 * (1 - hit_rate), "stain": 0.4 * (1 - hit_rate)}
    queries = query_mix(rng, file, spec.queries, {k: v for k, v in mix.items() if v > 0})
    dna, fanout = [], []
    for i in range(len(queries.batch)):
        hit = queries.changes[i] in CHANGE_CLASS
        profile = dna_pb2.Profile(reference=f"{target.requester}-LOAD-Q-{i + 1:06d}",
                                  kind=KIND_TO_PROTO[queries.batch.kind(i)],
                                  loci={k: dna_pb2.Alleles(values=v) for k, v in queries.batch.lab(i).items()})
        dna.append(dna_pb2.SearchRequest(context=_context(target, "dna", i + 1, hit),
                                         profile=profile).SerializeToString())
        fanout.append(cp_pb2.SearchRequest(
            officer_id=target.officer, ordering_officer_id=target.ordering_officer, reason=REASON.format(3),
            case_reference=case_reference("fanout", i + 1, hit), category=common_pb2.CATEGORY_DNA,
            target_states=list(target.peers), profile=profile,
            deadline_ms=target.fanout_deadline_ms).SerializeToString())
    return {"loaded": loaded, "seconds": round(seconds, 1)}, dna, fanout


class _VehicleKey(TypedDict, total=False):
    """The key of a vehicle lookup, as keyword arguments of LookupRequest: one of the two."""

    vin: str
    registration_number: str


def _vehicles(spec: DataSpec, target: Target, channel: grpc.Channel, progress: Progress
              ) -> tuple[dict[str, Any], list[bytes]]:
    from prum.federation.synthetic.vehicle import MAKES, make_vin, vehicle_records
    from prum.services.vehicle.wire import record_to_proto

    rng = random.Random(spec.seed)
    wanted = round(spec.queries * spec.hit_rate) if spec.vehicles else 0
    picked = set(rng.sample(range(spec.vehicles), min(wanted, spec.vehicles)))
    keys: list[_VehicleKey] = []

    def rows() -> Iterator[vehicle_pb2.IngestRequest]:
        for i, record in enumerate(vehicle_records(target.target, spec.vehicles, spec.seed)):
            if i in picked:
                current = [r.registration_number for r in record.registrations
                           if r.valid_to is None and r.registration_number]
                use_plate = current and rng.random() < 0.3
                keys.append({"registration_number": current[-1]} if use_plate else {"vin": record.vehicle.vin})
            yield vehicle_pb2.IngestRequest(record=record_to_proto(record))

    started = time.perf_counter()
    loaded = _ingest(vehicle_pb2_grpc.VehicleRegisterServiceStub(channel).Ingest, rows(), spec.vehicles,
                     VEHICLE_CHUNK, f"vehicles into {target.target}", progress)
    seconds = time.perf_counter() - started
    hits = [(key, True) for key in keys]
    # A VIN with the test WMI's "9Z" type code and model year 2001 is never generated: a certain miss.
    misses: list[tuple[_VehicleKey, bool]] = [({"vin": make_vin(rng, MAKES[0], "9Z", 2001, rng.randrange(10**6))}, False)
              for _ in range(spec.queries - len(hits))]
    mixed = hits + misses
    rng.shuffle(mixed)
    requests = [vehicle_pb2.LookupRequest(context=_context(target, "vehicle", i + 1, hit), **key).SerializeToString()
                for i, (key, hit) in enumerate(mixed)]
    return {"loaded": {target.target: loaded}, "seconds": round(seconds, 1)}, requests


def _fingerprints(spec: DataSpec, target: Target, channel: grpc.Channel, progress: Progress
                  ) -> tuple[dict[str, Any], list[bytes]]:
    from prum.federation.synthetic.afis import impression, master_finger, mated_probe, population
    from prum.services.afis.wire import template_to_proto

    rng = np.random.default_rng(spec.seed + 7)
    count = min(spec.queries, AFIS_QUERIES_MAX)
    wanted = round(count * spec.hit_rate) if spec.fingerprints else 0
    picked = set(random.Random(spec.seed).sample(range(spec.fingerprints), min(wanted, spec.fingerprints)))
    mates: list[tuple[Any, str]] = []

    def rows() -> Iterator[afis_pb2.IngestRequest]:
        for i, (master, template) in enumerate(population(rng, spec.fingerprints, prefix=f"{target.target}-LOAD-F-")):
            if i in picked:
                mates.append((master, template.reference))
            yield afis_pb2.IngestRequest(template=template_to_proto(template))

    started = time.perf_counter()
    loaded = _ingest(afis_pb2_grpc.AfisServiceStub(channel).Ingest, rows(), spec.fingerprints, AFIS_CHUNK,
                     f"fingerprints into {target.target}", progress)
    seconds = time.perf_counter() - started
    probes = [(mated_probe(rng, master, f"{target.requester}-LOAD-P-{n:06d}"), True, mate)
              for n, (master, mate) in enumerate(mates, start=1)]
    probes += [(impression(rng, master_finger(rng), f"{target.requester}-LOAD-P-{n:06d}"), False, "")
               for n in range(len(probes) + 1, count + 1)]
    random.Random(spec.seed).shuffle(probes)
    requests = [afis_pb2.SearchRequest(context=_context(target, "afis", i + 1, hit, mate),
                                       probe=template_to_proto(probe), max_candidates=10).SerializeToString()
                for i, (probe, hit, mate) in enumerate(probes)]
    return {"loaded": {target.target: loaded}, "seconds": round(seconds, 1)}, requests


def _faces(spec: DataSpec, target: Target, channel: grpc.Channel, progress: Progress
           ) -> tuple[dict[str, Any], list[bytes]]:
    from prum.federation.synthetic.face import identities, population, probe
    from prum.services.face.wire import template_to_proto

    rng = np.random.default_rng(spec.seed + 20)
    wanted = round(spec.queries * spec.hit_rate) if spec.faces else 0
    picked = set(random.Random(spec.seed).sample(range(spec.faces), min(wanted, spec.faces)))
    mates: list[tuple[Any, str]] = []

    def rows() -> Iterator[face_pb2.IngestRequest]:
        for i, (identity, template) in enumerate(population(rng, spec.faces, f"{target.target}-LOAD-G-")):
            if i in picked:
                mates.append((identity, template.reference))
            yield face_pb2.IngestRequest(template=template_to_proto(template))

    started = time.perf_counter()
    loaded = _ingest(face_pb2_grpc.FaceServiceStub(channel).Ingest, rows(), spec.faces, FACE_CHUNK,
                     f"faces into {target.target}", progress)
    seconds = time.perf_counter() - started
    probes = [(probe(rng, identity, f"{target.requester}-LOAD-S-{n:06d}"), True, mate)
              for n, (identity, mate) in enumerate(mates, start=1)]
    strangers = identities(rng, spec.queries - len(probes))
    probes += [(probe(rng, identity, f"{target.requester}-LOAD-S-{n:06d}"), False, "")
               for n, identity in enumerate(strangers, start=len(probes) + 1)]
    random.Random(spec.seed).shuffle(probes)
    requests = [face_pb2.SearchRequest(context=_context(target, "face", i + 1, hit, mate),
                                       probe=template_to_proto(face), offence=face_pb2.OFFENCE_CATEGORY_ROBBERY
                                       ).SerializeToString()
                for i, (face, hit, mate) in enumerate(probes)]
    return {"loaded": {target.target: loaded}, "seconds": round(seconds, 1)}, requests


def _police_records(spec: DataSpec, target: Target, channel: grpc.Channel, progress: Progress
                    ) -> tuple[dict[str, Any], list[bytes]]:
    """The target's police-record index (EPRIS), and queries: planted variations of stored records (hits) and
    persons born in 1900, a year no synthetic record has (certain misses)."""
    from prum.federation.synthetic.police_records import Variation, planted_query, police_records
    from prum.services.police_records.index import BiographicQuery
    from prum.services.police_records.wire import query_to_proto, record_to_proto

    rng = random.Random(spec.seed + 21)
    wanted = round(spec.queries * spec.hit_rate) if spec.police_records else 0
    picked = set(rng.sample(range(spec.police_records), min(wanted, spec.police_records)))
    variations = list(Variation)
    planted: list[tuple[BiographicQuery, bool]] = []

    def rows() -> Iterator[police_records_pb2.IngestRequest]:
        for i, record in enumerate(police_records(target.target, spec.police_records, spec.seed)):
            if i in picked:
                planted.append((planted_query(record, variations[len(planted) % len(variations)], rng), True))
            yield police_records_pb2.IngestRequest(record=record_to_proto(record))

    started = time.perf_counter()
    loaded = _ingest(police_records_pb2_grpc.PoliceRecordsServiceStub(channel).Ingest, rows(), spec.police_records,
                     POLICE_RECORD_CHUNK, f"police records into {target.target}", progress)
    seconds = time.perf_counter() - started
    misses = [(BiographicQuery(query.first_names, query.surnames, "1900-01-01"), False)
              for query, _ in (planted or [(BiographicQuery("Anna", "Muster", "1980"), True)])]
    mixed = planted + [misses[i % len(misses)] for i in range(spec.queries - len(planted))]
    rng.shuffle(mixed)
    requests = [police_records_pb2.SearchRequest(context=_context(target, "police_record", i + 1, hit),
                                                 person=query_to_proto(query)).SerializeToString()
                for i, (query, hit) in enumerate(mixed)]
    return {"loaded": {target.target: loaded}, "seconds": round(seconds, 1)}, requests


def load_data(spec: DataSpec, target: Target, channels: dict[str, grpc.Channel],
              progress: Progress | None = None) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """Load the files through Ingest RPCs (`channels`: each state's own channel) and draw the queries.

    Returns (what was loaded and how long it took, serialized requests per query type)."""
    progress = progress or (lambda step, done, total: None)
    dna_report, dna, fanout = _dna(spec, target, channels, progress)
    vehicle_report, vehicles = _vehicles(spec, target, channels[target.target], progress)
    afis_report, afis = _fingerprints(spec, target, channels[target.target], progress)
    face_report, faces = _faces(spec, target, channels[target.target], progress)
    police_report, police = _police_records(spec, target, channels[target.target], progress)
    # The echo carries a payload the size of a DNA search request, as bench/rpc_ceiling.py does; bare the same.
    payload = dna[0] if dna else b"\0" * 512
    ping = echo_pb2.EchoRequest(payload=payload).SerializeToString()
    queries = {"bare": [ping], "echo": [ping], "dna": dna,
               "vehicle": vehicles, "afis": afis, "fanout": fanout, "face": faces, "police_record": police}
    report = {"spec": asdict(spec), "target": asdict(target), "dna": dna_report, "vehicles": vehicle_report,
              "fingerprints": afis_report, "faces": face_report, "police_records": police_report,
              "queries": {key: len(value) for key, value in queries.items()}}
    return report, queries


def write_queries(path: Path, target: Target, queries: dict[str, list[bytes]]) -> None:
    data = {"format": 1, "target": asdict(target),
            "queries": {key: [base64.b64encode(item).decode("ascii") for item in items]
                        for key, items in queries.items()}}
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data), "utf-8")
    temporary.replace(path)


def read_queries(path: Path) -> dict[str, list[Any]]:
    """Query type -> the stored requests, parsed (each is a template: send `stamped(key, it)`)."""
    data = json.loads(path.read_text("utf-8"))
    parsed: dict[str, list[Any]] = {}
    for key, items in data["queries"].items():
        parsed[key] = [REQUEST_CLASS[key].FromString(base64.b64decode(item)) for item in items]
    if "echo" in parsed and "bare" not in parsed:  # a file written before the bare type: the same ping
        parsed["bare"] = parsed["echo"]
    return parsed


def preflight(channels: dict[str, grpc.Channel], queries: dict[str, list[Any]], types: Iterable[str],
              calls: int = 10, deadline_s: float = 10.0, warm_up_s: float = 300.0) -> dict[str, dict[str, Any]]:
    """A few calls of each query type, checked as the users check them, before any load.

    `channels`: "target" (the requested state's server) and "ncp" (the requester's NCP), both with
    the requester's certificate, and "bare" (the bare echo server, insecure) when bare is among `types`.
    Each type's first call may take up to `warm_up_s`: right after a load a server may still build its index or compile its kernels, which is no part of the figures.
    Returns per type: calls, errors (status code names), problems, and the warm-up call's seconds."""
    report: dict[str, dict[str, Any]] = {}
    for key in types:
        call = stub_call(key, channels["ncp" if key == "fanout" else "bare" if key == "bare" else "target"])
        check = CHECKS[QUERY_TYPES[key].method]
        errors: list[str] = []
        problems: list[str] = []
        outcomes: list[Outcome] = []
        started = time.perf_counter()
        try:
            call(stamped(key, queries[key][0]), timeout=warm_up_s)
        except grpc.RpcError as error:
            errors.append(f"warm-up {error.code().name}: {error.details()}")
        warm_up = round(time.perf_counter() - started, 2)
        for template in queries[key][:calls]:
            request = stamped(key, template)
            try:
                reply = call(request, timeout=deadline_s)
            except grpc.RpcError as error:
                errors.append(f"{error.code().name}: {error.details()}")
                continue
            outcome = check(request, reply)
            outcomes.append(outcome)
            if outcome.problem:
                problems.append(outcome.problem)
        report[key] = {"calls": min(calls, len(queries[key])), "errors": errors, "problems": problems,
                       "hits": sum(o.hit for o in outcomes),
                       "expected_hits": sum(bool(o.expected_hit) for o in outcomes), "warm_up_s": warm_up}
    return report
