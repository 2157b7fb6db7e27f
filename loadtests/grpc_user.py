"""A Locust user that calls the federation over gRPC with mutual TLS (imported by locustfile.py only).

The `bare` user calls the bare grpcio echo server the bench started (`load_plan.Plan.bare`) over an
insecure channel, its calls named `bare:/prum.echo.v1.EchoService/Echo` apart from the stack's echo.

After Locust's own gRPC example (locust/examples/grpc): a client interceptor fires one Locust
`request` event per call, named by the full gRPC method name ("/prum.dna.v1.DnaIndexService/Search"),
with the response time, the response's length in bytes and the exception (a gRPC status, or a reply
that `load_checks` finds wrong). Each simulated user opens its own channel, on its own connection
(a local subchannel pool), with the requester's certificate from the run's PKI folder. Every call
has a deadline.

The process also keeps, for the driver, a gauge of calls in flight (peak and time-weighted mean)
and a tally of hits seen against hits planted; it writes both into `<out>/processes/` when it quits.

grpc.experimental.gevent.init_gevent() must run before this module is imported (locustfile.py does).
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import Any

import gevent
import grpc
from locust import User, between, constant, events
from locust.exception import LocustError
from locust.stats import CSV_STATS_INTERVAL_SEC
from prum.loadtests.load_checks import BY_METHOD, CHECKS, QUERY_TYPES, Tally
from prum.loadtests.load_data import read_queries, stamped, stub_call
from prum.loadtests.load_plan import Plan
from prum.services.common.server import CHANNEL_OPTIONS
from prum.services.common.tls import TlsMaterial


class RpcFailure(Exception):
    """A failed call as Locust groups it: status code and details, without the changing debug string."""


class ReplyCheckFailed(Exception):
    """The call succeeded but the reply is wrong for the query (see load_checks)."""


class InFlight:
    """Calls in flight in this process: the current count, the peak, and the time-weighted mean."""

    def __init__(self) -> None:
        self.now = 0
        self.reset()

    def reset(self) -> None:
        self.peak = self.now
        self.area = 0.0
        self.since = self.last = time.perf_counter()
        self.stopped: float | None = None

    def _advance(self) -> None:
        moment = time.perf_counter()
        self.area += self.now * (moment - self.last)
        self.last = moment

    def enter(self) -> None:
        self._advance()
        self.now += 1
        self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        self._advance()
        self.now -= 1

    def stop(self) -> None:
        if self.stopped is None:
            self._advance()
            self.stopped = self.last

    def report(self) -> dict[str, float]:
        end = self.stopped if self.stopped is not None else time.perf_counter()
        seconds = max(end - self.since, 1e-9)
        return {"peak": self.peak, "mean": round(self.area / seconds, 3), "seconds": round(seconds, 3)}


IN_FLIGHT = InFlight()
TALLY = Tally()
WINDOW: dict[str, Any] = {}


class LocustInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Fires a Locust request event per unary call: full method name, response time, length, exception."""

    def __init__(self, environment: Any, name: str | None = None) -> None:
        self.environment = environment
        self.name = name  # the stats name of every call, instead of the method name (the bare type)

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any, request: Any) -> Any:
        method = client_call_details.method
        method = self.name or (method.decode() if isinstance(method, bytes) else str(method))
        exception: Exception | None = None
        response = None
        length = 0
        IN_FLIGHT.enter()
        start_time = time.time()
        started = time.perf_counter()
        try:
            outcome = continuation(client_call_details, request)
            response = outcome.result()
        except grpc.RpcError as error:
            code = error.code() if callable(getattr(error, "code", None)) else None
            details = error.details() if callable(getattr(error, "details", None)) else str(error)
            exception = RpcFailure(f"{code.name if code else 'UNKNOWN'}: {details}")
            outcome = error
        finally:
            elapsed_ms = (time.perf_counter() - started) * 1000
            IN_FLIGHT.leave()
        if response is not None:
            length = response.ByteSize()
            check = CHECKS.get(method)
            if check is not None:
                result = check(request, response)
                kind = BY_METHOD[method].key
                TALLY.add(kind, result)
                if result.problem:
                    exception = ReplyCheckFailed(result.problem)
        self.environment.events.request.fire(
            request_type="grpc", name=method, response_time=elapsed_ms, response_length=length,
            response=response, context={}, exception=exception, start_time=start_time, url=None)
        return outcome


def _plan() -> Plan:
    global _PLAN
    if _PLAN is None:
        _PLAN = Plan.from_environment()
    return _PLAN


_PLAN: Plan | None = None
_QUERIES: dict[str, list[Any]] | None = None


def _queries() -> dict[str, list[Any]]:
    global _QUERIES
    if _QUERIES is None:
        _QUERIES = read_queries(Path(_plan().queries))
    return _QUERIES


def configure(user_class: type[PrumGrpcUser]) -> type[PrumGrpcUser]:
    """Class decorator: weight and think time of a user class from the plan (at import, in every process)."""
    plan = _plan()
    user_class.weight = max(0, int(plan.weights.get(user_class.query_type, 0)))
    low, high = plan.think_of(user_class.query_type)
    user_class.wait_time = constant(low) if low == high else between(low, high)  # type: ignore[assignment]
    return user_class


class PrumGrpcUser(User):
    """One simulated user: its own mTLS channel to one state's server, cycling through one query type."""

    abstract = True
    query_type = ""

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        if self.query_type not in QUERY_TYPES:
            raise LocustError(f"{type(self).__name__}.query_type must be one of {', '.join(QUERY_TYPES)}")
        plan = _plan()
        self.templates = _queries()[self.query_type]
        if not self.templates:
            raise LocustError(f"no {self.query_type} queries in {plan.queries}")
        self.cursor = random.randrange(len(self.templates))
        state = plan.requester if self.query_type == "fanout" else plan.target
        # A local subchannel pool: one connection per user, not one shared by every channel of the process.
        options = [*CHANNEL_OPTIONS, ("grpc.use_local_subchannel_pool", 1)]
        if self.query_type == "bare":
            if not plan.bare:
                raise LocustError("the bare type needs the bare echo server's address (plan.bare), which "
                                  "`prum bench load` sets when it starts that server")
            raw = grpc.insecure_channel(plan.bare, options=options)
            name: str | None = QUERY_TYPES["bare"].method
        else:
            tls = TlsMaterial.load(Path(plan.pki), plan.requester)
            raw = grpc.secure_channel(plan.addresses[state], tls.channel_credentials(), options=options)
            name = None
        self.channel = grpc.intercept_channel(raw, LocustInterceptor(environment, name))
        self._raw = raw
        self.call = stub_call(self.query_type, self.channel)
        self.timeout = plan.deadline_s + (plan.fanout_deadline_ms / 1000 if self.query_type == "fanout" else 0)

    def next_request(self) -> Any:
        template = self.templates[self.cursor]
        self.cursor = (self.cursor + 1) % len(self.templates)
        return stamped(self.query_type, template)

    def send(self) -> None:
        try:
            self.call(self.next_request(), timeout=self.timeout)
        except grpc.RpcError:
            pass  # already reported by the interceptor

    def on_stop(self) -> None:
        self._raw.close()


def _is_worker(environment: Any) -> bool:
    options = getattr(environment, "parsed_options", None)
    return bool(options and getattr(options, "worker", False))


@events.spawning_complete.add_listener
def _spawned(user_count: int, **_: Any) -> None:
    """The measured window starts here, as Locust's own statistics do with --reset-stats."""
    IN_FLIGHT.reset()
    if _plan().reset_stats:
        TALLY.reset()
    WINDOW["spawned_at"] = time.time()
    WINDOW["users"] = user_count
    runner = getattr(WINDOW.get("environment"), "runner", None)
    WINDOW["user_classes"] = dict(getattr(runner, "target_user_classes_count", {}) or {})


@events.init.add_listener
def _remember_environment(environment: Any, **_: Any) -> None:
    WINDOW["environment"] = environment


@events.test_stop.add_listener
def _stopped(**_: Any) -> None:
    IN_FLIGHT.stop()
    WINDOW.setdefault("stopped_at", time.time())


@events.quitting.add_listener
def _write_report(environment: Any, **_: Any) -> None:
    IN_FLIGHT.stop()
    WINDOW.setdefault("stopped_at", time.time())
    options = getattr(environment, "parsed_options", None)
    role = "worker" if _is_worker(environment) else ("master" if getattr(options, "master", False) else "local")
    if role != "worker" and getattr(options, "csv_prefix", None):
        # Locust rewrites its CSV once a second and not at the end, so the file would miss the last second
        # (Locust issue #2299). The users have stopped by now and the workers' last reports are in: one
        # more period lets its writer put the final figures in the CSV, the same as the --json-file summary.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.3)
    report = {"role": role, "pid": os.getpid(), "spawned_at": WINDOW.get("spawned_at"),
              "stopped_at": WINDOW.get("stopped_at"), "users": WINDOW.get("users"),
              "user_classes": WINDOW.get("user_classes", {}),
              "in_flight": IN_FLIGHT.report(), "tally": TALLY.counts}
    folder = Path(_plan().out) / "processes"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{role}-{os.getpid()}.json").write_text(json.dumps(report, indent=2), "utf-8")
