"""`prum status`, `prum logs` and `prum readiness` by a federation's addresses (run.json), as an operator of a deployed
federation runs them: no local process, Service names that only resolve inside a cluster, port-forwards on localhost."""

from __future__ import annotations

import json
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sample_federation import DONOR, officer_search, start_federation
from typer.testing import CliRunner

from prum.federation.cli.app import app
from prum.federation.runtime.kube import service_address
from prum.federation.runtime.launcher import InProcessFederation
from prum.federation.runtime.processes import parse_overrides

runner = CliRunner()
TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessFederation]:
    """A federation of this module's own: the last test stops one of its states."""
    federation = start_federation(tmp_path_factory.mktemp("federation"))
    # Entries in NL's and FR's logs: a search from DE's contact point.
    federation.contact_point("DE").Search(officer_search(DONOR), timeout=10)
    yield federation
    federation.stop()


def operator_folder(federation: InProcessFederation, folder: Path, addresses: dict[str, str]) -> Path:
    """What an operator holds: run.json with these addresses (no pids) and the federation's pki."""
    folder.mkdir()
    shutil.copytree(federation.workdir / "pki", folder / "pki")
    run = {"federation": federation.federation.to_file_data(),
           "states": {code: {"address": address} for code, address in addresses.items()}}
    (folder / "run.json").write_text(json.dumps(run), "utf-8")
    return folder


def status(folder: Path, *options: str) -> tuple[int, dict[str, dict], float]:
    begun = time.monotonic()
    result = runner.invoke(app, ["status", "--workdir", str(folder), "--timeout", str(TIMEOUT_S), "--json", *options])
    elapsed = time.monotonic() - begun
    assert result.exit_code in (0, 1), result.output
    return result.exit_code, {row["state"]: row for row in json.loads(result.stdout)}, elapsed


def test_service_names_with_port_forwards(running: InProcessFederation, tmp_path: Path) -> None:
    """A rendered run.json (Service names) from outside the cluster: the states given an --address (a
    port-forward, here the real loopback port) serve; the others, unresolvable, fail within the timeout."""
    folder = operator_folder(running, tmp_path / "k8s", {code: service_address(code) for code in running.directory})
    forwards = [f"{code}={running.directory[code]}" for code in ("DE", "NL", "FR")]
    code, rows, elapsed = status(folder, *(arg for forward in forwards for arg in ("--address", forward)))
    assert code == 1  # LU: no port-forward
    assert {state: row["health"] for state, row in rows.items() if state != "LU"} == {
        "DE": "SERVING", "NL": "SERVING", "FR": "SERVING"}
    assert rows["LU"]["health"] in {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
    assert rows["LU"]["address"] == service_address("LU") and rows["NL"]["address"] == running.directory["NL"]
    assert "pid" not in rows["NL"]  # a deployed federation: no local process to report
    assert elapsed < TIMEOUT_S + 3  # the states are asked at once, each within the timeout

    # Every state forwarded, presenting LU's certificate: all serve, exit code 0.
    forwards = [arg for code in running.directory for arg in ("--address", f"{code}={running.directory[code]}")]
    code, rows, _ = status(folder, "--as", "lu", *forwards)
    assert code == 0 and {row["health"] for row in rows.values()} == {"SERVING"}

    # A forward to the wrong state's port: the handshake checks DE's certificate and refuses NL's server.
    _, rows, _ = status(folder, "--address", f"DE={running.directory['NL']}")
    assert rows["DE"]["health"] == "UNAVAILABLE"


def test_logs_and_readiness_by_address(running: InProcessFederation, tmp_path: Path) -> None:
    folder = operator_folder(running, tmp_path / "k8s", {code: service_address(code) for code in running.directory})
    logged = runner.invoke(app, ["logs", "--workdir", str(folder), "--state", "nl", "--address",
                                 f"NL={running.directory['NL']}", "--json"])
    assert logged.exit_code == 0, logged.output
    entries = [json.loads(line) for line in logged.stdout.splitlines()]
    assert {(e["kind"], e["requesting_state"]) for e in entries} >= {("ENTRY_KIND_AUTOMATED_RECEIPT", "DE")}

    # The log answers its own state's certificate only (OWN_STATE), whatever the address.
    foreign = runner.invoke(app, ["logs", "--workdir", str(folder), "--state", "NL", "--as", "DE", "--address",
                                  f"NL={running.directory['NL']}"])
    assert foreign.exit_code == 1 and "PERMISSION_DENIED" in foreign.output

    matrix = runner.invoke(app, ["readiness", "--workdir", str(folder), "--as", "FR", "--address",
                                 f"FR={running.directory['FR']}", "--json"])
    assert matrix.exit_code == 0, matrix.output
    assert json.loads(matrix.stdout)["LU"]["VEHICLE"] == "ready"

    # A state unreachable from here: an error naming the status, not a hang.
    unreachable = runner.invoke(app, ["logs", "--workdir", str(folder), "--state", "NL"])
    assert unreachable.exit_code == 1 and ("UNAVAILABLE" in unreachable.output
                                           or "DEADLINE_EXCEEDED" in unreachable.output)


def test_bad_options_are_usage_errors(running: InProcessFederation, tmp_path: Path) -> None:
    folder = operator_folder(running, tmp_path / "ops", dict(running.directory))
    for options in (["--address", "NL"], ["--address", "XX=localhost:1"], ["--as", "XX"]):
        result = runner.invoke(app, ["status", "--workdir", str(folder), *options])
        assert result.exit_code == 2, (options, result.output)
    (folder / "pki" / "DE.key").unlink()  # an operator holding only some keys: the first one there is used
    assert runner.invoke(app, ["status", "--workdir", str(folder)]).exit_code == 0
    with pytest.raises(ValueError, match="XX=host:port"):
        parse_overrides(["NL=localhost"])
    assert parse_overrides(["nl=localhost:50052", "DE=[::1]:7"]) == {"NL": "localhost:50052", "DE": "[::1]:7"}


def test_a_stopped_state_is_unavailable_within_the_timeout(running: InProcessFederation, tmp_path: Path) -> None:
    """Last in this module: it stops FR and shuts NL down. A state that never answers (a port that accepts the
    connection and then says nothing, as a hung node or a half-open port-forward) costs the timeout, no more."""
    folder = operator_folder(running, tmp_path / "ops", dict(running.directory))
    running.stop("FR")
    running.nodes["NL"].server.health.enter_graceful_shutdown()  # type: ignore[attr-defined]  # as SIGTERM does
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        code, rows, elapsed = status(folder, "--address", f"LU=127.0.0.1:{silent.getsockname()[1]}")
    assert code == 1
    assert {state: row["health"] for state, row in rows.items()} == {
        "DE": "SERVING", "NL": "NOT_SERVING", "FR": "UNAVAILABLE", "LU": "DEADLINE_EXCEEDED"}
    assert elapsed < TIMEOUT_S + 3  # in parallel: one timeout, not one per state
