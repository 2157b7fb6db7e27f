"""Scenario files (`prum scenario run FILE`, federation/scenario/): every shipped scenario under scenarios/ passes
through the CLI with its JUnit XML and HTML report; a wrong expectation fails with what was expected and what came,
per state; a wrong file is refused with its line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prum.federation.cli.app import app
from prum.federation.scenario.spec import ScenarioFileError, parse_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.toml") if "[[step]]" in p.read_text("utf-8"))
runner = CliRunner()


def test_the_shipped_scenarios_are_the_six_of_issue_22() -> None:
    assert {p.stem for p in SCENARIOS} == {"demo_planted", "state_down_mid_search", "partition", "slow_peer",
                                           "council_readiness", "capacity"}


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_shipped_scenario_passes_with_junit_and_html(path: Path, tmp_path: Path) -> None:
    junit, page = tmp_path / "report.xml", tmp_path / "report.html"
    result = runner.invoke(app, ["scenario", "run", str(path), "--json", "--junit", str(junit), "--html", str(page),
                                 "--workdir", str(tmp_path / "run")])
    report = json.loads(result.stdout)
    failed = [(s["name"], s["message"]) for s in report["steps"] if not s["ok"]]
    assert result.exit_code == 0 and report["ok"], failed
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0"
    assert [c.get("name") for c in suite.iter("testcase")] == [s["name"] for s in report["steps"]]
    text = page.read_text("utf-8")
    assert "passed" in text and all(s["name"][:40].replace("'", "&#x27;") in text for s in report["steps"])
    if any(s["do"] in ("toxic", "partition", "stop", "kill") for s in report["steps"]):
        assert 'class="bar span"' in text  # each fault on the timeline while it is in force


def _run(tmp_path: Path, name: str) -> dict:
    result = runner.invoke(app, ["scenario", "run", str(ROOT / "scenarios" / f"{name}.toml"), "--json",
                                 "--workdir", str(tmp_path / name)])
    assert result.exit_code == 0, result.output[-2000:]
    return {s["name"]: s for s in json.loads(result.stdout)["steps"]}


def test_a_partition_gives_unavailable_for_the_cut_pair_only(tmp_path: Path) -> None:
    steps = _run(tmp_path, "partition")
    cut = steps["DE's search: FR unreachable, NL answers"]["got"]
    assert cut["FR"]["status"] == "UNAVAILABLE" and cut["NL"]["status"] == "HIT" and cut["BE"]["status"] == "NO_HIT"
    across = steps["BE still reaches FR and DE"]["got"]
    assert across["FR"]["status"] == "HIT" and across["DE"]["status"] == "NO_HIT"
    assert steps["FR cannot reach DE either"]["got"]["DE"]["status"] == "UNAVAILABLE"
    assert steps["DE reaches FR again"]["got"]["FR"]["status"] == "HIT"
    foreign = steps["a certificate from another CA is refused by FR (SEC-1)"]
    assert foreign["ok"] and foreign["got"]["FR"]["status"] == "refused"


def test_a_latency_toxic_shows_in_the_state_milliseconds(tmp_path: Path) -> None:
    steps = _run(tmp_path, "slow_peer")
    late = steps["FR answers late but in time"]["got"]
    assert late["FR"]["status"] == "HIT" and late["FR"]["elapsed_ms"] >= 240 > late["NL"]["elapsed_ms"]
    missed = steps["FR misses the deadline, the others answer on time"]
    assert missed["got"]["FR"]["status"] == "DEADLINE_EXCEEDED" and missed["got"]["NL"]["status"] == "HIT"
    assert missed["elapsed_ms"] < 2500


WRONG = """
[scenario]
name = "a wrong expectation"
federation = "{federation}"

[[step]]
do = "search"
name = "the planted donor"
planted = "donor on a foreign file"
expect = {{ FR = "NO_HIT", NL = {{ status = "HIT", match_class = "full" }}, BE = "NO_HIT" }}

[[step]]
do = "check"
name = "every log chain verifies"
what = "chains_verify"
"""


def test_a_wrong_expectation_fails_with_a_readable_message_and_junit(tmp_path: Path) -> None:
    scenario = tmp_path / "wrong.toml"
    scenario.write_text(WRONG.format(federation=ROOT / "scenarios" / "five_states.toml"), "utf-8")
    junit = tmp_path / "wrong.xml"
    result = runner.invoke(app, ["scenario", "run", str(scenario), "--junit", str(junit),
                                 "--workdir", str(tmp_path / "run")])
    assert result.exit_code == 1, result.output
    assert "FAILED" in result.stdout and "1 step(s)" in result.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2" and suite.get("failures") == "1"
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    failure = cases["the planted donor"].find("failure")
    assert cases["every log chain verifies"].find("failure") is None
    assert failure is not None
    message = failure.get("message", "")
    assert "FR: expected NO_HIT, got status HIT" in message
    assert "NL: expected HIT, match class full, got match classes ['near']" in message
    assert "BE" not in message  # BE answered as expected
    assert cases["the planted donor"].get("line") == "6"
    assert "FR: expected NO_HIT; got status HIT" in (failure.text or "")


@pytest.mark.parametrize(("text", "refusal"), [
    ('[[step]]\ndo = "search"\nplanted = "x"\nexpcet = { FR = "HIT" }\n',
     "<t>:4 [[step]] #1 (search): unknown key 'expcet'"),
    ('[[step]]\ndo = "stop"\nstate = "FR"\n\n[[step]]\ndo = "explode"\n', "<t>:6 [[step]] #2.do: 'explode'; allowed:"),
    ('[scenario]\nname = "x"\nfederaton = "f.toml"\n[[step]]\ndo = "stop"\nstate = "FR"\n',
     "<t>:3 [scenario]: unknown key 'federaton'"),
    ('[senario]\n[[step]]\ndo = "stop"\nstate = "FR"\n', "<t>:1: unknown table or key 'senario'"),
    ('[[step]]\ndo = "stop"\nstate = "XX"\n', "<t>:3 [[step]] #1.state: 'XX' is not a state of the federation"),
    ('[[step]]\ndo = "search"\nplanted = "x"\n[step.expect]\nFR = "MAYBE"\n',
     "<t>:4 [[step]] #1.expect.FR.status: 'MAYBE'; allowed: HIT, NO_HIT"),
    ('[[step]]\ndo = "toxic"\ntype = "latency"\nto = "FR"\nrate = 5\n',
     "<t>:5 [[step]] #1.rate: the latency toxic takes latency, jitter"),
    ('[[step]]\ndo = "toxic"\ntype = "slow"\nto = "FR"\n', "<t>:3 [[step]] #1.type: 'slow'; allowed: latency, "),
    ('[[step]]\ndo = "partition"\nbetween = ["FR"]\n', "<t>:3 [[step]] #1.between: ['FR']; allowed: two"),
    ('[[step]]\ndo = "advance_clock"\nby = "tomorrow"\n', "<t>:3 [[step]] #1.by: 'tomorrow' is not a duration"),
    ('[[step]]\ndo = "wait"\nfor = "nothing"\n', "<t>:3 [[step]] #1.for: 'nothing'; allowed: the name of an earlier"),
    ('[scenario]\nname = "x"\n', "<t>: no [[step]] table"),
    ('[[step]]\ndo = "declare"\nstate = "FR"\nkind = "POSTCARD"\ntext = "x"\n',
     "<t>:4 [[step]] #1.kind: 'POSTCARD'; allowed: CONTACT_POINT, NATIONAL_FILE"),
    ('[[step]]\ndo = "foreign_certificate"\nto = "ZZ"\n', "<t>:3 [[step]] #1.to: 'ZZ' is not a state"),
    ('[[step]]\ndo = "check"\nwhat = "nothing_left"\nsearch = "later"\n',
     "<t>:4 [[step]] #1.search: 'later'; allowed: the name of an earlier search step"),
])
def test_a_wrong_scenario_file_is_refused_with_its_line(text: str, refusal: str) -> None:
    with pytest.raises(ScenarioFileError) as refused:
        parse_scenario(text, "<t>")
    assert refusal in str(refused.value), str(refused.value)


def test_a_scenario_names_its_federation_file_or_carries_it_inline_not_both(tmp_path: Path) -> None:
    named = parse_scenario('[scenario]\nfederation = "five_states.toml"\n[[step]]\ndo = "stop"\nstate = "LU"\n',
                           "<t>", ROOT / "scenarios")
    assert named.federation.codes == ["BE", "DE", "FR", "NL", "LU"]
    inline = parse_scenario('[[state]]\ncode = "DE"\n[[state]]\ncode = "FR"\n[[step]]\ndo = "stop"\nstate = "FR"\n')
    assert inline.federation.codes == ["DE", "FR"] and inline.steps[0].line == 5
    with pytest.raises(ScenarioFileError, match="may not be given inline too"):
        parse_scenario('[scenario]\nfederation = "five_states.toml"\n[[state]]\ncode = "DE"\n[[step]]\ndo = "stop"\n'
                       'state = "DE"\n', "<t>", ROOT / "scenarios")
