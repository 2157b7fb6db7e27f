#!/usr/bin/env python3
"""The RPC ceiling, and a DNA search and a vehicle lookup through the full stack, measured in the same run.

Starts a bare grpcio echo server (prum.loadtests.bare_server: insecure, no interceptors, a state's thread
pool of 16) and a two-state federation, all as processes (servers apart from this client, so they do
not share its GIL), then from this process:
  - bare:        EchoService.Echo on the bare server, insecure: the framework's ceiling, the denominator;
  - echo:        EchoService.Echo on NL's server over mTLS (interceptors, TLS: the full stack);
  - dna search:  DnaIndexService.Search from DE to NL (identity, gate, matching, both log entries
                 made durable with fsync before the reply: the full requested-side path);
  - vehicle lookup: VehicleRegisterService.Lookup by VIN from DE to NL (the same path, Art 12).
Each is run sequentially (latency) and with C concurrent client threads (throughput): calls/s, p50 and
p99, and the server process's CPU per call (psutil: user + system over the measured calls). Every ratio
is taken against bare at the same concurrency (issue 18); the one to the stack's echo is kept beside it.
Tracing in the federation is sampled at --trace-sample (0.01, as `prum bench load`). Files of 1M are
loaded in chunks (a few minutes: synthetic DNA profiles, vehicle records).

    python bench/rpc_ceiling.py --calls 2000 --concurrency 8
    python bench/rpc_ceiling.py --calls 20000 --concurrency 16 --profiles 1000000 --vehicles 1000000
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import grpc
import numpy as np
import psutil
from prum.common.v1 import common_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.echo.v1 import echo_pb2, echo_pb2_grpc
from prum.federation.synthetic.dna import random_profile, synthetic_file
from prum.federation.synthetic.vehicle import vehicle_records
from prum.federation.runtime.processes import down, up
from prum.federation.runtime.topology import parse_federation
from prum.loadtests.bare_server import SERVER_THREADS, bare_server
from prum.services.common.reference import ReferenceKind
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.services.dna.wire import KIND_TO_PROTO
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


CHUNK = 50_000


def chunks(items: Iterable[Any], size: int = CHUNK) -> Iterator[list[Any]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def measure(call: Callable[[], Any], calls: int, concurrency: int, server: psutil.Process) -> dict[str, float]:
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
    cpu_before = server.cpu_times()
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - began
    cpu_after = server.cpu_times()
    cpu = (cpu_after.user - cpu_before.user) + (cpu_after.system - cpu_before.system)
    ordered = sorted(latencies)
    return {"calls": len(latencies), "per_s": round(len(latencies) / wall, 1),
            "p50_ms": round(statistics.median(ordered) * 1000, 3),
            "p99_ms": round(ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000, 3),
            "server_cpu_us_per_call": round(cpu / max(len(latencies), 1) * 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--profiles", type=int, default=2000, help="profiles in NL's DNA file")
    parser.add_argument("--vehicles", type=int, default=20000, help="vehicles in NL's register")
    parser.add_argument("--trace-sample", type=float, default=0.01, help="the federation's trace_sample_ratio")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="prum-rpc-ceiling-"))
    import tomllib

    federation = dataclasses.replace(parse_federation(tomllib.loads(FEDERATION)),
                                     trace_sample_ratio=options.trace_sample)
    with bare_server() as bare:
        run = up(federation, workdir)
        try:
            report = measure_all(options, run, workdir, bare.address, bare.pid)
        finally:
            down(workdir)
    if options.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{os.cpu_count()} cores; NL holds {options.profiles:,} profiles, {options.vehicles:,} vehicles; "
          f"tracing sampled at {options.trace_sample:g}; servers' thread pools {SERVER_THREADS}")
    print(f"{'path':<26}{'calls':>8}{'per s':>10}{'× bare':>8}{'p50 ms':>10}{'p99 ms':>10}{'srv CPU µs':>12}")
    for name, row in report["results"].items():
        print(f"{name:<26}{row['calls']:>8}{row['per_s']:>10}{row['vs_bare']:>8.2f}{row['p50_ms']:>10}"
              f"{row['p99_ms']:>10}{row['server_cpu_us_per_call']:>12}")
    for name, ratio in report["ratios"].items():
        print(f"{name}: {ratio}")


def measure_all(options: argparse.Namespace, run: dict[str, Any], workdir: Path, bare_address: str,
                bare_pid: int) -> dict[str, Any]:
    """Load NL's files, then every path at concurrency 1 and C; ratios against bare at the same concurrency."""
    nl_address = run["states"]["NL"]["address"]
    nl_server = psutil.Process(run["states"]["NL"]["pid"])
    rng = np.random.default_rng(7)
    with open_channel(nl_address, TlsMaterial.load(workdir / "pki", "NL")) as admin:
        stub = dna_pb2_grpc.DnaIndexServiceStub(admin)
        batch = synthetic_file(rng, options.profiles)
        rows = (dna_pb2.IngestRequest(profile=dna_pb2.Profile(
            reference=f"NL-P-{i}", kind=KIND_TO_PROTO[batch.kind(i)],
            loci={k: dna_pb2.Alleles(values=v) for k, v in batch.lab(i).items()}))
            for i in range(options.profiles))
        for part in chunks(rows):
            stub.Ingest(iter(part), timeout=600)
        wanted = ""
        vehicle_stub = vehicle_pb2_grpc.VehicleRegisterServiceStub(admin)
        for number, part in enumerate(chunks(vehicle_records("NL", options.vehicles, 11))):
            if number == 0:
                wanted = part[len(part) // 2].vehicle.vin
            vehicle_stub.Ingest((vehicle_pb2.IngestRequest(record=record_to_proto(r)) for r in part),
                                timeout=600)
    query = random_profile(rng, kind=ReferenceKind.UNIDENTIFIED_TRACE)
    request = dna_pb2.SearchRequest(
        context=common_pb2.QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="NL",
                                        officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                                        reason="benchmark"),
        profile=dna_pb2.Profile(reference="DE-T-BENCH", kind=dna_pb2.PROFILE_KIND_UNIDENTIFIED_TRACE,
                                loci={k: dna_pb2.Alleles(values=v) for k, v in query.items()}))
    lookup = vehicle_pb2.LookupRequest(context=request.context, vin=wanted)
    results: dict[str, dict[str, float]] = {}
    with open_channel(nl_address, TlsMaterial.load(workdir / "pki", "DE")) as channel, \
            grpc.insecure_channel(bare_address) as bare_channel:
        bare = echo_pb2_grpc.EchoServiceStub(bare_channel)
        bare_server_process = psutil.Process(bare_pid)
        echo = echo_pb2_grpc.EchoServiceStub(channel)
        dna = dna_pb2_grpc.DnaIndexServiceStub(channel)
        vehicles = vehicle_pb2_grpc.VehicleRegisterServiceStub(channel)
        assert len(vehicles.Lookup(lookup, timeout=5).records) == 1
        ping = echo_pb2.EchoRequest(payload=request.SerializeToString())  # same request size as the search
        for _ in range(200):  # warm up every path
            bare.Echo(ping, timeout=5)
            echo.Echo(ping, timeout=5)
            dna.Search(request, timeout=5)
        for concurrency in (1, options.concurrency):
            results[f"bare c={concurrency}"] = measure(lambda: bare.Echo(ping, timeout=5), options.calls,
                                                       concurrency, bare_server_process)
            results[f"echo c={concurrency}"] = measure(lambda: echo.Echo(ping, timeout=5), options.calls,
                                                       concurrency, nl_server)
            results[f"dna search c={concurrency}"] = measure(lambda: dna.Search(request, timeout=5),
                                                             options.calls, concurrency, nl_server)
            results[f"vehicle lookup c={concurrency}"] = measure(lambda: vehicles.Lookup(lookup, timeout=5),
                                                                 options.calls, concurrency, nl_server)
    for name, row in results.items():
        concurrency = name.rsplit(" c=", 1)[1]
        row["vs_bare"] = round(row["per_s"] / results[f"bare c={concurrency}"]["per_s"], 3)
    ratios = {f"{path}/{base} c={c}": round(results[f"{path} c={c}"]["per_s"] / results[f"{base} c={c}"]["per_s"], 3)
              for base in ("bare", "echo") for path in ("echo", "dna search", "vehicle lookup")
              if path != base for c in (1, options.concurrency)}
    return {"profiles": options.profiles, "vehicles": options.vehicles, "trace_sample": options.trace_sample,
            "cores": os.cpu_count(), "server_threads": SERVER_THREADS, "results": results, "ratios": ratios}


if __name__ == "__main__":
    main()
