"""`prum up` / `status` / `down`: one OS process per state, a real search across processes, a killed state."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

from sample_federation import officer_search
from typer.testing import CliRunner

from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.federation.cli.app import app
from prum.federation.runtime.processes import read_run
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc

FEDERATION = """
[federation]
name = "processes"
deadline_ms = 1500
[defaults]
dna_profiles = 30
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
"""

runner = CliRunner()


def started_output(result, workdir: Path) -> str:
    """What `prum up` said, and the tail of each state's node.out: what a failed start is read from."""
    tails = [f"--- {out.parent.name}/node.out ---\n" + "\n".join(out.read_text("utf-8", "replace").splitlines()[-20:])
             for out in sorted(workdir.glob("*/node.out"))]
    return "\n".join([result.output, *tails])


def test_up_search_kill_status_down(tmp_path: Path) -> None:
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION)
    workdir = tmp_path / "run"
    started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
    try:
        assert started.exit_code == 0, started_output(started, workdir)
        states = {row["state"]: row for row in json.loads(started.stdout)}
        assert set(states) == {"DE", "NL", "FR"} and all(row["dna_profiles"] >= 30 for row in states.values())
        assert all(row["pid"] != os.getpid() for row in states.values())

        healthy = runner.invoke(app, ["status", "--workdir", str(workdir), "--json"])
        assert healthy.exit_code == 0
        assert {(row["health"], row["process"]) for row in json.loads(healthy.stdout)} == {("SERVING", "running")}

        # A fault: FR's process dies without warning. DE's officer still gets an answer, in time.
        os.kill(states["FR"]["pid"], signal.SIGKILL)
        run = read_run(workdir)
        with open_channel(run["states"]["DE"]["address"], TlsMaterial.load(workdir / "pki", "DE")) as channel:
            begun = time.monotonic()
            reply = cp_pb2_grpc.ContactPointServiceStub(channel).Search(
                officer_search({"D3S1358": ["9", "10"], "VWA": ["11", "12"], "D8S1179": ["8", "9"],
                                "D21S11": ["24", "25"], "D18S51": ["10", "11"], "TH01": ["5", "10"],
                                "FGA": ["17", "18"]}, deadline_ms=1500), timeout=10)
            elapsed = time.monotonic() - begun
        results = {r.state: cp_pb2.ResultStatus.Name(r.status) for r in reply.results}
        assert results == {"NL": "RESULT_STATUS_NO_HIT", "FR": "RESULT_STATUS_UNAVAILABLE"}
        assert elapsed < 2.5

        # The logs and the readiness matrix, read through the running states' own RPCs.
        logged = runner.invoke(app, ["logs", "--workdir", str(workdir), "--state", "NL", "--json"])
        assert logged.exit_code == 0, logged.output
        entries = [json.loads(line) for line in logged.stdout.splitlines()]
        assert {(e["kind"], e["requesting_state"]) for e in entries} >= {
            ("ENTRY_KIND_AUTOMATED_RECEIPT", "DE"), ("ENTRY_KIND_AUTOMATED_SUPPLY", "DE")}
        anchor = runner.invoke(app, ["logs", "--workdir", str(workdir), "--state", "DE", "--checkpoint", "--json"])
        assert anchor.exit_code == 0 and json.loads(anchor.stdout)["state"] == "DE"  # LOG-5: signed, kept outside
        verified = runner.invoke(app, ["logs", "--workdir", str(workdir), "--state", "DE", "--verify", "--json"])
        assert verified.exit_code == 0 and json.loads(verified.stdout)["intact"] is True
        assert int(json.loads(verified.stdout)["checkpoints_checked"]) >= 1
        export = tmp_path / "de.jsonl"
        assert runner.invoke(app, ["logs", "--workdir", str(workdir), "--state", "DE", "--export",
                                   str(export)]).exit_code == 0
        assert len(export.read_text().splitlines()) == int(json.loads(verified.stdout)["entries_checked"])
        matrix = runner.invoke(app, ["readiness", "--workdir", str(workdir), "--as", "NL", "--json"])
        assert json.loads(matrix.stdout)["DE"] == {"DNA": "ready", "FINGERPRINT": "ready", "VEHICLE": "ready",
                                                   "FACE": "ready",  # issue 21: a category with its own gate
                                                   "ROUTER_CONNECTION": "ready",  # P2-GATE-1: a readiness key too
                                                   "POLICE_RECORD": "0/4 steps"}  # not taking part in EPRIS (opt-in)

        degraded = runner.invoke(app, ["status", "--workdir", str(workdir), "--json"])
        assert degraded.exit_code == 1
        # FR's process is gone, and asked at its address it does not answer: both said, within the timeout.
        fr = {r["state"]: r for r in json.loads(degraded.stdout)}["FR"]
        assert (fr["process"], fr["health"], fr["pid"]) == ("stopped", "UNAVAILABLE", states["FR"]["pid"])
    finally:
        stopped = runner.invoke(app, ["down", "--workdir", str(workdir), "--json"])
    assert stopped.exit_code == 0, stopped.output
    assert {r["state"]: r["result"] for r in json.loads(stopped.stdout)} == {
        "DE": "stopped", "NL": "stopped", "FR": "not running"}
    assert (workdir / "DE" / "prum.log").read_text().count('"state stopping"') == 1


def test_a_killed_state_restarts_with_its_supervisor_records_and_catches_up(tmp_path: Path) -> None:
    """A state's process dies (kill -9) and is started again: its DPA's records come back from its own SQLite
    files, and at start it catches up with what the others changed while it was down (GATE-2, AUD-1)."""
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION.replace("dna_profiles = 30", "dna_profiles = 0"))
    workdir = tmp_path / "run"
    started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
    try:
        assert started.exit_code == 0, started_output(started, workdir)
        run = read_run(workdir)

        def supervisor_of(state: str) -> supervisor_pb2_grpc.SupervisorServiceStub:
            channel = open_channel(run["states"][state]["address"], TlsMaterial.load(workdir / "pki", state))
            return supervisor_pb2_grpc.SupervisorServiceStub(channel)

        audit = supervisor_of("FR").RunAudit(supervisor_pb2.RunAuditRequest(sample_size=5, seed=2), timeout=10).audit
        os.kill(run["states"]["FR"]["pid"], signal.SIGKILL)
        nl = supervisor_of("NL")
        opened = nl.OpenJointCase(supervisor_pb2.OpenJointCaseRequest(
            partner_state="FR", kind=supervisor_pb2.JOINT_CASE_KIND_AUDIT, subject="joint sample"), timeout=10)
        assert not opened.partner_reached
        revoked = nl.RevokeReadiness(supervisor_pb2.RevokeReadinessRequest(
            state="NL", category=common_pb2.CATEGORY_VEHICLE, reason="register offline for audit"), timeout=10)
        assert list(revoked.unreached_states) == ["FR"]

        again = runner.invoke(app, ["restart", "fr", "--workdir", str(workdir), "--json"])
        assert again.exit_code == 0, started_output(again, workdir)
        run = read_run(workdir)
        assert {row["state"]: row["pid"] for row in json.loads(again.stdout)}["FR"] == run["states"]["FR"]["pid"]
        fr = supervisor_of("FR")
        assert [a.id for a in fr.ListAudits(supervisor_pb2.ListAuditsRequest(), timeout=10).audits] == [audit.id]
        deadline = time.monotonic() + 20
        while True:  # the catch-up runs beside serving, right after the start
            cases = fr.ListJointCases(supervisor_pb2.ListJointCasesRequest(), timeout=10).joint_cases
            rows = fr.GetReadiness(supervisor_pb2.GetReadinessRequest(
                state="NL", category=common_pb2.CATEGORY_VEHICLE), timeout=10).readiness
            if [c.id for c in cases] == [opened.joint_case.id] and rows[0].revoked:
                break
            assert time.monotonic() < deadline, (list(cases), list(rows))
            time.sleep(0.2)
        assert rows[0].revocation_reason == "register offline for audit"
        running = runner.invoke(app, ["restart", "FR", "--workdir", str(workdir)])
        assert running.exit_code == 1 and "still runs" in running.output  # never two processes of one state
        one = runner.invoke(app, ["down", "--workdir", str(workdir), "--state", "FR", "--json"])
        assert one.exit_code == 0 and json.loads(one.stdout) == [{"state": "FR", "result": "stopped"}]
        health = {r["state"]: (r["process"], r["health"]) for r in json.loads(
            runner.invoke(app, ["status", "--workdir", str(workdir), "--json"]).stdout)}
        assert health == {"DE": ("running", "SERVING"), "NL": ("running", "SERVING"),
                          "FR": ("stopped", "UNAVAILABLE")}
        unknown = runner.invoke(app, ["down", "--workdir", str(workdir), "--state", "XX"])
        assert unknown.exit_code == 2 and "not a state of the federation" in unknown.output
    finally:
        stopped = runner.invoke(app, ["down", "--workdir", str(workdir), "--json"])
    assert stopped.exit_code == 0, stopped.output
    assert {r["state"]: r["result"] for r in json.loads(stopped.stdout)}["FR"] == "not running"
