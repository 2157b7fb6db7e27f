"""One member state as its own OS process: `python -m prum.federation.node --workdir DIR --state NL`.

Started by `prum up`, which writes `DIR/run.json` (every state's address) and the federation PKI in
`DIR/pki` before any process starts, or by a Kubernetes Deployment (`prum kube render`), which mounts
them and passes `--listen 0.0.0.0:50051 --log-stdout`: there the address in run.json is the state's
Service, not where the process binds. Serves until SIGTERM or SIGINT, then reports NOT_SERVING on its
health service, lets calls in flight finish (grace period) and closes its stores.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from prum.federation.launcher import build_state, catch_up, catch_up_timeout
from prum.federation.topology import parse_federation
from prum.services.common.clock import SystemClock
from prum.services.common.logs import configure_logging, get_logger
from prum.services.common.tls import TlsMaterial
from prum.services.common.tracing import create_tracer_provider

GRACE_S = 2.0
#: A state asks its peers again this often for what it may have missed (a push that failed, a peer that was down
#: when it changed something): the catch-up that runs at start, repeated (GATE-2, DEC-1, AUD-1).
CATCH_UP_EVERY_S = 300.0


def read_run(workdir: Path) -> dict:
    return json.loads((workdir / "run.json").read_text("utf-8"))


def keep_caught_up(run: Callable[[], None], stop: threading.Event, every_s: float,
                   failed: Callable[[Exception], None]) -> int:
    """Run the catch-up (what the state missed: readiness, declarations, joint cases; GATE-2, DEC-1, AUD-1) at
    start and then every `every_s` until `stop` is set; a failed round goes to `failed` (the node logs it) and
    the state serves on. Returns the number of rounds run."""
    rounds = 0
    while not stop.is_set():
        rounds += 1
        try:
            run()
        except Exception as error:  # noqa: BLE001 - reported; the next round tries again
            failed(error)
        if stop.wait(every_s):
            break
    return rounds


def serve(workdir: Path, state: str, listen: str | None = None, log_stdout: bool = False,
          catch_up_every_s: float = CATCH_UP_EVERY_S) -> None:
    run = read_run(workdir)
    federation = parse_federation(run["federation"], source=str(workdir / "run.json"))
    spec = federation.state(state)
    folder = workdir / state
    folder.mkdir(parents=True, exist_ok=True)
    log_stream = sys.stdout if log_stdout else (folder / "prum.log").open("a", encoding="utf-8")
    configure_logging("INFO", stream=log_stream, json=True)
    provider = create_tracer_provider(f"prum-{state.lower()}", "file", folder / "traces.jsonl")
    directory = {code: entry["address"] for code, entry in run["states"].items()}
    advertised = directory[state]  # where peers reach this state (its Service on Kubernetes)
    node = build_state(spec, federation, TlsMaterial.load(workdir / "pki", state), folder, directory,
                       SystemClock(), provider, address=listen or advertised)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    node.server.start()
    log = get_logger("prum.node")
    log.info("state serving", address=advertised, listen=listen or advertised, pid=os.getpid())
    tls = node.tls

    def rejoin() -> None:
        unreached = catch_up(advertised, tls, catch_up_timeout(federation))  # through its own supervisor
        log.info("caught up", unreached=unreached)

    def failed(error: Exception) -> None:
        log.warning("catch-up failed", error=f"{type(error).__name__}: {error}")

    threading.Thread(target=keep_caught_up, args=(rejoin, stop, catch_up_every_s, failed), name="catch-up",
                     daemon=True).start()
    stop.wait()
    log.info("state stopping", grace_s=GRACE_S)
    node.server.health.enter_graceful_shutdown()  # type: ignore[attr-defined]
    node.server.stop(GRACE_S).wait()
    node.close()
    provider.shutdown()
    if not log_stdout:
        log_stream.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--listen", help="host:port to bind (default: the state's address in run.json)")
    parser.add_argument("--log-stdout", action="store_true", help="JSON logs to stdout (containers), not a file")
    parser.add_argument("--catch-up-every", type=float, default=CATCH_UP_EVERY_S, metavar="SECONDS",
                        help=f"ask the peers again this often for what this state missed (default {CATCH_UP_EVERY_S:.0f})")
    options = parser.parse_args()
    if options.catch_up_every <= 0:
        parser.error(f"--catch-up-every {options.catch_up_every}: allowed: a number of seconds above 0")
    serve(options.workdir, options.state, options.listen, options.log_stdout, options.catch_up_every)


if __name__ == "__main__":
    main()
