"""Runs a scenario (`spec.py`) on an in-process federation and says, step by step, what was expected and what came.

The federation is `InProcessFederation`: every state's services on their own loopback port over mutual TLS, its
synthetic national files loaded through the services' own Ingest RPCs, as `prum demo` loads them. Searches go
through a state's contact point, as an officer's would. Faults are real on the wire:

- `stop` / `kill` stop a state's server (with a grace of 0.5 s / none), `restart` brings it back on its port and
  runs its catch-up;
- `toxic` puts a `ToxicProxy` (Toxiproxy's latency, bandwidth, timeout, reset_peer) between the callers and one
  state: into the `from` state's view of it, or every other state's (and the router's) when no `from` is given;
- `partition` cuts two states from each other only: each one's view of the other points at a `reset_peer` proxy,
  so their calls to each other are reset (UNAVAILABLE) while every other link works.

An external state (`external = true`) is not started: the states call it at its address like any peer, with
certificates from the federation CA of `[scenario] pki`, the one its own was issued from (`prum pki issue`). Faults on
the links to it work alike; it is never stopped, and its log is its own (the log checks look at the states prum runs).

The views: the launcher's directory is one dict shared by every state in the process, so a per-pair fault needs
per-state directories. After the start each state's channels (`PeerChannels`, which read their directory on every
call and open a fresh channel when an address changes) get a `ChainMap` of their own over the shared directory:
an override in a state's map changes that state's view only, a restart's new port still shows through, and
removing the override gives the shared address back. A restarted state gets its view back at once.
"""

from __future__ import annotations

import time
import uuid
from collections import ChainMap
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import grpc
from prum.common.v1 import common_pb2
from prum.contact_point.v1 import contact_point_pb2 as cp_pb2
from prum.dna.v1 import dna_pb2, dna_pb2_grpc
from prum.federation.demo.run import (
    _items,
    _pilot_run,
    _request,
    load_core_details,
    load_file,
    load_fingerprints,
    load_persons,
    load_register,
)
from prum.federation.runtime.launcher import InProcessFederation, compile_kernels
from prum.federation.runtime.pki import FederationPki
from prum.federation.runtime.toxics import ToxicProxy
from prum.federation.scenario.spec import READINESS_STEPS, Expectation, Scenario, Step
from prum.federation.synthetic.scenario import PlannedSearch, build_scenario
from prum.federation.synthetic.scenario import Scenario as Data
from prum.services.common.clock import SkippingClock
from prum.services.common.identity import ROUTER
from prum.services.common.server import open_channel
from prum.services.common.tls import TlsMaterial
from prum.supervisor.v1 import supervisor_pb2, supervisor_pb2_grpc

#: The step result of a search still running in the background, until a `wait` step collects it.
_RUNNING = "running in the background"


@dataclass
class StepResult:
    """One step as it ran: whether its expectations held, when it started (seconds after the first step), how long
    it took, and per state what was expected and what came."""

    name: str
    do: str
    line: int
    ok: bool
    started_s: float
    elapsed_ms: float
    message: str = ""
    expected: dict[str, str] = field(default_factory=dict)
    got: dict[str, dict[str, Any]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    fault: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "do": self.do, "line": self.line, "ok": self.ok, "fault": self.fault,
                "started_s": round(self.started_s, 3), "elapsed_ms": round(self.elapsed_ms, 2),
                "message": self.message, "expected": self.expected, "got": self.got, "details": self.details}


@dataclass
class ScenarioReport:
    name: str
    description: str
    source: str
    states: list[str]
    topology: str
    steps: list[StepResult]
    elapsed_s: float

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"scenario": self.name, "description": self.description, "source": self.source, "ok": self.ok,
                "federation": {"states": self.states, "topology": self.topology},
                "elapsed_s": round(self.elapsed_s, 2), "steps": [s.to_json() for s in self.steps]}


class StepFailed(Exception):
    """A step could not do what it says (a refused RPC, an unknown toxic); the message says what and why."""


def state_result(result: cp_pb2.StateResult) -> dict[str, Any]:
    """What a person reads of one state's result."""
    return {"status": cp_pb2.ResultStatus.Name(result.status).removeprefix("RESULT_STATUS_"), "code": result.code,
            "detail": result.detail, "elapsed_ms": round(result.elapsed_ms, 2), "hits": _items(result)}


def mismatch(expected: Expectation, got: dict[str, Any] | None) -> str:
    """Why `got` is not `expected` ("" when it is)."""
    if got is None:
        return "no result for this state"
    wrong = []
    if got["status"] != expected.status:
        wrong.append(f"status {got['status']}")
    if expected.reference and expected.reference not in {h.get("reference") for h in got["hits"]}:
        wrong.append(f"references {[h.get('reference') for h in got['hits']]}")
    if expected.match_class and expected.match_class not in {h.get("match_class") for h in got["hits"]}:
        wrong.append(f"match classes {sorted({str(h.get('match_class')) for h in got['hits']})}")
    if expected.code and got["code"] != expected.code:
        wrong.append(f"code {got['code'] or 'none'}")
    if expected.min_ms is not None and got["elapsed_ms"] < expected.min_ms:
        wrong.append(f"{got['elapsed_ms']:g} ms")
    if expected.max_ms is not None and got["elapsed_ms"] > expected.max_ms:
        wrong.append(f"{got['elapsed_ms']:g} ms")
    if not wrong:
        return ""
    detail = f" ({got['detail']})" if got.get("detail") and got["status"] != expected.status else ""
    return f"got {', '.join(wrong)}{detail}"


def planned_expectations(planned: PlannedSearch, states: list[str]) -> dict[str, Expectation]:
    """The expectation a planted search carries: its planted statuses and match classes, NO_HIT elsewhere."""
    asked = planned.target_states or tuple(s for s in states if s != planned.from_state)
    return {s: Expectation(*planned.expected.get(s, ("NO_HIT", ""))[:1], match_class=planned.expected.get(
        s, ("NO_HIT", ""))[1]) for s in asked}


class ScenarioRunner:
    """Starts the scenario's federation in `workdir`, loads its data and runs its steps in order."""

    def __init__(self, scenario: Scenario, workdir: Path) -> None:
        self.scenario = scenario
        self.workdir = Path(workdir)
        self.clock = SkippingClock()
        self.data: Data | None = None
        self.federation: InProcessFederation | None = None
        self.views: dict[str, ChainMap[str, str]] = {}
        # caller -> peer -> the overrides of its view of that peer, in order (the last one is in force).
        self._routes: dict[str, dict[str, list[tuple[str, str]]]] = {}
        self._proxies: dict[str, list[tuple[ToxicProxy, list[str], str]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="scenario-search")
        self._background: dict[str, tuple[Step, float, Future[dict[str, Any]]]] = {}
        self._searches: dict[str, list[dict[str, Any]]] = {}
        self._started = 0.0

    # -- the run ---------------------------------------------------------------------------------------------
    def run(self, progress: Any = None) -> ScenarioReport:
        say = progress or (lambda text: None)
        started = time.perf_counter()
        spec = self.scenario.federation
        say("compiling the DNA and fingerprint kernels (cached after a first run)")
        compile_kernels()
        self.data = build_scenario(spec)
        results: list[StepResult] = []
        authority = FederationPki.load_authority(self.scenario.pki) if self.scenario.pki else None
        with InProcessFederation(spec, self.workdir, clock=self.clock, authority=authority) as federation:
            self.federation = federation
            say(f"loading the synthetic files of {len(spec.codes)} states")
            self._load(federation, self.data)
            for code in federation.nodes:
                self._install_view(code)
            if federation.router is not None:
                self._install_view(ROUTER)
            self._started = time.perf_counter()
            for step in self.scenario.steps:
                say(f"step {step.name}")
                results.append(self._run_step(step))
            for name, (step, begun, future) in list(self._background.items()):
                results.append(self._collect(step, begun, future, f"{name} (collected at the end)"))
            self._pool.shutdown(wait=True)
            for proxies in self._proxies.values():
                for proxy, _, _ in proxies:
                    proxy.close()
        return ScenarioReport(self.scenario.name, self.scenario.description, self.scenario.source, spec.codes,
                              spec.topology, results, time.perf_counter() - started)

    @staticmethod
    def _load(federation: InProcessFederation, data: Data) -> None:
        for code in federation.nodes:  # an external state's team loads its own files
            channel = federation.channel(code)
            load_file(channel, data.files[code])
            load_register(channel, data.registers[code])
            load_persons(channel, data.persons[code])
            load_core_details(channel, data.core_details.get(code, []))
            load_fingerprints(channel, data.fingerprints[code])

    def _run_step(self, step: Step) -> StepResult:
        begun = time.perf_counter()
        handler = getattr(self, f"_do_{step.do}")
        try:
            result: StepResult = handler(step, begun)
        except (StepFailed, grpc.RpcError, KeyError, ValueError) as error:
            text = f"{error.code().name}: {error.details()}" if isinstance(error, grpc.RpcError) else str(error)
            result = self._result(step, begun, False, f"the step could not run: {text}")
        return result

    def _result(self, step: Step, begun: float, ok: bool, message: str = "", **more: Any) -> StepResult:
        return StepResult(step.name, step.do, step.line, ok, begun - self._started,
                          (time.perf_counter() - begun) * 1000, message, fault=step.fault, **more)

    @property
    def _fed(self) -> InProcessFederation:
        assert self.federation is not None
        return self.federation

    # -- views of the directory ------------------------------------------------------------------------------
    def _channels_of(self, caller: str) -> Any:
        if caller == ROUTER:
            assert self._fed.router is not None
            return self._fed.router.channels
        return self._fed.nodes[caller].channels

    def _install_view(self, caller: str) -> None:
        view = self.views.setdefault(caller, ChainMap({}, self._fed.directory))
        self._channels_of(caller).directory = view

    def _route(self, caller: str, peer: str, name: str, address: str | None) -> None:
        """Add (`address`) or remove (None) the override `name` of `caller`'s view of `peer`."""
        routes = self._routes.setdefault(caller, {}).setdefault(peer, [])
        routes[:] = [r for r in routes if r[0] != name] + ([(name, address)] if address else [])
        local = self.views[caller].maps[0]
        if routes:
            local[peer] = routes[-1][1]
        else:
            local.pop(peer, None)

    # -- searches --------------------------------------------------------------------------------------------
    def _planted(self, step: Step) -> list[PlannedSearch]:
        assert self.data is not None
        wanted = step.params["planted"]
        if wanted == "*":
            return list(self.data.searches)
        found = [p for p in self.data.searches if wanted.lower() in p.title.lower()]
        if len(found) != 1:
            titles = "; ".join(p.title for p in self.data.searches)
            raise StepFailed(f"planted = {wanted!r} matches {len(found)} of the demo's planted searches; each title: "
                             f"{titles}")
        planned = found[0]
        spec = self.scenario.federation
        if "from" in step.params:
            officers = [o.officer_id for o in spec.state(step.params["from"]).officers if o.authorised]
            planned = replace(planned, from_state=step.params["from"], officer_id=officers[0],
                              ordering_officer_id=officers[-1])
        if "officer" in step.params:
            planned = replace(planned, officer_id=step.params["officer"])
        if "targets" in step.params:
            planned = replace(planned, target_states=tuple(step.params["targets"]))
        return [planned]

    def _search(self, planned: PlannedSearch) -> dict[str, Any]:
        deadline_ms = self.scenario.federation.deadline_ms
        entry: dict[str, Any] = {"title": planned.title, "from": planned.from_state, "case_reference":
                                 planned.reference, "planned": planned}
        started = time.perf_counter()
        try:
            reply = self._fed.contact_point(planned.from_state).Search(_request(planned, deadline_ms),
                                                                       timeout=deadline_ms / 1000 + 5)
        except grpc.RpcError as error:
            entry["error"] = {"code": error.code().name, "message": error.details()}
        else:
            entry["request_id"] = reply.request_id
            entry["results"] = {r.state: state_result(r) for r in reply.results}
        entry["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 2)
        return entry

    def _judge(self, step: Step, begun: float, searches: list[dict[str, Any]]) -> StepResult:
        """Each search's results against the step's expectations (or the planted ones)."""
        self._searches[step.name] = searches
        problems: list[str] = []
        expected_shown: dict[str, str] = {}
        got_shown: dict[str, dict[str, Any]] = {}
        own = not step.expect and "expect_error" not in step.params and "expect_others" not in step.params
        states = self.scenario.federation.codes
        for search in searches:
            planned: PlannedSearch = search["planned"]
            prefix = f"{planned.title}: " if len(searches) > 1 else ""
            expect_error = planned.expected_error if own else step.params.get("expect_error", "")
            if expect_error or "error" in search:
                got_code = search.get("error", {}).get("code", "none (the search was answered)")
                expected_shown[f"{prefix}search"] = f"refused {expect_error}" if expect_error else "answered"
                got_shown[f"{prefix}search"] = search.get("error", {"status": "answered"})
                if got_code != expect_error:
                    why = search.get("error", {}).get("message", "")
                    problems.append(f"{prefix}the search: expected "
                                    f"{('refused with ' + expect_error) if expect_error else 'an answer'}, got "
                                    f"{got_code}{f' ({why})' if why else ''}")
                continue
            wanted = planned_expectations(planned, states) if own else dict(step.expect)
            others = step.params.get("expect_others")
            if others is not None:
                for state in search["results"]:
                    wanted.setdefault(state, others)
            for state, expectation in wanted.items():
                got = search["results"].get(state)
                expected_shown[f"{prefix}{state}"] = expectation.describe()
                got_shown[f"{prefix}{state}"] = got or {"status": "no result"}
                wrong = mismatch(expectation, got)
                if wrong:
                    problems.append(f"{prefix}{state}: expected {expectation.describe()}, {wrong}")
        total_ms = max((s["elapsed_ms"] for s in searches), default=0.0)
        if "max_ms" in step.params and total_ms > step.params["max_ms"]:
            problems.append(f"the search took {total_ms:g} ms; expected at most {step.params['max_ms']} ms")
        summary = "; ".join(
            (f"{s['planned'].title}: " if len(searches) > 1 else "")
            + (f"refused {s['error']['code']}" if "error" in s else ", ".join(
                f"{state} {r['status']}{' ' + r['code'] if r['code'] not in ('', 'OK') else ''} {r['elapsed_ms']:g} ms"
                for state, r in s["results"].items()))
            for s in searches)
        result = self._result(step, begun, not problems, "; ".join(problems) or summary, expected=expected_shown,
                              got=got_shown,
                              details={"searches": [{k: v for k, v in s.items() if k != "planned"}
                                                    for s in searches]})
        return result

    def _do_search(self, step: Step, begun: float) -> StepResult:
        planted = self._planted(step)
        if step.params.get("background"):
            if len(planted) != 1:
                raise StepFailed("background = true runs one search; name one planted search")
            self._background[step.name] = (step, begun, self._pool.submit(self._search, planted[0]))
            return self._result(step, begun, True, _RUNNING)
        return self._judge(step, begun, [self._search(p) for p in planted])

    def _collect(self, step: Step, begun: float, future: Future[dict[str, Any]], name: str) -> StepResult:
        result = self._judge(step, begun, [future.result(timeout=self.scenario.federation.deadline_ms / 1000 + 10)])
        result.name = name
        return result

    def _do_wait(self, step: Step, begun: float) -> StepResult:
        waited = self._background.pop(step.params["for"], None)
        if waited is None:
            raise StepFailed(f"{step.params['for']!r} is not a search running in the background (background = true)")
        search_step, search_begun, future = waited
        result = self._collect(search_step, search_begun, future, step.name)
        result.do, result.line, result.started_s = "wait", step.line, begun - self._started
        return result

    def _do_sleep(self, step: Step, begun: float) -> StepResult:
        time.sleep(step.params["ms"] / 1000)
        return self._result(step, begun, True, f"slept {step.params['ms']} ms")

    # -- faults ----------------------------------------------------------------------------------------------
    def _do_stop(self, step: Step, begun: float) -> StepResult:
        self._fed.stop(step.params["state"])
        return self._result(step, begun, True, f"{step.params['state']} is down",
                            details={"state": step.params["state"]})

    def _do_kill(self, step: Step, begun: float) -> StepResult:
        self._fed.stop(step.params["state"], grace=0)  # its calls in flight are cut, as a kill -9 cuts them
        return self._result(step, begun, True, f"{step.params['state']} is killed (no grace)",
                            details={"state": step.params["state"]})

    def _do_restart(self, step: Step, begun: float) -> StepResult:
        state = step.params["state"]
        unreached = self._fed.restart(state)
        self._install_view(state)
        missed = {kind: states for kind, states in unreached.items() if states}
        return self._result(step, begun, True, f"{state} is back" + (f"; catch-up did not reach {missed}"
                                                                    if missed else ", caught up"),
                            details={"unreached": unreached, "state": state})

    def _callers(self, to: str, source: str | None) -> list[str]:
        if source:
            return [source]
        return [c for c in self.views if c != to]

    def _do_toxic(self, step: Step, begun: float) -> StepResult:
        params = step.params
        to = params["to"]
        proxy = ToxicProxy(self._fed.directory[to], params["type"], latency_ms=params.get("latency", 0),
                           jitter_ms=params.get("jitter", 0), rate_kb=params.get("rate", 0),
                           timeout_ms=params.get("timeout", 0), seed=self.scenario.federation.seed)
        if params.get("from") and params["from"] not in self.views:
            raise StepFailed(f"{params['from']} is external: its own links are its own; a toxic may sit on the links "
                             f"to it (to = \"{params['from']}\")")
        callers = self._callers(to, params.get("from"))
        for caller in callers:
            self._route(caller, to, step.name, proxy.address)
        self._proxies[step.name] = [(proxy, callers, to)]
        shown = {k: params[k] for k in ("latency", "jitter", "rate", "timeout") if k in params}
        return self._result(step, begun, True, f"{params['type']} {shown} on the link(s) {', '.join(callers)} -> {to}",
                            details={"toxic": params["type"], "to": to, "from": callers, **shown})

    def _do_remove_toxic(self, step: Step, begun: float) -> StepResult:
        name = step.params["toxic"]
        for proxy, callers, to in self._proxies.pop(name, []):
            for caller in callers:
                self._route(caller, to, name, None)
            proxy.close()
        return self._result(step, begun, True, f"toxic {name!r} removed", details={"removed": name})

    def _do_partition(self, step: Step, begun: float) -> StepResult:
        first, second = step.params["between"]
        cuts = []
        outside = [s for s in (first, second) if s not in self.views]
        for caller, peer in ((first, second), (second, first)):
            if caller not in self.views:  # an external state's view of its peers is its own
                continue
            proxy = ToxicProxy(self._fed.directory[peer], "reset_peer")
            self._route(caller, peer, f"partition {first}-{second}", proxy.address)
            cuts.append((proxy, [caller], peer))
        self._proxies[f"partition {first}-{second}"] = cuts
        return self._result(step, begun, True, f"{first} and {second} cannot reach each other (connections reset); "
                                               f"every other link works" + (
                                                   f"; {outside[0]} is external: only the calls to it are cut"
                                                   if outside else ""),
                            details={"between": sorted((first, second))})

    def _do_heal(self, step: Step, begun: float) -> StepResult:
        first, second = step.params["between"]
        name = next((n for n in (f"partition {first}-{second}", f"partition {second}-{first}") if n in self._proxies),
                    None)
        if name is None:
            raise StepFailed(f"no partition between {first} and {second} to heal")
        for proxy, callers, peer in self._proxies.pop(name):
            for caller in callers:
                self._route(caller, peer, name, None)
            proxy.close()
        return self._result(step, begun, True, f"{first} and {second} reach each other again",
                            details={"between": sorted((first, second))})

    def _do_advance_clock(self, step: Step, begun: float) -> StepResult:
        now = self.clock.advance(step.params["by"])
        return self._result(step, begun, True, f"the federation's clock moved {step.params['by'].total_seconds() / 3600:g} h ahead, to "
                                               f"{now.isoformat(timespec='seconds')}")

    def _do_foreign_certificate(self, step: Step, begun: float) -> StepResult:
        """SEC-1: a DNA search sent to `to` with a certificate of `as` that another CA issued (trusting the
        federation's CA for the server) must be refused at the handshake, and leave nothing in `to`'s log."""
        to, claimed = step.params["to"], step.params["as"]
        stranger = FederationPki.create([claimed], name="a CA outside the federation")
        own = stranger.material_for(claimed)
        material = TlsMaterial(claimed, self._fed.pki.ca_pem, own.cert_pem, own.key_pem)
        before = len(self._fed.nodes[to].log.query()) if to in self._fed.nodes else None
        assert self.data is not None
        planned = next(p for p in self.data.searches if p.category == "DNA" and not p.expected_error)
        request = dna_pb2.SearchRequest(context=common_pb2.QueryContext(
            request_id=str(uuid.uuid4()), requesting_state=claimed, requested_state=to, officer_id=planned.officer_id,
            reason=planned.reason), profile=_request(planned, self.scenario.federation.deadline_ms).profile)
        try:
            with open_channel(self._fed.directory[to], material, state=to) as channel:
                dna_pb2_grpc.DnaIndexServiceStub(channel).Search(request, timeout=5)
        except grpc.RpcError as error:
            got = {"status": "refused", "code": error.code().name, "detail": error.details() or ""}
        else:
            got = {"status": "answered", "code": "", "detail": ""}
        logged = (len(self._fed.nodes[to].log.query()) - before) if before is not None else 0
        problems = []
        if got["status"] == "answered":
            problems.append(f"{to} answered a search from a certificate of another CA; expected a refused handshake")
        if logged:
            problems.append(f"{to} logged {logged} entries of a search it should never have read")
        return self._result(step, begun, not problems, "; ".join(problems) or
                            f"{to} refused the certificate of another CA ({got['code']}); nothing logged",
                            expected={to: "refused at the handshake (SEC-1)"}, got={to: got})

    # -- the supervisors' workflow (GATE-1, GATE-2) ----------------------------------------------------------
    def _supervisor(self, state: str) -> supervisor_pb2_grpc.SupervisorServiceStub:
        return supervisor_pb2_grpc.SupervisorServiceStub(self._fed.channel(state))

    def _do_readiness_step(self, step: Step, begun: float) -> StepResult:
        state, category = step.params["state"], step.params["category"]
        chosen = step.params.get("step", "all")
        done = []
        for name in READINESS_STEPS if chosen == "all" else (chosen,):
            if name == "PILOT_RUN_PASSED":
                done.append(self._pilot(state, category))
                continue
            reply = self._supervisor(state).RecordStep(supervisor_pb2.RecordStepRequest(
                state=state, category=common_pb2.Category.Value(f"CATEGORY_{category}"),
                step=supervisor_pb2.ReadinessStep.Value(f"READINESS_STEP_{name}")), timeout=10)
            done.append({"step": name, "unreached": list(reply.unreached_states)})
        failed = [d for d in done if d.get("pilot") and not d["pilot"]["passed"]]
        return self._result(step, begun, not failed, "; ".join(d["step"] for d in done) if not failed else
                            f"the pilot run did not give the planted answer: {failed[0]['pilot']['results']}",
                            details={"steps": done})

    def _pilot(self, state: str, category: str) -> dict[str, Any]:
        assert self.data is not None
        if category != "DNA":
            raise StepFailed(f"a pilot run in a scenario tests DNA for now, not {category}")
        template = next(p for p in self.data.searches if p.category == "DNA" and not p.expected_error)
        officers = [o.officer_id for o in self.scenario.federation.state(state).officers if o.authorised]
        return _pilot_run(self._fed, self._supervisor(state), state, template, officers,
                          self.scenario.federation.deadline_ms)

    def _do_vote(self, step: Step, begun: float) -> StepResult:
        subject, category = step.params["subject"], step.params["category"]
        voters = step.params.get("voters") or self.scenario.federation.codes
        tallies = []
        for voter in voters:
            tally = self._supervisor(voter).CastCouncilVote(supervisor_pb2.CastCouncilVoteRequest(
                subject_state=subject, category=common_pb2.Category.Value(f"CATEGORY_{category}"), voting_state=voter,
                vote=supervisor_pb2.Vote.Value(f"VOTE_{step.params.get('vote', 'IN_FAVOUR')}")), timeout=10)
            tallies.append({"voter": voter, "in_favour": tally.votes_in_favour, "needed": tally.votes_needed,
                            "unreached": list(tally.unreached_states)})
        ready_in = sorted(c for c, n in self._fed.nodes.items() if n.readiness.is_ready(subject, category))
        return self._result(step, begun, True, f"{len(voters)} vote(s); {subject} is ready for {category} in "
                                               f"{', '.join(ready_in) or 'no state'}",
                            details={"votes": tallies, "ready_in": ready_in})

    def _do_declare(self, step: Step, begun: float) -> StepResult:
        """DEC-1: a state files a declaration through its supervisor; it takes effect for the whole federation, so
        every running state's supervisor lists it afterwards."""
        state, text = step.params["state"], step.params["text"]
        declaration = supervisor_pb2.Declaration(
            state=state, kind=supervisor_pb2.DeclarationKind.Value(f"DECLARATION_KIND_{step.params['kind']}"),
            text=text)
        if "category" in step.params:
            declaration.category = common_pb2.Category.Value(f"CATEGORY_{step.params['category']}")
        reply = self._supervisor(state).FileDeclaration(supervisor_pb2.FileDeclarationRequest(
            declaration=declaration), timeout=10)
        seen = {code: any(d.text == text for d in self._supervisor(code).ListDeclarations(
            supervisor_pb2.ListDeclarationsRequest(state=state), timeout=10).declarations)
            for code, node in self._fed.nodes.items()}
        missing = sorted(code for code, found in seen.items() if not found)
        return self._result(step, begun, not missing, f"not listed by {', '.join(missing)} (DEC-1)" if missing else
                            f"{state}'s declaration is listed by every state ({', '.join(sorted(seen))})",
                            details={"unreached": list(reply.unreached_states), "seen": seen})

    def _do_revoke(self, step: Step, begun: float) -> StepResult:
        state, category = step.params["state"], step.params["category"]
        reply = self._supervisor(state).RevokeReadiness(supervisor_pb2.RevokeReadinessRequest(
            state=state, category=common_pb2.Category.Value(f"CATEGORY_{category}"), reason=step.params["reason"]),
            timeout=10)
        return self._result(step, begun, True, f"{state}'s readiness for {category} revoked",
                            details={"unreached": list(reply.unreached_states)})

    # -- checks on the logs ----------------------------------------------------------------------------------
    def _answered(self, name: str) -> list[tuple[dict[str, Any], str]]:
        """(search, state) of every state that answered (HIT or NO_HIT) a search of the step `name`."""
        if name in self._background:
            raise StepFailed(f"{name!r} still runs in the background; wait for it first")
        return [(s, state) for s in self._searches.get(name, []) for state, r in s.get("results", {}).items()
                if r["status"] in ("HIT", "NO_HIT") and state in self._fed.nodes]  # an external state's log is its own

    def _do_check(self, step: Step, begun: float) -> StepResult:
        what = step.params["what"]
        problems: list[str] = []
        details: dict[str, Any] = {}
        if what == "chains_verify":
            for code, node in self._fed.nodes.items():
                verification = node.log.verify()
                details[code] = {"intact": verification.intact, "entries": verification.entries_checked}
                if not verification.intact:
                    problems.append(f"{code}'s log chain is broken: {verification.violations[:3]}")
        elif what == "logged_on_both_sides":
            pairs = self._answered(step.params["search"])
            if not pairs:
                problems.append(f"no state answered {step.params['search']!r}: nothing to check")
            for search, state in pairs:
                requesting = [e for e in self._fed.nodes[search["from"]].log.query(request_id=search["request_id"])
                              if e.requested_state == state]
                managing = self._fed.nodes[state].log.query(request_id=search["request_id"])
                details[f"{search['from']}->{state}"] = {"requesting_side": len(requesting),
                                                         "file_managing_side": len(managing)}
                for side, entries in (("requesting", requesting), ("file-managing", managing)):
                    if len(entries) != 2:
                        problems.append(f"{search['from']}->{state}: {len(entries)} entries on the {side} side; "
                                        f"expected 2 (the query and the reply, LOG-1)")
                    for entry in entries:
                        empty = [f for f in step.params["fields"] if not getattr(entry, f, None)]
                        if empty:
                            problems.append(f"{search['from']}->{state}: {side} entry #{entry.sequence} has no "
                                            f"{', '.join(empty)} (LOG-2)")
        else:  # nothing_left (PUR-2): the query's markers in no store of a requested state but its protocol log
            pairs = self._answered(step.params["search"])
            if not pairs:
                problems.append(f"no state answered {step.params['search']!r}: nothing to check")
            for search, state in pairs:
                planned: PlannedSearch = next(s["planned"] for s in self._searches[step.params["search"]]
                                              if s is search)
                markers = [m for m in (planned.reference, planned.template.reference if planned.template else "")
                           if m]
                kept = [f"{path.name} holds {marker}" for path in sorted((self.workdir / state).glob("*"))
                        if path.is_file() and not path.name.startswith("protocol-log")
                        for marker in markers if marker.encode() in path.read_bytes()]
                logged = any(m in e.data_supplied or m == e.case_reference
                             for e in self._fed.nodes[state].log.query(request_id=search["request_id"])
                             for m in markers)
                details[state] = {"markers": markers, "kept": kept, "in_the_log": logged}
                if kept:
                    problems.append(f"{state} kept the query after its reply (PUR-2): {'; '.join(kept)}")
                if not logged:
                    problems.append(f"{state}'s log does not hold the query either: the check proves nothing")
        summary = {"chains_verify": "every state's log chain verifies (LOG-5)",
                   "logged_on_both_sides": "each answer is logged on both sides with the LOG-2 fields",
                   "nothing_left": "no requested state kept the query after its reply (PUR-2)"}[what]
        return self._result(step, begun, not problems, "; ".join(problems) or summary, details=details)


def run_scenario(scenario: Scenario, workdir: Path, progress: Any = None) -> ScenarioReport:
    return ScenarioRunner(scenario, workdir).run(progress)

