"""A federation as processes on this machine: one OS process per state, from one federation file.

`up` compiles the numba kernels once in this process (numba's on-disk cache then serves every node),
writes the PKI and `run.json` into the work folder, and spawns every state before any gRPC channel
exists in this process. Each state binds its own listening port (port 0, or the fixed address its
federation file gives) and publishes the address it really bound in `<workdir>/<STATE>/address.json`
(written atomically); `up` waits until each has published and reports SERVING, then records the
addresses in `run.json`. Peers resolve each other's addresses from those files, lazily, so a state
restarted on another port (its old one taken) is found again. On any failure `up` stops every process
it started and says which state failed, with the tail of its `node.out`. `down` stops them with SIGTERM
(graceful), then SIGKILL after a grace period. Everything listens on loopback.

`status` works on any federation by its addresses, not only on local processes: it reads `run.json` (as `up`
writes it, or as `prum kube render` writes it, every address a Service name) and asks every state's gRPC health
service over mTLS, all in parallel, each with a short deadline, so a state that is down or unreachable shows
UNAVAILABLE or DEADLINE_EXCEEDED and nothing hangs. The caller presents one state's certificate from
`<workdir>/pki` (`caller_of`); an address may be overridden per state (`parse_overrides`: a port-forward on
localhost), and the TLS handshake still checks that the answer comes from that state's certificate
(`open_channel(state=...)`). For a run of `up` the row also says whether the state's local process runs.

A federation of the router topology (Prüm II) has one more process, the central router: `up` issues its
certificate (`ROUTER`, "EU"), spawns it as `python -m prum.federation.runtime.node --state EU`, with its own folder
`<workdir>/router/` (log, readiness book, address.json, prum.log) and waits for it as for a state. It binds the
`[router] address` of the federation file, else a loopback port of its own, and publishes it; the states' contact
points find it there (`PublishedDirectory`). run.json records it under `router`; `status`, `down` and `restart` take
it by its code, `EU`, beside the states (`entries`). A router that is down gives each routed search per-state
UNAVAILABLE at the contact points, within their deadline.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Protocol, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prum.federation.runtime.pki import FederationPki
from prum.federation.runtime.topology import NO_EUROPOL_HERE, Federation
from prum.services.common.identity import ROUTER
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial

Progress = Callable[[str, int, int], None]
STOP_GRACE_S = 10.0
#: How long the states may take to serve once spawned; the kernels are compiled before, not inside it.
START_TIMEOUT_S = 120.0
ADDRESS_FILE = "address.json"
TAIL_LINES = 15
COMPILE_STEP = "compiling the numba kernels (once; later starts load them from numba's cache)"
#: The router's folder in the work folder (the states' are named by their codes).
ROUTER_FOLDER = "router"


def folder_of(workdir: Path, code: str) -> Path:
    """The folder of a state's process, or of the router's (`ROUTER`), in the work folder."""
    return workdir / (ROUTER_FOLDER if code == ROUTER else code)


def entries(run: dict[str, Any]) -> dict[str, Any]:
    """Every process of a run by its code: the states', then the router's (`ROUTER`) when the federation has one."""
    found = dict(run["states"])
    if run.get("router") is not None:
        found[ROUTER] = run["router"]
    return found


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
        if waited != 0:
            return False
    except ChildProcessError:
        pass  # another process's child (an earlier `prum up`): /proc says whether it is a zombie
    proc = Path(f"/proc/{pid}")
    try:
        if proc.joinpath("stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return False  # exited; its parent (init, once `prum up` is gone) has not reaped it yet
        # A pid taken over by another program after the node ended is not the node. (The command line reads
        # empty at moments, e.g. while the process maps memory: that says nothing.)
        command = proc.joinpath("cmdline").read_bytes()
        return not command or b"prum.federation.runtime.node" in command
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:  # no /proc here: the signal 0 above is all there is
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


def publish_address(folder: Path, address: str) -> dict[str, Any]:
    """A node's record of where it listens (the address it really bound), written atomically into its folder:
    peers and `prum up` / `restart` read it. A new process writes a new record (its pid), even on the same port."""
    record = {"address": address, "pid": os.getpid(), "started_at": time.time()}
    temporary = folder / f"{ADDRESS_FILE}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(record), "utf-8")
    temporary.replace(folder / ADDRESS_FILE)
    return record


def published_address(folder: Path) -> dict[str, Any] | None:
    """The record a state's process published (address, pid, started_at), or None."""
    try:
        return json.loads((folder / ADDRESS_FILE).read_text("utf-8"))
    except (FileNotFoundError, ValueError):
        return None


class PublishedDirectory(MutableMapping[str, str]):
    """Every state's address as a node of `prum up` sees it: what the state published in its folder
    (`publish_address`), read again whenever the file changes, else the address `run.json` gives.

    `locate(state)` gives the address and a generation that changes whenever the state's process publishes
    anew (a restart, on the same port or another): `PeerChannels` then drops its channel to it and opens a
    fresh one, which carries no reconnect backoff from the time the state was down."""

    def __init__(self, workdir: Path, addresses: dict[str, str | None]) -> None:
        self.workdir = workdir
        self.addresses = dict(addresses)
        self._seen: dict[str, tuple[tuple[int, int, int], dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def _record(self, state: str) -> dict[str, Any] | None:
        if state not in self.addresses:
            return None
        path = folder_of(self.workdir, state) / ADDRESS_FILE
        try:
            stat = path.stat()
        except FileNotFoundError:
            return None
        key = (stat.st_mtime_ns, stat.st_ino, stat.st_size)
        with self._lock:
            seen = self._seen.get(state)
            if seen is None or seen[0] != key:
                seen = (key, published_address(path.parent))
                self._seen[state] = seen
            return seen[1]

    def locate(self, state: str) -> tuple[str, tuple[Any, ...]]:
        """(address, generation) from one look at the published file: the generation changes whenever the
        state's process publishes anew (its pid and start time)."""
        record = self._record(state)
        if record is not None:
            return str(record["address"]), (record.get("pid"), record.get("started_at"))
        address = self.addresses[state]
        if not address:
            raise KeyError(f"state {state} has published no address yet")
        return address, ()

    def __getitem__(self, state: str) -> str:
        return self.locate(state)[0]

    def __setitem__(self, state: str, address: str) -> None:
        self.addresses[state] = address

    def __delitem__(self, state: str) -> None:
        del self.addresses[state]

    def __iter__(self) -> Iterator[str]:
        return iter(self.addresses)

    def __len__(self) -> int:
        return len(self.addresses)


class _HealthStub(Protocol):
    """health_pb2_grpc.HealthStub as it is: types-grpcio-health-checking declares it without the methods
    that its __init__ sets."""

    Check: grpc.UnaryUnaryMultiCallable[health_pb2.HealthCheckRequest, health_pb2.HealthCheckResponse]


def health_of(address: str, tls: TlsMaterial, timeout_s: float = 1.0, state: str | None = None) -> str:
    """The serving status of the server at `address` (SERVING, NOT_SERVING), or the gRPC status code of the failed
    check (UNAVAILABLE, DEADLINE_EXCEEDED, ...), within `timeout_s`. With `state`, the handshake also checks that
    the server's certificate is that state's, whatever the address (a port-forward on localhost)."""
    with open_channel(address, tls, state=state) as channel:
        try:
            stub = cast(_HealthStub, health_pb2_grpc.HealthStub(channel))
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout_s)
        except grpc.RpcError as error:
            return error.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


def compile_kernels(progress: Progress) -> float:
    """Compile the numba kernels here, once, before any node starts: every node then loads them from numba's
    on-disk cache in about a second, instead of all compiling at once on a few cores. Seconds it took."""
    from prum.federation.runtime.launcher import compile_kernels as compile_all

    progress(COMPILE_STEP, 0, 1)
    seconds = compile_all()
    progress(COMPILE_STEP, 1, 1)
    return seconds


def up(federation: Federation, workdir: Path, timeout_s: float = START_TIMEOUT_S,
       progress: Progress | None = None) -> dict[str, Any]:
    """Start every state as a process; returns the run (states with the address each bound, and pid). On a
    failure every process started is stopped and the error names the state and ends with its node.out."""
    progress = progress or (lambda step, done, total: None)
    if federation.europol.enabled:  # before anything starts: a federation without its Europol would answer wrongly
        raise RuntimeError(NO_EUROPOL_HERE.format(command="prum up"))
    routed = federation.topology == "router"
    workdir.mkdir(parents=True, exist_ok=True)
    if (workdir / "run.json").exists():
        running = [c for c, e in entries(read_run(workdir)).items() if e.get("pid") and _alive(e["pid"])]
        if running:
            raise RuntimeError(f"states {', '.join(running)} already run from {workdir}; `prum down` first")
    kernels_s = compile_kernels(progress)
    # The CA of an earlier `prum pki issue` or `prum up` in this folder, so that an external state's certificate
    # chains to it; else a new one, kept for later issues.
    pki = FederationPki.load_authority(workdir / "pki") or FederationPki.create()
    pki.write_authority(workdir / "pki")
    for spec in federation.states:
        if not spec.external:  # an external state holds its own key (`prum pki issue`)
            pki.issue(spec.code)
    if routed:
        pki.issue_router()  # the router's own certificate, code ROUTER (P2-ROUTER-1)
    pki.write(workdir / "pki")
    codes = [*(s.code for s in federation.states if not s.external), *([ROUTER] if routed else [])]
    for code in codes:  # a record of an earlier run is no address of this one
        (folder_of(workdir, code) / ADDRESS_FILE).unlink(missing_ok=True)
    run: dict[str, Any] = {
        # The federation as this process has it (scaled, edited): every node reads this, not the file.
        "federation": federation.to_file_data(), "started_at": time.time(), "kernels_s": round(kernels_s, 1),
        # A fixed address from the federation file, else none until the state has bound its own port.
        "states": {s.code: {"address": s.address, "pid": None, **({"external": True} if s.external else {})}
                   for s in federation.states},
    }
    if routed:  # the Prüm II router: its `[router] address`, else a loopback port it binds and publishes
        run["router"] = {"address": federation.router.address, "pid": None}
    _write_run(workdir, run)
    try:
        for i, code in enumerate(codes, start=1):
            entries(run)[code]["pid"] = _spawn(workdir, code)
            _write_run(workdir, run)
            progress("states spawned", i, len(codes))
        _wait_serving(workdir, run, codes, timeout_s, progress)
    except BaseException:
        down(workdir)  # every process this started, whatever went wrong (Ctrl-C included)
        raise
    _write_run(workdir, run)
    return run


def restart(workdir: Path, state: str, timeout_s: float = START_TIMEOUT_S) -> dict[str, Any]:
    """Start one state's process again (it was killed or stopped) on its folder, and on its old port if it can
    bind it, else on a new one it publishes (the peers pick it up): it reopens its stores and catches up with
    what the other states changed meanwhile (node.py). Returns the run once the state serves."""
    run = read_run(workdir)
    require_states(run, workdir, [state])
    if entries(run)[state].get("external"):
        raise ValueError(f"state {state} is external: its own team starts its node at {entries(run)[state]['address']}"
                         f", not prum")
    pid = entries(run)[state].get("pid")
    if pid and _alive(pid):
        raise RuntimeError(f"state {state} still runs (pid {pid}); stop it first (`prum down --state {state}`)")
    compile_kernels(lambda step, done, total: None)
    entries(run)[state]["pid"] = _spawn(workdir, state)
    _write_run(workdir, run)
    try:
        _wait_serving(workdir, run, [state], timeout_s, lambda step, done, total: None)
    except BaseException:
        down(workdir, states=[state])
        raise
    _write_run(workdir, run)
    return run


def require_states(run: dict[str, Any], workdir: Path, states: list[str]) -> None:
    """ValueError naming every one of `states` that is not a state of the federation running in `workdir` (nor its
    router, `ROUTER`, when it has one)."""
    unknown = sorted(set(states) - set(entries(run)))
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a state of the federation in {workdir}; states: "
                         f"{', '.join(entries(run))}")


def _spawn(workdir: Path, code: str) -> int:
    folder = folder_of(workdir, code)
    folder.mkdir(exist_ok=True)
    with (folder / "node.out").open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "prum.federation.runtime.node", "--workdir", str(workdir), "--state", code],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return process.pid


def node_out_tail(workdir: Path, state: str, lines: int = TAIL_LINES) -> str:
    """The last lines a state's process wrote to its node.out (what a failed start is read from)."""
    path = folder_of(workdir, state) / "node.out"
    try:
        text = path.read_text("utf-8", "replace")
    except FileNotFoundError:
        return f"(no {path})"
    tail = text.splitlines()[-lines:]
    return f"the end of {path}:\n" + ("\n".join(f"  {line}" for line in tail) if tail else "  (empty)")


def _wait_serving(workdir: Path, run: dict[str, Any], states: list[str], timeout_s: float,
                  progress: Progress) -> None:
    """Wait until each of `states` has published the address it bound (from its current process) and reports
    SERVING there; the address goes into `run`. A process that exits, or the timeout, raises naming the state."""
    deadline = time.monotonic() + timeout_s
    pending = list(states)
    materials = {code: TlsMaterial.load(workdir / "pki", code) for code in states}
    while pending:
        for code in list(pending):
            entry = entries(run)[code]
            record = published_address(folder_of(workdir, code))
            if record is not None and record.get("pid") == entry["pid"] and \
                    health_of(record["address"], materials[code], 0.5) == "SERVING":
                entry["address"] = record["address"]
                pending.remove(code)
                progress("states serving", len(states) - len(pending), len(states))
            elif not _alive(entry["pid"]):
                raise RuntimeError(f"state {code} exited at start (pid {entry['pid']}); "
                                   f"{node_out_tail(workdir, code)}")
        if pending and time.monotonic() >= deadline:
            raise TimeoutError(f"states {', '.join(pending)} not serving after {timeout_s:.0f} s; "
                               + "\n".join(node_out_tail(workdir, code) for code in pending))
        if pending:
            time.sleep(0.1)


def current_address(workdir: Path, state: str, entry: dict[str, Any]) -> str | None:
    """Where `state` listens now: what its running process published, else the address run.json records."""
    record = published_address(folder_of(workdir, state))
    if record is not None and entry.get("pid") and record.get("pid") == entry["pid"]:
        return str(record["address"])
    return entry.get("address")


def parse_overrides(values: list[str] | None) -> dict[str, str]:
    """`XX=host:port` pairs (`--address`, repeatable) as {state: address}; ValueError on a malformed one."""
    overrides: dict[str, str] = {}
    for value in values or []:
        state, sep, address = value.partition("=")
        host, colon, port = address.rpartition(":")
        if not sep or not state.strip() or not colon or not host or not port.isdigit():
            raise ValueError(f"{value!r}: give a state and its address as XX=host:port, e.g. NL=localhost:50052")
        overrides[state.strip().upper()] = address.strip()
    return overrides


def caller_of(workdir: Path, run: dict[str, Any], as_state: str | None = None) -> TlsMaterial:
    """The certificate presented to the states: `as_state`'s, else that of the first state of `run.json` whose key
    is in `<workdir>/pki` (a run of `up` or a rendered federation holds every state's; an operator, their own).
    ValueError when that key is not there."""
    pki = workdir / "pki"
    if as_state is not None:
        as_state = as_state.upper()
        if not (pki / f"{as_state}.key").exists():
            raise ValueError(f"no key of {as_state} in {pki}: present a state whose certificate and key are there "
                             f"(--as)")
        return TlsMaterial.load(pki, as_state)
    for code in run["states"]:
        if (pki / f"{code}.key").exists() and (pki / f"{code}.pem").exists():
            return TlsMaterial.load(pki, code)
    raise ValueError(f"no state's key in {pki}: put a state's certificate and key there (XX.pem, XX.key, with ca.pem)")


def address_of(workdir: Path, run: dict[str, Any], state: str, overrides: dict[str, str] | None = None) -> str | None:
    """Where to reach `state`: its override (`--address`), else where its local process published it listens, else
    the address run.json gives (a Service name for a rendered federation)."""
    if overrides and state in overrides:
        return overrides[state]
    return current_address(workdir, state, entries(run)[state])


def status(workdir: Path, timeout_s: float = 1.0, as_state: str | None = None,
           overrides: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every state of the federation in `workdir` by its address: state, address, gRPC health (SERVING,
    NOT_SERVING, or the status code of the failed check), and for a run of `up` its pid and whether the process
    runs. Every state is asked at once, each within `timeout_s`. ValueError for an unknown state or a missing key."""
    run = read_run(workdir)
    overrides = overrides or {}
    require_states(run, workdir, list(overrides))
    tls = caller_of(workdir, run, as_state)
    local = any("pid" in entry for entry in run["states"].values())  # `up` records pids; a rendered run.json none
    processes = entries(run)

    def check(code: str) -> dict[str, Any]:
        entry = processes[code]
        address = address_of(workdir, run, code, overrides)
        pid = entry.get("pid")
        alive = bool(pid) and _alive(pid)
        if address:
            health = health_of(address, tls, timeout_s, state=code)
        else:
            health = "STARTING" if alive else "NO ADDRESS"  # spawned, its port not bound yet; or never started
        row: dict[str, Any] = {"state": code, "address": address}
        if local:
            row |= {"pid": pid, "process": "external" if entry.get("external") else "running" if alive else "stopped"}
        return row | {"health": health}

    codes = list(processes)
    with ThreadPoolExecutor(max_workers=max(1, min(len(codes), 32)), thread_name_prefix="prum-status") as pool:
        return list(pool.map(check, codes))


def down(workdir: Path, grace_s: float = STOP_GRACE_S, states: list[str] | None = None) -> list[dict[str, Any]]:
    """Stop every state, or only `states`: SIGTERM (calls in flight finish), SIGKILL after `grace_s`. A stopped
    state keeps its folder and address, so `restart` brings it back as it was (on the same port if it is free)."""
    run = read_run(workdir)
    require_states(run, workdir, states or [])
    chosen = {code: entry for code, entry in entries(run).items() if states is None or code in states}
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
