"""`prum up` / `restart` as processes, issue 16: a first start compiles the kernels once and stops what it started
when it fails; a restarted state is reached by the very next search; every state binds its own port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sample_federation import officer_search
from typer.testing import CliRunner

from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.contact_point.v1 import contact_point_pb2_grpc as cp_pb2_grpc
from prum.federation.runtime import processes
from prum.federation.cli.app import app
from prum.federation.runtime.processes import read_run
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial

runner = CliRunner()

FEDERATION = """
[federation]
name = "processes"
deadline_ms = 3000
[defaults]
dna_profiles = 0
vehicles = 0
fingerprints = 0
[[state]]
code = "DE"
[[state]]
code = "NL"
[[state]]
code = "FR"
"""

TRACE = {"D3S1358": ["9", "10"], "VWA": ["11", "12"], "D8S1179": ["8", "9"], "D21S11": ["24", "25"],
         "D18S51": ["10", "11"], "TH01": ["5", "10"], "FGA": ["17", "18"]}


def _prum() -> list[str]:
    script = Path(sys.executable).parent / "prum"
    return [str(script)] if script.exists() else [sys.executable, "-c", "from prum.federation.cli.app import app; app()"]


def _tails(workdir: Path) -> str:
    """The end of each state's node.out: what a failed start is read from."""
    return "\n".join(f"--- {out.parent.name}/node.out ---\n" + "\n".join(out.read_text("utf-8", "replace").splitlines()[-20:])
                     for out in sorted(workdir.glob("*/node.out")))


def _processes_of(workdir: Path) -> list[int]:
    """The pids of live (not zombie) node processes started for `workdir`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if b"prum.federation.runtime.node" in command and str(workdir).encode() in command and state != "Z":
            found.append(int(proc.name))
    return found


def _up(tmp_path: Path, federation: str = FEDERATION) -> tuple[Path, dict]:
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(federation)
    workdir = tmp_path / "run"
    started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
    assert started.exit_code == 0, started.output + _tails(workdir)
    return workdir, {row["state"]: row for row in json.loads(started.stdout)}


def _down(workdir: Path) -> None:
    stopped = runner.invoke(app, ["down", "--workdir", str(workdir), "--json"])
    assert stopped.exit_code == 0, stopped.output
    assert not _processes_of(workdir)


def _search(workdir: Path, through: str) -> tuple[dict[str, str], float]:
    """An officer's DNA search through `through`'s contact point: (status per state, seconds it took)."""
    run = read_run(workdir)
    with open_channel(run["states"][through]["address"], TlsMaterial.load(workdir / "pki", through)) as channel:
        begun = time.monotonic()
        reply = cp_pb2_grpc.ContactPointServiceStub(channel).Search(officer_search(
            TRACE, officer_id=f"{through}-NCP-01", ordering_officer_id=f"{through}-NCP-02", deadline_ms=3000),
            timeout=15)
        elapsed = time.monotonic() - begun
    return {r.state: cp_pb2.ResultStatus.Name(r.status).removeprefix("RESULT_STATUS_") for r in reply.results}, elapsed


def _checkpoint_state(workdir: Path, state: str) -> str:
    """The state that answers at `state`'s address in run.json (its signed log checkpoint names it)."""
    signed = runner.invoke(app, ["logs", "--workdir", str(workdir), "--state", state, "--checkpoint", "--json"])
    assert signed.exit_code == 0, signed.output
    return json.loads(signed.stdout)["state"]


# --- finding 6: the first start on a machine -------------------------------------------------------------------


@pytest.mark.slow
def test_first_up_with_an_empty_numba_cache_serves_with_its_files_loaded(tmp_path: Path) -> None:
    """Seven states and an empty numba cache: `prum up` compiles the kernels once, before the nodes start (they
    load them from the cache), and comes up with every national file loaded, within its time bound."""
    cache = tmp_path / "numba-cache"
    cache.mkdir()
    workdir = tmp_path / "run"
    environment = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "OPENBLAS_NUM_THREADS": "1"}
    begun = time.monotonic()
    try:
        done = subprocess.run([*_prum(), "up", "--workdir", str(workdir), "--json"], capture_output=True, text=True,
                              timeout=900, env=environment)
        took = time.monotonic() - begun
        assert done.returncode == 0, done.stderr[-3000:] + _tails(workdir)
        rows = {row["state"]: row for row in json.loads(done.stdout)}
        assert set(rows) == {"BE", "DE", "ES", "FR", "LU", "NL", "AT"}
        assert all(row["dna_profiles"] > 0 and row["vehicles"] > 0 for row in rows.values()), rows
        assert any(cache.rglob("*.nbi")), "the kernels were not cached in NUMBA_CACHE_DIR"
        health = subprocess.run([*_prum(), "status", "--workdir", str(workdir), "--json"], capture_output=True,
                                text=True, timeout=60, env=environment)
        assert {row["health"] for row in json.loads(health.stdout)} == {"SERVING"}
        print(f"first prum up with an empty numba cache: {took:.0f} s "
              f"(kernels {read_run(workdir).get('kernels_s')} s)")
    finally:
        if (workdir / "run.json").exists():
            subprocess.run([*_prum(), "down", "--workdir", str(workdir)], capture_output=True, timeout=60, env=environment)
    assert not _processes_of(workdir)


def test_a_failed_start_stops_every_process_and_names_the_state(tmp_path: Path) -> None:
    """FR's fixed address is taken: FR cannot bind it and exits. `prum up` stops the states it started, says it
    was FR and shows the end of FR's node.out."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        federation_file = tmp_path / "federation.toml"
        federation_file.write_text(FEDERATION.replace('code = "FR"', f'code = "FR"\naddress = "127.0.0.1:{port}"'))
        workdir = tmp_path / "run"
        started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
        try:
            assert started.exit_code == 1, started.output
            assert "state FR exited at start" in started.output
            assert "FR/node.out:" in started.output and "failed to bind" in started.output.lower()
            assert "every state it started is stopped" in started.output
            assert not _processes_of(workdir)
            assert all(entry["pid"] is None for entry in read_run(workdir)["states"].values())
        finally:
            runner.invoke(app, ["down", "--workdir", str(workdir)])


# --- finding 7: a restarted state is reached at once -------------------------------------------------------------


def test_the_next_search_after_a_restart_reaches_the_state(tmp_path: Path) -> None:
    """FR is killed; while it is down every search gets UNAVAILABLE for it at once (far within the 3 s deadline),
    and its peers' channels back off. Once `prum restart FR` returns, the very next search through DE's and
    through NL's contact point reaches FR."""
    workdir, states = _up(tmp_path)
    try:
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
        assert _search(workdir, "NL")[0] == {"DE": "NO_HIT", "FR": "NO_HIT"}
        os.kill(states["FR"]["pid"], signal.SIGKILL)
        for _ in range(4):  # failed connection attempts: the channels to FR back off
            for through, other in (("DE", "NL"), ("NL", "DE")):
                results, elapsed = _search(workdir, through)
                assert results == {other: "NO_HIT", "FR": "UNAVAILABLE"}
                assert elapsed < 1.0, elapsed  # never a wait up to the deadline
            time.sleep(0.3)
        again = runner.invoke(app, ["restart", "FR", "--workdir", str(workdir), "--json"])
        assert again.exit_code == 0, again.output + _tails(workdir)
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
        assert _search(workdir, "NL")[0] == {"DE": "NO_HIT", "FR": "NO_HIT"}

        # Stopped gracefully: UNAVAILABLE at once as well, and back at the next search after the restart.
        assert runner.invoke(app, ["down", "--workdir", str(workdir), "--state", "FR"]).exit_code == 0
        results, elapsed = _search(workdir, "DE")
        assert results == {"NL": "NO_HIT", "FR": "UNAVAILABLE"} and elapsed < 1.0, (results, elapsed)
        assert runner.invoke(app, ["restart", "FR", "--workdir", str(workdir)]).exit_code == 0
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
    finally:
        _down(workdir)


# --- finding 8: every state binds its own port ------------------------------------------------------------------


def test_every_state_binds_its_own_port_and_a_taken_port_changes_nothing(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Something takes a port between the moment `up` could have chosen it and the state's start (here: the
    address run.json holds for the state about to be spawned, if it holds one): every state still starts,
    on the port it bound itself, and the address in run.json is where that state, not another, answers. A
    fixed address of the federation file is kept."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        fixed = f"127.0.0.1:{probe.getsockname()[1]}"
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION.replace('code = "NL"', f'code = "NL"\naddress = "{fixed}"'))
    workdir = tmp_path / "run"
    thieves: list[socket.socket] = []
    spawn = processes.subprocess.Popen

    def take_then_spawn(command: list[str], **options: object) -> subprocess.Popen:
        state = command[command.index("--state") + 1]
        address = json.loads((workdir / "run.json").read_text())["states"][state].get("address")
        if address and address != fixed:
            thief = socket.socket()
            thief.bind(("127.0.0.1", int(address.rsplit(":", 1)[1])))
            thief.listen()
            thieves.append(thief)
        return spawn(command, **options)

    monkeypatch.setattr(processes.subprocess, "Popen", take_then_spawn)
    started = runner.invoke(app, ["up", "-f", str(federation_file), "--workdir", str(workdir), "--json"])
    monkeypatch.undo()
    try:
        assert started.exit_code == 0, started.output + _tails(workdir)
        run = read_run(workdir)
        assert run["states"]["NL"]["address"] == fixed
        addresses = [entry["address"] for entry in run["states"].values()]
        assert len(set(addresses)) == 3
        for state, entry in run["states"].items():
            record = json.loads((workdir / state / "address.json").read_text())  # what the state published
            assert (record["address"], record["pid"]) == (entry["address"], entry["pid"])
            assert _checkpoint_state(workdir, state) == state
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
    finally:
        for thief in thieves:
            thief.close()
        _down(workdir)


def test_a_state_restarted_on_a_new_port_is_found_by_its_peers(tmp_path: Path) -> None:
    """FR is killed and its port taken meanwhile: `prum restart FR` starts it on a new port it publishes;
    run.json, `prum status` and every peer's contact point use the new address. A restart keeps the old
    port when it is free."""
    workdir, states = _up(tmp_path)
    try:
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
        old = states["FR"]["address"]
        os.kill(states["FR"]["pid"], signal.SIGKILL)
        with socket.socket() as thief:
            # As a server would take it: its closed connections' TIME_WAIT does not stand in the way.
            thief.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            deadline = time.monotonic() + 10
            while True:
                try:
                    thief.bind(("127.0.0.1", int(old.rsplit(":", 1)[1])))
                    break
                except OSError:  # FR's process not gone yet
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            thief.listen()
            again = runner.invoke(app, ["restart", "FR", "--workdir", str(workdir), "--json"])
            assert again.exit_code == 0, again.output + _tails(workdir)
            new = read_run(workdir)["states"]["FR"]["address"]
            assert new != old and {r["state"]: r["address"] for r in json.loads(again.stdout)}["FR"] == new
            health = json.loads(runner.invoke(app, ["status", "--workdir", str(workdir), "--json"]).stdout)
            assert {r["state"]: (r["address"], r["health"]) for r in health}["FR"] == (new, "SERVING")
            assert _checkpoint_state(workdir, "FR") == "FR"
            assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
            assert _search(workdir, "NL")[0] == {"DE": "NO_HIT", "FR": "NO_HIT"}

        assert runner.invoke(app, ["down", "--workdir", str(workdir), "--state", "FR"]).exit_code == 0
        assert runner.invoke(app, ["restart", "FR", "--workdir", str(workdir)]).exit_code == 0
        assert read_run(workdir)["states"]["FR"]["address"] == new  # its port was free: kept
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
    finally:
        _down(workdir)


def test_a_restart_after_prum_up_has_exited(tmp_path: Path) -> None:
    """As a user runs it: `prum up` is a process that has exited when FR is killed, so FR is no child of the
    `prum restart` that follows (nor of this test); an exited FR that its new parent has not reaped yet is a
    zombie, not a state that still runs. The restart brings it back and the next search reaches it."""
    federation_file = tmp_path / "federation.toml"
    federation_file.write_text(FEDERATION)
    workdir = tmp_path / "run"
    try:
        started = subprocess.run([*_prum(), "up", "-f", str(federation_file), "--workdir", str(workdir), "--json"],
                                 capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stderr[-3000:] + _tails(workdir)
        fr = read_run(workdir)["states"]["FR"]["pid"]
        os.kill(fr, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while fr in _processes_of(workdir):
            assert time.monotonic() < deadline
            time.sleep(0.05)
        again = subprocess.run([*_prum(), "restart", "FR", "--workdir", str(workdir), "--json"], capture_output=True,
                               text=True, timeout=300)
        assert again.returncode == 0, again.stderr[-3000:] + _tails(workdir)
        assert _search(workdir, "DE")[0] == {"NL": "NO_HIT", "FR": "NO_HIT"}
    finally:
        if (workdir / "run.json").exists():
            subprocess.run([*_prum(), "down", "--workdir", str(workdir)], capture_output=True, timeout=60)
    assert not _processes_of(workdir)
