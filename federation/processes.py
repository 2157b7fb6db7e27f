"""A federation as processes on this machine: one OS process per state, from one federation file.

`up` writes the PKI and `run.json` (addresses, pids) into the work folder, spawns every state before
any gRPC channel exists in this process, waits until each reports SERVING, and loads the synthetic
national files. `status` asks each state's health service with a short deadline; `down` stops them
with SIGTERM (graceful), then SIGKILL after a grace period. Everything listens on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from prum.federation.pki import FederationPki
from prum.federation.topology import Federation
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial

Progress = Callable[[str, int, int], None]
STOP_GRACE_S = 10.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A child that exited but was not reaped yet is a zombie: not alive.
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)
        return waited == 0
    except ChildProcessError:
        return True


def read_run(workdir: Path) -> dict[str, Any]:
    path = workdir / "run.json"
    if not path.exists():
        raise FileNotFoundError(f"no federation runs in {workdir}: start one with `prum up --workdir {workdir}`")
    return json.loads(path.read_text("utf-8"))


def _write_run(workdir: Path, run: dict[str, Any]) -> None:
    temporary = workdir / "run.json.tmp"
    temporary.write_text(json.dumps(run, indent=2), "utf-8")
    temporary.replace(workdir / "run.json")


def health_of(address: str, tls: TlsMaterial, timeout_s: float = 1.0) -> str:
    with open_channel(address, tls) as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""),
                                                              timeout=timeout_s)
        except grpc.RpcError as error:
            return error.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def up(federation: Federation, workdir: Path, timeout_s: float = 60.0,
       progress: Progress | None = None) -> dict[str, Any]:
    """Start every state as a process; returns the run (states with address and pid)."""
    progress = progress or (lambda step, done, total: None)
    workdir.mkdir(parents=True, exist_ok=True)
    if (workdir / "run.json").exists():
        running = [c for c, e in read_run(workdir)["states"].items() if e.get("pid") and _alive(e["pid"])]
        if running:
            raise RuntimeError(f"states {', '.join(running)} already run from {workdir}; `prum down` first")
    pki = FederationPki.create(federation.codes)
    pki.write(workdir / "pki")
    run: dict[str, Any] = {
        # The federation as this process has it (scaled, edited): every node reads this, not the file.
        "federation": federation.to_file_data(), "started_at": time.time(),
        "states": {s.code: {"address": s.address or f"127.0.0.1:{_free_port()}"} for s in federation.states},
    }
    _write_run(workdir, run)
    for i, code in enumerate(federation.codes, start=1):
        run["states"][code]["pid"] = _spawn(workdir, code)
        progress("states spawned", i, len(federation.codes))
    _write_run(workdir, run)
    _wait_serving(workdir, run, list(federation.codes), timeout_s, progress)
    return run


def restart(workdir: Path, state: str, timeout_s: float = 60.0) -> dict[str, Any]:
    """Start one state's process again (it was killed or stopped) on its folder and address: it reopens its
    stores and catches up with what the other states changed meanwhile (node.py). Returns the run."""
    run = read_run(workdir)
    require_states(run, workdir, [state])
    pid = run["states"][state].get("pid")
    if pid and _alive(pid):
        raise RuntimeError(f"state {state} still runs (pid {pid}); stop it first (`prum down --state {state}`)")
    run["states"][state]["pid"] = _spawn(workdir, state)
    _write_run(workdir, run)
    _wait_serving(workdir, run, [state], timeout_s, lambda step, done, total: None)
    return run


def require_states(run: dict[str, Any], workdir: Path, states: list[str]) -> None:
    """ValueError naming every one of `states` that is not a state of the federation running in `workdir`."""
    unknown = sorted(set(states) - set(run["states"]))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a state of the federation in {workdir}; states: "
                         f"{', '.join(run['states'])}")


def _spawn(workdir: Path, code: str) -> int:
    folder = workdir / code
    folder.mkdir(exist_ok=True)
    with (folder / "node.out").open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prum.federation.node", "--workdir", str(workdir), "--state", code],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return process.pid


def _wait_serving(workdir: Path, run: dict[str, Any], states: list[str], timeout_s: float,
                  progress: Progress) -> None:
    deadline = time.monotonic() + timeout_s
    pending = list(states)
    materials = {code: TlsMaterial.load(workdir / "pki", code) for code in states}
    while pending and time.monotonic() < deadline:
        for code in list(pending):
            if health_of(run["states"][code]["address"], materials[code], 0.5) == "SERVING":
                pending.remove(code)
                progress("states serving", len(states) - len(pending), len(states))
            elif not _alive(run["states"][code]["pid"]):
                raise RuntimeError(f"state {code} exited at start; see {workdir / code / 'node.out'}")
        time.sleep(0.1)
    if pending:
        raise TimeoutError(f"states {', '.join(pending)} not serving after {timeout_s:.0f} s; "
                           f"see {workdir}/<STATE>/node.out")


def status(workdir: Path, timeout_s: float = 1.0) -> list[dict[str, Any]]:
    run = read_run(workdir)
    rows = []
    for code, entry in run["states"].items():
        pid = entry.get("pid")
        alive = bool(pid) and _alive(pid)
        health = health_of(entry["address"], TlsMaterial.load(workdir / "pki", code), timeout_s) if alive \
            else "STOPPED"
        rows.append({"state": code, "address": entry["address"], "pid": pid, "process": alive, "health": health})
    return rows


def down(workdir: Path, grace_s: float = STOP_GRACE_S, states: list[str] | None = None) -> list[dict[str, Any]]:
    """Stop every state, or only `states`: SIGTERM (calls in flight finish), SIGKILL after `grace_s`. A stopped
    state keeps its folder and address, so `restart` brings it back as it was."""
    run = read_run(workdir)
    require_states(run, workdir, states or [])
    chosen = {code: entry for code, entry in run["states"].items() if states is None or code in states}
    stopped = []
    signalled = set()
    for code, entry in chosen.items():
        pid = entry.get("pid")
        if pid and _alive(pid):
            os.kill(pid, signal.SIGTERM)
            signalled.add(code)
    deadline = time.monotonic() + grace_s
    for code, entry in chosen.items():
        pid = entry.get("pid")
        how = "not running"
        if code in signalled:
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
                how = "killed after grace"
            else:
                how = "stopped"
        entry["pid"] = None
        stopped.append({"state": code, "result": how})
    _write_run(workdir, run)
    return stopped
