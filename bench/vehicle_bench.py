#!/usr/bin/env python3
"""Vehicle register core: build (generate + ingest) time, index load time, memory per vehicle, and lookup
latency p50 / p99 in microseconds, for the "dict" and the "sqlite" index (prum.services.vehicle.register).

1. Build: `vehicle_records(country, N, seed)` streamed into `VehicleRegister.ingest_many` (SQLite WAL,
   synchronous=FULL, commits every INGEST_CHUNK records). Generation and ingest times are measured apart.
   A sample of keys is kept for the lookups: current plates, past plates at a time inside their period,
   VINs, and misses (valid plates and VINs that are not in the register).
2. Measure, once per index, in a fresh process: open the register (index load time), resident memory
   before and after the open (memory per vehicle = growth / N), then lookups in a shuffled mix, each
   checked against the expected VIN.

    python bench/vehicle_bench.py --vehicles 1000000 --lookups 20000 --out bench/results/vehicle_bench_1M.json

The database is kept in --workdir (default a temporary folder) so a second run with --reuse skips the build.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from prum.federation.synthetic.vehicle import AS_OF, MAKES, make_vin, vehicle_records
from prum.services.common.clock import SimulatedClock
from prum.services.vehicle import VehicleRegister, random_plate
from prum.services.vehicle.register import INGEST_CHUNK

KINDS = ("vin", "plate_now", "plate_past", "miss_plate", "miss_vin")


def rss_bytes() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[index]


class _Timed:
    """Wraps an iterator and adds up the time spent producing its items."""

    def __init__(self, items: Iterable[Any]) -> None:
        self._items = iter(items)
        self.seconds = 0.0
        self.count = 0

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        start = time.perf_counter()
        try:
            item = next(self._items)
        finally:
            self.seconds += time.perf_counter() - start
        self.count += 1
        return item


def build(db: Path, country: str, vehicles: int, seed: int, samples: int) -> dict[str, Any]:
    rng = random.Random(seed)
    keep = samples / max(1, vehicles)
    picked: list[dict[str, Any]] = []

    def sampled(records: Iterable[Any]) -> Iterator[Any]:
        for done, record in enumerate(records, start=1):
            if rng.random() < keep * 1.2:
                picked.append({"vin": record.vehicle.vin,
                               "registrations": [(r.registration_number, r.valid_from.isoformat(),
                                                  None if r.valid_to is None else r.valid_to.isoformat())
                                                 for r in record.registrations]})
            if done % 100_000 == 0:
                print(f"  ingested {done:,} of {vehicles:,}", file=sys.stderr, flush=True)
            yield record

    timed = _Timed(vehicle_records(country, vehicles, seed))
    started = time.perf_counter()
    with VehicleRegister(db, SimulatedClock(AS_OF), country=country, index="sqlite") as register:
        report = register.ingest_many(sampled(timed))
        stats = register.stats()
    total = time.perf_counter() - started
    if report.rejections:
        raise SystemExit(f"the generator produced rejected records: {report.rejections[:3]}")
    size = sum(p.stat().st_size for p in db.parent.iterdir() if p.name.startswith(db.name))
    return {"vehicles": stats.vehicles, "registrations": stats.registrations, "stolen": stats.stolen,
            "deregistered": stats.deregistered, "generate_s": round(timed.seconds, 1),
            "ingest_s": round(total - timed.seconds, 1), "ingest_per_s": round(stats.vehicles / (total - timed.seconds)),
            "ingest_chunk": INGEST_CHUNK, "database_bytes": size, "database_bytes_per_vehicle": round(size / stats.vehicles),
            "samples": picked}


def disk_usage(db: Path, vehicles: int) -> dict[str, float]:
    """Bytes per vehicle of each table and index in the database file (SQLite's dbstat), if available."""
    import sqlite3

    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as connection:
        try:
            rows = connection.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name").fetchall()
        except sqlite3.OperationalError:
            return {}
    names = {"vehicle": "records", "registration": "plate_index", "sqlite_autoindex_vehicle_1": "vin_index"}
    return {names[name]: round(size / vehicles, 1) for name, size in rows if name in names}


def lookup_plan(samples: list[dict[str, Any]], country: str, lookups: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed + 1)
    per_kind = lookups // len(KINDS)
    plan: list[dict[str, Any]] = []
    current = [(s["vin"], r) for s in samples for r in s["registrations"] if r[2] is None]
    past = [(s["vin"], r) for s in samples for r in s["registrations"] if r[2] is not None]
    for _ in range(per_kind):
        vin, r = rng.choice(current)
        plan.append({"kind": "plate_now", "registration_number": r[0], "at": None, "expect": vin})
        vin, r = rng.choice(past)
        plan.append({"kind": "plate_past", "registration_number": r[0], "at": r[1], "expect": vin})
        sample = rng.choice(samples)
        plan.append({"kind": "vin", "vin": sample["vin"], "at": None, "expect": sample["vin"]})
        plan.append({"kind": "miss_plate", "registration_number": random_plate(rng, country), "at": None,
                     "expect": None})
        plan.append({"kind": "miss_vin", "vin": make_vin(rng, MAKES[0], "9Z", 2001, rng.randrange(10**6)), "at": None,
                     "expect": None})
    rng.shuffle(plan)
    return plan


def measure(db: Path, index: str, plan_path: Path, vehicles: int) -> dict[str, Any]:
    from datetime import datetime

    plan = json.loads(plan_path.read_text())
    gc.collect()
    before = rss_bytes()
    started = time.perf_counter()
    register = VehicleRegister(db, SimulatedClock(AS_OF + timedelta(days=1)), index=index)  # type: ignore[arg-type]
    load_s = time.perf_counter() - started
    gc.collect()
    after = rss_bytes()
    latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}
    wrong = 0
    for step in plan[: min(len(plan), 500)]:    # warm the page cache and the statement cache
        register.lookup(vin=step.get("vin"), registration_number=step.get("registration_number"),
                        at=datetime.fromisoformat(step["at"]) if step["at"] else None)
    for step in plan:
        at = datetime.fromisoformat(step["at"]) if step["at"] else None
        vin, plate = step.get("vin"), step.get("registration_number")
        start = time.perf_counter_ns()
        found = register.lookup(vin=vin, registration_number=plate, at=at)
        elapsed = (time.perf_counter_ns() - start) / 1000
        latencies[step["kind"]].append(elapsed)
        got = [r.vehicle.vin for r in found]
        if got != ([step["expect"]] if step["expect"] else []) and not (step["kind"].startswith("miss") and got):
            wrong += 1
    register.close()
    everything = sorted(v for values in latencies.values() for v in values)
    result: dict[str, Any] = {
        "index": index, "load_s": round(load_s, 2), "rss_growth_bytes": after - before,
        "memory_per_vehicle_bytes": round((after - before) / vehicles), "lookups": len(everything),
        "wrong_answers": wrong, "p50_us": round(percentile(everything, 0.5), 1),
        "p99_us": round(percentile(everything, 0.99), 1), "mean_us": round(sum(everything) / len(everything), 1),
        "by_kind": {}}
    for kind, values in latencies.items():
        values.sort()
        result["by_kind"][kind] = {"p50_us": round(percentile(values, 0.5), 1),
                                   "p99_us": round(percentile(values, 0.99), 1), "n": len(values)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--country", default="NL")
    parser.add_argument("--seed", type=int, default=2008)
    parser.add_argument("--lookups", type=int, default=20_000)
    parser.add_argument("--index", nargs="+", default=["dict", "sqlite"], choices=["dict", "sqlite"])
    parser.add_argument("--workdir", type=Path, default=None, help="where the database is kept (default: a temp folder)")
    parser.add_argument("--reuse", action="store_true", help="reuse the database and samples of an earlier run")
    parser.add_argument("--out", type=Path, default=None, help="also write the JSON here")
    parser.add_argument("--measure", nargs=3, metavar=("DB", "INDEX", "PLAN"), help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        db, index, plan = args.measure
        print(json.dumps(measure(Path(db), index, Path(plan), args.vehicles)))
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="prum-vehicle-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / f"{args.country.lower()}-{args.vehicles}.db"
    built_path = workdir / f"{db.name}.build.json"
    if args.reuse and built_path.exists():
        built = json.loads(built_path.read_text())
    else:
        for stale in workdir.glob(f"{db.name}*"):
            stale.unlink()
        print(f"building a register of {args.vehicles:,} vehicles ({args.country}) in {db}", file=sys.stderr)
        built = build(db, args.country, args.vehicles, args.seed, samples=max(2000, args.lookups // 2))
        built_path.write_text(json.dumps(built))
    plan_path = workdir / f"{db.name}.plan.json"
    plan_path.write_text(json.dumps(lookup_plan(built["samples"], args.country, args.lookups, args.seed)))

    results = []
    for index in args.index:
        print(f"measuring the {index} index in a fresh process", file=sys.stderr)
        output = subprocess.run([sys.executable, __file__, "--vehicles", str(built["vehicles"]),
                                 "--measure", str(db), index, str(plan_path)],
                                check=True, capture_output=True, text=True).stdout
        results.append(json.loads(output))

    summary = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "country": args.country, "seed": args.seed,
        "build": {k: v for k, v in built.items() if k != "samples"},
        "disk_bytes_per_vehicle": disk_usage(db, built["vehicles"]),
        "indexes": results,
    }
    b = summary["build"]
    print(f"\nvehicle register, {b['vehicles']:,} vehicles ({args.country}), {b['registrations']:,} registrations; "
          f"generate {b['generate_s']} s, ingest {b['ingest_s']} s ({b['ingest_per_s']:,}/s), "
          f"database {b['database_bytes'] / 2**20:,.0f} MiB ({b['database_bytes_per_vehicle']} B/vehicle)")
    print(f"on disk, bytes per vehicle: {summary['disk_bytes_per_vehicle']}")
    header = f"{'index':<7} {'load s':>7} {'B/vehicle':>10} {'p50 us':>7} {'p99 us':>7} {'mean us':>8}  " + \
             "  ".join(f"{k} p50/p99" for k in KINDS)
    print(header)
    for r in results:
        kinds = "  ".join(f"{r['by_kind'][k]['p50_us']:>6}/{r['by_kind'][k]['p99_us']:<6}".rjust(len(k) + 8)
                          for k in KINDS)
        print(f"{r['index']:<7} {r['load_s']:>7} {r['memory_per_vehicle_bytes']:>10} {r['p50_us']:>7} "
              f"{r['p99_us']:>7} {r['mean_us']:>8}  {kinds}" + (f"  WRONG {r['wrong_answers']}" if r["wrong_answers"] else ""))
    text = json.dumps(summary, indent=2)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
