"""The conformance suite (`prum conformance`, federation/conformance/suite.py), proved both ways: prum's own node
passes every check, and deliberately broken variants of it (no gate, no log entry, a wrong code, the query kept
after the reply, a hit that is not one, a daily capacity not counted) are each caught by the check named for them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from sample_federation import start_federation
from typer.testing import CliRunner

from prum.dna.v1 import dna_pb2
from prum.federation.cli.app import app
from prum.federation.runtime.launcher import InProcessFederation
from prum.services.common.reference import ReferenceKind
from prum.services.afis.servicer import AfisServicer
from prum.services.dna.servicer import DnaIndexServicer

runner = CliRunner()
Variant = Callable[[pytest.MonkeyPatch, InProcessFederation | None], None]


def conformance(federation: InProcessFederation, tmp_path: Path, *extra: str) -> tuple[int, list[dict[str, Any]]]:
    result = runner.invoke(app, ["conformance", "--target", federation.directory["NL"], "--state", "NL",
                                 "--pki", str(federation.workdir / "pki"), "--as", "DE", "--json", *extra])
    assert result.exit_code in (0, 1), result.output
    # The target's own log lines (it runs in this process) come before the report.
    return result.exit_code, json.loads(result.stdout[result.stdout.index("[\n  {"):])


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Callable[[], InProcessFederation]]:
    federations: list[InProcessFederation] = []

    def start() -> InProcessFederation:
        federations.append(start_federation(tmp_path / "federation"))
        return federations[-1]
    yield start
    for federation in federations:
        federation.stop()


def test_prums_own_node_passes_every_check_with_junit(started: Callable[[], InProcessFederation],
                                                      tmp_path: Path) -> None:
    federation = started()
    junit = tmp_path / "conformance.xml"
    code, checks = conformance(federation, tmp_path, "--not-ready", "LU", "--junit", str(junit))
    assert code == 0, [c for c in checks if c["outcome"] != "pass"]
    assert {c["rule"] for c in checks} == {"SEC-1", "GATE-1", "DNA-4", "DNA-10", "LOG-2", "LOG-5", "PUR-2", "VRD-1",
                                           "FP-3"}
    assert all(c["outcome"] == "pass" for c in checks)
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "0" and suite.get("tests") == str(len(checks))
    assert all(federation.nodes["NL"].dna.stats().profiles == 2 for _ in [0])  # the fixture was deleted again


def test_without_a_not_ready_certificate_the_gate_is_skipped_not_passed(started: Callable[[], InProcessFederation],
                                                                         tmp_path: Path) -> None:
    code, checks = conformance(started(), tmp_path)
    gate = next(c for c in checks if c["rule"] == "GATE-1")
    assert code == 0 and gate["outcome"] == "skip" and "--not-ready" in gate["message"]


def _no_gate(monkeypatch: pytest.MonkeyPatch, federation: InProcessFederation | None) -> None:
    if federation is not None:
        monkeypatch.setattr(federation.nodes["NL"].readiness, "admits", lambda *args, **kwargs: True)


def _no_log_entry(monkeypatch: pytest.MonkeyPatch, federation: InProcessFederation | None) -> None:
    if federation is not None:
        monkeypatch.setattr(federation.nodes["NL"].log, "append_many", lambda entries: list(entries))


def _wrap_search(monkeypatch: pytest.MonkeyPatch, change: Callable[[Any, Any, Any, Callable[[], Any]], Any],
                 servicer: type = DnaIndexServicer) -> None:
    original = servicer.Search

    def search(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        return change(self, request, context, lambda: original(self, request, context))
    monkeypatch.setattr(servicer, "Search", search)


def _wrong_code(monkeypatch: pytest.MonkeyPatch, federation: InProcessFederation | None) -> None:
    def change(self: Any, request: Any, context: Any, answer: Callable[[], Any]) -> Any:
        if len(request.profile.loci) < 6:
            context.abort(grpc.StatusCode.INTERNAL, "could not search")
        return answer()
    if federation is None:
        _wrap_search(monkeypatch, change)


def _query_kept(monkeypatch: pytest.MonkeyPatch, federation: InProcessFederation | None) -> None:
    def change(self: Any, request: Any, context: Any, answer: Callable[[], Any]) -> Any:
        reply = answer()
        self.file.ingest(request.profile.reference, ReferenceKind.UNIDENTIFIED_TRACE,
                         {k: list(v.values) for k, v in request.profile.loci.items()})
        return reply
    if federation is None:
        _wrap_search(monkeypatch, change)


def _false_hit(monkeypatch: pytest.MonkeyPatch, federation: InProcessFederation | None) -> None:
    def change(self: Any, request: Any, context: Any, answer: Callable[[], Any]) -> Any:
        reply = answer()
        if not reply.hit:
            reply.hits.add(reference="NL-P-NOT-A-HIT", match_class=dna_pb2.MATCH_CLASS_FULL)
            reply.hit, reply.hit_count = True, 1
        return reply
    if federation is None:
        _wrap_search(monkeypatch, change)


def _capacity_not_counted(monkeypatch: pytest.MonkeyPatch, federation: InProcessFederation | None) -> None:
    def change(self: Any, request: Any, context: Any, answer: Callable[[], Any]) -> Any:
        reply = answer()
        reply.remaining_daily_capacity = 1000  # as if no search had been counted
        return reply
    if federation is None:
        _wrap_search(monkeypatch, change, AfisServicer)


@pytest.mark.parametrize(("variant", "caught_by"), [
    (_no_gate, {("GATE-1", "a state not ready is refused")}),
    (_no_log_entry, {("LOG-2", "both entries with the LOG-2 fields through the logger's RPC")}),
    (_wrong_code, {("DNA-4", "inclusion: fewer than 6 loci refused")}),
    (_query_kept, {("PUR-2", "the query is not kept after the reply")}),
    (_false_hit, {("DNA-10", "a no-hit is no hit")}),
    (_capacity_not_counted, {("FP-3", "candidate cap and daily capacity")}),
], ids=["no gate", "no log entry", "wrong code", "query kept after the reply", "a hit that is not one",
        "capacity not counted"])
def test_each_broken_variant_is_caught_by_the_check_named_for_it(
        variant: Variant, caught_by: set[tuple[str, str]], started: Callable[[], InProcessFederation],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    variant(monkeypatch, None)  # a servicer's method: changed before the server binds it
    federation = started()
    variant(monkeypatch, federation)  # a store of the running node
    code, checks = conformance(federation, tmp_path, "--not-ready", "LU")
    failed = {(c["rule"], c["name"]) for c in checks if c["outcome"] == "fail"}
    assert code == 1 and failed == caught_by, [c for c in checks if c["outcome"] == "fail"]
