"""A bare grpcio echo server in its own process: the ceiling every throughput ratio is taken against (issue 18).

`grpc.server` with the same thread pool as a state's server (16), insecure, no interceptors, no health or
reflection, only `EchoService.Echo`, on loopback at a free port. `prum bench load` (the `bare` query type)
and `bench/rpc_ceiling.py` start it with `bare_server()`, call it from the same client as the federation in
the same run, and stop it on every path out (an error, Ctrl-C); the process also quits by itself when
the process that started it is gone.

    python -m prum.loadtests.bare_server --port-file /tmp/port --threads 16   # until SIGTERM
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SERVER_THREADS = 16  # a state's server: prum.services.common.server.create_server's max_workers
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class BareServer:
    address: str  # 127.0.0.1:port
    pid: int


def serve(port_file: Path, threads: int = SERVER_THREADS) -> None:
    """Serve until SIGTERM or until the parent process is gone; the port is written to `port_file`."""
    import grpc
    from prum.echo.v1 import echo_pb2_grpc
    from prum.services.echo.servicer import EchoServicer

    parent = os.getppid()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=threads))
    echo_pb2_grpc.add_EchoServiceServicer_to_server(EchoServicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    temporary = port_file.with_name(port_file.name + ".tmp")
    temporary.write_text(str(port))
    temporary.replace(port_file)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1.0):
        if os.getppid() != parent:  # orphaned: whoever started it was killed without stopping it
            break
    server.stop(0)


@contextmanager
def bare_server(threads: int = SERVER_THREADS, env: dict[str, str] | None = None) -> Iterator[BareServer]:
    """A bare echo server process for the duration of the block; stopped (by its pid) on every way out."""
    folder = Path(tempfile.mkdtemp(prefix="prum-bare-echo-"))
    port_file = folder / "port"
    # Its own session: a Ctrl-C at the terminal reaches the bench, which stops the server itself.
    child = subprocess.Popen([sys.executable, "-m", "prum.loadtests.bare_server", "--port-file", str(port_file),
                              "--threads", str(threads)], start_new_session=True,
                             env={**os.environ, **(env or {})})
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not port_file.exists():
            if child.poll() is not None:
                raise RuntimeError(f"the bare echo server quit at start (exit code {child.returncode})")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the bare echo server did not start within {START_TIMEOUT_S:g} s")
            time.sleep(0.05)
        yield BareServer(f"127.0.0.1:{port_file.read_text().strip()}", child.pid)
    finally:
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
                    child.wait(10)
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port-file", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=SERVER_THREADS)
    options = parser.parse_args()
    serve(options.port_file, options.threads)


if __name__ == "__main__":
    main()
