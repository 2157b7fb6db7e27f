"""`prum dna`: the national DNA file from the command line: import a lab's CSV export, benchmark the index.

`dna_app` is a typer app registered in `prum.federation.cli.app` as `prum dna`; the benchmark engine
(`run_benchmark`) is also what `bench/dna_bench.py` runs.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from prum.federation.cli.common import progress_bar
from prum.federation.synthetic.dna import (
    DEFAULT_QUERY_MIX,
    ProfileBatch,
    build_index,
    query_mix,
    synthetic_file,
)
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.dna.block_index import BlockIndex
from prum.services.dna.file import DnaFile
from prum.services.dna.lab_export import LAYOUTS, import_lab_file, read_lab_csv
from rich.console import Console
from rich.table import Table

dna_app = typer.Typer(
    name="dna",
    help="The national DNA file: import a laboratory's CSV export, benchmark the exact index.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
)

HIT_RECIPES = ("duplicate", "trace", "wildcard", "microvariant")
NEAR_RECIPES = ("near",)
NO_HIT_RECIPES = ("person", "stain")


@dna_app.command("import")
def import_command(
    csv_file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The lab's CSV export.")],
    store: Annotated[Path, typer.Option("--store", help="The DNA file (SQLite database), created if missing.")],
    kind: Annotated[str | None, typer.Option(
        "--kind", help="Kind of every row when the file has no kind column: person or trace.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")] = False,
) -> None:
    """Load a laboratory's CSV export into a DNA file; report accepted and rejected rows (line and reason).

    Layouts: one cell per locus ([italic]reference,kind,D3S1358,vWA,...[/italic] with cells like 15,16 or
    15/16 or 15 16), two columns per locus ([italic]D3S1358_1,D3S1358_2[/italic]), or one row per locus
    ([italic]Sample Name,Marker,Allele 1,Allele 2[/italic]). Other columns (names, dates) are ignored
    and listed. Exit code 0 when every row was stored, 1 when some were rejected (the others are
    stored), 2 when the file cannot be read.

    Example: [bold]prum dna import lab-export.csv --store ./nl/dna.db[/bold]
    """
    console = Console(stderr=as_json)
    try:
        parsed = read_lab_csv(csv_file, default_kind=kind)
    except InvalidInput as error:
        console.print(f"[red]{csv_file}: {error}[/red]", soft_wrap=True)
        raise typer.Exit(2) from error
    with DnaFile(store) as file, progress_bar(console) as bar:
        task = bar.add_task(f"importing {csv_file.name}", total=len(parsed.rows))
        report = import_lab_file(file, parsed, progress=lambda done, total: bar.update(task, completed=done))
    if as_json:
        typer.echo(json.dumps({"file": str(csv_file), "store": str(store), **report.as_dict()}, indent=2))
    else:
        console.print(f"{csv_file}: layout [bold]{report.layout}[/bold]; accepted [green]{report.accepted}[/green], "
                      f"rejected [red]{len(report.rejected)}[/red]", soft_wrap=True)
        if report.ignored_columns:
            console.print(f"ignored columns (not imported): {', '.join(report.ignored_columns)}", soft_wrap=True)
        if report.rejected:
            table = Table("line", "reference", "reason", title="rejected rows")
            for rejected in report.rejected:
                table.add_row(str(rejected.line), rejected.reference, rejected.reason)
            console.print(table)
    raise typer.Exit(1 if report.rejected else 0)


@dna_app.command("bench")
def bench_command(
    profiles: Annotated[list[int], typer.Option(
        "--profiles", "-n", min=100, help="File size(s) to measure (repeat the option for several).")] = [10_000],  # noqa: B006 (typer reads it, never mutated)
    queries: Annotated[int, typer.Option("--queries", "-q", min=10, help="Art 3 queries per file size.")] = 10_000,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic files and queries.")] = 7,
    scan_queries: Annotated[int | None, typer.Option(
        help="Queries also run through the plain numpy full scan (default: ~2*10^7 / profiles, at least 100).")]
    = None,
    art4: Annotated[int, typer.Option(
        "--art4", help="Unidentified profiles compared in bulk (Art 4) against the largest file; 0: skip.")] = 0,
    startup: Annotated[int, typer.Option(
        "--startup", help="Profiles ingested into a SQLite DNA file to time start-up (snapshot and rebuild); "
                          "0: skip.")] = 0,
    workdir: Annotated[Path | None, typer.Option(help="Where the start-up DNA file goes (default: a temporary "
                                                         "folder, removed after).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object for programs.")] = False,
) -> None:
    """Benchmark the DNA index on synthetic national files: build time, memory per profile, Art 3 search
    latency (p50, p99) over a mix of hits, near matches and no-hits, the same queries through a plain
    numpy full scan (speed-up), Art 4 bulk comparison and start-up time.

    Example: [bold]prum dna bench --profiles 10000 --profiles 100000 --queries 10000 --seed 7 --json[/bold]
    """
    console = Console(stderr=True)
    with progress_bar(console) as bar:
        tasks: dict[str, Any] = {}

        def progress(step: str, done: int, total: int) -> None:
            if step not in tasks:
                tasks[step] = bar.add_task(step, total=total)
            bar.update(tasks[step], completed=done, total=total)

        result = run_benchmark(profiles, queries, seed, scan_queries=scan_queries, art4=art4, startup=startup,
                               workdir=workdir, progress=progress)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        print_benchmark(result, Console())


def _percentiles(values: Sequence[float] | np.ndarray) -> dict[str, float]:
    if not len(values):
        return {"p50_us": float("nan"), "p99_us": float("nan"), "mean_us": float("nan")}
    array = np.asarray(values) * 1e6
    return {"p50_us": round(float(np.percentile(array, 50)), 1), "p99_us": round(float(np.percentile(array, 99)), 1),
            "mean_us": round(float(array.mean()), 1)}


def _rss() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:  # pragma: no cover - not Linux
        pass
    return 0


def _classify(recipe: str) -> str:
    return "hit" if recipe in HIT_RECIPES else "near" if recipe in NEAR_RECIPES else "no-hit"


def run_benchmark(sizes: Sequence[int], queries: int, seed: int, *, scan_queries: int | None = None, art4: int = 0,
                  startup: int = 0, workdir: Path | None = None,
                  progress: Callable[[str, int, int], None] | None = None) -> dict[str, Any]:
    """The measurements behind `prum dna bench`, as one JSON-ready dict (times in seconds or µs)."""
    report = (progress or (lambda step, done, total: None))
    result: dict[str, Any] = {
        "seed": seed, "query_mix": DEFAULT_QUERY_MIX,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "numpy": np.__version__,
                    "load_average_at_start": [round(x, 2) for x in os.getloadavg()]},
        "sizes": [],
    }
    largest: tuple[ProfileBatch, BlockIndex] | None = None
    for n in sorted(sizes):
        rng = np.random.default_rng(seed)
        started = time.perf_counter()
        batch = synthetic_file(rng, n)
        generated = time.perf_counter() - started
        gc.collect()
        rss_before = _rss()
        started = time.perf_counter()
        index = build_index(batch)
        built = time.perf_counter() - started
        rss_growth = _rss() - rss_before
        memory = index.nbytes()
        mix = query_mix(rng, batch, queries)
        normalised = [mix.batch.normalised(i) for i in range(len(mix.batch))]
        index.search(normalised[0])  # warm the score tables and the plan
        times = np.zeros(len(normalised))
        cpu = np.zeros(len(normalised))
        found_source = np.zeros(len(normalised), dtype=bool)
        plan_stats = {"scanned_sets": 0, "queries_with_scan": 0}
        for i, query in enumerate(normalised):
            started, started_cpu = time.perf_counter(), time.thread_time()
            hits = index.search(query)
            times[i] = time.perf_counter() - started
            cpu[i] = time.thread_time() - started_cpu
            source = int(mix.sources[i])
            if source >= 0:
                found_source[i] = any(row == source and match.match_class == mix.expected[i] for row, match in hits)
            if i % 1000 == 0:
                report(f"Art 3 searches, {n:,} profiles", i, len(normalised))
        for i, query in enumerate(normalised[:min(len(normalised), 2000)]):
            explained = index.explain(query)
            plan_stats["scanned_sets"] += explained["scanned_sets"]
            plan_stats["queries_with_scan"] += bool(explained["scanned_sets"])
        recipes = np.array(mix.changes)
        by_recipe = {}
        for recipe in dict.fromkeys(mix.changes):
            chosen = recipes == recipe
            entry = {"queries": int(chosen.sum()), **_percentiles(times[chosen]),
                     "cpu": _percentiles(cpu[chosen])}
            if recipe not in NO_HIT_RECIPES:
                entry["source_found_in_its_class"] = round(float(found_source[chosen].mean()), 4)
            by_recipe[recipe] = entry
        by_outcome = {outcome: {"queries": int(chosen.sum()), **_percentiles(times[chosen])}
                      for outcome in ("hit", "near", "no-hit")
                      if (chosen := np.array([_classify(r) for r in mix.changes]) == outcome).any()}
        k = scan_queries if scan_queries is not None else max(100, 20_000_000 // n)
        k = min(k, len(normalised))
        scan_times = np.zeros(k)
        agree = True
        for i in range(k):
            encoded = index.encode(normalised[i])
            started = time.perf_counter()
            scanned = index.scan_numpy(encoded)
            scan_times[i] = time.perf_counter() - started
            agree = agree and scanned == index.search(normalised[i])
            if i % 10 == 0:
                report(f"numpy full scans, {n:,} profiles", i, k)
        per_profile = {part: round(size / n, 1) for part, size in memory.items()}
        entry = {
            "profiles": n, "generate_s": round(generated, 2), "build_s": round(built, 2),
            "key_entries": index.key_count, "designated_sets": index.designated_sets,
            "bytes": memory, "bytes_per_profile": {**per_profile, "total": round(sum(memory.values()) / n, 1)},
            "rss_growth_per_profile": round(rss_growth / n, 1),
            "search": {"queries": len(normalised), **_percentiles(times), "cpu": _percentiles(cpu),
                       "by_outcome": by_outcome,
                       "by_recipe": by_recipe, "plan_first_2000": plan_stats},
            "scan": {"queries": k, **_percentiles(scan_times), "same_results_as_index": bool(agree)},
            "speedup": {"p50": round(float(np.percentile(scan_times, 50) / np.percentile(times[:k], 50)), 1),
                        "mean": round(float(scan_times.mean() / times[:k].mean()), 1)},
        }
        result["sizes"].append(entry)
        largest = (batch, index)
    if art4 and largest is not None:
        batch, index = largest
        rng = np.random.default_rng(seed + 4)
        comparison = query_mix(rng, batch, art4, {"stain": 0.9, "trace": 0.1})
        workers = max(1, min(2, os.cpu_count() or 1))

        def compare(start: int) -> tuple[int, float]:
            found = 0
            started_cpu = time.thread_time()
            for i in range(start, min(art4, start + 5000)):
                found += bool(index.search(comparison.batch.normalised(i)))
            report(f"Art 4: {art4:,} unidentified vs {len(batch):,}", min(art4, start + 5000), art4)
            return found, time.thread_time() - started_cpu

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(compare, range(0, art4, 5000)))
        total = time.perf_counter() - started
        art4_cpu = sum(seconds for _, seconds in parts)
        result["art4"] = {"unidentified": art4, "profiles": len(batch), "threads": workers,
                          "total_s": round(total, 1), "per_query_us": round(total / art4 * 1e6, 1),
                          "cpu_s": round(art4_cpu, 1), "cpu_per_query_us": round(art4_cpu / art4 * 1e6, 1),
                          "queries_with_hits": sum(found for found, _ in parts)}
    if startup:
        result["startup"] = _startup(startup, seed, workdir, report)
    return result


def _startup(n: int, seed: int, workdir: Path | None, report: Callable[[str, int, int], None]) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="prum-dna-bench-")) if workdir is None else workdir
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "dna.db"
    for leftover in folder.glob("dna.db*"):
        leftover.unlink()
    try:
        batch = synthetic_file(np.random.default_rng(seed), n)
        kinds = [ReferenceKind.UNIDENTIFIED_TRACE if t else ReferenceKind.IDENTIFIED_PERSON for t in batch.traces.tolist()]
        started = time.perf_counter()
        with DnaFile(path, snapshot=True) as file:
            chunk = 100_000
            for start in range(0, n, chunk):
                rows = [(f"BENCH-{i:08d}", kinds[i], batch.normalised(i)) for i in range(start, min(n, start + chunk))]
                file.ingest_many(rows)
                report(f"ingest into SQLite, {n:,} profiles", min(n, start + chunk), n)
            ingested = time.perf_counter() - started
            started = time.perf_counter()
            file.save_snapshot()
            saved = time.perf_counter() - started
        gc.collect()
        started = time.perf_counter()
        with DnaFile(path, snapshot=False) as reopened:
            from_snapshot = time.perf_counter() - started
            how = reopened.loaded_from
        snapshot = Path(str(path) + ".index.npz")
        snapshot_bytes = snapshot.stat().st_size
        snapshot.unlink()
        gc.collect()
        started = time.perf_counter()
        with DnaFile(path, snapshot=False) as rebuilt:
            from_database = time.perf_counter() - started
            how_rebuilt = rebuilt.loaded_from
        return {"profiles": n, "ingest_s": round(ingested, 1), "snapshot_write_s": round(saved, 2),
                "open_from_snapshot_s": round(from_snapshot, 2), "opened_from": how,
                "open_rebuilding_from_database_s": round(from_database, 1), "rebuilt_from": how_rebuilt,
                "database_bytes": path.stat().st_size, "snapshot_bytes": snapshot_bytes}
    finally:
        if workdir is None:
            shutil.rmtree(folder, ignore_errors=True)


def print_benchmark(result: dict[str, Any], console: Console) -> None:
    """The benchmark as tables."""
    console.width = max(console.width, 140)
    table = Table("profiles", "build s", "B/profile\n(index+rows)", "search p50 µs", "search p99 µs",
                  "cpu p50 µs", "cpu p99 µs", "scan p50 µs", "scan n", "speed-up\n(p50)", "same\nresults",
                  title="Art 3 search (one state; wall clock, and the thread's CPU time)")
    for size in result["sizes"]:
        table.add_row(f"{size['profiles']:,}", str(size["build_s"]), str(size["bytes_per_profile"]["total"]),
                      str(size["search"]["p50_us"]), str(size["search"]["p99_us"]),
                      str(size["search"]["cpu"]["p50_us"]), str(size["search"]["cpu"]["p99_us"]),
                      str(size["scan"]["p50_us"]),
                      str(size["scan"]["queries"]), f"{size['speedup']['p50']}x",
                      "yes" if size["scan"]["same_results_as_index"] else "NO")
    console.print(table)
    for size in result["sizes"]:
        detail = Table("queries", "n", "p50 µs", "p99 µs", "cpu p50 µs", "cpu p99 µs", "source found",
                       title=f"by query, {size['profiles']:,} profiles")
        for recipe, entry in size["search"]["by_recipe"].items():
            detail.add_row(recipe, str(entry["queries"]), str(entry["p50_us"]), str(entry["p99_us"]),
                           str(entry["cpu"]["p50_us"]), str(entry["cpu"]["p99_us"]),
                           str(entry.get("source_found_in_its_class", "-")))
        console.print(detail)
    if "art4" in result:
        art4 = result["art4"]
        console.print(f"Art 4: {art4['unidentified']:,} unidentified vs {art4['profiles']:,} profiles in "
                      f"{art4['total_s']} s over {art4['threads']} threads ({art4['per_query_us']} µs a profile; "
                      f"threads' CPU {art4['cpu_s']} s, {art4['cpu_per_query_us']} µs a profile; "
                      f"{art4['queries_with_hits']:,} with hits)")
    if "startup" in result:
        s = result["startup"]
        console.print(f"Start-up, {s['profiles']:,} profiles: ingest {s['ingest_s']} s; snapshot written in "
                      f"{s['snapshot_write_s']} s, open from snapshot {s['open_from_snapshot_s']} s, open rebuilding "
                      f"from the database {s['open_rebuilding_from_database_s']} s")
    console.print(f"machine: {result['machine']}")


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - script entry
    dna_app(args=list(sys.argv[1:] if argv is None else argv), prog_name="dna")


__all__ = ["LAYOUTS", "dna_app", "main", "print_benchmark", "run_benchmark"]
