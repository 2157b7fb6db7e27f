"""`prum bench`: load tests with Locust against a federation of server processes on loopback.

The work is in prum.loadtests.load_bench (federation, data, preflight, Locust as subprocesses, figures);
this module parses the options, shows progress and prints the table. Locust is never imported here.
"""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from prum.federation.cli.common import progress_bar, steps
from rich.console import Console
from rich.table import Table

bench_app = typer.Typer(help="Benchmarks of the running stack: Locust load tests.", no_args_is_help=True)


def _parsed(parse: Any, text: str, option: str) -> Any:
    try:
        return parse(text)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint=option) from error


@bench_app.command("load")
def load_command(
    duration: Annotated[str, typer.Option(help="How long each Locust run lasts after its users are spawned: "
                                               "30s, 2m, 1h or seconds.")] = "30s",
    users: Annotated[int, typer.Option(min=1, max=1000, help="Simulated users per run (each with its own mTLS "
                                                             "channel); with workers, spread over them.")] = 8,
    workers: Annotated[str, typer.Option(help="0: one local Locust process; N: a Locust master and N workers on "
                                              "this machine, as on Kubernetes; 1,2: every run with each.")] = "0",
    types: Annotated[str, typer.Option(help="Query types, each in an isolated run: bare (a bare grpcio echo "
                                            "server the bench starts: the ceiling every ratio is taken against), "
                                            "echo (the full stack's), dna, vehicle, afis, fanout, face, "
                                            "police_record (EPRIS).")]
    = "bare,echo,dna,vehicle,afis,fanout,face,police_record",
    isolated: Annotated[bool, typer.Option(help="One run per query type.")] = True,
    mixed: Annotated[bool, typer.Option(help="One run with every type at its weight (see --weights).")] = False,
    weights: Annotated[str, typer.Option(help="Weights of the mixed run: TYPE=INTEGER, comma-separated.")]
    = "bare=1,echo=1,dna=1,vehicle=1,afis=1,fanout=1,face=1,police_record=1",
    think: Annotated[str, typer.Option(help="Think time between a user's calls in seconds: '0', '0.5-1.5', or a "
                                            "default and per-type values, '0,afis=1'.")] = "0,afis=1",
    hit_rate: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of queries planted to hit.")] = 0.5,
    profiles: Annotated[int, typer.Option(min=1, help="DNA profiles in the target's (NL) file.")] = 20_000,
    vehicles: Annotated[int, typer.Option(min=1, help="Vehicles in the target's register.")] = 20_000,
    fingerprints: Annotated[int, typer.Option(min=1, help="Fingerprint templates in the target's AFIS.")] = 500,
    faces: Annotated[int, typer.Option(min=1, help="Face templates in the target's facial-image file.")] = 2_000,
    police_records: Annotated[int, typer.Option(min=1, help="Records in the target's police-record index "
                                                           "(EPRIS).")] = 20_000,
    peer_profiles: Annotated[int, typer.Option(min=1, help="DNA profiles in each other peer's file.")] = 1_000,
    queries: Annotated[int, typer.Option(min=10, help="Distinct queries per type (AFIS: at most 200).")] = 1_000,
    states: Annotated[int, typer.Option(min=2, max=27, help="States of the federation started: DE asks, NL is "
                                                            "the target, the fan-out reaches STATES - 1.")] = 6,
    deadline: Annotated[float, typer.Option(min=0.1, help="gRPC deadline of every call, seconds.")] = 5.0,
    seed: Annotated[int, typer.Option(help="Seed of the synthetic data.")] = 2008,
    attach: Annotated[Path | None, typer.Option(help="A running federation's folder (`prum up --workdir`) to "
                                                        "load and test instead of starting one; left running.")]
    = None,
    trace_sample: Annotated[float, typer.Option(min=0.0, max=1.0, help="Share of traces the started federation "
                                                "records ([federation] trace_sample_ratio). With --attach it "
                                                "cannot change: the running federation keeps its own.")] = 0.01,
    core_seconds: Annotated[float, typer.Option(min=0.0, help="CPU seconds of each in-process loop of the "
                                                "matching cores (DNA search, vehicle lookup); 0: none.")] = 2.0,
    out: Annotated[Path, typer.Option(help="Where each run's CSV, HTML report, summary and report.json go "
                                           "(a new dated folder inside).")] = Path("prum-load"),
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as one JSON object for programs.")]
    = False,
) -> None:
    """Load-test the federation with Locust, headless and bounded: throughput and latency per query type.

    Starts the states as processes on loopback (or attaches to a running federation), loads synthetic files
    through the Ingest RPCs and checks a few replies. Then Locust runs once per query type for DURATION.

    The table: requests/s, p50/p95/p99, failures, the ratios to bare (a bare grpcio echo server in its own
    process, the framework's ceiling) and to the full stack's echo of the same run, calls in flight, and
    the share of the cores Locust itself took. Below it, the matching cores' own rates measured in-process
    (searches and lookups per second per core), so the table shows where the time goes. CSV and HTML reports go to --out. Exit code 1 when a call
    failed or the figures do not check out.

    Examples:
      [bold]prum bench load --duration 30s[/bold]
      [bold]prum bench load --duration 30s --workers 1,2 --users 16 --profiles 1000000 --vehicles 1000000[/bold]
      [bold]prum bench load --types echo,dna --mixed --weights echo=1,dna=3 --think 0 --json > load.json[/bold]
      [bold]prum up --workdir ./run1 && prum bench load --attach ./run1 --duration 10s[/bold]
    """
    from prum.loadtests.load_bench import BenchError, BenchOptions, run_bench
    from prum.loadtests.load_data import DataSpec
    from prum.loadtests.load_plan import (
        parse_duration,
        parse_think,
        parse_types,
        parse_weights,
        parse_workers,
    )

    seconds = _parsed(parse_duration, duration, "--duration")
    worker_counts = _parsed(parse_workers, workers, "--workers")
    chosen = _parsed(parse_types, types, "--types")
    mix = _parsed(parse_weights, weights, "--weights")
    _parsed(parse_think, think, "--think")
    if not (isolated or mixed):
        raise typer.BadParameter("nothing to run: keep --isolated, add --mixed, or both", param_hint="--no-isolated")
    if mixed and not any(mix.get(key, 0) > 0 for key in chosen):
        raise typer.BadParameter(f"the mixed run needs a weight above 0 for one of {', '.join(chosen)}",
                                 param_hint="--weights")
    if attach is not None and not (attach / "run.json").is_file():
        raise typer.BadParameter(f"{attach} has no run.json: give the --workdir of `prum up`", param_hint="--attach")
    options = BenchOptions(
        duration_s=seconds, users=users, workers=worker_counts, types=chosen, isolated=isolated, mixed=mixed,
        weights={key: mix.get(key, 0) for key in chosen}, think=think, deadline_s=deadline,
        data=DataSpec(profiles=profiles, vehicles=vehicles, fingerprints=fingerprints, faces=faces,
                      police_records=police_records,
                      peer_profiles=peer_profiles,
                      queries=queries, hit_rate=hit_rate, seed=seed),
        states=states, attach=attach, out=out, trace_sample=trace_sample, core_seconds=core_seconds)
    console = Console(stderr=True)
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops the federation too, like Ctrl-C
    try:
        with progress_bar(console) as bar:
            report = run_bench(options, steps(bar))
    except BenchError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    finally:
        signal.signal(signal.SIGTERM, previous)
    if as_json:
        sys.stdout.write(json.dumps(report, indent=2, default=str) + "\n")
    else:
        render_report(report, Console(width=None if sys.stdout.isatty() else 132))  # a file gets whole columns
    raise typer.Exit(0 if report["ok"] else 1)


def _interrupt(*_: Any) -> None:
    raise KeyboardInterrupt


def _ms(value: Any) -> str:
    return "-" if value is None else f"{value:g}"


def _table(title: str, mode: str, runs: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("type", "users", "req/s", "p50", "p95", "p99 ms", "fails", "×bare", "×echo", "in flight",
                   "Locust CPU", "servers CPU"):
        table.add_column(column, justify="left" if column == "type" else "right")
    for run in runs:
        flight = run.get("in_flight", {})
        for i, row in enumerate(run.get("rows", [])):
            first = i == 0
            in_flight = (f"{flight.get('mean', 0):.1f}/{flight.get('peak', 0)}" if mode == "isolated"
                         else f"≈{row['in_flight_little']:.1f}")
            shares = [f"{run['cpu'][key]:.0%}" if first and run["cpu"].get(key) is not None else ""
                      for key in ("locust_share", "servers_share")]
            ratios = ["-" if row.get(key) is None else f"{row[key]:.2f}" for key in ("ratio_to_bare", "ratio_to_echo")]
            table.add_row(row["type"], str(row.get("users") or "-"), f"{row['rps']:,.1f}", _ms(row["p50"]),
                          _ms(row["p95"]), _ms(row["p99"]), str(row["failures"]), *ratios, in_flight, *shares)
    return table


def render_report(report: dict[str, Any], console: Console) -> None:
    options = report["options"]
    data = report.get("data", {})
    spec = data.get("spec", {})
    runs = report["runs"]
    cores = runs[0]["cpu"].get("cores", "?") if runs else "?"
    for workers in options["workers"]:
        locust = f"master + {workers} worker{'s' if workers > 1 else ''}" if workers else "1 local process"
        for mode in ("isolated", "mixed"):
            chosen = [run for run in runs if run["mode"] == mode and run["workers"] == workers]
            if chosen:
                title = (f"Locust, {mode} run{'s' if mode == 'isolated' else ''}: {options['duration_s']} s, "
                         f"{options['users']} users, {locust}, {cores} cores; NL holds {spec.get('profiles', 0):,} "
                         f"profiles, {spec.get('vehicles', 0):,} vehicles, {spec.get('fingerprints', 0):,} "
                         "fingerprints")
                console.print(_table(title, mode, chosen))
    loaded = [f"{key} {data[key]['seconds']} s" for key in ("dna", "vehicles", "fingerprints", "police_records")
              if key in data]
    peers = report.get("fanout_peers", [])
    console.print(f"in flight: mean/peak calls measured by the users' gauges (mixed: ≈ req/s × mean latency). "
                  f"CPU: share of all {cores} cores over each run's window. Fan-out from DE to {len(peers)} "
                  f"states ({', '.join(peers)}). Loading: {', '.join(loaded)}.")
    core = report.get("core", {})
    if core:
        parts = []
        if "dna" in core:
            dna = core["dna"]
            parts.append(f"DNA index search {dna['per_s_per_core']:,.0f}/s ({dna['cpu_us_per_call']:g} µs) on "
                         f"{dna['profiles']:,} profiles")
        if "vehicle" in core:
            vehicle = core["vehicle"]
            parts.append(f"vehicle register lookup {vehicle['per_s_per_core']:,.0f}/s ({vehicle['cpu_us_per_call']:g} "
                         f"µs) on {vehicle['vehicles']:,} vehicles")
        console.print("Matching cores in-process, one core, CPU time, same queries: " + "; ".join(parts) + ".")
    federation = report.get("federation", {})
    bare = report.get("bare")
    console.print(f"×bare: over a bare grpcio echo server (insecure, no interceptors, "
                  f"{bare['threads'] if bare else 16} threads) started by the bench, same client, same run. "
                  f"Tracing sampled at {federation.get('trace_sample_ratio', '?')}"
                  f"{' (the attached federation’s own)' if federation.get('attached') else ''}.")
    console.print(f"CSV, HTML reports and report.json: {report['folder']}")
    for run in report["runs"]:
        for warning in run.get("warnings", []):
            console.print(f"[yellow]{warning}[/yellow]")
    for check in report["checks"]:
        console.print(f"[red]{check}[/red]")
