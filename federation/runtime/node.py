"""One member state as its own OS process: `python -m prum.federation.runtime.node --workdir DIR --state NL`.

Started by `prum up`, which writes `DIR/run.json` (the federation) and the federation PKI in `DIR/pki`
before any process starts. Such a node binds its own port on loopback (its old one when it restarts and
can bind it, else port 0; a fixed `address` of the federation file as given) and publishes the address
it bound in `DIR/<STATE>/address.json`; it finds its peers through theirs, read again when they change
(`PublishedDirectory`). Or started by a Kubernetes Deployment (`prum kube render`), which mounts them
and passes `--listen 0.0.0.0:50051 --log-stdout --health-port 50052 --trace-exporter otlp`: there the addresses
in run.json are the states' Services, not where the process binds, and nothing is published. Serves until SIGTERM
or SIGINT, then reports NOT_SERVING on its health service, lets calls in flight finish (grace period) and closes
its stores.

`--health-port N` opens a second, plaintext port that serves only grpc.health.v1, answered by the same
HealthServicer as the mTLS port (`create_health_server`): Kubernetes' `grpc:` probes check the node's health
for real without a client certificate, while every data service stays on the mTLS port. `--trace-exporter`
sends the spans to `DIR/<STATE>/traces.jsonl` (file, the default for `prum up`), to an OpenTelemetry Collector
at OTEL_EXPORTER_OTLP_ENDPOINT (otlp, the manifests' choice) or nowhere (none).

`--state EU` (the code `ROUTER`) runs the Prüm II router of a router-topology federation instead
(`launcher.build_router`): the same binding, publishing, health port, logs and shutdown, its folder `DIR/router/`;
its catch-up is of the states' readiness only (`catch_up_router`, GATE-2 for the router connection, P2-GATE-1).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

from prum.federation.runtime.launcher import (
    RouterNode,
    StateNode,
    build_router,
    build_state,
    catch_up,
    catch_up_router,
    catch_up_timeout,
)
from prum.federation.runtime.processes import (
    PublishedDirectory,
    entries,
    folder_of,
    publish_address,
    published_address,
)
from prum.federation.runtime.topology import parse_federation
from prum.services.common.clock import SystemClock
from prum.services.common.identity import ROUTER
from prum.services.common.logs import configure_logging, get_logger
from prum.services.common.server import create_health_server
from prum.services.common.tls import TlsMaterial
from prum.services.common.tracing import create_tracer_provider

GRACE_S = 2.0
#: A state asks its peers again this often for what it may have missed (a push that failed, a peer that was down
#: when it changed something): the catch-up that runs at start, repeated (GATE-2, DEC-1, AUD-1).
CATCH_UP_EVERY_S = 300.0


def read_run(workdir: Path) -> dict:
    return json.loads((workdir / "run.json").read_text("utf-8"))


def keep_caught_up(run: Callable[[], None], stop: threading.Event, every_s: float,
                   failed: Callable[[Exception], None]) -> int:
    """Run the catch-up (what the state missed: readiness, declarations, joint cases; GATE-2, DEC-1, AUD-1) at
    start and then every `every_s` until `stop` is set; a failed round goes to `failed` (the node logs it) and
    the state serves on. Returns the number of rounds run."""
    rounds = 0
    while not stop.is_set():
        rounds += 1
        try:
            run()
        except Exception as error:  # noqa: BLE001 - reported; the next round tries again
            failed(error)
        if stop.wait(every_s):
            break
    return rounds


TRACE_EXPORTERS = ("file", "otlp", "none")


def serve(workdir: Path, state: str, listen: str | None = None, log_stdout: bool = False,
          catch_up_every_s: float = CATCH_UP_EVERY_S, health_port: int | None = None,
          trace_exporter: str = "file") -> None:
    run = read_run(workdir)
    federation = parse_federation(run["federation"], source=str(workdir / "run.json"))
    is_router = state == ROUTER
    if is_router and federation.topology != "router":
        raise SystemExit(f"{ROUTER} is the Prüm II router's code, and the federation in {workdir} has no router "
                         f"(topology {federation.topology!r})")
    what = "router" if is_router else "state"
    fixed = federation.router.address if is_router else federation.state(state).address
    folder = folder_of(workdir, state)
    folder.mkdir(parents=True, exist_ok=True)
    log_stream = sys.stdout if log_stdout else (folder / "prum.log").open("a", encoding="utf-8")
    configure_logging("INFO", stream=log_stream, json=True)
    provider = create_tracer_provider("prum-router" if is_router else f"prum-{state.lower()}", trace_exporter,
                                      folder / "traces.jsonl", sample_ratio=federation.trace_sample_ratio)
    tls = TlsMaterial.load(workdir / "pki", state)
    directory: MutableMapping[str, str]

    def build(address: str) -> StateNode | RouterNode:
        if is_router:
            return build_router(federation, tls, folder, directory, SystemClock(), provider, address=address)
        return build_state(federation.state(state), federation, tls, folder, directory, SystemClock(), provider,
                           address=address)

    if listen:  # a container: bind `listen`; peers, and this state itself, use run.json's addresses (Services)
        directory = {code: entry["address"] for code, entry in entries(run).items()}
        advertised = directory[state]
        node = build(listen)
    else:  # `prum up`: this state binds its own port and publishes it; the peers' addresses are theirs
        directory = PublishedDirectory(workdir, {code: entry.get("address") for code, entry in entries(run).items()})
        node = _build_on_own_port(build, fixed, folder, entries(run)[state])
        advertised = fixed or f"127.0.0.1:{node.port}"
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    node.server.start()
    # Plaintext, health only, the same HealthServicer: for probes that have no client certificate.
    host = listen.rpartition(":")[0] if listen else "127.0.0.1"
    health_server = (create_health_server(f"{host}:{health_port}", node.server.health)[0]  # type: ignore[attr-defined]
                     if health_port is not None else None)
    if health_server is not None:
        health_server.start()
    if not listen:
        publish_address(folder, advertised)  # only once it serves: `prum up` waits for this record
    log = get_logger("prum.node")
    log.info(f"{what} serving", address=advertised, listen=listen or advertised, health_port=health_port,
             trace_exporter=trace_exporter, pid=os.getpid())

    def rejoin() -> None:
        # Through its own supervisor; the router through the readiness half of its SupervisorService.
        unreached = (catch_up_router if is_router else catch_up)(advertised, tls, catch_up_timeout(federation))
        log.info("caught up", unreached=unreached)

    def failed(error: Exception) -> None:
        log.warning("catch-up failed", error=f"{type(error).__name__}: {error}")

    threading.Thread(target=keep_caught_up, args=(rejoin, stop, catch_up_every_s, failed), name="catch-up",
                     daemon=True).start()
    stop.wait()
    log.info(f"{what} stopping", grace_s=GRACE_S)
    node.server.health.enter_graceful_shutdown()  # type: ignore[attr-defined]
    node.server.stop(GRACE_S).wait()
    if health_server is not None:  # NOT_SERVING there too until now; then the probes' port closes
        health_server.stop(0).wait()
    node.close()
    provider.shutdown()
    if not log_stdout:
        log_stream.close()


def _bindable(address: str) -> bool:
    """Whether a loopback `host:port` can be bound now (as gRPC binds it: SO_REUSEADDR, so a closed
    connection's TIME_WAIT does not count, a listener does)."""
    host, _, port = address.rpartition(":")
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, int(port)))
        except (OSError, ValueError):
            return False
    return True


def _build_on_own_port(build: Callable[[str], StateNode | RouterNode], fixed: str | None, folder: Path,
                       entry: dict[str, Any]) -> StateNode | RouterNode:
    """Build the state's (or the router's) server on the fixed address of the federation file; else on the port its
    last process had (a restart keeps its address when it can), else on a port the system picks (port 0)."""
    if fixed:
        return build(fixed)
    previous = (published_address(folder) or {}).get("address") or entry.get("address")
    if previous and previous.startswith("127.0.0.1:") and _bindable(previous):
        try:
            return build(previous)
        except (OSError, RuntimeError):
            pass  # taken between the probe and the bind: any free port then
    return build("127.0.0.1:0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--state", required=True, help=f"the state to run, or {ROUTER}: the Prüm II router of a "
                        f"router-topology federation")
    parser.add_argument("--listen", help="host:port to bind, peers at run.json's addresses (a container); default: "
                        "its own loopback port, published in DIR/<STATE>/address.json")
    parser.add_argument("--log-stdout", action="store_true", help="JSON logs to stdout (containers), not a file")
    parser.add_argument("--catch-up-every", type=float, default=CATCH_UP_EVERY_S, metavar="SECONDS",
                        help=f"ask the peers again this often for what this state missed (default {CATCH_UP_EVERY_S:.0f})")
    parser.add_argument("--health-port", type=int, metavar="N",
                        help="also serve grpc.health.v1 alone, in plaintext, on port N of --listen's host (loopback "
                        "without --listen), for probes that cannot present a client certificate (default: off)")
    parser.add_argument("--trace-exporter", choices=TRACE_EXPORTERS, default="file",
                        help="where spans go: file (DIR/<STATE>/traces.jsonl, default), otlp (a collector at "
                        "OTEL_EXPORTER_OTLP_ENDPOINT) or none")
    options = parser.parse_args()
    if options.catch_up_every <= 0:
        parser.error(f"--catch-up-every {options.catch_up_every}: allowed: a number of seconds above 0")
    if options.health_port is not None and not 0 < options.health_port < 65536:
        parser.error(f"--health-port {options.health_port}: allowed: a port from 1 to 65535")
    serve(options.workdir, options.state, options.listen, options.log_stdout, options.catch_up_every,
          options.health_port, options.trace_exporter)


if __name__ == "__main__":
    main()
