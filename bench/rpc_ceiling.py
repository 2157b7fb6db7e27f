#!/usr/bin/env python3
"""The RPC ceiling of the stack, and a DNA search through it, measured in the same run.

Starts a two-state federation as processes (`prum up`: servers apart from this client, so they do
not share its GIL), then from this process, over mTLS:
  - echo:        EchoService.Echo on NL's server (interceptors, TLS, health: the bare stack);
  - dna search:  DnaIndexService.Search from DE to NL (identity, gate, matching, both log entries
                 made durable with fsync before the reply: the full requested-side path);
  - vehicle lookup: VehicleRegisterService.Lookup by VIN from DE to NL (the same path, Art 12).
Each is run sequentially (latency) and with C concurrent client threads (throughput). Prints a table
and JSON; the figure that matters is the ratio DNA search / echo of the same run.

    python bench/rpc_ceiling.py --calls 2000 --concurrency 4 --profiles 2000 --vehicles 20000
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.echo.v1 import echo_pb2, echo_pb2_grpc
from prum.federation.synthetic.dna import random_profile
from prum.federation.synthetic.vehicle import vehicle_records
from prum.federation.runtime.processes import down, up
from prum.federation.runtime.topology import parse_federation
from prum.services.common.reference import ReferenceKind
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.services.vehicle.wire import record_to_proto
from prum.vehicle.v1 import vehicle_pb2, vehicle_pb2_grpc

FEDERATION = """
[federation]
name = "rpc-ceiling"
[[state]]
code = "DE"
dna_profiles = 0
[[state]]
code = "NL"
dna_profiles = 0
"""


def measure(call, calls: int, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = calls // concurrency

    def worker() -> None:
        mine = []
        for _ in range(per_thread):
            started = time.perf_counter()
            call()
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    ordered = sorted(latencies)
    return {"calls": len(latencies), "per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(ordered[int(len(ordered) * 0.99) - 1] * 1000, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--profiles", type=int, default=2000, help="profiles in NL's DNA file")
    parser.add_argument("--vehicles", type=int, default=20000, help="vehicles in NL's register")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="prum-rpc-ceiling-"))
    import tomllib

    federation = parse_federation(tomllib.loads(FEDERATION))
    run = up(federation, workdir)
    try:
        nl_address = run["states"]["NL"]["address"]
        rng = np.random.default_rng(7)
        with open_channel(nl_address, TlsMaterial.load(workdir / "pki", "NL")) as admin:
            stub = dna_pb2_grpc.DnaIndexServiceStub(admin)
            rows = (dna_pb2.IngestRequest(profile=dna_pb2.Profile(
                reference=f"NL-P-{i}", kind=dna_pb2.PROFILE_KIND_IDENTIFIED_PERSON,
                loci={k: dna_pb2.Alleles(values=v) for k, v in random_profile(rng).items()}))
                for i in range(options.profiles))
            stub.Ingest(rows, timeout=600)
            records = list(vehicle_records("NL", options.vehicles, 11))
            vehicle_pb2_grpc.VehicleRegisterServiceStub(admin).Ingest(
                (vehicle_pb2.IngestRequest(record=record_to_proto(r)) for r in records), timeout=600)
        wanted = records[len(records) // 2].vehicle.vin
        query = random_profile(rng, kind=ReferenceKind.UNIDENTIFIED_TRACE)
        request = dna_pb2.SearchRequest(
            context=common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                                            reason="benchmark"),
            profile=dna_pb2.Profile(reference="DE-T-BENCH", kind=dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE,
                                    loci={k: dna_pb2.Alleles(values=v) for k, v in query.items()}))
        lookup = vehicle_pb2.LookupRequest(context=request.context, vin=wanted)
        results = {}
        with open_channel(nl_address, TlsMaterial.load(workdir / "pki", "DE")) as channel:
            echo = echo_pb2_grpc.EchoServiceStub(channel)
            dna = dna_pb2_grpc.DnaIndexServiceStub(channel)
            vehicles = vehicle_pb2_grpc.VehicleRegisterServiceStub(channel)
            assert len(vehicles.Lookup(lookup, timeout=5).records) == 1
            ping = echo_pb2.EchoRequest(payload=request.SerializeToString())  # same request size as the search
            for _ in range(200):  # warm up both paths
                echo.Echo(ping, timeout=5)
                dna.Search(request, timeout=5)
            for concurrency in (1, options.concurrency):
                results[f"echo c={concurrency}"] = measure(lambda: echo.Echo(ping, timeout=5), options.calls,
                                                           concurrency)
                results[f"dna search c={concurrency}"] = measure(lambda: dna.Search(request, timeout=5),
                                                                 options.calls, concurrency)
                results[f"vehicle lookup c={concurrency}"] = measure(lambda: vehicles.Lookup(lookup, timeout=5),
                                                                     options.calls, concurrency)
        ratios = {f"{path}/echo c={c}": round(results[f"{path} c={c}"]["per_s"] / results[f"echo c={c}"]["per_s"], 3)
                  for path in ("dna search", "vehicle lookup") for c in (1, options.concurrency)}
        report = {"profiles": options.profiles, "vehicles": options.vehicles, "results": results, "ratios": ratios}
        if options.json:
            print(json.dumps(report, indent=2))
        else:
            print(f"{'path':<26}{'calls':>8}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}")
            for name, row in results.items():
                print(f"{name:<26}{row['calls']:>8}{row['per_s']:>10}{row['p50_ms']:>10}{row['p99_ms']:>10}")
            for name, ratio in ratios.items():
                print(f"{name}: {ratio}")
    finally:
        down(workdir)


if __name__ == "__main__":
    main()
