"""`prum logs` and `prum readiness`: a running federation inspected through its own RPCs, by its addresses.

Both read `<workdir>/run.json` (as `prum up` or `prum kube render` writes it) for every state's address, and
`<workdir>/pki` for the certificate they present (`--as`); `--address XX=host:port` reaches a state elsewhere,
e.g. through `kubectl port-forward`, and the handshake still checks that it is that state's server.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import grpc
import typer
from google.protobuf.json_format import MessageToDict
from prum.common.v1 import common_pb2
from prum.federation.cli.common import Addresses, exit_on_rpc_error, state_channel
from prum.logger.v1 import logger_pb2, logger_pb2_grpc
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from rich.console import Console
from rich.table import Table

WorkDir = Annotated[Path, typer.Option("--workdir", "-w", help="The federation's folder: run.json and pki/ (as "
                                       "`prum up` or `prum kube render --out` writes them).")]
State = Annotated[str, typer.Option("--state", "-s", help="The state whose services are asked, e.g. NL.")]
AsJson = Annotated[bool, typer.Option("--json", help="JSON for programs (JSON lines for entries).")]
def logs(
    workdir: WorkDir = Path("prum-run"),
    state: State = "NL",
    request_id: Annotated[str | None, typer.Option(help="Only the entries of this request.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many entries.")] = 50,
    verify: Annotated[bool, typer.Option("--verify", help="Check the hash chain and report tampering.")] = False,
    export: Annotated[Path | None, typer.Option(help="Write every entry as JSON lines to this file.")] = None,
    checkpoint: Annotated[bool, typer.Option(
        "--checkpoint", help="Sign a checkpoint of the log's head now and print it: keep it to check the log "
                             "later (LOG-5).")] = False,
    as_state: Annotated[str | None, typer.Option(
        "--as", help="Whose certificate to present (default: the state's own; its log answers no other).")] = None,
    address: Addresses = None,
    as_json: AsJson = False,
) -> None:
    """Query, verify, checkpoint or export a state's Art 30 protocol log (LOG-5, LOG-7).

    Examples:
      [bold]prum logs --workdir run1 --state NL[/bold]
      [bold]prum logs --workdir run1 --state NL --verify[/bold]
      [bold]prum logs --workdir run1 --state NL --checkpoint --json >> nl-anchors.jsonl[/bold]
      [bold]prum logs --workdir run1 --state DE --export de-log.jsonl[/bold]
      [bold]prum logs --workdir k8s --state NL --address NL=localhost:50052[/bold]
        (with [bold]kubectl -n prum-nl port-forward svc/node 50052:50051[/bold] running)
    """
    state = state.upper()
    with state_channel(workdir, state, as_state or state, address) as channel:
        stub = logger_pb2_grpc.ProtocolLoggerServiceStub(channel)
        try:
            if checkpoint:
                signed = stub.CreateCheckpoint(logger_pb2.CreateCheckpointRequest(), timeout=30).checkpoint
                if as_json:
                    sys.stdout.write(json.dumps(MessageToDict(signed, preserving_proto_field_name=True)) + "\n")
                else:
                    Console().print(f"{state}: checkpoint at entry {signed.sequence}, hash {signed.hash}, signed "
                                    f"{signed.signed_at.ToDatetime().isoformat(timespec='seconds')} UTC")
                return
            if verify:
                result = stub.Verify(logger_pb2.VerifyRequest(), timeout=60)
                report = MessageToDict(result, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
                if as_json:
                    sys.stdout.write(json.dumps(report) + "\n")
                else:
                    colour = "green" if result.intact else "red"
                    Console().print(f"[{colour}]{state}: {'intact' if result.intact else 'TAMPERED'}[/{colour}], "
                                    f"{result.entries_checked} entries and {result.checkpoints_checked} signed "
                                    f"checkpoints checked")
                    for violation in result.violations:
                        Console().print(f"  #{violation.sequence}: {violation.problem}")
                raise typer.Exit(0 if result.intact else 1)
            if export:
                count = 0
                with export.open("w", encoding="utf-8") as out:
                    for item in stub.Export(logger_pb2.ExportRequest(), timeout=600):
                        out.write(json.dumps(MessageToDict(item.entry, preserving_proto_field_name=True)) + "\n")
                        count += 1
                Console(stderr=True).print(f"{count} entries of {state}'s log written to {export}")
                return
            entries = stub.Query(logger_pb2.QueryRequest(request_id=request_id or "", limit=limit), timeout=30).entries
        except grpc.RpcError as error:
            exit_on_rpc_error(error, state)
    if as_json:
        for entry in entries:
            sys.stdout.write(json.dumps(MessageToDict(entry, preserving_proto_field_name=True)) + "\n")
        return
    table = Table(title=f"Protocol log of {state}", title_justify="left")
    for column in ("#", "recorded at", "kind", "message", "category", "from → to", "officer", "outcome", "request"):
        table.add_column(column)
    for e in entries:
        table.add_row(str(e.sequence), e.recorded_at.ToDatetime().isoformat(timespec="milliseconds"),
                      logger_pb2.EntryKind.Name(e.kind).removeprefix("ENTRY_KIND_"),
                      logger_pb2.MessageType.Name(e.message_type).removeprefix("MESSAGE_TYPE_"),
                      common_pb2.Category.Name(e.category).removeprefix("CATEGORY_"),
                      f"{e.requesting_state} → {e.requested_state}", e.officer_id,
                      logger_pb2.Outcome.Name(e.outcome).removeprefix("OUTCOME_"), e.request_id[:8])
    Console().print(table)


def readiness(
    workdir: WorkDir = Path("prum-run"),
    as_state: Annotated[str | None, typer.Option(
        "--as", help="Whose supervisor to ask, with its certificate (readiness is visible to all; default: the first "
                     "state whose key is in the pki).")] = None,
    address: Addresses = None,
    as_json: AsJson = False,
) -> None:
    """Show which states the Council has declared ready, per category (GATE-1, GATE-2).

    Examples:
      [bold]prum readiness --workdir run1[/bold]
      [bold]prum readiness --workdir k8s --as DE --address DE=localhost:50052[/bold]
    """
    from prum.federation.runtime.processes import caller_of, read_run

    if as_state is None:
        try:
            as_state = caller_of(workdir, read_run(workdir)).state
        except (FileNotFoundError, ValueError) as error:
            raise typer.BadParameter(str(error)) from error
    state = as_state.upper()
    with state_channel(workdir, state, state, address) as channel:
        try:
            rows = supervisor_pb2_grpc.SupervisorServiceStub(channel).GetReadiness(
                supervisor_pb2.GetReadinessRequest(), timeout=10).readiness
        except grpc.RpcError as error:
            exit_on_rpc_error(error, state)
    matrix: dict[str, dict[str, str]] = {}
    for row in rows:
        category = common_pb2.Category.Name(row.category).removeprefix("CATEGORY_")
        matrix.setdefault(row.state, {})[category] = ("revoked" if row.revoked else "ready" if row.ready
                                                      else f"{len(row.steps_done)}/4 steps")
    if as_json:
        sys.stdout.write(json.dumps(matrix, indent=2) + "\n")
        return
    categories = sorted({c for cells in matrix.values() for c in cells})
    table = Table(title=f"Readiness as {state}'s supervisor sees it", title_justify="left")
    table.add_column("state")
    for category in categories:
        table.add_column(category)
    for code, cells in matrix.items():
        table.add_row(code, *(f"[green]{cells[c]}[/green]" if cells.get(c) == "ready" else f"[yellow]{cells.get(c, '')}"
                              f"[/yellow]" for c in categories))
    Console().print(table)
