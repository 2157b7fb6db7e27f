"""What the `prum` command line's modules share: the federation file option, progress bars, tables.

app.py and its sub-apps (bench, kube, ...) import this module; it imports none of them, so the
app imports its sub-apps at its top and no sub-app imports the app.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import grpc
import typer
from prum.services.common.server import open_channel
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

if TYPE_CHECKING:
    from prum.federation.runtime.topology import Federation

FederationFile = Annotated[Path | None, typer.Option(
    "--federation", "-f", exists=True, dir_okay=False, help="Federation file (TOML); default: the seven Prüm "
    "Treaty signatories, LU not yet ready for DNA.")]

WorkDir = Annotated[Path, typer.Option("--workdir", "-w", help="The running federation's folder: run.json, "
                                       "certificates, one folder per state.")]
Addresses = Annotated[list[str] | None, typer.Option(
    "--address", "-a", metavar="XX=HOST:PORT", help="Reach state XX at this address instead of run.json's "
    "(repeatable), e.g. a `kubectl port-forward` on localhost; the TLS check of XX's certificate still applies.")]


def state_channel(workdir: Path, state: str, as_state: str | None, addresses: list[str] | None) -> grpc.Channel:
    """A channel to `state`'s server at its address (run.json, its local process, or `--address`), presenting
    `as_state`'s certificate (default: the first state whose key is in the pki), checking `state`'s certificate."""
    from prum.federation.runtime.processes import (
        address_of,
        caller_of,
        parse_overrides,
        read_run,
        require_states,
    )

    state = state.upper()
    try:
        run = read_run(workdir)
        overrides = parse_overrides(addresses)
        require_states(run, workdir, [state, *overrides])
        tls = caller_of(workdir, run, as_state)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    address = address_of(workdir, run, state, overrides)
    if not address:
        raise typer.BadParameter(f"{state} has no address in {workdir / 'run.json'} yet: give one with "
                                 f"--address {state}=host:port")
    return open_channel(address, tls, state=state)


def exit_on_rpc_error(error: grpc.RpcError, state: str) -> None:
    """A refused or failed call to `state`, told on stderr (with what to check when it is unreachable); exit 1."""
    Console(stderr=True).print(f"[red]{error.code().name}: {escape(str(error.details()))}[/red]")
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        Console(stderr=True).print(f"{state} is down, not reachable from here, or another server answers at its "
                                   f"address (the handshake checks {state}'s certificate); a Kubernetes Service is "
                                   f"reached from outside through a port-forward: --address {state}=localhost:PORT")
    raise typer.Exit(1)


def federation_of(federation_file: Path | None, states: int | None) -> Federation:
    """The federation file (or the default one), scaled to `states` if given; a wrong file is a usage error."""
    from prum.federation.runtime.topology import FederationFileError, load_federation

    try:
        spec = load_federation(federation_file)
        return spec.scaled(states) if states else spec
    except FederationFileError as error:
        raise typer.BadParameter(str(error)) from error


def progress_bar(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    console=console, transient=True)


def steps(bar: Progress) -> Callable[[str, int, int], None]:
    """A progress callback (step, done, total) that shows one bar per step."""
    tasks: dict[str, TaskID] = {}

    def progress(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total)
        bar.update(tasks[step], completed=done)
    return progress


def print_table(title: str, rows: list[dict], as_json: bool) -> None:
    """Rows as a rich table, or as JSON on stdout for programs."""
    if as_json:
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in rows[0] if rows else []:
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) for v in row.values()))
    Console().print(table)
