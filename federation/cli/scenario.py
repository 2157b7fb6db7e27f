"""`prum scenario run FILE`: a federation, its data, faults and expectations from a scenario file (TOML), with a
rich table, `--json`, JUnit XML and an HTML report; exit code 1 when an expectation fails."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer
from prum.federation.cli.common import print_table
from rich.console import Console
from rich.markup import escape

scenario_app = typer.Typer(no_args_is_help=True, rich_markup_mode="rich")


@scenario_app.command("run")
def run(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The scenario file (TOML).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object.")] = False,
    junit: Annotated[Path | None, typer.Option("--junit", dir_okay=False,
                                               help="Write JUnit XML here: one testcase per step.")] = None,
    html: Annotated[Path | None, typer.Option("--html", dir_okay=False,
                                              help="Write an HTML report here: a timeline of steps and faults.")] = None,
    workdir: Annotated[Path | None, typer.Option(
        "--workdir", "-w", help="Where the federation's stores, certificates and logs go (default: a temporary "
        "folder, removed afterwards).")] = None,
) -> None:
    """Run a scenario: start its federation in this process (loopback, mutual TLS), load its synthetic files, run
    its steps in order (searches with the expected result per state, faults, the supervisors' workflow, checks on
    the logs) and report each step. Exit code 1 when an expectation fails; the report says, per state, what was
    expected and what came.

    Examples:
      [bold]prum scenario run scenarios/partition.toml[/bold]
      [bold]prum scenario run scenarios/slow_peer.toml --junit report.xml --html report.html[/bold]
    """
    from prum.federation.scenario.report import html_report, junit_xml, table_rows
    from prum.federation.scenario.runner import run_scenario
    from prum.federation.scenario.spec import ScenarioFileError, load_scenario

    try:
        scenario = load_scenario(file)
    except ScenarioFileError as error:
        raise typer.BadParameter(str(error)) from error
    from prum.services.common.logs import configure_logging

    console = Console(stderr=True)
    with tempfile.TemporaryDirectory(prefix="prum-scenario-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        # The services' own log lines go to a file in the workdir, so stdout holds the report alone.
        log_file = (folder / "prum.log").open("w", encoding="utf-8")
        configure_logging("INFO", stream=log_file, json=True)
        try:
            with console.status(f"scenario {scenario.name}") as status:
                report = run_scenario(scenario, folder, lambda text: status.update(escape(text)))
        finally:
            # The process's own stderr: under a CLI runner sys.stderr is a stream closed after the command.
            configure_logging("WARNING", stream=sys.__stderr__)
            log_file.close()
    if junit:
        junit.write_text(junit_xml(report), "utf-8")
    if html:
        html.write_text(html_report(report), "utf-8")
    if as_json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        rows = [{k: (f"[{'green' if v == 'pass' else 'red'}]{v}[/]" if k == "result" else escape(v))
                 for k, v in row.items()} for row in table_rows(report)]
        print_table(f"Scenario {scenario.name} ({scenario.source})", rows, False)
        verdict = "[green]passed[/]" if report.ok else f"[red]FAILED[/]: {sum(not s.ok for s in report.steps)} step(s)"
        Console().print(f"{verdict} in {report.elapsed_s:.1f} s")
    raise typer.Exit(0 if report.ok else 1)
