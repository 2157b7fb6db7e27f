"""`prum kube`: Kubernetes manifests for a federation (one namespace per member state), and `prum kube load`, what
the rendered per-state Job runs to load a state's national files through its Ingest RPCs."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated

import typer
from prum.federation.cli.common import federation_of
from rich.console import Console
from rich.table import Table

kube_app = typer.Typer(help="Run the federation on Kubernetes: render manifests, PKI and run.json.",
                       no_args_is_help=True)


@kube_app.command("render")
def render_command(
    out: Annotated[Path, typer.Option("--out", "-o", file_okay=False,
                                      help="Folder for federation.yaml, run.json and pki/.")] = Path("k8s"),
    federation_file: Annotated[Path | None, typer.Option(
        "--federation", "-f", exists=True, dir_okay=False,
        help="Federation file (TOML); default: the seven Prüm Treaty signatories.")] = None,
    states: Annotated[int | None, typer.Option("--states", "-n", min=2, max=27,
                                                  help="Scale the federation to N states.")] = None,
    image: Annotated[str, typer.Option(help="Container image with prum installed (see the Dockerfile).")] = "prum:latest",
    storage: Annotated[str, typer.Option(help="Volume size per state for its SQLite stores.")] = "1Gi",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")] = False,
) -> None:
    """Write Kubernetes manifests: per state a namespace, its certificate as a Secret, run.json, a volume,
    a Deployment of `python -m prum.federation.runtime.node` (non-root, gRPC probes on a health-only port), a
    Service that peers reach over mutual TLS and a Job that loads its national files (`prum kube load`); and an
    OpenTelemetry Collector (namespace prum-observability) that the nodes send their traces to.

    Example: [bold]prum kube render --out k8s --states 12 && kubectl apply -f k8s/federation.yaml[/bold]
    """
    from prum.federation.runtime.kube import render
    from prum.federation.runtime.pki import namespace_of

    federation = federation_of(federation_file, states)
    if (out / "pki" / "ca.pem").exists():
        raise typer.BadParameter(f"{out} already holds a federation PKI; render into an empty folder, so no "
                                 f"running federation's certificates are replaced", param_hint="--out")
    try:
        summary = render(federation, out, image=image, storage=storage)
    except ValueError as refused:
        raise typer.BadParameter(str(refused), param_hint="FEDERATION_FILE") from refused
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    table = Table(title=f"{len(summary['states'])} states, {summary['objects']} Kubernetes objects")
    table.add_column("state")
    table.add_column("namespace")
    table.add_column("address (Service)")
    for code, address in summary["addresses"].items():
        table.add_row(code, namespace_of(code), address)
    console = Console()
    console.print(table)
    console.print(f"manifests: {summary['manifests']}\nPKI: {summary['pki']} (keep it secret)\n"
                  f"next: docker build -t {image} . && kubectl apply -f {summary['manifests']}\n"
                  f"then: kubectl -n {namespace_of(summary['states'][0])} logs job/load (national files loaded), "
                  f"kubectl logs -n prum-observability deploy/otel-collector (traces)")


@kube_app.command("load")
def load_command(
    workdir: Annotated[Path, typer.Option("--workdir", "-w", file_okay=False, exists=True,
                                          help="Folder with run.json and pki/ (the Job mounts them from the state's "
                                          "ConfigMap and Secret).")],
    state: Annotated[str, typer.Option("--state", help="The state whose national files to load (its own "
                                       "certificate: Ingest takes no other).")],
    wait: Annotated[float, typer.Option(min=0.0, help="Seconds to wait at most for the state's node to serve "
                                        "(a cold node compiles its kernels first).")] = 300.0,
    address: Annotated[str | None, typer.Option(help="Reach the node here (e.g. `kubectl port-forward`'s "
                                                "127.0.0.1:50051); default: its address in run.json.")] = None,
) -> None:
    """Load one state's national files (the federation file's synthetic sizes, as `prum up` loads them) through
    its Ingest RPCs at its address in run.json (its Service), once its health says SERVING.

    The per-state Job of `prum kube render` runs this. A second run loads nothing twice: the stores refuse a
    reference they hold (counted as rejected).

    Example: [bold]prum kube load --workdir /var/lib/prum --state DE[/bold]
    """
    import grpc
    from prum.federation.demo.police_records import load_police_records
    from prum.federation.demo.run import load_core_details, load_file, load_persons, load_register
    from prum.federation.runtime.processes import health_of
    from prum.federation.runtime.topology import parse_federation
    from prum.federation.synthetic.scenario import build_scenario
    from prum.services.common.server import open_channel
    from prum.services.common.tls import TlsMaterial

    run = json.loads((workdir / "run.json").read_text("utf-8"))
    federation = parse_federation(run["federation"], source=str(workdir / "run.json"))
    if state not in federation.codes:
        raise typer.BadParameter(f"{state}: not a state of {federation.name} ({', '.join(federation.codes)})",
                                 param_hint="--state")
    address = address or run["states"][state]["address"]
    tls = TlsMaterial.load(workdir / "pki", state)
    deadline = time.monotonic() + wait
    health = "UNAVAILABLE"
    while True:  # bounded: the Job's backoffLimit retries a run that gave up
        health = health_of(address, tls, 2.0)
        if health == "SERVING" or time.monotonic() >= deadline:
            break
        log(state, address, f"waiting for the node ({health})")
        time.sleep(min(3.0, max(0.0, deadline - time.monotonic())))
    if health != "SERVING":
        log(state, address, f"gave up after {wait:.0f} s: {health}")
        raise typer.Exit(1)
    scenario = build_scenario(federation)
    try:
        with open_channel(address, tls) as channel:
            dna = load_file(channel, scenario.files[state])
            vehicles = load_register(channel, scenario.registers[state])
            persons = load_persons(channel, scenario.persons[state])
            load_core_details(channel, scenario.core_details.get(state, []))  # P2-CORE-3
            if scenario.police_records.get(state):  # a state taking part in EPRIS (P2-EPRIS-1)
                load_police_records(channel, scenario.police_records[state])
    except grpc.RpcError as error:
        log(state, address, f"load failed: {error.code().name}: {error.details()}")
        raise typer.Exit(1) from error
    typer.echo(json.dumps({"event": "national files loaded", "state": state, "address": address,
                           "dna_profiles": {"accepted": dna.accepted, "rejected": len(dna.rejections)},
                           "vehicles": {"accepted": vehicles.accepted, "rejected": len(vehicles.rejections)},
                           "persons": {"accepted": persons.accepted, "rejected": len(persons.rejections)}}))


def log(state: str, address: str, event: str) -> None:
    """One JSON line on stdout, as the nodes log: `kubectl logs job/load` reads it."""
    typer.echo(json.dumps({"event": event, "state": state, "address": address}))
