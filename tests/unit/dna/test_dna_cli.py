"""`prum dna` through typer's runner: import and bench, each with an example in its help."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from prum.federation.cli.dna import dna_app
from prum.services.dna import DnaFile

runner = CliRunner()
HEADER = "reference,kind,D3S1358,vWA,TH01,D21S11,FGA,D8S1179,D18S51\n"
GOOD = 'NL-P-1,person,"15,16",17/18,6 9.3,29-30,21/22,13 14,12/16\n'
SMALL = "NL-T-2,trace,15,17,6,,,,\n"


def test_every_command_has_help_with_an_example():
    for command in ("import", "bench"):
        result = runner.invoke(dna_app, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "Example:" in result.output and f"prum dna {command}" in result.output


def test_import_prints_accepted_and_rejected_rows(tmp_path: Path):
    path = tmp_path / "lab.csv"
    path.write_text(HEADER + GOOD + SMALL, encoding="utf-8")
    store = tmp_path / "nl" / "dna.db"
    result = runner.invoke(dna_app, ["import", str(path), "--store", str(store)])
    assert result.exit_code == 1, result.output  # one row rejected, the other stored
    assert "accepted 1" in result.output and "rejected 1" in result.output and "NL-T-2" in result.output
    assert "DNA-4" in result.output
    with DnaFile(store) as file:
        assert file.stats().profiles == 1


def test_import_json_and_a_clean_file(tmp_path: Path):
    path = tmp_path / "lab.csv"
    path.write_text(HEADER + GOOD, encoding="utf-8")
    result = runner.invoke(dna_app, ["import", str(path), "--store", str(tmp_path / "dna.db"), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["accepted"] == 1 and report["rejected"] == [] and report["layout"] == "one cell per locus"


def test_import_of_an_unreadable_file_exits_2(tmp_path: Path):
    path = tmp_path / "lab.csv"
    path.write_text("name,colour\nx,y\n", encoding="utf-8")
    result = runner.invoke(dna_app, ["import", str(path), "--store", str(tmp_path / "dna.db"), "--kind", "trace"])
    assert result.exit_code == 2 and "no reference column" in result.output


def test_bench_json_on_a_small_file(tmp_path: Path):
    result = runner.invoke(dna_app, ["bench", "--profiles", "400", "--queries", "60", "--seed", "3",
                                     "--scan-queries", "20", "--art4", "30", "--startup", "300", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    [size] = report["sizes"]
    assert size["profiles"] == 400 and size["scan"]["same_results_as_index"]
    assert size["search"]["queries"] == 60 and size["search"]["p50_us"] > 0
    assert all(entry.get("source_found_in_its_class", 1.0) == 1.0 for entry in size["search"]["by_recipe"].values())
    assert report["art4"]["unidentified"] == 30
    assert report["art4"]["cpu_s"] >= 0 and report["art4"]["cpu_per_query_us"] > 0
    assert report["startup"]["opened_from"] == "snapshot" and report["startup"]["rebuilt_from"] == "database"
