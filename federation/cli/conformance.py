"""`prum conformance --target HOST:PORT --state XX`: the conformance suite against any implementation of a state's
services, one row per rule ID, with JUnit XML; exit code 1 when a check fails."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from prum.federation.cli.common import print_table
from rich.console import Console
from rich.markup import escape


def conformance(
    target: Annotated[str, typer.Option("--target", help="HOST:PORT of the state's services (mutual TLS).")],
    state: Annotated[str, typer.Option("--state", help="The state the target is (its ISO 3166 alpha-2 code).")],
    pki: Annotated[Path, typer.Option("--pki", exists=True, file_okay=False, help="Certificates from the federation "
                                      "CA: ca.pem, the target's own XX.pem/XX.key and a peer's (WORKDIR/pki of prum "
                                      "up, or what prum pki issue wrote).")] = Path("prum-run/pki"),
    as_state: Annotated[str | None, typer.Option("--as", help="The peer whose certificate searches the target "
                                                 "(default: the first other state in --pki).")] = None,
    not_ready: Annotated[str | None, typer.Option("--not-ready", help="A state the target holds not ready for DNA, "
                                                  "whose certificate is in --pki (GATE-1; skipped without it).")] = None,
    deadline_ms: Annotated[int, typer.Option("--deadline-ms", min=100, max=60000,
                                             help="The deadline of each call.")] = 3000,
    junit: Annotated[Path | None, typer.Option("--junit", dir_okay=False,
                                               help="Write JUnit XML here: one testcase per check.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the checks as JSON.")] = False,
) -> None:
    """Check an implementation of a state's services against the contracts and rules, per rule ID (docs/rules.md):
    identity from the certificate (SEC-1), the gate (GATE-1), inclusion (DNA-4), hit and no-hit replies (DNA-10),
    log entries with the LOG-2 fields read through the logger's RPC (LOG-2) and verifying (LOG-5), the query not
    kept after the reply (PUR-2), vehicle keys (VRD-1), the candidate cap and daily capacity (FP-3). It loads one fixture profile into the target's DNA file with
    the target's own certificate and deletes it at the end. Exit code 1 when a check fails.

    Examples:
      [bold]prum conformance --target 127.0.0.1:50051 --state NL --pki ./run1/pki --not-ready LU[/bold]
      [bold]prum conformance --target nl.example:443 --state NL --pki ./certs --as DE --junit conformance.xml[/bold]
    """
    from prum.federation.conformance.suite import FAIL, PASS, ConformanceSuite, junit_xml

    try:
        suite = ConformanceSuite(target, state, pki, as_state, not_ready, deadline_ms)
    except (FileNotFoundError, ValueError) as error:
        raise typer.BadParameter(str(error)) from error
    try:
        checks = suite.run()
    except RuntimeError as error:
        Console(stderr=True).print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from error
    if junit:
        junit.write_text(junit_xml(suite.state, target, checks), "utf-8")
    if as_json:
        sys.stdout.write(json.dumps([c.to_json() for c in checks], indent=2) + "\n")
    else:
        colour = {PASS: "green", FAIL: "red"}
        print_table(f"Conformance of {suite.state} at {target}", [
            {"rule": c.rule, "check": c.name, "result": f"[{colour.get(c.outcome, 'yellow')}]{c.outcome}[/]",
             "what came": escape(c.message)} for c in checks], False)
    raise typer.Exit(1 if any(c.outcome == FAIL for c in checks) else 0)
