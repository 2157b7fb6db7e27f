#!/usr/bin/env python3
"""What each layer of the serving stack costs, against a bare grpcio echo, measured in the same run (issue 18).

Each row is an echo server in its own process (so it does not share the client's GIL), called by the same
threaded client with the same payload:
  bare          grpc.server with the same thread pool, insecure, no interceptors: the framework's ceiling;
  mtls          the same over mutual TLS;
  stack         `create_server` as every state serves: mTLS, the serving stack (call fields, error mapping,
                caller policy, request validation), health and reflection, tracing off;
  stack+trace   the same with tracing on at the given sample ratios (`--sample`, e.g. 0.01 and 1.0),
                spans written to a file as `prum up` does.
Per row: calls per second, p50/p99 latency, and the server's CPU per call (user + system of its process over
the measured calls), and each as a ratio to bare. `--python` runs the servers with another interpreter (the
venv of an older checkout), for a before/after of the stack in one run.

    python bench/serving_stack.py --calls 6000 --threads 16 --sample 0.01 --sample 1.0
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent import futures
from pathlib import Path

import grpc
import psutil
from prum.echo.v1 import echo_pb2, echo_pb2_grpc
from rpc_ceiling import (
    measure,  # the same threaded client as the RPC ceiling's (bench/ is this script's path)
)

PAYLOAD = b"x" * 420  # about the size of a DNA search request


def serve(layer: str, pki_dir: Path, port_file: Path, sample: float, threads: int) -> None:
    """The server of one row, until SIGTERM."""
    from prum.services.common.tls import TlsMaterial
    from prum.services.echo.servicer import EchoServicer

    tls = TlsMaterial.load(pki_dir, "NL")
    if layer in ("bare", "mtls"):
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads))
        echo_pb2_grpc.add_EchoServiceServicer_to_server(EchoServicer(), server)
        port = (server.add_secure_port("127.0.0.1:0", tls.server_credentials()) if layer == "mtls"
                else server.add_insecure_port("127.0.0.1:0"))
    else:
        from prum.services.common.server import ServiceBinding, create_server

        provider = None
        if layer == "stack+trace":
            from prum.services.common.tracing import create_tracer_provider
            path = port_file.with_suffix(".traces.jsonl")
            try:
                provider = create_tracer_provider("prum-nl", "file", path, sample_ratio=sample)
            except TypeError:  # an older checkout: no sampler, every trace recorded
                provider = create_tracer_provider("prum-nl", "file", path)
        binding = ServiceBinding("prum.echo.v1.EchoService", EchoServicer(),
                                 echo_pb2_grpc.add_EchoServiceServicer_to_server)
        server, port = create_server("127.0.0.1:0", [binding], state="NL", tls=tls, max_workers=threads,
                                     tracer_provider=provider)
    server.start()
    port_file.write_text(str(port))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    stop.wait()
    server.stop(0)


def measure_echo(stub: echo_pb2_grpc.EchoServiceStub, calls: int, threads: int,
                 process: psutil.Process) -> dict[str, float]:
    """`rpc_ceiling.measure` of the echo, after a warm-up (channels, the stack's handler cache)."""
    request = echo_pb2.EchoRequest(payload=PAYLOAD)
    for _ in range(300):
        stub.Echo(request, timeout=10)
    return measure(lambda: stub.Echo(request, timeout=10), calls, threads, process)


def run_row(layer: str, sample: float, options: argparse.Namespace, workdir: Path, python: str) -> dict[str, float]:
    from prum.services.common.tls import TlsMaterial

    port_file = workdir / f"{layer}-{sample}.port"
    port_file.unlink(missing_ok=True)  # a port of an earlier round's server
    child = subprocess.Popen([python, __file__, "--serve", layer, "--pki", str(workdir / "pki"),
                              "--port-file", str(port_file), "--sample-ratio", str(sample),
                              "--threads", str(options.server_threads)])
    try:
        deadline = time.monotonic() + 60
        while not port_file.exists() or not port_file.read_text():
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {layer} server did not start")
            time.sleep(0.05)
        address = f"127.0.0.1:{port_file.read_text()}"
        if layer == "bare":
            channel = grpc.insecure_channel(address)
        else:
            tls = TlsMaterial.load(workdir / "pki", "NL")  # the state's own certificate: Echo is a MEMBER method
            channel = grpc.secure_channel(address, tls.channel_credentials(),
                                          options=[("grpc.ssl_target_name_override", "nl.prum.local")])
        with channel:
            return measure_echo(echo_pb2_grpc.EchoServiceStub(channel), options.calls, options.threads,
                                psutil.Process(child.pid))
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=6000)
    parser.add_argument("--threads", type=int, default=16, help="client threads")
    parser.add_argument("--server-threads", type=int, default=16, help="each server's thread pool")
    parser.add_argument("--sample", type=float, action="append", help="trace sample ratios for stack+trace rows")
    parser.add_argument("--rounds", type=int, default=1, help="rows run in turn this many times; medians kept")
    parser.add_argument("--python", default=sys.executable, help="interpreter of the servers (another checkout)")
    parser.add_argument("--json", type=Path, help="write the results here too")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--pki", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port-file", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--sample-ratio", type=float, default=1.0, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.serve:
        serve(options.serve, options.pki, options.port_file, options.sample_ratio, options.server_threads)
        return
    from prum.federation.runtime.pki import FederationPki

    workdir = Path(tempfile.mkdtemp(prefix="prum-serving-stack-"))
    FederationPki.create(["NL"]).write(workdir / "pki")
    rows = [("bare", 1.0), ("mtls", 1.0), ("stack", 1.0)] + [("stack+trace", s) for s in options.sample or [0.01, 1.0]]
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(options.rounds):
        for layer, sample in rows:
            name = layer if layer != "stack+trace" else f"stack+trace {sample:g}"
            runs.setdefault(name, []).append(run_row(layer, sample, options, workdir, options.python))
    results = {name: {key: statistics.median(r[key] for r in rounds) for key in rounds[0]}
               for name, rounds in runs.items()}
    bare = results["bare"]
    for row in results.values():
        row["per_s_vs_bare"] = round(row["per_s"] / bare["per_s"], 3)
        row["cpu_vs_bare"] = round(row["server_cpu_us_per_call"] / bare["server_cpu_us_per_call"], 3)
    report = {"calls": options.calls, "client_threads": options.threads, "server_threads": options.server_threads,
              "rounds": options.rounds, "cores": os.cpu_count(), "python": options.python, "results": results}
    print(f"{'server':<22}{'req/s':>9}{'× bare':>8}{'p50 ms':>9}{'p99 ms':>9}{'CPU µs/call':>13}{'× bare':>8}")
    for name, row in results.items():
        print(f"{name:<22}{row['per_s']:>9.0f}{row['per_s_vs_bare']:>8.2f}{row['p50_ms']:>9.2f}{row['p99_ms']:>9.2f}"
              f"{row['server_cpu_us_per_call']:>13.0f}{row['cpu_vs_bare']:>8.2f}")
    if options.json:
        options.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
