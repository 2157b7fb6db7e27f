"""The matching cores' own rates, in this process, beside the served rates of `prum bench load` (issue 18).

A served DNA search or vehicle lookup is the core's work plus the serving stack's (gRPC, TLS, the
interceptors, identity, the gate, both log entries). This measures the core alone, on one thread, in CPU
time (`time.thread_time`), so a reader sees where the time goes:
  - DNA: the target's file rebuilt from the same seed and size (`synthetic_file`, the rows `load_data`
    loaded), indexed with the bulk path (`BlockIndex`), and its `search` in a loop over the same query
    mix the Locust users send (the profiles of `queries.json`, normalised as the DNA file does);
  - vehicles: the target's register rebuilt the same way (`vehicle_records`, same seed) in a SQLite file
    as a state keeps it, and its `lookup` in a loop over the same VINs and plates. Its first
    VEHICLES_MAX records only: building costs about 0.1 ms a record (1M would take minutes), and an
    indexed lookup grows with the log of the size (the 10M figures: bench/vehicle_bench.py).
Each loop runs for about `budget_s` seconds of CPU; building the copies is timed apart and not counted.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

BUDGET_S = 2.0
VEHICLES_MAX = 50_000


def _loop(calls: list[Callable[[], Any]], budget_s: float) -> dict[str, Any]:
    """Run the calls in turn until `budget_s` seconds of this thread's CPU are spent (at least each once)."""
    done = 0
    hits = 0
    began_cpu, began = time.thread_time(), time.perf_counter()
    while True:
        for call in calls:
            hits += bool(call())
        done += len(calls)
        if time.thread_time() - began_cpu >= budget_s:
            break
    cpu = time.thread_time() - began_cpu
    return {"calls": done, "cpu_s": round(cpu, 3), "wall_s": round(time.perf_counter() - began, 3),
            "per_s_per_core": round(done / max(cpu, 1e-9), 1), "cpu_us_per_call": round(cpu / done * 1e6, 1),
            "hit_share": round(hits / done, 3)}


def dna_rate(profiles: int, seed: int, requests: list[Any], budget_s: float = BUDGET_S) -> dict[str, Any]:
    """Searches per second per core of the DNA index over `requests` (dna_pb2.SearchRequest)."""
    import numpy as np
    from prum.federation.synthetic.dna import build_index, synthetic_file
    from prum.services.dna.profile import normalize_profile
    from prum.services.dna.wire import loci_from_proto

    started = time.perf_counter()
    index = build_index(synthetic_file(np.random.default_rng(seed), profiles))  # load_data's first draw
    built = time.perf_counter() - started
    queries = [normalize_profile(loci_from_proto(request.profile)) for request in requests]
    index.search(queries[0])  # warm the score tables, as the preflight warms the server
    calls: list[Callable[[], Any]] = [partial(index.search, query) for query in queries]
    return {"profiles": profiles, "queries": len(queries), "build_s": round(built, 1), **_loop(calls, budget_s)}


def vehicle_rate(vehicles: int, seed: int, country: str, requests: list[Any], budget_s: float = BUDGET_S
                 ) -> dict[str, Any]:
    """Lookups per second per core of the vehicle register over `requests` (vehicle_pb2.LookupRequest)."""
    from prum.federation.synthetic.vehicle import vehicle_records
    from prum.services.vehicle.register import VehicleRegister

    vehicles = min(vehicles, VEHICLES_MAX)
    folder = Path(tempfile.mkdtemp(prefix="prum-core-rate-"))
    try:
        started = time.perf_counter()
        with VehicleRegister(folder / "vehicles.db", country=country) as register:
            register.ingest_many(vehicle_records(country, vehicles, seed))  # load_data's records
            built = time.perf_counter() - started

            def call(request: Any) -> Callable[[], Any]:
                if request.WhichOneof("key") == "registration_number":
                    return lambda: register.lookup(registration_number=request.registration_number)
                return lambda: register.lookup(vin=request.vin)

            calls = [call(request) for request in requests]  # planted hits past VEHICLES_MAX become misses
            calls[0]()
            return {"vehicles": vehicles, "queries": len(calls), "build_s": round(built, 1),
                    **_loop(calls, budget_s)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def core_rates(spec: Any, target: str, queries: dict[str, list[Any]], types: tuple[str, ...],
               budget_s: float = BUDGET_S) -> dict[str, Any]:
    """DNA and vehicle core rates for the types asked (`spec`: load_data.DataSpec; `queries`: read_queries)."""
    rates: dict[str, Any] = {}
    if ("dna" in types or "fanout" in types) and spec.profiles and queries.get("dna"):
        rates["dna"] = dna_rate(spec.profiles, spec.seed, queries["dna"], budget_s)
    if "vehicle" in types and spec.vehicles and queries.get("vehicle"):
        rates["vehicle"] = vehicle_rate(spec.vehicles, spec.seed, target, queries["vehicle"], budget_s)
    return rates
