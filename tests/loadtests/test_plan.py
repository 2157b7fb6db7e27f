"""The plan a Locust process reads, and the option forms of `prum bench load` (no Locust here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prum.loadtests.load_plan import (PLAN_VARIABLE, Plan, parse_duration, parse_think, parse_types,
                                      parse_weights, parse_workers)


def test_weights_parse_and_name_the_allowed_forms() -> None:
    assert parse_weights("echo=1, dna=2,vehicle=0") == {"echo": 1, "dna": 2, "vehicle": 0}
    assert parse_weights("") == {}
    for bad in ("dna", "dna=x", "dna=-1", "blood=1", "dna=1.5"):
        with pytest.raises(ValueError, match="TYPE=INTEGER with TYPE one of bare, echo, dna, vehicle, afis, fanout"):
            parse_weights(bad)


def test_think_time_default_ranges_and_per_type() -> None:
    assert parse_think("0") == {"*": (0.0, 0.0)}
    assert parse_think("0.5-1.5") == {"*": (0.5, 1.5)}
    assert parse_think("0,afis=1,fanout=0.1-0.3") == {"*": (0.0, 0.0), "afis": (1.0, 1.0), "fanout": (0.1, 0.3)}
    for bad, message in (("abc", "is not seconds"), ("2-1", "low <= high"), ("-1", "is not seconds"),
                         ("blood=1", "TYPE must be one of")):
        with pytest.raises(ValueError, match=message):
            parse_think(bad)


def test_duration_and_types() -> None:
    assert [parse_duration(t) for t in ("30s", "2m", "1h", "45", " 5S ")] == [30, 120, 3600, 45, 5]
    for bad in ("0s", "", "1.5m", "30x", "-5"):
        with pytest.raises(ValueError, match="e.g. 30s, 2m, 1h"):
            parse_duration(bad)
    assert parse_types("dna, echo,dna") == ("dna", "echo")
    assert [parse_workers(t) for t in ("0", "2", "1, 2,1")] == [(0,), (2,), (1, 2)]
    for bad in ("", "-1", "x", "99"):
        with pytest.raises(ValueError, match="a master and N workers"):
            parse_workers(bad)
    for bad in ("", "dna,blood"):
        with pytest.raises(ValueError, match="comma-separated list of bare, echo, dna"):
            parse_types(bad)


def _plan(tmp_path: Path) -> Path:
    path = tmp_path / "plan.json"
    Plan(pki="pki", requester="DE", target="NL", addresses={"DE": "127.0.0.1:1", "NL": "127.0.0.1:2"},
         queries="queries.json", out=str(tmp_path), weights={"echo": 1, "dna": 3}).write(path)
    return path


def test_plan_round_trip_and_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _plan(tmp_path)
    assert Plan.read(path).weights == {"echo": 1, "dna": 3}
    monkeypatch.setenv(PLAN_VARIABLE, str(path))
    plan = Plan.from_environment()
    assert plan.think_of("afis") == (1.0, 1.0) and plan.think_of("dna") == (0.0, 0.0)  # the default "0,afis=1"
    monkeypatch.setenv("PRUM_LOAD_WEIGHTS", "vehicle=2")
    monkeypatch.setenv("PRUM_LOAD_THINK", "0.1-0.2")
    monkeypatch.setenv("PRUM_LOAD_DEADLINE_S", "1.5")
    plan = Plan.from_environment()
    assert plan.weights == {"bare": 0, "echo": 0, "dna": 0, "vehicle": 2, "afis": 0, "fanout": 0, "face": 0,
                            "police_record": 0}
    assert plan.bare == "" and Plan.read(path).bare == ""  # no bare server unless the bench started one
    assert plan.think_of("afis") == (0.1, 0.2) and plan.deadline_s == 1.5


def test_plan_refuses_a_bad_override_or_no_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PLAN_VARIABLE, raising=False)
    with pytest.raises(RuntimeError, match=PLAN_VARIABLE):
        Plan.from_environment()
    monkeypatch.setenv(PLAN_VARIABLE, str(_plan(tmp_path)))
    monkeypatch.setenv("PRUM_LOAD_THINK", "soon")
    with pytest.raises(ValueError, match="think time"):
        Plan.from_environment()
