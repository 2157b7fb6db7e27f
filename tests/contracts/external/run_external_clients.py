"""Check the federation's contracts with clients the project did not write (issue 16).

Starts a federation as processes (`prum up --workdir <tmp> --no-load`: the default federation in the router
topology, so the Prüm II router runs as its own process too, in the year between P2-TIME-1's dates, so the
bilateral links still take the data-service cases a-e while f and r0-r4 go through the router), then runs the same
cases with three clients and prints one table of case / client / code / details length:

- node: `client.mjs` (@grpc/grpc-js + @grpc/proto-loader, the committed .protos), one channel per
  (state, certificate), so case a's valid search runs on the channel that carried the 100 KB request;
- buf: `buf curl --protocol grpc --reflect` (descriptors from the server's reflection), one process, and so
  one connection, per call;
- python: grpcio with the generated stubs, the project's own client, for comparison.

Cases (DE asks, NL answers; mTLS with the certificates of <workdir>/pki):
  a   DnaIndexService/Search at NL as DE, a 100 KB locus name: INVALID_ARGUMENT, details < 1 KB, quick
  a2  then a valid search (on the same channel for node and python): OK
  b   DnaIndexService/Search without `context`: INVALID_ARGUMENT, details starting with "context"
  c   ContactPointService/Search at DE with FR's certificate: PERMISSION_DENIED
  d   a profile of kind 99: INVALID_ARGUMENT naming 99
  e   request_id "fr-1": INVALID_ARGUMENT naming context.request_id
  f   a valid DNA search at DE's contact point as DE: OK, one result per other state (through the router)
  r0  RouterService/GetRouterStats at the router (EU) as DE: OK (the counts before r1)
  r1  RouterService/Route as DE to the chosen states NL and FR: OK, one result per chosen state
  r2  the same call with NL's certificate: UNAUTHENTICATED (the search claims DE)
  r3  a requested_state that is neither the one state searched nor EU: INVALID_ARGUMENT with a google.rpc.BadRequest
      detail naming context.requested_state
  r4  GetRouterStats again: OK, NL's and FR's DNA queries_routed one more than at r0 (r1 counted, r2 and r3 not)
  r5  RouterService/RouteSeveral as DE with DNA searched twice: INVALID_ARGUMENT, details saying "twice"
  r6  RouterService/RouteSeveral as DE to NL and FR (DNA): OK, one result per chosen state, each naming its category

    python tests/contracts/external/run_external_clients.py [--json] [--keep] [--workdir DIR]

Needs `npm ci` (or `npm install`) in this folder for the node client (without node_modules its rows fail,
saying so) and buf on PATH or beside this Python (buf-bin). Exit 0 when every row matches, 1 on a mismatch,
2 when the federation would not start. The federation is stopped on every way out (`prum down`), Ctrl-C
included.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
MAX_DETAILS_BYTES = 1024
QUICK_S = 3.0
CALL_TIMEOUT_S = 10.0
PROCESS_TIMEOUT_S = 60.0

# tests/federation/sample_federation.py DONOR: a full profile over the 12 ESS loci, with a microvariant.
DONOR = {
    "D3S1358": ["15", "16"],
    "VWA": ["17", "18"],
    "D8S1179": ["13", "14"],
    "D21S11": ["29", "30"],
    "D18S51": ["14", "17"],
    "TH01": ["6", "9.3"],
    "FGA": ["21", "24"],
    "D1S1656": ["12", "15.3"],
    "D2S441": ["10", "14"],
    "D10S1248": ["13", "15"],
    "D12S391": ["18", "20"],
    "D22S1045": ["15", "16"],
}
HUGE_LOCUS = "L" * (100 * 1024)

EXPECTED = {
    "a": "INVALID_ARGUMENT",
    "a-same-channel": "OK",
    "b": "INVALID_ARGUMENT",
    "c": "PERMISSION_DENIED",
    "d": "INVALID_ARGUMENT",
    "e": "INVALID_ARGUMENT",
    "f": "OK",
    "r0": "OK",
    "r1": "OK",
    "r2": "UNAUTHENTICATED",
    "r3": "INVALID_ARGUMENT",
    "r4": "OK",
    "r5": "INVALID_ARGUMENT",
    "r6": "OK",
}
DNA_SEARCH = "prum.dna.v1.DnaIndexService/Search"
CP_SEARCH = "prum.contact_point.v1.ContactPointService/Search"
ROUTE = "prum.router.v1.RouterService/Route"
ROUTER_STATS = "prum.router.v1.RouterService/GetRouterStats"
ROUTE_SEVERAL = "prum.router.v1.RouterService/RouteSeveral"
#: The Prüm II router's code (`prum.services.common.identity.ROUTER`): its address in run.json, its certificate.
ROUTER = "EU"
#: The states r1 searches through the router (DE chooses them, P2-ROUTER-2).
CHOSEN = ["FR", "NL"]
BAD_REQUEST = "google.rpc.BadRequest"


@dataclass
class Row:
    case: str
    client: str
    expected: str
    code: str
    details_length: int
    elapsed_ms: float | None = None
    ok: bool = False
    failed_checks: list[str] = field(default_factory=list)
    details: str = ""
    note: str = ""


# --- the requests, as JSON (buf curl, and the Python client through json_format) ------------------------


def context(**overrides: str) -> dict[str, str]:
    return {
        "request_id": str(uuid.uuid4()),
        "requesting_state": "DE",
        "requested_state": "NL",
        "officer_id": "DE-NCP-01",
        "ordering_officer_id": "DE-NCP-02",
        "reason": "external client contract check",
        "case_reference": "DE-2026-0016",
        **overrides,
    }


def profile(loci: dict[str, list[str]], **overrides: Any) -> dict[str, Any]:
    return {
        "reference": "DE-EXT-1",
        "kind": "PROFILE_KIND_UNIDENTIFIED_TRACE",
        "loci": {name: {"values": values} for name, values in loci.items()},
        **overrides,
    }


def officer_search() -> dict[str, Any]:
    return {
        "officer_id": "DE-NCP-01",
        "ordering_officer_id": "DE-NCP-02",
        "reason": "external client contract check",
        "case_reference": "DE-2026-0016",
        "category": "CATEGORY_DNA",
        "profile": profile(DONOR),
        "deadline_ms": 3000,
    }


def route(**context_overrides: str) -> dict[str, Any]:
    """DE's search of the chosen states through the router; several states, so the context names the router."""
    return {
        "context": context(**{"requested_state": ROUTER, **context_overrides}),
        "category": "CATEGORY_DNA",
        "target_states": list(CHOSEN),
        "profile": profile(DONOR),
        "deadline_ms": 3000,
    }


def route_several(twice: bool = False) -> dict[str, Any]:
    """DE's search across categories through the router (P2-ROUTER-2): DNA, or DNA named twice (refused)."""
    dna = {"category": "CATEGORY_DNA", "profile": profile(DONOR)}
    return {
        "context": context(requested_state=ROUTER),
        "searches": [dna, dna] if twice else [dna],
        "target_states": list(CHOSEN),
        "deadline_ms": 3000,
    }


def routed_counts(reply: dict[str, Any] | None) -> dict[str, int]:
    """DNA queries routed per state, from a GetRouterStats reply as any client decodes it (int64 as a string or a
    number, the field by its proto or its JSON name)."""
    counts = {}
    for stats in (reply or {}).get("stats", []):
        if stats.get("category") == "CATEGORY_DNA":
            counts[stats["state"]] = int(stats.get("queries_routed", stats.get("queriesRouted", 0)))
    return counts


@dataclass
class Case:
    name: str
    state: str  # whose server
    as_state: str  # whose certificate
    method: str
    request: Callable[[], dict[str, Any]]
    #: (details, elapsed seconds, the reply; for a refusal {"bad_request_fields": [...]}, what its
    #: google.rpc.BadRequest detail names, as the client decoded it) -> the checks and whether each holds.
    checks: Callable[[str, float, dict[str, Any] | None], list[tuple[str, bool]]] = lambda d, s, r: []


def _peers_check(peers: list[str]) -> Callable[[str, float, dict[str, Any] | None], list[tuple[str, bool]]]:
    def check(details: str, elapsed_s: float, reply: dict[str, Any] | None) -> list[tuple[str, bool]]:
        states = sorted(r.get("state", "") for r in (reply or {}).get("results", []))
        return [(f"one result per state ({','.join(peers)})", states == peers)]

    return check


def cases(peers: list[str]) -> list[Case]:
    return [
        Case(
            "a",
            "NL",
            "DE",
            DNA_SEARCH,
            lambda: {"context": context(), "profile": profile({**DONOR, HUGE_LOCUS: ["1", "2"]})},
            lambda d, s, r: [
                ("details < 1 KB", len(d.encode()) < MAX_DETAILS_BYTES),
                (f"completes within {QUICK_S:.0f} s", s < QUICK_S),
            ],
        ),
        Case(
            "a-same-channel",
            "NL",
            "DE",
            DNA_SEARCH,
            lambda: {"context": context(), "profile": profile(DONOR)},
        ),
        Case(
            "b",
            "NL",
            "DE",
            DNA_SEARCH,
            lambda: {"profile": profile(DONOR)},
            lambda d, s, r: [('details start with "context"', d.startswith("context"))],
        ),
        Case("c", "DE", "FR", CP_SEARCH, officer_search),
        Case(
            "d",
            "NL",
            "DE",
            DNA_SEARCH,
            lambda: {"context": context(), "profile": profile(DONOR, kind=99)},
            lambda d, s, r: [("details name 99", "99" in d)],
        ),
        Case(
            "e",
            "NL",
            "DE",
            DNA_SEARCH,
            lambda: {"context": context(request_id="fr-1"), "profile": profile(DONOR)},
            lambda d, s, r: [("details name context.request_id", "context.request_id" in d)],
        ),
        Case("f", "DE", "DE", CP_SEARCH, officer_search, _peers_check(peers)),
        *router_cases(),
    ]


def router_cases() -> list[Case]:
    """r0-r4: the Prüm II router's contract (P2-ROUTER-1, -2, -3) as this client calls it."""
    before: dict[str, int] = {}

    def remember(details: str, elapsed_s: float, reply: dict[str, Any] | None) -> list[tuple[str, bool]]:
        before.clear()
        before.update(routed_counts(reply))
        return []

    def counted(details: str, elapsed_s: float, reply: dict[str, Any] | None) -> list[tuple[str, bool]]:
        after = routed_counts(reply)
        return [(f"{state}'s DNA queries_routed one more than at r0 ({before.get(state, 0)} -> {after.get(state)})",
                 after.get(state, 0) - before.get(state, 0) == 1) for state in CHOSEN]

    def bad_request(details: str, elapsed_s: float, reply: dict[str, Any] | None) -> list[tuple[str, bool]]:
        fields = (reply or {}).get("bad_request_fields", [])
        return [(f"a {BAD_REQUEST} detail naming context.requested_state (got {fields})",
                 "context.requested_state" in fields)]

    return [
        Case("r0", ROUTER, "DE", ROUTER_STATS, dict, remember),
        Case("r1", ROUTER, "DE", ROUTE, route, _peers_check(CHOSEN)),
        Case("r2", ROUTER, "NL", ROUTE, route),
        Case("r3", ROUTER, "DE", ROUTE, lambda: route(requested_state="LU"), bad_request),
        Case("r4", ROUTER, "DE", ROUTER_STATS, dict, counted),
        Case("r5", ROUTER, "DE", ROUTE_SEVERAL, lambda: route_several(twice=True),
             lambda d, s, r: [('details say "twice"', "twice" in d)]),
        Case("r6", ROUTER, "DE", ROUTE_SEVERAL, route_several, lambda d, s, r: [
            *_peers_check(CHOSEN)(d, s, r),
            ("each result names CATEGORY_DNA", all(x.get("category") in ("CATEGORY_DNA", 1)
                                                   for x in (r or {}).get("results", [{}])))]),
    ]


def judge(
    case: Case,
    client: str,
    code: str,
    details: str,
    elapsed_s: float | None,
    reply: dict[str, Any] | None,
    note: str = "",
) -> Row:
    checks = (
        case.checks(details, elapsed_s if elapsed_s is not None else 0.0, reply)
        if code == EXPECTED[case.name]
        else []
    )
    failed = [what for what, ok in checks if not ok]
    return Row(
        case.name,
        client,
        EXPECTED[case.name],
        code,
        len(details.encode()),
        round(elapsed_s * 1000, 1) if elapsed_s is not None else None,
        code == EXPECTED[case.name] and not failed,
        failed,
        details[:200],
        note,
    )


def reply_note(case: Case, reply: dict[str, Any] | None) -> str:
    if not reply:
        return ""
    if "results" in reply:
        return " ".join(
            f"{r.get('state')}:{str(r.get('status', '')).removeprefix('RESULT_STATUS_')}"
            for r in reply["results"]
        )
    if case.method == DNA_SEARCH:
        return f"hit={reply.get('hit', False)} hit_count={reply.get('hitCount', reply.get('hit_count', 0))}"
    if case.method == ROUTER_STATS:
        return " ".join(f"{state}:{count}" for state, count in sorted(routed_counts(reply).items()))
    if reply.get("bad_request_fields"):
        return f"BadRequest: {', '.join(reply['bad_request_fields'])}"
    return ""


# --- the clients ------------------------------------------------------------------------------------------


def run_node(workdir: Path) -> list[Row]:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules").is_dir():
        why = (
            "node is not on PATH" if node is None else f"no node_modules in {HERE} (run `npm install` there)"
        )
        return [Row(name, "node", code, "NOT RUN", 0, note=why) for name, code in EXPECTED.items()]
    done = subprocess.run(
        [node, str(HERE / "client.mjs"), "--run", str(workdir)],
        check=False,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        cwd=HERE,
    )
    rows = []
    for line in done.stdout.splitlines():
        if not line.startswith("{"):
            continue
        data = json.loads(line)
        rows.append(
            Row(
                data["case"],
                "node",
                data["expected"],
                data["code"],
                data["details_length"],
                data.get("elapsed_ms"),
                data["ok"],
                data.get("failed_checks", []),
                data.get("details", ""),
                data.get("note", ""),
            )
        )
    seen = {r.case for r in rows}
    stderr = " ".join(done.stderr.split())[:300]
    for name, code in EXPECTED.items():
        if name not in seen:
            rows.append(
                Row(name, "node", code, "NO OUTPUT", 0, note=f"client.mjs exit {done.returncode}: {stderr}")
            )
    if done.returncode == 0 and not all(r.ok for r in rows):
        rows.append(
            Row("exit", "node", "non-zero", "0", 0, note="client.mjs exited 0 although a case failed")
        )
    elif done.returncode != 0 and all(r.ok for r in rows):
        rows.append(Row("exit", "node", "0", str(done.returncode), 0, note=stderr))
    return rows


def buf_path() -> str | None:
    beside = Path(sys.executable).parent / "buf"
    return str(beside) if beside.exists() else shutil.which("buf")


def buf_bad_request_fields(details: list[dict[str, Any]]) -> list[str]:
    """The fields a google.rpc.BadRequest detail names, from `buf curl`'s error JSON: each detail has its type and
    its bytes in base64 (`value`), and `debug`, the message decoded by the descriptors the server reflects."""
    from google.protobuf import json_format
    from google.rpc import error_details_pb2

    fields = []
    for detail in details:
        if detail.get("type") != BAD_REQUEST:
            continue
        if "debug" in detail:
            message = json_format.ParseDict(detail["debug"], error_details_pb2.BadRequest())
        else:
            value = detail["value"].replace("-", "+").replace("_", "/")  # buf prints it unpadded
            message = error_details_pb2.BadRequest.FromString(base64.b64decode(value + "=" * (-len(value) % 4)))
        fields += [violation.field for violation in message.field_violations]
    return fields


def run_buf(workdir: Path, addresses: dict[str, str], peers: list[str]) -> list[Row]:
    buf = buf_path()
    if buf is None:
        return [
            Row(name, "buf", code, "NOT RUN", 0, note="buf is not installed (pip install buf-bin)")
            for name, code in EXPECTED.items()
        ]
    pki = workdir / "pki"
    rows = []
    for case in cases(peers):
        # The server certificates name 127.0.0.1 (federation/runtime/pki.py): no --servername needed.
        command = [
            buf,
            "curl",
            "--protocol",
            "grpc",
            "--reflect",
            "--cacert",
            str(pki / "ca.pem"),
            "--cert",
            str(pki / f"{case.as_state}.pem"),
            "--key",
            str(pki / f"{case.as_state}.key"),
            # buf curl takes no per-call deadline (grpc-timeout is a reserved header): the process has one.
            "--connect-timeout",
            "5",
            "--data",
            "@-",
            f"https://{addresses[case.state]}/{case.method}",
        ]
        started = time.perf_counter()
        try:
            done = subprocess.run(
                command,
                input=json.dumps(case.request()),
                check=False,
                capture_output=True,
                text=True,
                timeout=PROCESS_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            rows.append(
                Row(case.name, "buf", EXPECTED[case.name], "TIMEOUT", 0, note=f"> {PROCESS_TIMEOUT_S:.0f} s")
            )
            continue
        elapsed = time.perf_counter() - started
        if done.returncode == 0:
            code, details, reply = "OK", "", json.loads(done.stdout or "{}")
        else:
            reply = None
            try:
                error = json.loads(done.stderr)
                code, details = error["code"].upper(), error.get("message", "")
                reply = {"bad_request_fields": buf_bad_request_fields(error.get("details", []))}
            except (ValueError, KeyError):
                code, details = f"EXIT {done.returncode}", " ".join(done.stderr.split())[:300]
        note = reply_note(case, reply)
        if case.name == "a-same-channel":
            note = ("new connection (one buf process per call); " + note).strip()
        rows.append(judge(case, "buf", code, details, elapsed, reply, note))
    return rows


def run_python(workdir: Path, addresses: dict[str, str], peers: list[str]) -> list[Row]:
    import grpc
    from google.protobuf import json_format
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status
    from prum.contact_point.v1 import contact_point_pb2, contact_point_pb2_grpc
    from prum.dna.v1 import dna_pb2, dna_pb2_grpc
    from prum.router.v1 import router_pb2, router_pb2_grpc

    pki = workdir / "pki"
    channels: dict[tuple[str, str], grpc.Channel] = {}

    def channel(state: str, as_state: str) -> grpc.Channel:
        if (state, as_state) not in channels:
            credentials = grpc.ssl_channel_credentials(
                (pki / "ca.pem").read_bytes(),
                (pki / f"{as_state}.key").read_bytes(),
                (pki / f"{as_state}.pem").read_bytes(),
            )
            channels[state, as_state] = grpc.secure_channel(addresses[state], credentials)
        return channels[state, as_state]

    kinds = {
        DNA_SEARCH: (dna_pb2.SearchRequest, dna_pb2_grpc.DnaIndexServiceStub),
        CP_SEARCH: (contact_point_pb2.SearchRequest, contact_point_pb2_grpc.ContactPointServiceStub),
        ROUTE: (router_pb2.RouteRequest, router_pb2_grpc.RouterServiceStub),
        ROUTER_STATS: (router_pb2.GetRouterStatsRequest, router_pb2_grpc.RouterServiceStub),
        ROUTE_SEVERAL: (router_pb2.RouteSeveralRequest, router_pb2_grpc.RouterServiceStub),
    }

    def bad_request_fields(error: grpc.RpcError) -> list[str]:
        status = rpc_status.from_call(error)  # type: ignore[arg-type]
        fields = []
        for detail in status.details if status is not None else []:
            if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                message = error_details_pb2.BadRequest()
                detail.Unpack(message)
                fields += [violation.field for violation in message.field_violations]
        return fields

    rows = []
    try:
        for case in cases(peers):
            message_type, stub = kinds[case.method]
            request = json_format.ParseDict(case.request(), message_type())
            started = time.perf_counter()
            try:
                call = getattr(stub(channel(case.state, case.as_state)), case.method.rsplit("/", 1)[1])
                reply = json_format.MessageToDict(call(request, timeout=CALL_TIMEOUT_S),
                                                  preserving_proto_field_name=True)
                code, details = "OK", ""
            except grpc.RpcError as error:
                code, details = error.code().name, error.details() or ""
                reply = {"bad_request_fields": bad_request_fields(error)}
            elapsed = time.perf_counter() - started
            rows.append(judge(case, "python", code, details, elapsed, reply, reply_note(case, reply)))
    finally:
        for open_channel in channels.values():
            open_channel.close()
    return rows


# --- the federation ---------------------------------------------------------------------------------------


def prum_command() -> list[str]:
    beside = Path(sys.executable).parent / "prum"
    if beside.exists():
        return [str(beside)]
    return [sys.executable, "-c", "from prum.federation.cli.app import app; app()"]


def router_federation(workdir: Path) -> Path:
    """The default federation in the router topology (Prüm II), written beside the run. The router may be used from
    yesterday and is mandatory a year later (P2-TIME-1, `[router] available_from`): between states whose router
    connections are ready (all of them here) searches go through it, f's among them, while the data services still
    take a state's direct search (a-e) on the bilateral link, as in the mesh."""
    text = (ROOT / "federation" / "runtime" / "default_federation.toml").read_text("utf-8")
    lines = [('topology = "router"' if line.startswith("topology =") else line) for line in text.splitlines()]
    if 'topology = "router"' not in lines or "[router]" in lines:
        raise RuntimeError("the default federation file has no `topology =` line to set to router, or a [router] "
                           "table already")
    yesterday = datetime.now(UTC).date() - timedelta(days=1)
    lines += ["", "[router]", f"available_from = {yesterday.isoformat()}"]
    path = workdir / "federation-router.toml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def federation_up(workdir: Path) -> dict[str, str]:
    """Start the federation; every address by its code, the router's under ROUTER."""
    done = subprocess.run(
        [*prum_command(), "up", "-f", str(router_federation(workdir)), "--workdir", str(workdir), "--no-load",
         "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"prum up failed ({done.returncode}):\n{done.stderr[-3000:]}{done.stdout[-2000:]}")
    run = json.loads((workdir / "run.json").read_text("utf-8"))
    return {code: entry["address"] for code, entry in [*run["states"].items(), (ROUTER, run["router"])]}


def federation_down(workdir: Path) -> None:
    if (workdir / "run.json").exists():
        subprocess.run(
            [*prum_command(), "down", "--workdir", str(workdir)],
            check=False,
            capture_output=True,
            timeout=120,
        )


# --- the table --------------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    head = ("case", "client", "expected", "code", "details len", "ms", "result")
    lines = []
    for r in rows:
        result = (
            "ok" if r.ok else "MISMATCH" + (f" ({'; '.join(r.failed_checks)})" if r.failed_checks else "")
        )
        lines.append(
            (
                r.case,
                r.client,
                r.expected,
                r.code,
                str(r.details_length),
                "" if r.elapsed_ms is None else f"{r.elapsed_ms:g}",
                result,
            )
        )
    widths = [max(len(x) for x in column) for column in zip(head, *lines)]
    out = ["  ".join(h.ljust(w) for h, w in zip(head, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(x.ljust(w) for x, w in zip(line, widths)).rstrip() for line in lines]
    notes = [f"  {r.case}/{r.client}: {r.note}" for r in rows if r.note]
    details = [f"  {r.case}/{r.client}: {r.details!r}" for r in rows if r.details]
    if notes:
        out += ["", "notes:", *notes]
    if details:
        out += ["", "details (first 200 characters):", *details]
    return "\n".join(out)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, help="the federation's folder (default: a new temporary one)")
    parser.add_argument(
        "--keep", action="store_true", help="keep the work folder (the federation is stopped)"
    )
    parser.add_argument("--json", action="store_true", help="print the rows as JSON lines instead of a table")
    parser.add_argument(
        "--clients", default="node,buf,python", help="which clients to run (default: all three)"
    )
    options = parser.parse_args(argv)
    clients = set(options.clients.split(","))

    workdir = options.workdir or Path(tempfile.mkdtemp(prefix="prum-external-"))
    # SIGTERM (a CI runner's timeout) stops the federation too, as Ctrl-C does.
    signal.signal(signal.SIGTERM, _interrupt)
    rows: list[Row] = []
    try:
        started = time.perf_counter()
        try:
            addresses = federation_up(workdir)
        except (RuntimeError, subprocess.TimeoutExpired) as error:
            print(f"the federation did not start: {error}", file=sys.stderr)
            return 2
        peers = sorted(code for code in addresses if code not in ("DE", ROUTER))
        print(
            f"federation up in {time.perf_counter() - started:.1f} s in {workdir}: "
            + ", ".join(f"{c} {a}" for c, a in addresses.items()),
            file=sys.stderr,
        )
        if "node" in clients:
            rows += run_node(workdir)
        if "buf" in clients:
            rows += run_buf(workdir, addresses, peers)
        if "python" in clients:
            rows += run_python(workdir, addresses, peers)
    finally:
        federation_down(workdir)
        if not options.keep and options.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    order = {name: i for i, name in enumerate([*EXPECTED, "exit"])}
    rows.sort(key=lambda r: (order.get(r.case, 99), ["node", "buf", "python"].index(r.client)))
    if options.json:
        for row in rows:
            print(json.dumps(asdict(row)))
    else:
        print(table(rows))
    mismatches = [r for r in rows if not r.ok]
    print(
        f"\n{len(rows) - len(mismatches)} of {len(rows)} rows as expected"
        + (f"; mismatches: {', '.join(f'{r.case}/{r.client}' for r in mismatches)}" if mismatches else ""),
        file=sys.stderr,
    )
    return 1 if mismatches else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
