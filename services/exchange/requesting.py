"""The requesting side of an automated exchange (no gRPC): an officer's search fanned out to the peers.

The NCP is the only door officers use. It checks the query through its category's plug-in before
anything is supplied, that the officer is specially authorised (SEC-2) and gave a reason and an
ordering officer (LOG-2), skips peers that are not ready for the category (GATE-1), logs the query
it supplies to each peer before sending it and each reply it receives before answering the officer
(LOG-1, LOG-4), and asks all peers in parallel under one deadline, so a state that is down or slow
yields its own status instead of holding up the others. Where the category needs it (fingerprints,
Art 9(2)), its own check decides which received items are hits; where an officer confirms them (facial images,
P2-FACE-3, the plug-in's `confirms`), the result is CANDIDATES and the receipt verifies none.

What a peer answers reaches this module through `PeerTransport` (the gRPC one is
`prum.services.contact_point.transport.GrpcPeers`): a reply, a refusal, a link that failed. Anything
else the transport raises is a bug, reported as one (`ResultStatus.FAILED`, code INTERNAL), never
as a peer that was unavailable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from prum.services.common.category import ROUTED_CATEGORIES, Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import GateClosed, InvalidInput, NotAuthorised, quote
from prum.services.common.fan_out import ResultStatus, fan_out
from prum.services.common.purpose import SearchPurpose, check_purpose
from prum.services.common.router_phases import RouterPhases
from prum.services.exchange.context import QueryContext, ReplyHeader, check_state_code
from prum.services.exchange.plugin import CategoryPlugin
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json
from prum.services.supervisor import ReadinessBook

Q = TypeVar("Q")
I = TypeVar("I")

@dataclass(frozen=True)
class Officer:
    """An officer of the NCP; only specially authorised officers may run automated searches (SEC-2)."""

    officer_id: str
    name: str
    authorised: bool = True


@dataclass(frozen=True)
class PeerAnswer(Generic[I]):
    """What the transport brings back from one peer: its status, and its reply's header and items if it answered."""

    status: ResultStatus
    code: str = "OK"
    detail: str = ""
    header: ReplyHeader | None = None
    items: tuple[I, ...] = ()


@dataclass(frozen=True)
class StateResult(Generic[I]):
    state: str
    status: ResultStatus
    code: str = "OK"
    detail: str = ""
    header: ReplyHeader | None = None
    items: tuple[I, ...] = ()
    elapsed_ms: float = 0.0
    #: Each item's reference as its category names it (a profile's or template's reference, a vehicle's VIN).
    references: tuple[str, ...] = ()


class PeerTransport(Protocol):
    """Carries one query to one peer's data service and maps its reply or failure to a `PeerAnswer`.

    A peer's answer (a reply or a refusal with its status code) and a link that failed
    (UNAVAILABLE, DEADLINE_EXCEEDED) come back as a `PeerAnswer`; an `OSError` is taken as a failed
    link too (`TimeoutError` as a deadline). Anything else raised is a bug of the transport.

    A transport that carries one query across several categories (the Prüm II router where the federation allows
    it, P2-ROUTER-2) says so with a true `several_categories` and has `ask_several(context, queries:
    Mapping[Category, Any], timeout_s) -> Mapping[Category, PeerAnswer]`; the contact point then sends a search
    of several categories to each peer in one query."""

    def ask(self, category: Category, context: QueryContext, query: Any, timeout_s: float) -> PeerAnswer[Any]: ...


@dataclass(frozen=True)
class OfficerSearch(Generic[Q, I]):
    """An officer's search request as the NCP receives it: the query is the category's, checked by its plug-in."""

    officer_id: str
    ordering_officer_id: str
    reason: str
    plugin: CategoryPlugin[Q, Any, Any, I]
    query: Q
    case_reference: str = ""
    target_states: Sequence[str] = ()
    deadline_ms: int = 0
    #: Why (P2-SCOPE-1; Europol's task, P2-EUROPOL-1): checked against what this state may search for.
    purpose: SearchPurpose = SearchPurpose.CRIMINAL_INVESTIGATION

    @property
    def category(self) -> Category:
        return self.plugin.category


@dataclass(frozen=True)
class SearchOutcome(Generic[I]):
    request_id: str
    results: list[StateResult[I]]


@dataclass
class ContactPoint:
    """The requesting state's half of every automated search: one per state, at its national contact point."""

    state: str
    members: list[str]
    officers: dict[str, Officer]
    readiness: ReadinessBook
    log: ProtocolLog
    transport: PeerTransport
    clock: Clock = field(default_factory=SystemClock)
    deadline_ms: int = 3000
    max_parallel: int = 32
    #: The purposes each state's national law allows besides a criminal investigation (P2-SCOPE-1), from the
    #: federation file: this state's decides what its officers may search for.
    purposes: Mapping[str, frozenset[SearchPurpose]] = field(default_factory=dict)
    #: Participants searched only when named, never by a search of all states (Europol, P2-EUROPOL-2).
    named_only: frozenset[str] = frozenset()
    #: In the router topology, when the Prüm II router carries the categories it routes (None in the mesh): once
    #: the router alone carries them (`RouterPhases.mesh_closed`, P2-TIME-1; from the start without dates), an
    #: officer's search of one is refused here while the state's own router connection is not ready (P2-GATE-1);
    #: before that, such a search stays on the bilateral links (the transport's choice).
    router_phases: RouterPhases | None = None
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix=f"ncp-{self.state}")

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def outgoing_context(self, requested_state: str, officer_id: str, ordering_officer_id: str, reason: str,
                         case_reference: str = "", request_id: str | None = None,
                         sent_at: datetime | None = None,
                         purpose: SearchPurpose = SearchPurpose.CRIMINAL_INVESTIGATION) -> QueryContext:
        """The context of one call from this state to `requested_state` (a new request id unless given)."""
        return QueryContext(
            request_id=request_id or str(uuid.uuid4()), requesting_state=self.state,
            requested_state=requested_state, officer_id=officer_id, ordering_officer_id=ordering_officer_id,
            reason=reason, case_reference=case_reference, sent_at=sent_at or self.clock.now(), purpose=purpose)

    def authorise(self, officer_id: str) -> Officer:
        officer = self.officers.get(officer_id)
        if officer is None:
            raise NotAuthorised(f"officer {quote(officer_id)} is not an officer of {self.state}'s national contact "
                                f"point; ask the NCP for the list of authorised officers")
        if not officer.authorised:
            raise NotAuthorised(f"officer {quote(officer_id)} is not specially authorised to run automated searches "
                                f"(SEC-2)")
        return officer

    def _targets(self, requested: Sequence[str]) -> list[str]:
        peers = [m for m in self.members if m != self.state]
        if not requested:
            return [p for p in peers if p not in self.named_only]
        targets: list[str] = []
        for code in requested:
            check_state_code(code, "target_states")
            if code == self.state:
                raise InvalidInput(f"{code} is this NCP's own state; Prüm searches go to other member states",
                                   field="target_states")
            if code not in peers:
                raise InvalidInput(f"{code} is not a member of this federation; allowed: {', '.join(peers)}",
                                   field="target_states")
            if code not in targets:
                targets.append(code)
        return targets

    def search(self, request: OfficerSearch[Q, I]) -> SearchOutcome[I]:
        """An officer's search in one category: one result per requested state."""
        return self.search_several([request])[0]

    def search_several(self, requests: Sequence[OfficerSearch[Any, Any]]) -> list[SearchOutcome[Any]]:
        """An officer's search across several biometric categories at once (P2-ROUTER-2: a DNA profile and the
        fingerprints of one person), under one request id and one deadline: one outcome per category, in the
        order given. The requests share the officer, reason, case, states and deadline (the first one's).

        With a transport that carries several categories in one query (`ask_several`: the Prüm II router), each
        peer gets one; otherwise (the 2008 mesh) each category goes on its own link, all in parallel."""
        if not requests:
            raise InvalidInput("is empty; name at least one category with its query", field="queries")
        first = requests[0]
        categories = [request.category for request in requests]
        if len(set(categories)) < len(categories):
            raise InvalidInput(f"{', '.join(c.name for c in categories)}: a category is searched twice; each at "
                               f"most once", field="queries")
        if len(requests) > 1 and not set(categories) <= set(ROUTED_CATEGORIES):
            raise InvalidInput(f"{', '.join(c.name for c in categories)}: a search across several categories is "
                               f"for the biometric ones ({', '.join(c.name for c in ROUTED_CATEGORIES)}, P2-ROUTER-2); "
                               f"search vehicles on their own", field="queries")
        queries = [request.plugin.validate(request.query) for request in requests]  # nothing leaves that peers refuse
        self.authorise(first.officer_id)
        check_purpose(self.state, first.purpose, self.purposes,
                      f"refused by {self.state}'s contact point before anything was sent")
        if not first.ordering_officer_id.strip():
            raise InvalidInput("is empty; name the officer who ordered the query (LOG-2)", field="ordering_officer_id")
        if not first.reason.strip():
            raise InvalidInput("is empty; every query states its reason (LOG-2)", field="reason")
        targets = self._targets(first.target_states)
        deadline_ms = first.deadline_ms or self.deadline_ms
        if not 1 <= deadline_ms <= 600_000:
            raise InvalidInput(f"{deadline_ms} ms; allowed: 1 to 600000", field="deadline_ms")
        request_id = str(uuid.uuid4())
        phases, now = self.router_phases, self.clock.now()
        for request in requests:
            if (phases is not None and request.category in ROUTED_CATEGORIES and phases.mesh_closed(now)
                    and not self.readiness.is_ready(self.state, Category.ROUTER_CONNECTION)):
                raise GateClosed(f"{self.state}'s connection to the router is not declared ready (P2-GATE-1): the "
                                 f"Council has not decided it, or it was revoked; {request.category.name} searches "
                                 f"go through the router only, so none leaves until it is ready again",
                                 state=self.state, category=Category.ROUTER_CONNECTION.name)
        for request in requests:
            if not self.readiness.is_ready(self.state, request.category):
                self._pilot_query(request, request_id)
        results: dict[tuple[str, int], StateResult[Any]] = {}
        contexts: dict[str, QueryContext] = {}
        asked: dict[str, list[int]] = {}
        sent_at = self.clock.now()
        for peer in targets:
            for index, request in enumerate(requests):
                if self.readiness.is_ready(peer, request.category):
                    asked.setdefault(peer, []).append(index)
                else:
                    results[peer, index] = StateResult(peer, ResultStatus.NOT_READY, "FAILED_PRECONDITION",
                                                       f"{peer} is not ready for {request.category.name} exchange "
                                                       f"(GATE-1)")
            if peer in asked:
                contexts[peer] = self.outgoing_context(peer, first.officer_id, first.ordering_officer_id,
                                                       first.reason, first.case_reference, request_id, sent_at,
                                                       first.purpose)
        if contexts:
            # The queries are supplied data too: durable in the log before any leaves (LOG-1, LOG-4).
            records = [request.plugin.query_record(query) for request, query in zip(requests, queries, strict=True)]
            self.log.append_many([self._entry(requests[index], contexts[peer], EntryKind.AUTOMATED_SUPPLY,
                                              MessageType.QUERY, Outcome.NONE, 0, records[index])
                                  for peer, indices in asked.items() for index in indices])
            batched = len(requests) > 1 and getattr(self.transport, "several_categories", False)
            groups: list[tuple[str, tuple[int, ...]]] = (
                [(peer, tuple(indices)) for peer, indices in asked.items()] if batched else
                [(peer, (index,)) for peer, indices in asked.items() for index in indices])
            for (peer, _), answered in self._fan_out(requests, queries, contexts, groups, deadline_ms).items():
                results.update(((peer, index), result) for index, result in answered.items())
            receipts = []
            for peer, indices in asked.items():
                for index in indices:
                    plugin, received = requests[index].plugin, results[peer, index]
                    if plugin.verifies and received.status is ResultStatus.HIT:
                        results[peer, index] = self._verified(received, plugin, queries[index])
                    elif getattr(plugin, "confirms", False) and received.status is ResultStatus.HIT:
                        # P2-FACE-3: candidates only, until an officer confirms one (no hit, nothing follows yet).
                        results[peer, index] = replace(
                            received, status=ResultStatus.CANDIDATES,
                            detail=f"{len(received.items)} candidate(s) pending an officer's confirmation (P2-FACE-3)")
                        received = results[peer, index]
                    receipts.append(self._receipt(requests[index], contexts[peer], received,
                                                  results[peer, index] if plugin.verifies else None))
            self.log.append_many([entry for entry in receipts if entry is not None])
        return [SearchOutcome(request_id, [results[peer, index] for peer in targets]) for index in range(len(requests))]

    def _pilot_query(self, request: OfficerSearch[Q, I], request_id: str) -> None:
        """Before the decision, only the pilot run's own test queries go out, each once, to its peer (GATE-1)."""
        pilot_peer = self.readiness.pilot_peer(self.state, request.category, request.case_reference)
        if pilot_peer is None:
            raise GateClosed(f"{self.state} is not ready for {request.category.name} exchange: the Council has "
                             f"not decided that it implements the data-protection chapter (GATE-1)", state=self.state,
                             category=request.category.name)
        if list(request.target_states) != [pilot_peer]:
            raise InvalidInput(f"{list(request.target_states)}; a pilot query goes to its pilot peer "
                               f"{pilot_peer} only", field="target_states")
        if not self.readiness.claim_pilot_query(self.state, request.category, pilot_peer, request.case_reference,
                                                request_id):
            raise GateClosed(f"{self.state} is not ready for {request.category.name} exchange, and the pilot's test "
                             f"query {request.case_reference} was already sent: each test query of a pilot run "
                             f"passes once; other queries wait for the Council's decision (GATE-1)", state=self.state,
                             category=request.category.name)

    def _fan_out(self, requests: Sequence[OfficerSearch[Any, Any]], queries: Sequence[Any],
                 contexts: dict[str, QueryContext], groups: list[tuple[str, tuple[int, ...]]],
                 deadline_ms: int) -> dict[tuple[str, tuple[int, ...]], dict[int, StateResult[Any]]]:
        """Each group (a peer and the searches it gets in one query) in parallel under one deadline."""
        assert self._pool is not None

        def late(group: tuple[str, tuple[int, ...]]) -> dict[int, StateResult[Any]]:
            return {index: StateResult(group[0], ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                                       f"no answer within {deadline_ms} ms", elapsed_ms=float(deadline_ms))
                    for index in group[1]}

        return fan_out(self._pool, groups,
                       lambda group, deadline: self._ask(requests, queries, contexts[group[0]], group[1], deadline),
                       deadline_ms, late)

    def _ask(self, requests: Sequence[OfficerSearch[Any, Any]], queries: Sequence[Any], context: QueryContext,
             indices: tuple[int, ...], deadline: float) -> dict[int, StateResult[Any]]:
        """One peer's per-state result for each search of `indices`: whatever happens to the call, never an
        exception (one failed search)."""
        started = time.monotonic()
        peer = context.requested_state
        answers: dict[int, PeerAnswer[Any]] = {}
        references: dict[int, tuple[str, ...]] = {}
        failed: PeerAnswer[Any] | None = None
        try:
            timeout_s = max(0.001, deadline - started)
            if len(indices) == 1:
                index = indices[0]
                answers[index] = self.transport.ask(requests[index].category, context, queries[index], timeout_s)
            else:
                several = self.transport.ask_several(  # type: ignore[attr-defined]
                    context, {requests[i].category: queries[i] for i in indices}, timeout_s)
                answers = {i: several[requests[i].category] for i in indices}
            references = {i: tuple(requests[i].plugin.reference(item) for item in answers[i].items) for i in indices}
        except TimeoutError as error:  # a link that timed out: a deadline, as its gRPC status would say
            failed = PeerAnswer(ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", f"{type(error).__name__}: {error}")
        except OSError as error:  # a link that failed: the peer is unavailable
            failed = PeerAnswer(ResultStatus.UNAVAILABLE, "UNAVAILABLE", f"{type(error).__name__}: {error}")
        except Exception as error:  # noqa: BLE001 - a bug is a per-state status too, and reported as a bug
            failed = PeerAnswer(ResultStatus.FAILED, "INTERNAL",
                                f"{self.state}'s contact point failed to carry the query to {peer} or to read its "
                                f"reply ({type(error).__name__}: {error}); a bug, not an answer of {peer}")
        elapsed_ms = round((time.monotonic() - started) * 1000, 3)
        if failed is not None:
            answers, references = {i: failed for i in indices}, {}
        return {i: StateResult(peer, answers[i].status, answers[i].code, answers[i].detail, answers[i].header,
                               answers[i].items, elapsed_ms, references.get(i, ())) for i in indices}

    @staticmethod
    def _verified(result: StateResult[I], plugin: CategoryPlugin[Q, Any, Any, I], query: Q) -> StateResult[I]:
        """Only what the requesting state's own check confirms is a hit; a reply it cannot check has none."""
        try:
            hits, detail = plugin.verify(query, result.items)
            references = tuple(plugin.reference(hit) for hit in hits)
        except Exception as error:  # noqa: BLE001 - a reply this state cannot read is reported, never a hit
            return replace(result, status=ResultStatus.FAILED, code="INTERNAL", items=(), references=(),
                           detail=f"{len(result.items)} item(s) received from {result.state} could not be verified "
                                  f"({type(error).__name__}: {error}); none is a hit (Art 9(2))")
        return replace(result, status=ResultStatus.HIT if hits else ResultStatus.NO_HIT, items=hits, detail=detail,
                       references=references)

    def _receipt(self, request: OfficerSearch[Q, I], context: QueryContext, result: StateResult[I],
                 verified: StateResult[I] | None = None) -> LogEntry | None:
        """The log entry of what came back from one peer; none for a peer that was unreachable or silent, or whose
        reply this state could not read (nothing came back that it could log).

        With `verified` (a category whose candidates this state verifies, FP-2): every reference received,
        and under "verified" the ones its own check confirmed; only those make the receipt a hit (FOL-1)."""
        if result.status is ResultStatus.CANDIDATES:
            # P2-FACE-3: every candidate received, none verified: only an officer's confirmation makes one a hit.
            return self._entry(request, context, EntryKind.AUTOMATED_RECEIPT, MessageType.REPLY, Outcome.NO_HIT, 0,
                               {"reply_id": result.header.reply_id if result.header else "",
                                "references": list(result.references), "pending_confirmation": list(result.references),
                                "verified": []},
                               reply_id=result.header.reply_id if result.header else "")
        if result.status in (ResultStatus.HIT, ResultStatus.NO_HIT):
            data: dict[str, Any] = {"reply_id": result.header.reply_id if result.header else "",
                                    "references": list(result.references)}
            final = result
            if verified is not None:
                data["verified"] = list(verified.references)
                final = verified
            outcome = Outcome.HIT if final.status is ResultStatus.HIT else Outcome.NO_HIT
            return self._entry(request, context, EntryKind.AUTOMATED_RECEIPT, MessageType.REPLY, outcome,
                               len(final.items), data, reply_id=data["reply_id"])
        if result.status in (ResultStatus.REFUSED, ResultStatus.NOT_READY):
            return self._entry(request, context, EntryKind.AUTOMATED_RECEIPT, MessageType.REFUSAL, Outcome.REFUSED,
                               0, {"code": result.code, "detail": result.detail})
        return None

    def _entry(self, request: OfficerSearch[Any, Any], context: QueryContext, kind: EntryKind,
               message_type: MessageType, outcome: Outcome, hit_count: int, data: dict[str, Any],
               reply_id: str = "") -> LogEntry:
        return LogEntry.new(
            kind=kind, message_type=message_type, category=request.category, side=Side.REQUESTING,
            logging_state=self.state, requesting_state=self.state, requested_state=context.requested_state,
            request_id=context.request_id, reply_id=reply_id, officer_id=request.officer_id,
            ordering_officer_id=request.ordering_officer_id, reason=request.reason,
            case_reference=request.case_reference, data_supplied=canonical_json(data), outcome=outcome,
            hit_count=hit_count, purpose=request.purpose)
