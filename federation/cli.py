"""The `prum` command line: one typer app; each command's help has an example."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

import prum

app = typer.Typer(
    name="prum",
    help="Simulate the Prüm federation (2008/615/JHA): member states' DNA files, contact points, protocol "
         "logs and supervisors as gRPC services over mutual TLS.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

FederationFile = Annotated[Optional[Path], typer.Option(
    "--federation", "-f", exists=True, dir_okay=False, help="Federation file (TOML); default: the seven Prüm "
    "Treaty signatories, LU not yet ready for DNA.")]


@app.command()
def version() -> None:
    """Print the version.

    Example: [bold]prum version[/bold]
    """
    typer.echo(prum.__version__)


@app.command()
def demo(
    federation_file: FederationFile = None,
    states: Annotated[Optional[int], typer.Option("--states", "-n", min=2, max=27,
                                                  help="Scale the federation to N states.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")] = False,
    workdir: Annotated[Optional[Path], typer.Option(help="Where stores, certificates, logs and traces go "
                                                         "(default: a fresh temporary folder).")] = None,
) -> None:
    """Start a federation in this process, load synthetic DNA files, run planted searches, and report.

    Every state runs its DNA index, protocol logger, supervisor and contact point on its own loopback
    port over mutual TLS. Exit code 1 when a check fails.

    Examples:
      [bold]prum demo[/bold]
      [bold]prum demo --states 12 --json > report.json[/bold]
      [bold]prum demo -f my-federation.toml --workdir ./run1[/bold]
    """
    from prum.federation.demo import run_demo
    from prum.federation.report import render
    from prum.federation.topology import FederationFileError, load_federation
    from prum.services.common.logs import configure_logging

    try:
        spec = load_federation(federation_file)
        if states:
            spec = spec.scaled(states)
    except FederationFileError as error:
        raise typer.BadParameter(str(error)) from error
    folder = workdir or Path(tempfile.mkdtemp(prefix="prum-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    log_file = (folder / "prum.log").open("w", encoding="utf-8")
    configure_logging("INFO", stream=log_file, json=True)
    console = Console(stderr=as_json)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console, transient=True) as bar:
        tasks: dict[str, int] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done)

        try:
            result = run_demo(spec, folder, progress)
        finally:
            configure_logging("WARNING", stream=sys.stderr)  # the log file closes below
            log_file.close()
    if as_json:
        sys.stdout.write(json.dumps(result.report, indent=2) + "\n")
    else:
        render(result.report, console)
    raise typer.Exit(0 if result.ok else 1)


def main() -> None:  # pragma: no cover - console script entry
    app()
