"""The Prüm II router's routing, without gRPC: one state's search fanned out to the requested states' data services.

The router (Regulation (EU) 2024/982, run by eu-LISA) is the one connection of each state for DNA and fingerprint
searches (P2-ROUTER-1). For each search it

- takes the requesting state from the caller's certificate: the search's context must name that state (SEC-1);
  the requested states then take the search in that state's name from the router's certificate, because the
  router checked it here (P2-ROUTER-1, `prum.services.common.identity.check_claim`);
- carries DNA and fingerprint searches only; vehicle searches stay on their own path (P2-VRD-1);
- refuses a requesting state whose router connection the Council has not declared ready (P2-GATE-1), and answers
  NOT_READY, without a call, for a requested state whose router connection is not ready. Readiness for the category
  (GATE-1) stays where the mesh checks it: at the requesting contact point (its readiness view follows every
  Council decision, GATE-2) and at the requested state, which checks both states and the pilot windows it holds
  (`FileManagingSide.answer`); its refusal (FAILED_PRECONDITION) comes back as NOT_READY. The router's own book is
  seeded from the federation file and then follows every state's steps, votes and revocations (shared with it by
  the states' supervisors, caught up at its start: `RouterReadinessServicer`), but holds no pilot window, so a
  category check here would refuse a pilot run's test queries;
- sends to the states named, or, with none named, to every other member (P2-ROUTER-2; the federation file may
  forbid searches of all states), in parallel under one deadline, so a state down or slow yields its own status
  and never holds up the others;
- logs each routed query and its outcome, durably, before it replies, and keeps nothing of the data
  (`prum.services.router.log`, P2-ROUTER-3).

It sees the data services through `DataServices` (the gRPC one is `prum.services.router.transport`), and the
query as an opaque value the transport turns into each state's request.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from prum.services.common.category import ROUTED_CATEGORIES, Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import GateClosed, InvalidInput, PrumError
from prum.services.common.fan_out import ResultStatus, fan_out
from prum.services.common.identity import ROUTER, check_claim
from prum.services.common.router_phases import RouterPhases
from prum.services.router.log import DEFAULT_RETENTION_DAYS, RoutedEntry, RouterLog
from prum.services.supervisor import ReadinessBook


@dataclass(frozen=True)
class RouterSettings:
    """The router's settings from the federation file; the rules leave these unconfirmed (U)."""

    #: P2-ROUTER-2: a search with no state named goes to every state (default: allowed).
    all_states: bool = True
    #: P2-ROUTER-2: one search across several biometric categories (`RouteSeveral`; default: allowed).
    several_categories: bool = True
    #: P2-ROUTER-3: how long the router's log keeps an entry, in days (default: one year).
    log_retention_days: int = DEFAULT_RETENTION_DAYS
    #: The fan-out deadline when a search gives none (the federation's deadline_ms).
    deadline_ms: int = 3000
    #: P2-TIME-1: from when the router carries searches (and when the bilateral links stop carrying them).
    phases: RouterPhases = field(default_factory=RouterPhases)


@dataclass(frozen=True)
class Forwarded:
    """What the transport brings back from one state's data service: a reply, a refusal, or a failed link."""

    status: ResultStatus
    code: str = "OK"
    detail: str = ""
    #: The state's reply as its data service sent it (HIT and NO_HIT), handed back unread and not kept.
    reply: Any = None
    reply_id: str = ""
    hit_count: int = 0


class DataServices(Protocol):
    """Carries one search to one state's data service and maps its reply or failure to a `Forwarded`.

    A refusal comes back with its status code; a link that failed as UNAVAILABLE or DEADLINE_EXCEEDED; an
    `OSError` is taken as a failed link too (`TimeoutError` as a deadline). Anything else raised is a bug."""

    def search(self, category: Category, state: str, query: Any, timeout_s: float) -> Forwarded: ...


@dataclass(frozen=True)
class RoutedSearch:
    """One search as the router receives it: in one category (`Route`), or across several (`RouteSeveral`,
    P2-ROUTER-2). Each query is the category's as the caller sent it; the transport builds each requested state's
    request from it, with the context addressed to that state."""

    request_id: str
    requesting_state: str
    #: The context's requested state: the one state named in `target_states`, or the router's code for several.
    requested_state: str
    #: The query of each category searched, in the caller's order; each category once.
    queries: Mapping[Category, Any]
    target_states: Sequence[str] = ()
    deadline_ms: int = 0

    @property
    def categories(self) -> tuple[Category, ...]:
        return tuple(self.queries)


@dataclass(frozen=True)
class RoutedResult:
    """The outcome of the search in one requested state, with its reply."""

    state: str
    category: Category
    status: ResultStatus
    code: str = "OK"
    detail: str = ""
    reply: Any = None
    reply_id: str = ""
    hit_count: int = 0
    elapsed_ms: float = 0.0


@dataclass
class Router:
    """The central router: one for the federation."""

    members: list[str]
    readiness: ReadinessBook
    log: RouterLog
    data_services: DataServices
    clock: Clock = field(default_factory=SystemClock)
    settings: RouterSettings = field(default_factory=RouterSettings)
    max_parallel: int = 32
    #: Participants searched only when named, never by a search of all states: Europol (P2-EUROPOL-2), whose
    #: third-country data a state searches by naming it; its own searches go to the states like any member's.
    named_only: frozenset[str] = frozenset()
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="router")

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _targets(self, search: RoutedSearch) -> list[str]:
        others = [m for m in self.members if m != search.requesting_state]
        if not search.target_states:
            if not self.settings.all_states:
                raise InvalidInput("is empty, and this federation's router does not search all states at once "
                                   "(P2-ROUTER-2: [router].all_states = false); name the states", field="target_states")
            targets = [m for m in others if m not in self.named_only]
        else:
            targets = []
            for code in search.target_states:
                if code == search.requesting_state:
                    raise InvalidInput(f"{code} is the requesting state; a search goes to other states",
                                       field="target_states")
                if code not in others:
                    raise InvalidInput(f"{code!r} is not a state connected to this router; allowed: "
                                       f"{', '.join(others)}", field="target_states")
                if code not in targets:
                    targets.append(code)
        expected = targets[0] if len(targets) == 1 else ROUTER
        if search.requested_state not in (expected, ROUTER):
            raise InvalidInput(f"{search.requested_state!r}; allowed: the one state searched, or {ROUTER} (the "
                               f"router) for a search of several", field="context.requested_state")
        return targets

    def route(self, certified_state: str | None, search: RoutedSearch) -> list[RoutedResult]:
        """Route `search` from the caller whose certificate names `certified_state`; one result per state and
        category, states in the order asked, each state's categories in the search's order.

        Raises `IdentityMismatch` (nothing logged: the call is not the state it claims), `InvalidInput`,
        or `GateClosed` for a requesting state not ready (logged as a refusal). A search across several categories
        where the federation's router takes none is `InvalidInput` (P2-ROUTER-2)."""
        check_claim(certified_state, search.requesting_state)
        if search.requesting_state not in self.members:
            raise InvalidInput(f"{search.requesting_state!r} is not a state connected to this router",
                               field="context.requesting_state")
        self._check_categories(search)
        if not self.settings.phases.in_operation(self.clock.now()):
            raise GateClosed(f"{search.requesting_state}'s search not routed: "
                             f"{self.settings.phases.why_not_in_operation()}", state=search.requesting_state,
                             category=Category.ROUTER_CONNECTION.name)
        targets = self._targets(search)
        deadline_ms = search.deadline_ms or self.settings.deadline_ms
        if not 1 <= deadline_ms <= 600_000:
            raise InvalidInput(f"{deadline_ms} ms; allowed: 1 to 600000", field="deadline_ms")
        received_at = self.clock.now()
        try:
            self._admit(search.requesting_state, search.categories)
        except PrumError as refusal:
            code = "FAILED_PRECONDITION" if isinstance(refusal, GateClosed) else "REFUSED"
            self.log.record([RoutedEntry(search.request_id, search.requesting_state, "", category, received_at,
                                         self.clock.now(), ResultStatus.REFUSED, code)
                             for category in search.categories])
            raise
        pairs = [(state, category) for state in targets for category in search.categories]
        results: dict[tuple[str, Category], RoutedResult] = {}
        asked: list[tuple[str, Category]] = []
        for state, category in pairs:
            closed = self._closed(state, category)
            if closed:
                results[state, category] = RoutedResult(state, category, ResultStatus.NOT_READY,
                                                        "FAILED_PRECONDITION", closed)
            else:
                asked.append((state, category))
        results.update(self._fan_out(search, asked, deadline_ms))
        answered_at = self.clock.now()
        # Durable before the reply leaves (P2-ROUTER-3): who, whom, when, category, outcome; no data content.
        self.log.record([RoutedEntry(search.request_id, search.requesting_state, state, category, received_at,
                                     answered_at, results[state, category].status, results[state, category].code,
                                     results[state, category].hit_count, results[state, category].reply_id,
                                     results[state, category].elapsed_ms)
                         for state, category in pairs])
        return [results[pair] for pair in pairs]

    def _check_categories(self, search: RoutedSearch) -> None:
        if not search.queries:
            raise InvalidInput("is empty; name at least one category with its query", field="searches")
        for category in search.queries:
            if category not in ROUTED_CATEGORIES:
                raise InvalidInput(f"{category.name}; the router carries "
                                   f"{', '.join(c.name for c in ROUTED_CATEGORIES)} searches only (vehicle searches "
                                   f"stay on their own path, P2-VRD-1)", field="category")
        if len(search.queries) > 1 and not self.settings.several_categories:
            raise InvalidInput(f"name {len(search.queries)} categories "
                               f"({', '.join(c.name for c in search.queries)}), and this federation's router takes "
                               f"one category per search (P2-ROUTER-2: [router].several_categories = false); send "
                               f"one search per category", field="searches")

    def _admit(self, state: str, categories: Sequence[Category]) -> None:
        """The requesting state's router connection (P2-GATE-1)."""
        closed = self._closed(state, categories[0])
        if closed:
            raise GateClosed(closed, state=state, category=Category.ROUTER_CONNECTION.name)

    def _closed(self, state: str, category: Category) -> str:
        """Why `state` may not take part in a routed search now (P2-GATE-1); empty when it may. Its readiness for
        `category` (GATE-1) is checked by the states (see the module's docstring)."""
        if not self.readiness.is_ready(state, Category.ROUTER_CONNECTION):
            return (f"{state}'s connection to the router is not declared ready: the Council has not decided it "
                    f"(P2-GATE-1); not routed for {category.name}")
        return ""

    def _fan_out(self, search: RoutedSearch, pairs: list[tuple[str, Category]],
                 deadline_ms: int) -> dict[tuple[str, Category], RoutedResult]:
        if not pairs:
            return {}
        assert self._pool is not None
        return fan_out(self._pool, pairs, lambda pair, deadline: self._ask(search, *pair, deadline), deadline_ms,
                       lambda pair: RoutedResult(*pair, ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                                                 f"no answer within {deadline_ms} ms", elapsed_ms=float(deadline_ms)))

    def _ask(self, search: RoutedSearch, state: str, category: Category, deadline: float) -> RoutedResult:
        """One state's result in one category: whatever happens to the call, never an exception."""
        started = time.monotonic()
        try:
            forwarded = self.data_services.search(category, state, search.queries[category],
                                                  max(0.001, deadline - started))
        except TimeoutError as error:
            forwarded = Forwarded(ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", f"{type(error).__name__}: {error}")
        except OSError as error:
            forwarded = Forwarded(ResultStatus.UNAVAILABLE, "UNAVAILABLE", f"{type(error).__name__}: {error}")
        except Exception as error:  # noqa: BLE001 - a bug is a per-state status too, and reported as one
            forwarded = Forwarded(ResultStatus.FAILED, "INTERNAL",
                                  f"the router failed to carry the search to {state} or to read its reply "
                                  f"({type(error).__name__}: {error}); a bug, not an answer of {state}")
        return RoutedResult(state, category, forwarded.status, forwarded.code, forwarded.detail, forwarded.reply,
                            forwarded.reply_id, forwarded.hit_count, round((time.monotonic() - started) * 1000, 3))
