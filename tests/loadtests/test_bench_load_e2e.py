"""`prum bench load` end to end, as a subprocess: a small federation on loopback, Locust master + 1 worker.

About 20 s: six server processes and the bare echo server start, load 500 profiles / 500 vehicles / 50
fingerprints, Locust runs all six query types mixed for 5 s (bare, the ceiling, among them), and the
matching cores run in-process for a moment. Locust itself only ever runs in the subprocesses.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prum.loadtests.load_checks import QUERY_TYPES


def _prum() -> list[str]:
    script = Path(sys.executable).parent / "prum"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from prum.federation.cli.app import app; app()"]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").exists() and Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
def test_bench_load_mixed_distributed(tmp_path: Path) -> None:
    command = [*_prum(), "bench", "load", "--duration", "5s", "--users", "5", "--workers", "1", "--no-isolated",
               "--mixed", "--think", "0", "--profiles", "500", "--vehicles", "500", "--fingerprints", "50", "--police-records", "500",
               "--peer-profiles", "200", "--queries", "100", "--core-seconds", "0.2", "--out", "out", "--json"]  # relative, as a user types it
    done = subprocess.run(command, capture_output=True, text=True, timeout=150, cwd=tmp_path,
                          env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:] + done.stdout[-3000:]
    report = json.loads(done.stdout)
    assert report["ok"] and report["checks"] == []
    assert len(report["fanout_peers"]) == 5

    (run,) = report["runs"]
    assert run["name"] == "mixed" and run["workers"] == 1 and not run["killed"]
    assert run["exit_codes"] == {"master": 0, "worker-1": 0}
    rows = {row["type"]: row for row in run["rows"]}
    assert list(rows) == list(QUERY_TYPES)
    assert all(row["requests"] > 0 and row["failures"] == 0 for row in rows.values())
    assert rows["bare"]["ratio_to_bare"] == 1.0 and rows["bare"]["tally"]["checked"] == rows["bare"]["requests"]
    for key in ("echo", "dna", "vehicle", "afis", "fanout", "police_record"):  # --think 0: per user of each type, over bare's
        per_user = (rows[key]["rps"] / rows[key]["users"]) / (rows["bare"]["rps"] / rows["bare"]["users"])
        assert rows[key]["ratio_to_bare"] == pytest.approx(per_user, abs=2e-3) and rows[key]["p99"] >= 0
    assert rows["echo"]["ratio_to_echo"] == 1.0 and 0 < rows["dna"]["ratio_to_echo"]
    assert report["federation"]["trace_sample_ratio"] == 0.01
    assert report["core"]["dna"]["per_s_per_core"] > 0 and report["core"]["vehicle"]["per_s_per_core"] > 0
    assert rows["dna"]["tally"]["hits"] == rows["dna"]["tally"]["expected_hits"] > 0
    assert rows["police_record"]["tally"]["hits"] == rows["police_record"]["tally"]["expected_hits"] > 0  # EPRIS
    # Counts and percentiles agree exactly; requests/s may only warn (windows apart on a busy machine).
    assert run["csv_check"]["agrees"]
    assert bool(run.get("warnings")) == bool(run["csv_check"]["rps_gaps"])
    assert 0 < run["cpu"]["locust_share"] <= 1 and run["in_flight"]["peak"] <= len(QUERY_TYPES)

    folder = Path(run["folder"])
    with (folder / "locust_stats.csv").open(newline="") as handle:
        table = {line["Name"]: line for line in csv.DictReader(handle)}
    for key, query in QUERY_TYPES.items():
        assert int(table[query.method]["Request Count"]) == rows[key]["requests"]
        assert table[query.method]["Failure Count"] == "0"
    assert "locust" in (folder / "report.html").read_text("utf-8")[:5000].lower()
    assert {entry["name"] for entry in json.loads((folder / "summary.json").read_text())} == \
        {q.method for q in QUERY_TYPES.values()}
    assert (Path(report["folder"]) / "report.json").exists()

    # The federation it started is gone: every state process stopped.
    assert not any(_alive(state["pid"]) for state in report["federation"]["states"].values())
    assert not _alive(report["bare"]["pid"])
