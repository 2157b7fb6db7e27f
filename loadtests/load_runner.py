"""Runs Locust headless as subprocesses, bounded in time, and measures the CPU it takes (no Locust import here).

One run is either one local Locust process (`workers=0`), or a master and N workers on this machine,
as on Kubernetes (a master pod and N worker pods): separate OS processes talking over loopback. The
master (or the local process) writes the CSV files, the HTML report and the final summary (JSON).

While Locust runs, the CPU time of every Locust process and of every federation server is sampled
(psutil, which Locust itself depends on, or /proc). The measured window is the one Locust's own
statistics cover: from the end of spawning (--reset-stats) to the stop; each process's CPU time over
it is interpolated from the samples. The run is bounded: the processes are killed (by their ids)
if they are still running `GRACE_S` seconds after the planned end.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import prum.loadtests

LOCUSTFILE = Path(prum.loadtests.__file__).parent / "locustfile.py"
GRACE_S = 90.0
SAMPLE_S = 0.25
# Every process of the test runs its numerical libraries on one thread: two cores are all there is.
PINNED_THREADS = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of one process (not its children), or None once it is gone."""
    try:
        import psutil

        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    except ImportError:
        pass
    except Exception:  # noqa: BLE001 - psutil.NoSuchProcess, AccessDenied, ZombieProcess
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def environment_of(pid: int) -> dict[str, str]:
    """The environment a process was started with (Linux), or {} when it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


class CpuSampler:
    """CPU seconds of a set of processes over time; `between(a, b)` interpolates each process's use."""

    def __init__(self) -> None:
        self.samples: dict[int, list[tuple[float, float]]] = {}

    def sample(self, pids: list[int]) -> None:
        moment = time.time()
        for pid in pids:
            used = cpu_seconds(pid)
            if used is not None:
                self.samples.setdefault(pid, []).append((moment, used))

    def at(self, pid: int, moment: float) -> float:
        series = self.samples.get(pid, [])
        if not series:
            return 0.0
        times = [t for t, _ in series]
        i = bisect_left(times, moment)
        if i == 0:
            return series[0][1]
        if i >= len(series):
            return series[-1][1]
        (t0, v0), (t1, v1) = series[i - 1], series[i]
        return v0 + (v1 - v0) * (moment - t0) / max(t1 - t0, 1e-9)

    def between(self, pids: list[int], start: float, stop: float) -> float:
        return sum(max(0.0, self.at(pid, stop) - self.at(pid, start)) for pid in pids)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocustRun:
    """What one Locust run produced: its folder, exit codes, the window and the CPU taken."""

    folder: Path
    classes: list[str]
    users: int
    workers: int
    duration_s: int
    exit_codes: dict[str, int | None] = field(default_factory=dict)
    killed: bool = False
    window: tuple[float, float] | None = None
    cpu: dict[str, float | dict[str, float]] = field(default_factory=dict)
    commands: list[list[str]] = field(default_factory=list)

    @property
    def csv_prefix(self) -> Path:
        return self.folder / "locust"


def _command(role: str, run: LocustRun, spawn_rate: float, port: int) -> list[str]:
    base = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--loglevel", "INFO",
            "--reset-stats"]
    if role == "worker":
        return [*base, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    command = [*base, "-u", str(run.users), "-r", f"{spawn_rate:g}", "-t", f"{run.duration_s}s", "--stop-timeout",
               "5", "--only-summary", "--csv", str(run.csv_prefix), "--html", str(run.folder / "report.html"),
               "--json-file", str(run.folder / "summary"), "--exit-code-on-error", "0"]
    if role == "master":
        command += ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                    "--expect-workers", str(run.workers), "--expect-workers-max-wait", "60"]
    return [*command, *run.classes]


def _stop(processes: list[subprocess.Popen[bytes]], grace_s: float = 10.0) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    for process in processes:
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()


def run_locust(folder: Path, plan_path: Path, classes: list[str], users: int, spawn_rate: float, duration_s: int,
               workers: int, server_pids: dict[str, int],
               progress: Callable[[int, int], None] | None = None) -> LocustRun:
    """Start Locust (local, or a master and `workers` workers), wait for it to stop by itself, measure.

    `progress(seconds since start, planned seconds)` is called while it runs. Locust runs in `folder`, so
    the paths it is given are made absolute first (a relative --out would point nowhere from there)."""
    folder, plan_path = folder.resolve(), plan_path.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    run = LocustRun(folder, classes, users, workers, duration_s)
    environment = {**os.environ, **PINNED_THREADS, "PRUM_LOAD_PLAN": str(plan_path), "PYTHONUNBUFFERED": "1"}
    port = free_port()
    roles = ["master", *(f"worker-{i}" for i in range(1, workers + 1))] if workers else ["local"]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    sampler = CpuSampler()
    try:
        for role in roles:
            command = _command(role.split("-")[0], run, spawn_rate, port)
            run.commands.append(command)
            with (folder / f"{role}.log").open("wb") as log:
                processes[role] = subprocess.Popen(command, cwd=folder, env=environment, stdout=log,
                                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                   start_new_session=True)
        pids = [p.pid for p in processes.values()] + list(server_pids.values())
        started = time.monotonic()
        deadline = started + duration_s + GRACE_S
        while any(p.poll() is None for p in processes.values()):
            sampler.sample(pids)
            if progress is not None:
                progress(min(int(time.monotonic() - started), duration_s), duration_s)
            if time.monotonic() > deadline:
                run.killed = True
                break
            time.sleep(SAMPLE_S)
    finally:
        _stop(list(processes.values()))
    run.exit_codes = {role: p.returncode for role, p in processes.items()}
    reports = [json.loads(p.read_text("utf-8")) for p in sorted((folder / "processes").glob("*.json"))]
    leader = next((r for r in reports if r["role"] in ("master", "local")), None)
    if leader and leader.get("spawned_at") and leader.get("stopped_at"):
        run.window = (float(leader["spawned_at"]), float(leader["stopped_at"]))
        seconds = max(run.window[1] - run.window[0], 1e-9)
        locust_pids = [p.pid for p in processes.values()]
        cores = os.cpu_count() or 1
        locust_cpu_s = round(sampler.between(locust_pids, *run.window), 2)
        servers_cpu_s = round(sampler.between(list(server_pids.values()), *run.window), 2)
        run.cpu = {
            "window_s": round(seconds, 2), "cores": cores, "locust_cpu_s": locust_cpu_s, "servers_cpu_s": servers_cpu_s,
            "locust_share": round(locust_cpu_s / (seconds * cores), 3),
            "servers_share": round(servers_cpu_s / (seconds * cores), 3),
        }
        run.cpu["per_process_s"] = {role: round(sampler.between([p.pid], *run.window), 2)
                                    for role, p in processes.items()}
        run.cpu["per_server_s"] = {code: round(sampler.between([pid], *run.window), 2)
                                   for code, pid in server_pids.items()}
    names = {p.pid: role for role, p in processes.items()} | {pid: code for code, pid in server_pids.items()}
    (folder / "cpu_samples.json").write_text(json.dumps(
        {"window": run.window, "samples": {names.get(pid, str(pid)): series
                                           for pid, series in sampler.samples.items()}}), "utf-8")
    return run
