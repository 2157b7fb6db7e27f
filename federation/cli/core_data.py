"""`prum core-data`: a state's core-data cases after a confirmed match (Prüm II Art 47, P2-CORE-1..3), listed with
their due time and overdue flag, and an operator's decision on one (supply, refuse, delay), through the state's own
`CoreDataService` (its own certificate: the service answers only the state's own authorities).

Like `prum logs`, it reads `<workdir>/run.json` and `<workdir>/pki`; `--address XX=host:port` reaches the state
elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import grpc
import typer
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import core_data_pb2 as pb
from prum.contact_point.v1 import core_data_pb2_grpc
from prum.federation.cli.common import Addresses, exit_on_rpc_error, print_table, state_channel
from prum.federation.cli.inspect import WorkDir
from rich.console import Console

core_data_app = typer.Typer(help="Core data after a confirmed match (Prüm II Art 47): cases and decisions.",
                            no_args_is_help=True)

AsState = Annotated[str, typer.Option("--as", help="The state whose cases these are, with its own certificate.")]
AsJson = Annotated[bool, typer.Option("--json", help="JSON for programs.")]

DECISIONS = {"supply": pb.CORE_DATA_DECISION_SUPPLY, "refuse": pb.CORE_DATA_DECISION_REFUSE,
             "delay": pb.CORE_DATA_DECISION_DELAY}


def _name(enum: type, value: int, prefix: str) -> str:
    return enum.Name(value).removeprefix(prefix)  # type: ignore[attr-defined, no-any-return]


def case_row(case: pb.CoreDataCase) -> dict[str, object]:
    """One case as a row of the table (and of --json)."""
    return {
        "case": case.case_id, "side": _name(pb.CoreDataSide, case.side, "CORE_DATA_SIDE_"),
        "from → to": f"{case.requesting_state} → {case.requested_state}",
        "category": _name(common_pb2.Category, case.category, "CATEGORY_"), "reference": case.reference,
        "offence": case.offence_code, "status": _name(pb.CoreDataStatus, case.status, "CORE_DATA_STATUS_"),
        "due": case.due_at.ToDatetime().isoformat(timespec="minutes"), "overdue": case.overdue,
        "reason": case.reason, "delivered": case.delivered}


def _stub(workdir: Path, state: str, address: list[str] | None) -> tuple[grpc.Channel, core_data_pb2_grpc.CoreDataServiceStub]:
    channel = state_channel(workdir, state, state, address)
    return channel, core_data_pb2_grpc.CoreDataServiceStub(channel)


@core_data_app.command("list")
def list_command(
    as_state: AsState,
    workdir: WorkDir = Path("prum-run"),
    overdue: Annotated[bool, typer.Option("--overdue", help="Only the cases open past their due time.")] = False,
    address: Addresses = None,
    as_json: AsJson = False,
) -> None:
    """List a state's core-data cases, both the ones it asked and the ones it was asked, with due time and overdue
    flag (P2-CORE-1).

    Examples:
      [bold]prum core-data list --as NL --workdir run1[/bold]
      [bold]prum core-data list --as DE --overdue --json[/bold]
    """
    state = as_state.upper()
    channel, stub = _stub(workdir, state, address)
    with channel:
        try:
            cases = stub.ListCoreDataCases(pb.ListCoreDataCasesRequest(overdue_only=overdue), timeout=10).cases
        except grpc.RpcError as error:
            exit_on_rpc_error(error, state)
    rows = [case_row(c) for c in cases]
    if not rows and not as_json:
        Console().print(f"{state} has no {'overdue ' if overdue else ''}core-data cases")
        return
    print_table(f"Core-data cases of {state}", rows, as_json)


@core_data_app.command("decide")
def decide_command(
    as_state: AsState,
    case: Annotated[str, typer.Option("--case", help="The case id (from `prum core-data list`).")],
    decision: Annotated[str, typer.Option("--decision", help="supply, refuse or delay.")],
    officer: Annotated[str, typer.Option("--officer", help="The authorised officer who decides.")],
    reason: Annotated[str, typer.Option(help="Why: required to refuse or delay.")] = "",
    confirmed_by: Annotated[str, typer.Option(help="For a DNA supply: who confirmed the match (Art 6(7)).")] = "",
    workdir: WorkDir = Path("prum-run"),
    address: Addresses = None,
    as_json: AsJson = False,
) -> None:
    """Decide a case the state was asked: supply the core data, refuse (proportionality, with a reason) or record a
    reasoned delay for a judicial authorisation (P2-CORE-2, where national law needs one). The decision goes back to
    the requesting state through the router.

    Examples:
      [bold]prum core-data decide --as NL --case 0b6c... --decision supply --officer NL-NCP-01 --confirmed-by NL-DNA-1[/bold]
      [bold]prum core-data decide --as FR --case 0b6c... --decision delay --officer FR-NCP-01 --reason "juge saisi"[/bold]
    """
    state = as_state.upper()
    if decision.lower() not in DECISIONS:
        raise typer.BadParameter(f"{decision!r}; allowed: {', '.join(DECISIONS)}", param_hint="--decision")
    channel, stub = _stub(workdir, state, address)
    with channel:
        try:
            decided = stub.DecideCoreData(pb.DecideCoreDataRequest(
                officer_id=officer, case_id=case, decision=DECISIONS[decision.lower()], reason=reason,
                confirmed_by=confirmed_by), timeout=30).core_data_case
        except grpc.RpcError as error:
            exit_on_rpc_error(error, state)
    print_table(f"Core-data case decided by {state}", [case_row(decided)], as_json)
