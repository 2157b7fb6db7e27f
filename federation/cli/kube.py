"""`prum kube`: Kubernetes manifests for a federation (one namespace per member state)."""

from __future__ import annotations

import json
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
    a Deployment of `python -m prum.federation.runtime.node` and a Service that peers reach over mutual TLS.

    Example: [bold]prum kube render --out k8s --states 12 && kubectl apply -f k8s/federation.yaml[/bold]
    """
    from prum.federation.runtime.kube import render
    from prum.federation.runtime.pki import namespace_of

    federation = federation_of(federation_file, states)
    if (out / "pki" / "ca.pem").exists():
        raise typer.BadParameter(f"{out} already holds a federation PKI; render into an empty folder, so no "
                                 f"running federation's certificates are replaced", param_hint="--out")
    summary = render(federation, out, image=image, storage=storage)
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
                  f"next: docker build -t {image} . && kubectl apply -f {summary['manifests']}")
