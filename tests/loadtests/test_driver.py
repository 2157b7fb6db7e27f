"""The driver side of the load test: never Locust in this process; options, plan of runs, reply checks."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import prum.federation.cli.bench  # noqa: F401 - the command's module, imported as `prum` imports it
import prum.loadtests.load_bench  # noqa: F401
import prum.loadtests.load_data  # noqa: F401
import prum.loadtests.load_results  # noqa: F401
import prum.loadtests.load_runner  # noqa: F401
from prum.afis.v1 import afis_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2
from prum.echo.v1 import echo_pb2
from prum.federation.cli.app import app
from prum.loadtests.load_bench import BenchError, BenchOptions, bench_federation, is_loopback, plan_runs
from prum.loadtests.load_checks import (AFIS_VERIFY_THRESHOLD, QUERY_TYPES, case_reference, check_afis, check_dna, check_echo,
                                        check_fanout, expectation)
from prum.services.afis.matching import VERIFY_THRESHOLD

runner = CliRunner()


def test_locust_is_never_imported_by_the_driver() -> None:
    # Locust patches the standard library with gevent when imported: never in pytest, only in its subprocesses.
    assert "locust" not in sys.modules
    assert "gevent" not in sys.modules


def test_bad_options_are_refused_naming_the_allowed_forms() -> None:
    for arguments, message in ((["--weights", "dna=lots"], "TYPE=INTEGER with TYPE one of"),
                               (["--types", "dna,blood"], "comma-separated list of bare, echo, dna"),
                               (["--think", "later"], "is not seconds"),
                               (["--duration", "soon"], "e.g. 30s, 2m, 1h"),
                               (["--no-isolated"], "nothing to run"),
                               (["--mixed", "--types", "echo", "--weights", "dna=1"], "weight above 0"),
                               (["--users", "0"], "--users"),
                               (["--workers", "two"], "0 (one local Locust process), N (a master and N workers"),
                               (["--attach", "/nonexistent/run"], "no run.json")):
        result = runner.invoke(app, ["bench", "load", *arguments])
        assert result.exit_code == 2, (arguments, result.output)
        text = re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)  # the message as read, without rich's box
        assert message in text, (arguments, result.output)


def test_help_has_an_example() -> None:
    result = runner.invoke(app, ["bench", "load", "--help"])
    assert result.exit_code == 0 and "prum bench load --duration 30s" in result.output


def test_runs_are_echo_first_then_each_type_then_the_mix() -> None:
    options = BenchOptions(types=("fanout", "dna", "echo"), mixed=True, weights={"dna": 2, "fanout": 0, "echo": 1})
    assert [(r.name, r.mode, r.workers, r.weights) for r in plan_runs(options)] == [
        ("echo", "isolated", 0, {"echo": 1}), ("dna", "isolated", 0, {"dna": 1}),
        ("fanout", "isolated", 0, {"fanout": 1}), ("mixed", "mixed", 0, {"dna": 2, "echo": 1})]
    twice = plan_runs(BenchOptions(types=("echo", "dna"), workers=(1, 2)))
    assert [(r.name, r.workers) for r in twice] == [("echo-w1", 1), ("dna-w1", 1), ("echo-w2", 2), ("dna-w2", 2)]
    with pytest.raises(BenchError, match="nothing to run"):
        plan_runs(BenchOptions(isolated=False))


def test_bare_runs_first_and_is_in_the_default_types() -> None:
    assert list(QUERY_TYPES)[:2] == ["bare", "echo"]
    assert [r.name for r in plan_runs(BenchOptions(types=("dna", "echo", "bare")))] == ["bare", "echo", "dna"]
    assert BenchOptions().trace_sample == 0.01
    result = runner.invoke(app, ["bench", "load", "--help"])
    text = re.sub(r"[\s│╭╮╰╯─]+", " ", result.output)
    assert "--trace-sample" in text and "--core-seconds" in text
    assert "With --attach it cannot change" in text


def test_the_bare_server_answers_and_is_stopped_on_the_way_out() -> None:
    import grpc

    from prum.echo.v1 import echo_pb2_grpc
    from prum.loadtests.bare_server import bare_server

    with pytest.raises(KeyboardInterrupt):
        with bare_server() as bare:
            assert bare.address.startswith("127.0.0.1:")
            with grpc.insecure_channel(bare.address) as channel:
                reply = echo_pb2_grpc.EchoServiceStub(channel).Echo(echo_pb2.EchoRequest(payload=b"x"), timeout=10)
            assert reply.payload == b"x"
            raise KeyboardInterrupt  # as a Ctrl-C in the middle of a run
    assert not Path(f"/proc/{bare.pid}").exists()


def test_the_bench_federation_fans_out_to_ready_peers() -> None:
    federation = bench_federation(6, 3000)
    assert federation.codes[:2] == ["DE", "NL"] and len(federation.codes) == 6
    assert all(s.ready == {"DNA", "FINGERPRINT", "VEHICLE", "FACE"} and s.dna_profiles == 0 for s in federation.states)
    assert federation.states[0].afis_limits[0] >= 10_000_000  # a load test must not spend the daily quota


def test_traffic_only_to_loopback() -> None:
    assert all(is_loopback(a) for a in ("127.0.0.1:5000", "127.3.2.1:1", "localhost:80", "[::1]:443"))
    assert not any(is_loopback(a) for a in ("10.0.0.1:5000", "192.168.1.2:1", "example.org:443", "[::2]:1"))


def test_reply_checks() -> None:
    assert expectation(case_reference("afis", 7, True, "NL-LOAD-F-1")) == (True, "NL-LOAD-F-1")
    assert expectation(case_reference("dna", 7, False)) == (False, "")
    assert expectation("CASE-2024-1") == (None, "")
    assert AFIS_VERIFY_THRESHOLD == VERIFY_THRESHOLD

    hit = dna_pb2.SearchRequest()
    hit.context.case_reference = case_reference("dna", 1, True)
    assert check_dna(hit, dna_pb2.SearchResponse(hit=True, hit_count=1)).problem is None
    assert check_dna(hit, dna_pb2.SearchResponse()).problem == "expected a hit, got none"
    assert check_echo(echo_pb2.EchoRequest(payload=b"x"), echo_pb2.EchoResponse(payload=b"y")).problem

    probe = afis_pb2.SearchRequest()
    probe.context.case_reference = case_reference("afis", 1, True, "NL-F-1")
    missed = check_afis(probe, afis_pb2.SearchResponse())
    assert missed.problem is None and not missed.hit  # a 1:N miss is tallied, not failed

    search = cp_pb2.SearchRequest(case_reference=case_reference("fanout", 1, False), target_states=["NL", "FR"])
    answered = cp_pb2.SearchResponse(results=[
        cp_pb2.StateResult(state="NL", status=cp_pb2.RESULT_STATUS_NO_HIT),
        cp_pb2.StateResult(state="FR", status=cp_pb2.RESULT_STATUS_UNAVAILABLE, code="UNAVAILABLE")])
    assert check_fanout(search, answered).problem == "FR: UNAVAILABLE UNAVAILABLE"
    del answered.results[1]
    assert check_fanout(search, answered).problem == "no result for FR"


def test_the_locustfile_ships_with_the_package() -> None:
    from prum.loadtests.load_runner import LOCUSTFILE

    assert LOCUSTFILE.is_file() and "init_gevent()" in LOCUSTFILE.read_text()
    assert Path(prum.loadtests.load_runner.__file__).parent == LOCUSTFILE.parent


def test_an_attached_federation_reuses_its_data_or_says_why_not(tmp_path: Path) -> None:
    import json
    from dataclasses import asdict

    from prum.loadtests.load_bench import _load
    from prum.loadtests.load_data import DataSpec, Target

    target = Target("DE", "NL", ("NL", "FR"), "DE-NCP-01", "DE-NCP-02")
    kept = tmp_path / "bench-load"
    kept.mkdir()
    (kept / "queries.json").write_text('{"format": 1}')
    (kept / "data.json").write_text(json.dumps({"spec": asdict(DataSpec(profiles=500)), "target": asdict(target),
                                                "dna": {"seconds": 1.0}}))
    options = BenchOptions(attach=tmp_path, data=DataSpec(profiles=500))
    reused = _load(options, {}, tmp_path, target, tmp_path / "queries.json", lambda *_: None)
    assert reused["reused_from"] == str(kept) and (tmp_path / "queries.json").read_text() == '{"format": 1}'
    with pytest.raises(BenchError, match="already holds load-test data of other sizes"):
        _load(BenchOptions(attach=tmp_path, data=DataSpec(profiles=600)), {}, tmp_path, target,
              tmp_path / "queries.json", lambda *_: None)


def test_the_bench_federation_file_is_the_one_the_command_starts() -> None:
    from prum.federation.runtime.topology import load_federation

    path = Path(__file__).resolve().parents[2] / "bench" / "load_federation.toml"
    assert load_federation(path) == bench_federation(6, 3000)
