"""Figures from Locust's final summary, percentiles as Locust computes them, and the CSV cross-check.

`data/mixed_run/` is a real run of `prum bench load --no-isolated --mixed --workers 1` (4 s): its
summary.json (Locust's --json-file), the locust_stats.csv Locust wrote, and the processes' own reports.
The CSV's percentiles were computed by Locust itself, so agreeing with them checks our semantics.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from prum.loadtests.load_results import (add_ratios, cross_check, percentile, read_csv_stats, read_summary,
                                         run_rows, summary_figures)

RUN = Path(__file__).parent / "data" / "mixed_run"


def test_percentile_follows_locust_not_the_textbook() -> None:
    # 100 calls in Locust's buckets (whole ms below 100 ms, then rounded), keys as JSON has them: strings.
    buckets = {"1": 50, "2": 30, "5": 15, "150": 4, "3400": 1}
    assert percentile(buckets, 100, 0.50) == 2
    assert percentile(buckets, 100, 0.95) == 150
    # Locust's p99 of 100 calls is the slowest one: it counts down from the top until at most 99 remain.
    assert percentile(buckets, 100, 0.99) == 3400
    assert percentile({}, 0, 0.5) == 0


def test_summary_figures_of_an_entry() -> None:
    entry = {"name": "/x", "method": "grpc", "start_time": 100.0, "last_request_timestamp": 110.0,
             "num_requests": 10, "num_none_requests": 2, "num_failures": 1, "total_response_time": 40.0,
             "max_response_time": 9.0, "total_content_length": 800, "response_times": {"3": 6, "9": 2}}
    row = summary_figures([entry])["/x"]
    assert row["requests"] == 10 and row["failures"] == 1 and row["rps"] == pytest.approx(1.0)
    assert row["mean_ms"] == pytest.approx(5.0)  # over the 8 timed calls
    assert (row["p50"], row["p95"], row["p99"]) == (3, 9, 9)


def test_a_real_run_agrees_with_its_csv() -> None:
    figures = summary_figures(read_summary(RUN / "summary.json"))
    assert len(figures) == 5
    check = cross_check(figures, read_csv_stats(RUN / "locust"))
    assert check == {"agrees": True, "differences": {}, "rps_gaps": {}}


def test_the_cross_check_names_what_differs(tmp_path: Path) -> None:
    figures = summary_figures(read_summary(RUN / "summary.json"))
    table = read_csv_stats(RUN / "locust")
    dna = "/prum.dna.v1.DnaIndexService/Search"
    table[dna] = {**table[dna], "Request Count": "100", "95%": "1"}
    del table["/prum.echo.v1.EchoService/Echo"]
    check = cross_check(figures, table)
    assert not check["agrees"]
    assert set(check["differences"][dna]) == {"requests", "p95"}
    assert check["differences"]["/prum.echo.v1.EchoService/Echo"] == "missing from the CSV"


def test_a_requests_per_second_gap_is_apart_from_disagreements() -> None:
    """Same counts over windows further apart than the tolerance: a gap to warn of, the CSV still agrees."""
    figures = summary_figures(read_summary(RUN / "summary.json"))
    table = read_csv_stats(RUN / "locust")
    dna = "/prum.dna.v1.DnaIndexService/Search"
    table[dna] = {**table[dna], "Requests/s": str(figures[dna]["rps"] * 1.5)}
    check = cross_check(figures, table)
    assert check["agrees"] and check["differences"] == {}
    assert set(check["rps_gaps"]) == {dna}
    assert check["rps_gaps"][dna]["csv"] == pytest.approx(figures[dna]["rps"] * 1.5, rel=1e-3)


def test_rows_of_a_mixed_run_with_ratios_per_user() -> None:
    think = {"*": (0.0, 0.0), "afis": (1.0, 1.0)}
    result = run_rows(RUN, "mixed", 5, think)
    rows = {row["type"]: row for row in result["rows"]}
    assert list(rows) == ["echo", "dna", "vehicle", "afis", "fanout"]  # in QUERY_TYPES order
    assert all(row["users"] == 1 and row["failures"] == 0 for row in rows.values())
    assert rows["dna"]["tally"]["hits"] == rows["dna"]["tally"]["expected_hits"] > 0
    assert result["in_flight"]["peak"] == 5  # the worker's gauge; the master runs no users
    assert result["csv_check"]["agrees"] and result["failures"] == []
    add_ratios(result["rows"], "mixed")
    assert rows["echo"]["ratio_to_echo"] == 1.0 and rows["echo"]["ratio_to_bare"] is None  # no bare in this run
    assert rows["dna"]["ratio_to_echo"] == pytest.approx(rows["dna"]["rps"] / rows["echo"]["rps"], abs=1e-3)
    assert rows["afis"]["ratio_to_echo"] is None  # think time: calls per user say nothing of the core


def test_isolated_ratio_is_requests_per_second_over_echo() -> None:
    rows = [{"type": "echo", "rps": 1000.0, "think_s": (0.0, 0.0), "users": 8},
            {"type": "dna", "rps": 850.0, "think_s": (0.0, 0.0), "users": 8},
            {"type": "afis", "rps": 7.0, "think_s": (1.0, 1.0), "users": 8}]
    add_ratios(rows, "isolated")
    assert [row["ratio_to_echo"] for row in rows] == [1.0, 0.85, None]


def test_ratios_are_taken_against_bare_and_echo_beside_it() -> None:
    isolated = [{"type": "bare", "rps": 2000.0, "think_s": (0.0, 0.0), "users": 8},
                {"type": "echo", "rps": 1000.0, "think_s": (0.0, 0.0), "users": 8},
                {"type": "dna", "rps": 500.0, "think_s": (0.0, 0.0), "users": 8},
                {"type": "afis", "rps": 7.0, "think_s": (1.0, 1.0), "users": 8}]
    add_ratios(isolated, "isolated")
    assert [row["ratio_to_bare"] for row in isolated] == [1.0, 0.5, 0.25, None]
    assert [row["ratio_to_echo"] for row in isolated] == [2.0, 1.0, 0.5, None]
    # Mixed: calls per second per user of the type over bare's per user.
    mixed = [{"type": "bare", "rps": 300.0, "think_s": (0.0, 0.0), "users": 1},
             {"type": "dna", "rps": 300.0, "think_s": (0.0, 0.0), "users": 2},
             {"type": "echo", "rps": 100.0, "think_s": (0.0, 0.0), "users": None}]
    add_ratios(mixed, "mixed")
    assert [row["ratio_to_bare"] for row in mixed] == [1.0, 0.5, None]
    assert all(row["ratio_to_echo"] is None for row in mixed)  # echo without users: no per-user base
    # Without a bare row (an older run, or --types without bare): no ratio to bare, echo's still there.
    alone = [{"type": "echo", "rps": 10.0, "think_s": (0.0, 0.0)}, {"type": "dna", "rps": 5.0, "think_s": (0.0, 0.0)}]
    add_ratios(alone, "isolated")
    assert [(r["ratio_to_bare"], r["ratio_to_echo"]) for r in alone] == [(None, 1.0), (None, 0.5)]


def test_failures_are_read_from_the_failures_csv(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    with (run / "locust_failures.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Method", "Name", "Error", "Occurrences"])
        writer.writerow(["grpc", "/prum.dna.v1.DnaIndexService/Search", "RpcFailure('UNAVAILABLE: down')", 3])
    result = run_rows(run, "mixed", 5, {"*": (0.0, 0.0)})
    assert result["failures"][0]["Occurrences"] == "3"
    assert json.loads((run / "summary.json").read_text())  # the copy is intact
