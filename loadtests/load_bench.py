"""`prum bench load` without the command line: federation, data, preflight, Locust runs, figures (no Locust here).

  1. a federation of separate server processes on loopback (`prum up`'s machinery, in a temporary
     folder removed afterwards), or an attached one (`--attach RUN_DIR`, left running);
  2. the synthetic files loaded through the states' Ingest RPCs and the query mixes written (load_data);
  3. a preflight: a few calls of each query type, checked as the Locust users check them, before any load;
  4. Locust headless as subprocesses (load_runner): one isolated run per query type, bare first (a bare
     grpcio echo server this starts in its own process, bare_server: the framework's ceiling), then
     echo (the ceiling of the full stack), and optionally a mixed run with every type at its weight;
  5. the figures of each run from Locust's final summary, checked against its CSV (load_results),
     with each type's ratio to bare and to echo, the calls in flight and the CPU share Locust took;
  6. the matching cores' own rates, in this process on one core (core_rate): DNA searches and vehicle
     lookups per second over the same queries, beside the served rates.
The federation this started starts with tracing sampled at `trace_sample` (0.01: a load run measures the
core, not the span exporter). It and the bare server are stopped on every path out, also on an error or
Ctrl-C.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from prum.loadtests.bare_server import SERVER_THREADS, bare_server
from prum.loadtests.core_rate import BUDGET_S, core_rates
from prum.loadtests.load_checks import QUERY_TYPES
from prum.loadtests.load_data import DataSpec, Target, load_data, preflight, read_queries, write_queries
from prum.loadtests.load_plan import DEFAULT_THINK, Plan, parse_think
from prum.loadtests.load_results import add_ratios, run_rows
from prum.loadtests.load_runner import PINNED_THREADS, run_locust

Progress = Callable[[str, int, int], None]
REQUESTER = "DE"
TARGET = "NL"
START_TIMEOUT_S = 180.0  # six servers starting at once on a busy 2-core machine


class BenchError(RuntimeError):
    """The bench cannot run or its figures cannot be trusted; the message says why and where to look."""


@dataclass
class BenchOptions:
    duration_s: int = 30
    users: int = 8                      # per run; with workers, spread over them
    spawn_rate: float = 0.0             # users started per second; 0: all within a second
    workers: tuple[int, ...] = (0,)     # per set of runs: 0, one local Locust process; N, a master and N workers
    types: tuple[str, ...] = tuple(QUERY_TYPES)
    isolated: bool = True               # one run per query type
    mixed: bool = False                 # one run with every type at its weight
    weights: dict[str, int] = field(default_factory=lambda: {key: 1 for key in QUERY_TYPES})
    think: str = DEFAULT_THINK
    deadline_s: float = 5.0
    data: DataSpec = field(default_factory=DataSpec)
    states: int = 6                     # the requester and its peers: the fan-out reaches states - 1
    attach: Path | None = None
    out: Path = Path("prum-load")
    trace_sample: float = 0.01          # the started federation's trace_sample_ratio; an attached one keeps its own
    core_seconds: float = BUDGET_S      # CPU seconds of each in-process core loop; 0: none


def is_loopback(address: str) -> bool:
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bench_federation(states: int, fanout_deadline_ms: int, trace_sample: float = 0.01) -> Any:
    """The requester DE, the target NL and further EU states up to `states`: all ready, AFIS quotas that a
    load test does not spend, no synthetic files of their own (load_data brings them), `trace_sample` of the
    traces recorded."""
    from prum.federation.runtime.topology import EU_MEMBER_STATES, parse_federation

    codes = [REQUESTER, TARGET, *(c for c in EU_MEMBER_STATES if c not in (REQUESTER, TARGET))][:states]
    return parse_federation({
        "federation": {"name": "prum-bench-load", "deadline_ms": fanout_deadline_ms,
                       "trace_sample_ratio": trace_sample},
        "defaults": {"dna_profiles": 0, "vehicles": 0, "fingerprints": 0, "police_records": 0, "epris": True,
                     "afis": {"person_searches_per_day": 100_000_000, "trace_searches_per_day": 100_000_000,
                              "max_candidates": 10}},
        "state": [{"code": code, "name": EU_MEMBER_STATES[code]} for code in codes]}, source="prum bench load")


@contextmanager
def federation_for(options: BenchOptions, progress: Progress) -> Iterator[tuple[dict[str, Any], Path]]:
    """(run.json, its folder): a new federation stopped and removed on the way out, or the attached one."""
    from prum.federation.runtime.processes import down, read_run, status, up

    if options.attach is not None:
        try:
            run = read_run(options.attach)
        except FileNotFoundError as error:
            raise BenchError(str(error)) from error
        strangers = [f"{c} {e['address']}" for c, e in run["states"].items() if not is_loopback(e["address"])]
        if strangers:
            raise BenchError(f"the load test sends traffic to this machine only (127.0.0.0/8, ::1); "
                             f"{options.attach} has states elsewhere: {', '.join(strangers)}")
        down_states = [r["state"] for r in status(options.attach) if r["health"] != "SERVING"]
        if down_states:
            raise BenchError(f"states {', '.join(down_states)} of {options.attach} are not serving "
                             f"(`prum status --workdir {options.attach}`)")
        yield run, options.attach
        return
    workdir = Path(tempfile.mkdtemp(prefix="prum-bench-federation-"))
    try:
        try:
            federation = bench_federation(options.states, 3000, options.trace_sample)
            run = up(federation, workdir, timeout_s=START_TIMEOUT_S, progress=progress)
        except (RuntimeError, TimeoutError) as error:
            raise BenchError(f"the federation did not start: {error}") from error
        yield run, workdir
    finally:
        # Stop every state we started, whatever happened; a second Ctrl-C must not cut this short.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            if (workdir / "run.json").exists():
                down(workdir)
        finally:
            signal.signal(signal.SIGINT, previous)
            shutil.rmtree(workdir, ignore_errors=True)


def _channels(run: dict[str, Any], workdir: Path, as_state: str | None = None) -> dict[str, Any]:
    from prum.services.common.server import open_channel
    from prum.services.common.tls import TlsMaterial

    return {code: open_channel(entry["address"], TlsMaterial.load(workdir / "pki", as_state or code))
            for code, entry in run["states"].items()}


def _target(run: dict[str, Any]) -> Target:
    """DE asks NL; the fan-out goes to every other state the federation declares ready for DNA."""
    states = {s["code"]: s for s in run["federation"]["state"]}
    for code in (REQUESTER, TARGET):
        if code not in states or "DNA" not in states[code].get("ready", []):
            raise BenchError(f"the load test asks from {REQUESTER} to {TARGET}, both ready for DNA; this "
                             f"federation has {', '.join(states)}")
    authorised = [o["id"] for o in states[REQUESTER].get("officer", []) if o.get("authorised", True)]
    if len(authorised) < 2:
        raise BenchError(f"{REQUESTER} needs two authorised officers (officer and ordering officer)")
    peers = tuple(c for c in run["states"] if c != REQUESTER and "DNA" in states[c].get("ready", []))
    return Target(REQUESTER, TARGET, peers, authorised[0], authorised[1],
                  fanout_deadline_ms=int(run["federation"]["federation"].get("deadline_ms", 3000)))


def _load(options: BenchOptions, run: dict[str, Any], workdir: Path, target: Target, queries_path: Path,
          progress: Progress) -> dict[str, Any]:
    """Load the files and write the queries; an attached federation keeps them for the next run, in
    RUN_DIR/bench-load/ (its stores refuse a reference twice, so the same data is loaded once)."""
    kept = workdir / "bench-load"
    if options.attach is not None and (kept / "data.json").exists():
        loaded = json.loads((kept / "data.json").read_text("utf-8"))
        wanted = json.loads(json.dumps({"spec": asdict(options.data), "target": asdict(target)}))
        if {key: loaded[key] for key in wanted} != wanted:
            raise BenchError(f"{workdir} already holds load-test data of other sizes or states "
                             f"({loaded['spec']}): pass the same sizes, or start the federation anew")
        shutil.copyfile(kept / "queries.json", queries_path)
        return {**loaded, "reused_from": str(kept)}
    channels = _channels(run, workdir)
    try:
        loaded, queries = load_data(options.data, target, channels, progress)
    except grpc.RpcError as error:
        raise BenchError(f"loading the synthetic files failed: {error.code().name}: {error.details()}") from error
    finally:
        for channel in channels.values():
            channel.close()
    write_queries(queries_path, target, queries)
    if options.attach is not None:
        kept.mkdir(exist_ok=True)
        shutil.copyfile(queries_path, kept / "queries.json")
        (kept / "data.json").write_text(json.dumps(loaded, indent=2), "utf-8")
    return loaded


def _preflight(run: dict[str, Any], workdir: Path, queries_path: Path, types: tuple[str, ...],
               bare_address: str = "") -> dict[str, Any]:
    as_requester = _channels(run, workdir, as_state=REQUESTER)
    bare = grpc.insecure_channel(bare_address) if bare_address else None
    try:
        channels = {"target": as_requester[TARGET], "ncp": as_requester[REQUESTER], **({"bare": bare} if bare else {})}
        report = preflight(channels, read_queries(queries_path), types)
    finally:
        for channel in [*as_requester.values(), *([bare] if bare else [])]:
            channel.close()
    wrong = {key: row["errors"][:3] + row["problems"][:3] for key, row in report.items()
             if row["errors"] or row["problems"]}
    if wrong:
        raise BenchError("preflight: replies are wrong before any load: "
                         + "; ".join(f"{key}: {', '.join(found)}" for key, found in wrong.items()))
    return report


@dataclass(frozen=True)
class RunPlan:
    name: str                # its folder under runs/
    mode: str                # "isolated" or "mixed"
    workers: int
    weights: dict[str, int]


def plan_runs(options: BenchOptions) -> list[RunPlan]:
    """Each Locust run: bare first, echo, each type alone, then the mix if asked; all again for each worker count."""
    wanted = [key for key in QUERY_TYPES if key in options.types]
    mix = {key: weight for key, weight in options.weights.items() if weight > 0 and key in wanted}
    if options.mixed and not mix:
        raise BenchError("the mixed run needs a weight above 0 for at least one of " + ", ".join(wanted))
    runs = []
    for workers in options.workers:
        suffix = f"-w{workers}" if len(options.workers) > 1 else ""
        if options.isolated:
            runs += [RunPlan(key + suffix, "isolated", workers, {key: 1}) for key in wanted]
        if options.mixed:
            runs.append(RunPlan("mixed" + suffix, "mixed", workers, mix))
    if not runs:
        raise BenchError("nothing to run: ask for isolated runs, a mixed run, or both")
    return runs


def _cpu_row(run: Any) -> dict[str, Any]:
    return {key: run.cpu.get(key) for key in ("window_s", "cores", "locust_cpu_s", "locust_share", "servers_cpu_s",
                                             "servers_share", "per_process_s", "per_server_s")}


def run_bench(options: BenchOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Everything above; returns the report (also written to `<out>/<stamp>/report.json`)."""
    progress = progress or (lambda step, done, total: None)
    think = parse_think(options.think)
    runs = plan_runs(options)
    folder = options.out.resolve() / time.strftime("%Y%m%d-%H%M%S")  # absolute: Locust runs inside it
    folder.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"folder": str(folder), "options": _options_json(options), "runs": [], "checks": []}
    with ExitStack() as stack:
        run, workdir = stack.enter_context(federation_for(options, progress))
        report["federation"] = {"attached": options.attach is not None, "states": {
            c: {"address": e["address"], "pid": e.get("pid")} for c, e in run["states"].items()},
            "trace_sample_ratio": (options.trace_sample if options.attach is None
                                   else run["federation"]["federation"].get("trace_sample_ratio", 1.0))}
        bare_address = ""
        server_pids = {c: e["pid"] for c, e in run["states"].items() if e.get("pid")}
        if any("bare" in r.weights for r in runs):
            progress("bare echo server", 0, 1)
            try:
                bare = stack.enter_context(bare_server(env=PINNED_THREADS))
            except RuntimeError as error:
                raise BenchError(str(error)) from error
            progress("bare echo server", 1, 1)
            bare_address = bare.address
            server_pids["bare"] = bare.pid
            report["bare"] = {"address": bare.address, "pid": bare.pid, "threads": SERVER_THREADS}
        target = _target(run)
        report["fanout_peers"] = list(target.peers)
        queries_path = folder / "queries.json"
        report["data"] = _load(options, run, workdir, target, queries_path, progress)
        report["preflight"] = _preflight(run, workdir, queries_path,
                                         tuple(dict.fromkeys(key for r in runs for key in r.weights)), bare_address)
        addresses = {c: e["address"] for c, e in run["states"].items()}
        for planned in runs:
            run_folder = folder / "runs" / planned.name
            run_folder.mkdir(parents=True, exist_ok=True)
            plan = Plan(pki=str((workdir / "pki").resolve()), requester=REQUESTER, target=TARGET,
                        addresses=addresses, queries=str(queries_path.resolve()), out=str(run_folder.resolve()),
                        weights={key: planned.weights.get(key, 0) for key in QUERY_TYPES}, think=options.think,
                        deadline_s=options.deadline_s, fanout_deadline_ms=target.fanout_deadline_ms,
                        bare=bare_address)
            plan_path = run_folder / "plan.json"
            plan.write(plan_path)
            classes = [QUERY_TYPES[key].user_class for key in planned.weights]
            users = max(options.users, len(classes), planned.workers)

            def locust_progress(done: int, total: int, name: str = planned.name) -> None:
                progress(f"Locust: {name}", done, total)

            locust = run_locust(run_folder, plan_path, classes, users, options.spawn_rate or users,
                                options.duration_s, planned.workers, server_pids, progress=locust_progress)
            report["runs"].append(_figures(planned, locust, think, report["checks"]))
    # The cores alone, once the servers are stopped (or idle, attached): they do not share the CPU with them.
    if options.core_seconds > 0:
        served = tuple(dict.fromkeys(key for r in runs for key in r.weights))
        progress("matching cores in-process", 0, 1)
        spec = DataSpec(**report["data"]["spec"]) if "spec" in report["data"] else options.data
        report["core"] = core_rates(spec, TARGET, read_queries(queries_path), served, options.core_seconds)
        progress("matching cores in-process", 1, 1)
    for workers in options.workers:  # isolated: each type over bare (and echo) alone, the same Locust processes
        add_ratios([row for r in report["runs"] if r["mode"] == "isolated" and r["workers"] == workers
                    for row in r["rows"]], "isolated")
    for entry in report["runs"]:
        if entry["mode"] == "mixed":
            add_ratios(entry["rows"], "mixed")
    report["ok"] = not report["checks"]
    (folder / "report.json").write_text(json.dumps(report, indent=2, default=str), "utf-8")
    return report


def _figures(planned: RunPlan, locust: Any, think: dict[str, tuple[float, float]], checks: list[str]
             ) -> dict[str, Any]:
    name = planned.name
    entry: dict[str, Any] = {"name": name, "mode": planned.mode, "folder": str(locust.folder), "users": locust.users,
                             "workers": locust.workers, "exit_codes": locust.exit_codes, "killed": locust.killed,
                             "cpu": _cpu_row(locust), "commands": locust.commands}
    if locust.killed:
        checks.append(f"{name}: Locust did not stop by itself; killed {locust.duration_s}s + grace after start")
    summary = locust.folder / "summary.json"
    if not summary.exists():
        checks.append(f"{name}: Locust wrote no summary; see {locust.folder}/*.log")
        entry["rows"] = []
        return entry
    figures = run_rows(locust.folder, planned.mode, locust.users, think)
    entry.update(figures)
    failed = sum(row["failures"] for row in figures["rows"])
    if failed:
        kinds = sorted({f"{f['Name']}: {f['Error']}" for f in figures["failures"]})[:5]
        checks.append(f"{name}: {failed} failed calls ({'; '.join(kinds)})")
    if not figures["rows"]:
        checks.append(f"{name}: no calls were made; see {locust.folder}/*.log")
    check = figures["csv_check"]
    if not check["agrees"]:
        checks.append(f"{name}: the CSV disagrees with the final summary: {check['differences']}")
    if check["rps_gaps"]:
        entry["warnings"] = [(f"{name}: requests/s in the CSV and the final summary differ by more than the "
                              f"tolerance (machine busy?): {check['rps_gaps']}")]
    return entry


def _options_json(options: BenchOptions) -> dict[str, Any]:
    data = asdict(replace(options, attach=None, out=Path(".")))
    data["attach"] = str(options.attach) if options.attach else None
    data["out"] = str(options.out)
    return data
