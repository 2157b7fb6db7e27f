"""Figures of a Locust run, from its final summary, checked against its CSV (no Locust import here).

The summary is what Locust writes with --json-file when it stops (its statistics entries with every
response-time bucket); the CSV (`<prefix>_stats.csv`) is what it rewrote every second while it ran.
Requests, failures, requests/s and the 50/95/99th percentiles are computed from the summary the way
Locust computes them, and compared with the CSV's row of the same name. Locust keeps response times
in buckets: whole milliseconds below 100 ms, so a percentile below 1 ms reads as 0 or 1 ms; the
average is exact.

The ratios (issue 18): every row's ratio to bare, the bare grpcio echo server the bench starts in its own
process (insecure, no interceptors, a state's thread pool): the framework's ceiling, measured in the same
run by the same client; and, beside it, the ratio to the full stack's own echo. In an isolated run (one
query type alone), requests/s of the type over requests/s of bare (or echo) alone with the same users. In
a mixed run (every type at once, sharing the CPU), each type's requests/s per user of that type over
bare's (or echo's) requests/s per user: with no think time, how many calls per second one waiting user
of that type gets, compared with a bare (or echo) user.
Calls in flight are from Little's law (requests/s x mean response time) and, measured, the mean
and peak over the window of the Locust processes' own gauges.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from prum.loadtests.load_checks import BY_METHOD, QUERY_TYPES, Tally

PERCENTILES = {"p50": 0.50, "p95": 0.95, "p99": 0.99}
CSV_COLUMNS = {"p50": "50%", "p95": "95%", "p99": "99%"}
RPS_TOLERANCE = 0.02
WINDOW_SLACK_S = 0.3


def percentile(response_times: dict[Any, int], requests: int, percent: float) -> int:
    """Locust's `calculate_response_time_percentile` over its buckets (ms -> count)."""
    wanted = int(requests * percent)
    processed = 0
    for bucket in sorted((int(float(k)) for k in response_times), reverse=True):
        processed += int(response_times.get(bucket, response_times.get(str(bucket), 0)))
        if requests - processed <= wanted:
            return bucket
    return 0


def read_summary(path: Path) -> list[dict[str, Any]]:
    return json.loads(path.read_text("utf-8"))


def read_csv_stats(prefix: Path) -> dict[str, dict[str, str]]:
    """Name -> row of `<prefix>_stats.csv` (the Aggregated row under "Aggregated")."""
    path = Path(f"{prefix}_stats.csv")
    with path.open(newline="", encoding="utf-8") as handle:
        return {row["Name"]: row for row in csv.DictReader(handle)}


def read_failures(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def summary_figures(entries: list[dict[str, Any]], started: float | None = None) -> dict[str, dict[str, float]]:
    """Per entry name: requests, failures, req/s, percentiles, mean.

    Requests/s are over the run's window, as Locust's CSV has them: from the reset of its statistics
    (`started`, when the users were all spawned) to the last request of any name. Without `started`,
    the earliest entry's start, which is later when an entry's first reply came late (a slow AFIS search)."""
    if not entries:
        return {}
    start = started if started is not None else min(e["start_time"] for e in entries)
    last = max(e["last_request_timestamp"] or start for e in entries)
    window = max(last - start, 1e-9)
    figures = {}
    for entry in entries:
        timed = entry["num_requests"] - entry.get("num_none_requests", 0)
        row = {"requests": entry["num_requests"], "failures": entry["num_failures"],
               "rps": entry["num_requests"] / window, "window_s": window,
               "mean_ms": entry["total_response_time"] / timed if timed else 0.0,
               "max_ms": entry["max_response_time"], "bytes": entry["total_content_length"] / max(timed, 1)}
        for name, percent in PERCENTILES.items():
            row[name] = percentile(entry["response_times"], timed, percent)
        figures[entry["name"]] = row
    return figures


def cross_check(summary: dict[str, dict[str, float]], table: dict[str, dict[str, str]],
                rps_tolerance: float = RPS_TOLERANCE) -> dict[str, Any]:
    """Does the CSV say what the final summary says? Per name: both values where they differ.

    Counts and percentiles must be equal (the locustfile lets Locust write its CSV once more after the
    users stopped): "differences", and "agrees" when there are none. Requests/s may differ a little: the
    CSV divides by the time since the run's own stats were reset, the summary only has each entry's; a
    gap past the tolerance (a busy machine puts the two windows further apart) is in "rps_gaps", a
    warning rather than a disagreement."""
    differences: dict[str, Any] = {}
    rps_gaps: dict[str, Any] = {}
    for name, row in summary.items():
        line = table.get(name)
        if line is None:
            differences[name] = "missing from the CSV"
            continue
        seen = {"requests": int(line["Request Count"]), "failures": int(line["Failure Count"]),
                "rps": float(line["Requests/s"]),
                **{k: int(float(line[c])) if line[c] not in ("N/A", "") else 0 for k, c in CSV_COLUMNS.items()}}
        wrong = {}
        for key in ("requests", "failures", *PERCENTILES):
            if seen[key] != row[key]:
                wrong[key] = {"summary": row[key], "csv": seen[key]}
        # The same count over windows that may start up to WINDOW_SLACK_S apart (a worker resets its stats
        # a moment before the master does), or a relative RPS_TOLERANCE on long runs.
        allowed = max(rps_tolerance, WINDOW_SLACK_S / max(row["window_s"], 1e-9)) * max(row["rps"], 1e-9)
        if abs(seen["rps"] - row["rps"]) > allowed:
            rps_gaps[name] = {"summary": round(row["rps"], 2), "csv": round(seen["rps"], 2)}
        if wrong:
            differences[name] = wrong
    return {"agrees": not differences, "differences": differences, "rps_gaps": rps_gaps}


def process_reports(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text("utf-8")) for p in sorted((folder / "processes").glob("*.json"))]


def run_rows(folder: Path, mode: str, users: int, think: dict[str, tuple[float, float]]) -> dict[str, Any]:
    """Rows per query type of one run, with the CSV check, measured in-flight calls and hit tallies."""
    reports = process_reports(folder)
    leader = next((r for r in reports if r["role"] in ("master", "local")), {})
    summary = summary_figures(read_summary(folder / "summary.json"), leader.get("spawned_at"))
    check = cross_check(summary, read_csv_stats(folder / "locust"))
    classes = leader.get("user_classes") or {}
    load = [r for r in reports if r["role"] in ("worker", "local")]
    tally = Tally.merge([r.get("tally", {}) for r in load])
    rows = []
    for name, figures in summary.items():
        query = BY_METHOD.get(name)
        if query is None:
            continue
        row: dict[str, Any] = {"type": query.key, "title": query.title, "method": name,
                               "users": classes.get(query.user_class, users if mode == "isolated" else None),
                               **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in figures.items()}}
        row["in_flight_little"] = round(figures["rps"] * figures["mean_ms"] / 1000, 2)
        row["think_s"] = think.get(query.key, think["*"])
        row["tally"] = tally.get(query.key, {})
        rows.append(row)
    rows.sort(key=lambda r: list(QUERY_TYPES).index(r["type"]))
    return {"rows": rows, "csv_check": check, "failures": read_failures(folder / "locust"),
            "in_flight": {"peak": sum(r["in_flight"]["peak"] for r in load),
                          "mean": round(sum(r["in_flight"]["mean"] for r in load), 2)},
            "user_classes": classes}


def _ratio(row: dict[str, Any], base: dict[str, Any] | None, mode: str) -> float | None:
    """row over base (see the module doc); None without a base, with think time, or without users (mixed)."""
    if base is None or not base["rps"] or row["think_s"] != (0.0, 0.0) or base["think_s"] != (0.0, 0.0):
        return None
    if mode == "isolated":
        return round(row["rps"] / base["rps"], 3)
    if row.get("users") and base.get("users"):
        return round((row["rps"] / row["users"]) / (base["rps"] / base["users"]), 3)
    return None


def add_ratios(rows: list[dict[str, Any]], mode: str) -> None:
    """Each row's ratio to the bare grpcio echo ("ratio_to_bare", the ratio that counts) and to the stack's own
    echo ("ratio_to_echo"); each None without that row or with think time (see the module doc)."""
    for key in ("bare", "echo"):
        base = next((r for r in rows if r["type"] == key), None)
        for row in rows:
            row[f"ratio_to_{key}"] = _ratio(row, base, mode)
