"""`prum up` with a router federation (Prüm II): the central router as its own OS process beside the states'.

A DNA search through the router process finds its hit; a revocation of a state's router connection after the start
is enforced by the router process at once (GATE-2 to the router, P2-GATE-1); the router killed gives each routed
search per-state UNAVAILABLE quickly; a readiness change made while it is down reaches it when `prum restart EU`
starts it again (its catch-up); `status` and `down` cover it."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.cli.app import app
from prum.federation.runtime.processes import read_run
from prum.router.v1 import router_pb2, router_pb2_grpc
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc
from sample_federation import DONOR, officer_search, profile
from test_processes import runner, started_output

FEDERATION = """
[federation]
name = "processes-router"
topology = "router"
deadline_ms = 1500
[defaults]
dna_profiles = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
"""


def statuses(reply: cp_pb2.SearchResponse) -> dict[str, str]:
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}


def test_up_with_the_router_search_revoke_kill_restart_down(tmp_path: Path) -> None:
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION)
    workdir = tmp_path / "run"
    started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
    try:
        assert started.exit_code == 0, started_output(started, workdir) + (
            (workdir / "router" / "node.out").read_text() if (workdir / "router" / "node.out").exists() else "")
        rows = {row["state"]: row for row in json.loads(started.stdout)}
        assert set(rows) == {"DE", "NL", "FR", "EU"}
        run = read_run(workdir)
        router = run["router"]
        assert router["address"].startswith("127.0.0.1:") and router["pid"] == rows["EU"]["pid"]
        assert (workdir / "pki" / "EU.pem").exists() and (workdir / "router" / "address.json").exists()
        healthy = runner.invoke(app, ["status", "--workdir", str(workdir), "--json"])
        assert healthy.exit_code == 0, healthy.output
        assert {r["state"]: (r["health"], r["process"]) for r in json.loads(healthy.stdout)}["EU"] == (
            "SERVING", "running")

        def channel(state: str, to: str | None = None) -> grpc.Channel:
            address = run["router"]["address"] if to == "EU" else run["states"][to or state]["address"]
            return open_channel(address, TlsMaterial.load(workdir / "pki", state))

        with channel("NL") as nl:
            assert dna_pb2_grpc.DnaIndexServiceStub(nl).Ingest(iter([dna_pb2.IngestRequest(
                profile=profile("NL-P-1", DONOR))]), timeout=30).accepted == 1

        def search(reference: str) -> tuple[cp_pb2.SearchResponse, float]:
            with channel("DE") as de:
                begun = time.monotonic()
                reply = cp_pb2_grpc.ContactPointServiceStub(de).Search(officer_search(DONOR, reference,
                                                                                      deadline_ms=1500), timeout=10)
                return reply, time.monotonic() - begun

        reply, _ = search("DE-P-1")
        assert statuses(reply) == {"NL": "HIT", "FR": "NO_HIT"}
        assert [h.reference for h in {r.state: r for r in reply.results}["NL"].dna_hits] == ["NL-P-1"]
        with channel("DE", "EU") as to_router:  # the router process logged both routed queries (P2-ROUTER-3)
            logged = router_pb2_grpc.RouterServiceStub(to_router).ListRoutedQueries(
                router_pb2.ListRoutedQueriesRequest(page_size=100), timeout=5).queries
        assert sorted(q.requested_state for q in logged if q.request_id == reply.request_id) == ["FR", "NL"]
        assert '"router serving"' in (workdir / "router" / "prum.log").read_text()

        # GATE-2 to the router process: NL withdraws its router connection; the router enforces it at once.
        with channel("NL") as nl:
            revoked = supervisor_pb2_grpc.SupervisorServiceStub(nl).RevokeReadiness(supervisor_pb2.RevokeReadinessRequest(
                state="NL", category=common_pb2.CATEGORY_ROUTER_CONNECTION, reason="link maintenance"), timeout=10)
        assert list(revoked.unreached_states) == []
        reply, _ = search("DE-P-2")
        assert statuses(reply) == {"NL": "NOT_READY", "FR": "NO_HIT"}

        # The router dies: every routed search gives each state UNAVAILABLE, within the deadline, no hang.
        os.kill(router["pid"], signal.SIGKILL)
        reply, elapsed = search("DE-P-3")
        assert statuses(reply) == {"NL": "UNAVAILABLE", "FR": "UNAVAILABLE"}
        assert elapsed < 2.5
        down = {r["state"]: (r["health"], r["process"]) for r in json.loads(
            runner.invoke(app, ["status", "--workdir", str(workdir), "--json"]).stdout)}
        assert down["EU"] == ("UNAVAILABLE", "stopped") and down["DE"] == ("SERVING", "running")

        # While it is down FR withdraws its router connection: the router takes it in when it starts again.
        with channel("FR") as fr:
            revoked = supervisor_pb2_grpc.SupervisorServiceStub(fr).RevokeReadiness(supervisor_pb2.RevokeReadinessRequest(
                state="FR", category=common_pb2.CATEGORY_ROUTER_CONNECTION, reason="certificate renewal"), timeout=10)
        assert list(revoked.unreached_states) == ["EU"]
        again = runner.invoke(app, ["restart", "eu", "--workdir", str(workdir), "--json"])
        assert again.exit_code == 0, again.output + (workdir / "router" / "node.out").read_text()
        run = read_run(workdir)
        assert run["router"]["pid"] != router["pid"]
        deadline = time.monotonic() + 20
        while True:  # the catch-up runs beside serving, right after the start
            with channel("DE", "EU") as to_router:
                rows_seen = supervisor_pb2_grpc.SupervisorServiceStub(to_router).GetReadiness(
                    supervisor_pb2.GetReadinessRequest(state="FR", category=common_pb2.CATEGORY_ROUTER_CONNECTION),
                    timeout=5).readiness
            if rows_seen and rows_seen[0].revoked:
                break
            assert time.monotonic() < deadline, list(rows_seen)
            time.sleep(0.2)
        reply, _ = search("DE-P-4")
        assert statuses(reply) == {"NL": "NOT_READY", "FR": "NOT_READY"}  # both revocations, after the restart
    finally:
        stopped = runner.invoke(app, ["down", "--workdir", str(workdir), "--json"])
    assert stopped.exit_code == 0, stopped.output
    assert {r["state"]: r["result"] for r in json.loads(stopped.stdout)} == {
        "DE": "stopped", "NL": "stopped", "FR": "stopped", "EU": "stopped"}
    assert (workdir / "router" / "prum.log").read_text().count('"router stopping"') == 1


def test_the_router_binds_the_address_the_federation_file_gives(tmp_path: Path) -> None:
    """`[router] address`: the router process listens there, run.json records it, the states' contact points reach
    it there; restarted, it binds it again."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        fixed = f"127.0.0.1:{probe.getsockname()[1]}"
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION.replace("[defaults]", f'[router]\naddress = "{fixed}"\n[defaults]'))
    workdir = tmp_path / "run"
    started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
    try:
        assert started.exit_code == 0, started_output(started, workdir)
        assert {row["state"]: row["address"] for row in json.loads(started.stdout)}["EU"] == fixed
        assert read_run(workdir)["router"]["address"] == fixed
        tls = TlsMaterial.load(workdir / "pki", "DE")
        with open_channel(read_run(workdir)["states"]["DE"]["address"], tls) as de:
            reply = cp_pb2_grpc.ContactPointServiceStub(de).Search(officer_search(DONOR, "DE-F-1"), timeout=10)
        assert statuses(reply) == {"NL": "NO_HIT", "FR": "NO_HIT"}
        with open_channel(fixed, tls) as to_router:
            logged = router_pb2_grpc.RouterServiceStub(to_router).ListRoutedQueries(
                router_pb2.ListRoutedQueriesRequest(page_size=100), timeout=5).queries
        assert sorted(q.requested_state for q in logged if q.request_id == reply.request_id) == ["FR", "NL"]
        assert runner.invoke(app, ["down", "--workdir", str(workdir), "--state", "EU"]).exit_code == 0
        again = runner.invoke(app, ["restart", "EU", "--workdir", str(workdir), "--json"])
        assert again.exit_code == 0, again.output
        assert {row["state"]: row["address"] for row in json.loads(again.stdout)}["EU"] == fixed
    finally:
        runner.invoke(app, ["down", "--workdir", str(workdir)])
