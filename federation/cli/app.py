"""The `prum` command line: one typer app; each command's help has an example."""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import prum
import typer
from prum.federation.cli.afis import afis_app
from prum.federation.cli.bench import bench_app
from prum.federation.cli.common import (
    Addresses,
    FederationFile,
    WorkDir,
    federation_of,
    print_table,
    progress_bar,
    steps,
)
from prum.federation.cli.conformance import conformance
from prum.federation.cli.core_data import core_data_app
from prum.federation.cli.dna import dna_app
from prum.federation.cli.inspect import logs, readiness
from prum.federation.cli.kube import kube_app
from prum.federation.cli.pki import pki_app
from prum.federation.cli.scenario import scenario_app
from rich.console import Console
from rich.markup import escape

app = typer.Typer(
    name="prum",
    help="Simulate the Prüm federation (2008/615/JHA): member states' DNA files, contact points, protocol "
         "logs and supervisors as gRPC services over mutual TLS.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)


@app.command()
def version() -> None:
    """Print the version.

    Example: [bold]prum version[/bold]
    """
    typer.echo(prum.__version__)


@app.command()
def demo(
    federation_file: FederationFile = None,
    states: Annotated[int | None, typer.Option("--states", "-n", min=2, max=27,
                                                  help="Scale the federation to N states.")] = None,
    topology: Annotated[str | None, typer.Option(
        "--topology", help="mesh (Prüm I: contact points call each other) or router (Prüm II: DNA and fingerprint "
        "searches through the central router); default: the federation file's, mesh. With router the report "
        "ends with mesh and router measured side by side.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")] = False,
    workdir: Annotated[Path | None, typer.Option(help="Where stores, certificates, logs and traces go "
                                                         "(default: a fresh temporary folder).")] = None,
) -> None:
    """Start a federation in this process, load synthetic DNA files, run planted searches, and report.

    Every state runs its DNA index, protocol logger, supervisor and contact point on its own loopback
    port over mutual TLS. Exit code 1 when a check fails.

    Examples:
      [bold]prum demo[/bold]
      [bold]prum demo --states 12 --json > report.json[/bold]
      [bold]prum demo -f my-federation.toml --workdir ./run1[/bold]
      [bold]prum demo --topology router[/bold]
    """
    from prum.federation.demo.report import render
    from prum.federation.demo.run import run_demo
    from prum.services.common.logs import configure_logging

    spec = federation_of(federation_file, states)
    if topology is not None:
        if topology not in ("mesh", "router"):
            raise typer.BadParameter(f"{topology!r}; allowed: mesh, router", param_hint="--topology")
        spec = dataclasses.replace(spec, topology=topology)
    if spec.topology == "router" and not spec.europol.enabled:  # Prüm II's demo has Europol (P2-EUROPOL-1..3)
        spec = dataclasses.replace(spec, europol=dataclasses.replace(spec.europol, enabled=True))
    folder = workdir or Path(tempfile.mkdtemp(prefix="prum-demo-"))
    folder.mkdir(parents=True, exist_ok=True)
    log_file = (folder / "prum.log").open("w", encoding="utf-8")
    configure_logging("INFO", stream=log_file, json=True)
    console = Console(stderr=as_json)
    with progress_bar(console) as bar:
        progress = steps(bar)
        try:
            result = run_demo(spec, folder, progress)
            if spec.topology == "router":
                from prum.federation.demo.topologies import compare

                result.report["topologies"] = []
                for number, each in enumerate(("mesh", "router")):
                    progress("mesh and router compared", number, 2)
                    result.report["topologies"].append(compare(len(spec.codes), each, 10, spec.seed))
                progress("mesh and router compared", 2, 2)
        finally:
            # The log file closes below. The process's own stderr, not sys.stderr: under a CLI runner that is a
            # stream closed after the command, and a later log line of the same process would fail on it.
            configure_logging("WARNING", stream=sys.__stderr__)
            log_file.close()
    if as_json:
        sys.stdout.write(json.dumps(result.report, indent=2) + "\n")
    else:
        render(result.report, console)
    raise typer.Exit(0 if result.ok else 1)


@app.command()
def up(
    federation_file: FederationFile = None,
    workdir: WorkDir = Path("prum-run"),
    states: Annotated[int | None, typer.Option("--states", "-n", min=2, max=27, help="Scale to N states.")] = None,
    load: Annotated[bool, typer.Option(help="Load the synthetic DNA files and vehicle registers.")] = True,
    trace_sample: Annotated[float | None, typer.Option(
        "--trace-sample", min=0.0, max=1.0, help="Share of traces recorded (default: the federation file's "
        "trace_sample_ratio, 1.0 when it names none).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the states as JSON.")] = False,
) -> None:
    """Start a federation as processes on this machine: one per state, on loopback, over mTLS.

    The numba kernels are compiled first, once, in this process (the first start on a machine takes a few
    minutes; later ones load them from numba's cache); each state then binds its own port. On a failure every
    process started is stopped and the state that failed is named, with the end of its node.out.

    Example: [bold]prum up --workdir ./run1 && prum status --workdir ./run1 && prum down --workdir ./run1[/bold]
    """
    import grpc
    from prum.federation.demo.police_records import load_police_records
    from prum.federation.demo.run import load_core_details, load_file, load_persons, load_register
    from prum.federation.runtime.processes import down as stop
    from prum.federation.runtime.processes import up as start
    from prum.federation.synthetic.scenario import build_scenario
    from prum.services.common.server import open_channel
    from prum.services.common.tls import TlsMaterial

    spec = federation_of(federation_file, states)
    if trace_sample is not None:
        spec = dataclasses.replace(spec, trace_sample_ratio=trace_sample)
    console = Console(stderr=True)
    with progress_bar(console) as bar:
        progress = steps(bar)
        try:
            run = start(spec, workdir, progress=progress)
        except (RuntimeError, TimeoutError, OSError) as error:
            console.print(f"[red]prum up failed, every state it started is stopped: {escape(str(error))}[/red]",
                          soft_wrap=True)
            raise typer.Exit(1) from error
        if run.get("kernels_s", 0) >= 5:
            console.print(f"numba kernels compiled in {run['kernels_s']:.0f} s (cached for later starts)")
        loaded = {}
        if load:  # every state serves by now
            scenario = build_scenario(spec)
            code = ""
            try:
                for i, code in enumerate(spec.codes, start=1):
                    if spec.state(code).external:  # its own team loads its files; prum holds no key of it
                        continue
                    tls = TlsMaterial.load(workdir / "pki", code)
                    with open_channel(run["states"][code]["address"], tls) as channel:
                        loaded[code] = (load_file(channel, scenario.files[code]).accepted,
                                        load_register(channel, scenario.registers[code]).accepted)
                        load_persons(channel, scenario.persons[code])
                        load_core_details(channel, scenario.core_details.get(code, []))  # P2-CORE-3
                        if scenario.police_records.get(code):  # a state taking part in EPRIS (P2-EPRIS-1)
                            load_police_records(channel, scenario.police_records[code])
                    progress("national DNA files loaded", i, len(spec.codes))
            except (grpc.RpcError, KeyboardInterrupt) as error:
                stop(workdir)
                why = f"{error.code().name}: {error.details()}" if isinstance(error, grpc.RpcError) else "interrupted"
                console.print(f"[red]prum up failed loading {code}'s files ({escape(why)}); every state is "
                              f"stopped[/red]")
                raise typer.Exit(1) from error
    from prum.federation.runtime.processes import entries

    print_table(f"Federation {spec.name} up in {workdir}", [
        {"state": c, "address": e["address"], "pid": e["pid"], "dna_profiles": loaded.get(c, (0, 0))[0],
         "vehicles": loaded.get(c, (0, 0))[1]}
        for c, e in entries(run).items()], as_json)  # with the router (EU) in the router topology


@app.command()
def status(
    workdir: WorkDir = Path("prum-run"),
    as_state: Annotated[str | None, typer.Option(
        "--as", help="Whose certificate from WORKDIR/pki to present (default: the first state whose key is there).")
    ] = None,
    address: Addresses = None,
    timeout: Annotated[float, typer.Option(min=0.1, max=30.0, help="Seconds each state's health check may "
                                           "take; every state is asked at once.")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the states as JSON.")] = False,
) -> None:
    """Show every state of a federation by its address in WORKDIR/run.json: gRPC health over mTLS (SERVING,
    NOT_SERVING, or UNAVAILABLE / DEADLINE_EXCEEDED for a state that is down or unreachable) and, for a run of
    [bold]prum up[/bold], its local process (pid, running or stopped). All states are asked in parallel, each
    within --timeout. WORKDIR may be the --out folder of [bold]prum kube render[/bold]: its addresses are
    Service names, reachable inside the cluster or, from outside, through port-forwards given by --address.
    Exit code 1 when a state is not SERVING.

    Examples:
      [bold]prum status --workdir ./run1 --json[/bold]
      [bold]prum status --workdir k8s --as NL --address NL=localhost:50052 --address DE=localhost:50053[/bold]
    """
    from prum.federation.runtime.processes import parse_overrides
    from prum.federation.runtime.processes import status as check

    try:
        rows = check(workdir, timeout, as_state, parse_overrides(address))
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    serving = all(row["health"] == "SERVING" for row in rows)
    if not as_json:
        colours = {"SERVING": "green", "running": "green", "stopped": "red"}
        rows = [{k: (f"[{colours.get(str(v), 'yellow' if k == 'health' else 'default')}]{escape(str(v))}[/]"
                     if k in ("health", "process") else v) for k, v in row.items()} for row in rows]
    print_table(f"Federation in {workdir}", rows, as_json)
    raise typer.Exit(0 if serving else 1)


@app.command()
def down(
    workdir: WorkDir = Path("prum-run"),
    state: Annotated[list[str] | None, typer.Option(
        "--state", "-s", help="Stop only this state (repeatable); it keeps its folder and address.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Stop a running federation, or some of its states: SIGTERM (calls in flight finish), SIGKILL after 10 s.

    Example: [bold]prum down --workdir ./run1 --state FR[/bold] (then [bold]prum restart FR --workdir ./run1[/bold])
    """
    from prum.federation.runtime.processes import down as stop

    try:
        rows = stop(workdir, states=state)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    print_table(f"Federation in {workdir}", rows, as_json)


@app.command()
def restart(
    state: Annotated[str, typer.Argument(help="The state to start again, e.g. FR; EU: the Prüm II router.")],
    workdir: WorkDir = Path("prum-run"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the states as JSON.")] = False,
) -> None:
    """Start a stopped or killed state again on its folder and address: its stores reopen (every log entry and
    supervisor record back from SQLite) and it catches up with what the other states changed meanwhile. It
    keeps its port if it is free, else binds a new one that its peers pick up; once this returns, the next
    search through any state's contact point reaches it.

    Example: [bold]kill -9 <FR's pid> && prum restart FR --workdir ./run1[/bold]
    """
    from prum.federation.runtime.processes import entries
    from prum.federation.runtime.processes import restart as start_again

    try:
        run = start_again(workdir, state.upper())
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    except (RuntimeError, TimeoutError, OSError) as error:
        Console(stderr=True).print(f"[red]{escape(str(error))}[/red]", soft_wrap=True)
        raise typer.Exit(1) from error
    print_table(f"Federation in {workdir}", [{"state": c, "address": e["address"], "pid": e["pid"]}
                                             for c, e in entries(run).items()], as_json)


# The sub-apps, registered after the commands above: `prum --help` lists them in this order.
app.command()(logs)
app.command()(readiness)
app.add_typer(dna_app, name="dna", help="The national DNA file: import a lab's CSV export, benchmark the index.")
app.add_typer(core_data_app, name="core-data", help="Core data after a confirmed match (Prüm II Art 47): cases, "
              "decisions.")
app.add_typer(afis_app, name="afis", help="The national fingerprint file: evaluate the 1:N matcher.")
app.add_typer(bench_app, name="bench", help="Load tests with Locust against a federation on loopback.")
app.add_typer(scenario_app, name="scenario", help="Scenario files: a federation, faults and the expected "
              "results per state; JUnit XML and an HTML report.")
app.command("conformance")(conformance)
app.add_typer(pki_app, name="pki", help="The federation CA: certificates for external states.")
app.add_typer(kube_app, name="kube", help="Run the federation on Kubernetes: manifests, PKI and run.json.")


def main() -> None:  # pragma: no cover - console script entry
    app()
