"""The CLI through typer's runner, and the README's promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from prum.federation.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_every_command_has_help_with_an_example() -> None:
    for command in ("demo", "version", "up", "status", "down", "logs", "readiness"):
        result = runner.invoke(app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example" in result.output and f"prum {command}" in result.output


def test_demo_json_reports_hits_no_hits_not_ready_and_logs_on_both_sides(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--json", "--workdir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output[-3000:]
    report = json.loads(result.stdout)
    assert all(report["checks"].values()), report["checks"]
    statuses = {r["status"] for s in report["searches"] for r in s.get("results", [])}
    assert {"HIT", "NO_HIT", "NOT_READY"} <= statuses
    assert report["federation"]["states"] == 7
    # EPRIS (P2-EPRIS-1..5): a hit through a name variation, LU not taking part, a follow-up shared and one refused.
    assert {"police_record_hit_through_a_name_variation", "state_not_taking_part_in_epris_not_searched",
            "police_record_follow_up_decided_by_the_holder_and_logged_on_both_sides"} <= set(report["checks"])
    assert report["epris"]["variation"] != "EXACT" and report["epris"]["not_taking_part"] == ["LU"]
    classes = {h.get("match_class") for s in report["searches"] for r in s.get("results", []) for h in r["hits"]}
    assert {"full", "near", "wildcard", "microvariant"} <= classes
    assert all(p["logged_on_both_sides"] for p in report["supplies"])
    vehicle_hits = [h for s in report["searches"] if s["category"] == "VEHICLE"
                    for r in s["results"] for h in r["hits"]]
    assert vehicle_hits and all(h["holders"] for h in vehicle_hits)  # VRD-2: vehicle and holder data
    assert report["follow_up"]["person"] and report["follow_up"]["logged_on_both_sides"]  # FOL-1, LOG-3
    fingerprint = next(s for s in report["searches"] if s["category"] == "FINGERPRINT")
    assert any(r["status"] == "HIT" and r["hits"] for r in fingerprint["results"])  # FP-2: verified by the requester
    # One trace per search reaches the servers of the states that answered.
    hit_search = next(s for s in report["searches"] if any(r["status"] == "HIT" for r in s.get("results", [])))
    assert len(hit_search["trace_states"]) >= 2
    assert (tmp_path / "run" / "prum.log").read_text().startswith("{")


def test_demo_through_the_router_passes_every_check_and_compares_mesh_and_router(tmp_path: Path) -> None:
    """`prum demo --topology router` (issue 20): DNA and fingerprint searches through the router, every check of
    the mesh demo still true, and mesh and router measured side by side; the default demo stays the mesh."""
    result = runner.invoke(app, ["demo", "--topology", "router", "--json", "--workdir", str(tmp_path / "run")])
    assert result.exit_code == 0, result.output[-3000:]
    report = json.loads(result.stdout)
    assert report["federation"]["topology"] == "router" and all(report["checks"].values()), report["checks"]
    # Prüm II's part: a missing-person search (P2-SCOPE-1) and Europol (P2-EUROPOL-1..3, EUR-1..3), each checked.
    assert {"missing_person_search_logged_as_such_on_both_sides", "europol_hit_carries_evaluation_codes",
            "europol_search_through_the_router_logged_with_its_task", "europol_search_without_task_refused",
            "edps_audit_of_europols_log_clean"} <= set(report["checks"])
    assert report["europol"]["hits"][0]["source"] in "ABCD" and report["europol"]["search_without_task"] == \
        "PERMISSION_DENIED"
    rows = {row["topology"]: row for row in report["topologies"]}
    assert set(rows) == {"mesh", "router"} and not any("refused" in row for row in rows.values())
    assert rows["mesh"]["channels_held_by_requester"] == 6 and rows["router"]["channels_held_by_requester"] == 1
    for row in rows.values():  # each search hit in its one peer; with one state down, that state alone fails
        assert row["all_up"]["statuses"]["HIT"] == row["all_up"]["searches"]
        assert row["one_down"]["statuses"]["UNAVAILABLE"] == row["one_down"]["searches"]
        slow = row["one_slow"]  # one state's link slower each way: everyone answers, the slow state sets the pace
        assert slow["statuses"].get("HIT") == slow["searches"] and "UNAVAILABLE" not in slow["statuses"]
        assert slow["p50_ms"] >= 2 * slow["latency_ms"] > row["all_up"]["p50_ms"]
    assert rows["mesh"]["all_up"]["log_entries_per_search"] == rows["router"]["all_up"]["log_entries_per_search"]
    # Core data after a confirmed match (P2-CORE-1..3): one supplied on time, one overdue at both states and DPAs.
    core_data = report["core_data"]
    assert (core_data["on_time"]["status"], core_data["overdue"]["status"]) == ("SUPPLIED", "OPEN")
    assert report["checks"]["core_data_supplied_on_time_through_the_router"]
    assert report["checks"]["overdue_core_data_seen_by_both_states_and_dpas"]
    refused = runner.invoke(app, ["demo", "--topology", "star"])
    assert refused.exit_code == 2 and "allowed: mesh, router" in refused.output


def test_demo_rejects_a_bad_federation_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[state]]\ncode = "Germany"\n')
    result = runner.invoke(app, ["demo", "-f", str(path)])
    assert result.exit_code == 2
    assert "alpha-2" in result.output


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text("utf-8")
    block = re.search(r"```(?:sh|bash|shell|console)\s*\n(.*?)```", text, re.S)
    assert block, "README has no fenced bash block"
    return [line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("#")]


def test_readme_opens_with_install_and_demo_then_install_and_test() -> None:
    demo_line, test_line = _readme_commands()
    assert "pip install" in demo_line and demo_line.endswith("prum demo")
    assert "pip install" in test_line and "pytest" in test_line


def test_ci_runs_the_readme_test_command() -> None:
    assert _readme_commands()[1] in (ROOT / ".ci" / "run").read_text("utf-8")


def test_afis_evaluate_reports_rates_and_writes_a_det_plot(tmp_path: Path) -> None:
    result = runner.invoke(app, ["afis", "evaluate", "--gallery", "60", "--probes", "10", "--seed", "3",
                                 "--det", str(tmp_path / "det.png"), "--json"])
    assert result.exit_code == 0, result.output[-2000:]
    summary = json.loads(result.stdout)
    assert 0.0 <= summary["rank1_plain"] <= 1.0 and summary["latency_ms_p95"] > 0
    assert (tmp_path / "det.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
