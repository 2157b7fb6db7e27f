"""The requesting side of an automated exchange (no gRPC): an officer's search fanned out to the peers.

The NCP is the only door officers use. It checks the query through its category's plug-in before
anything is supplied, that the officer is specially authorised (SEC-2) and gave a reason and an
ordering officer (LOG-2), skips peers that are not ready for the category (GATE-1), logs the query
it supplies to each peer before sending it and each reply it receives before answering the officer
(LOG-1, LOG-4), and asks all peers in parallel under one deadline, so a state that is down or slow
yields its own status instead of holding up the others. Where the category needs it (fingerprints,
Art 9(2)), its own check decides which received items are hits.

What a peer answers reaches this module through `PeerTransport` (the gRPC one is
`prum.services.contact_point.transport.GrpcPeers`): a reply, a refusal, a link that failed. Anything
else the transport raises is a bug, reported as one (`ResultStatus.FAILED`, code INTERNAL), never
as a peer that was unavailable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import GateClosed, InvalidInput, NotAuthorised, quote
from prum.services.common.fan_out import ResultStatus, fan_out
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
    link too (`TimeoutError` as a deadline). Anything else raised is a bug of the transport."""

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
    #: The categories this state searches through the Prüm II router (the router topology; none in the mesh): an
    #: officer's search of one is refused here while the state's own router connection is not ready (P2-GATE-1).
    routed: frozenset[Category] = frozenset()
    _pool: ThreadPoolExecutor | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix=f"ncp-{self.state}")

    def close(self) -> None:
        if self._pool:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def outgoing_context(self, requested_state: str, officer_id: str, ordering_officer_id: str, reason: str,
                         case_reference: str = "", request_id: str | None = None,
                         sent_at: datetime | None = None) -> QueryContext:
        """The context of one call from this state to `requested_state` (a new request id unless given)."""
        return QueryContext(
            request_id=request_id or str(uuid.uuid4()), requesting_state=self.state,
            requested_state=requested_state, officer_id=officer_id, ordering_officer_id=ordering_officer_id,
            reason=reason, case_reference=case_reference, sent_at=sent_at or self.clock.now())

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
            return peers
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
        plugin = request.plugin
        query = plugin.validate(request.query)  # nothing leaves that every peer would refuse
        self.authorise(request.officer_id)
        if not request.ordering_officer_id.strip():
            raise InvalidInput("is empty; name the officer who ordered the query (LOG-2)", field="ordering_officer_id")
        if not request.reason.strip():
            raise InvalidInput("is empty; every query states its reason (LOG-2)", field="reason")
        targets = self._targets(request.target_states)
        deadline_ms = request.deadline_ms or self.deadline_ms
        if not 1 <= deadline_ms <= 600_000:
            raise InvalidInput(f"{deadline_ms} ms; allowed: 1 to 600000", field="deadline_ms")
        request_id = str(uuid.uuid4())
        if request.category in self.routed and not self.readiness.is_ready(self.state, Category.ROUTER_CONNECTION):
            raise GateClosed(f"{self.state}'s connection to the router is not declared ready (P2-GATE-1): the "
                             f"Council has not decided it, or it was revoked; {request.category.name} searches go "
                             f"through the router, so none leaves until it is ready again", state=self.state,
                             category=Category.ROUTER_CONNECTION.name)
        if not self.readiness.is_ready(self.state, request.category):
            self._pilot_query(request, request_id)
        results: dict[str, StateResult[I]] = {}
        contexts: dict[str, QueryContext] = {}
        sent_at = self.clock.now()
        for peer in targets:
            if not self.readiness.is_ready(peer, request.category):
                results[peer] = StateResult(peer, ResultStatus.NOT_READY, "FAILED_PRECONDITION",
                                            f"{peer} is not ready for {request.category.name} exchange (GATE-1)")
                continue
            contexts[peer] = self.outgoing_context(peer, request.officer_id, request.ordering_officer_id,
                                                   request.reason, request.case_reference, request_id, sent_at)
        if contexts:
            # The queries are supplied data too: durable in the log before any leaves (LOG-1, LOG-4).
            query_data = plugin.query_record(query)
            self.log.append_many([self._entry(request, ctx, EntryKind.AUTOMATED_SUPPLY, MessageType.QUERY,
                                              Outcome.NONE, 0, query_data) for ctx in contexts.values()])
            results.update(self._fan_out(request, query, contexts, deadline_ms))
            receipts = []
            for peer, context in contexts.items():
                received = results[peer]
                if plugin.verifies and received.status is ResultStatus.HIT:
                    results[peer] = self._verified(received, plugin, query)
                receipts.append(self._receipt(request, context, received,
                                              results[peer] if plugin.verifies else None))
            self.log.append_many([entry for entry in receipts if entry is not None])
        return SearchOutcome(request_id, [results[peer] for peer in targets])

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

    def _fan_out(self, request: OfficerSearch[Q, I], query: Q, contexts: dict[str, QueryContext],
                 deadline_ms: int) -> dict[str, StateResult[I]]:
        assert self._pool is not None
        return fan_out(self._pool, contexts, lambda peer, deadline: self._ask(request, query, contexts[peer], deadline),
                       deadline_ms, lambda peer: StateResult(peer, ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED",
                                                             f"no answer within {deadline_ms} ms",
                                                             elapsed_ms=float(deadline_ms)))

    def _ask(self, request: OfficerSearch[Q, I], query: Q, context: QueryContext, deadline: float) -> StateResult[I]:
        """One peer's per-state result: whatever happens to the call, never an exception (one failed search)."""
        started = time.monotonic()
        peer = context.requested_state
        references: tuple[str, ...] = ()
        try:
            answer: PeerAnswer[I] = self.transport.ask(request.category, context, query,
                                                       max(0.001, deadline - started))
            references = tuple(request.plugin.reference(item) for item in answer.items)
        except TimeoutError as error:  # a link that timed out: a deadline, as its gRPC status would say
            answer = PeerAnswer(ResultStatus.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED", f"{type(error).__name__}: {error}")
        except OSError as error:  # a link that failed: the peer is unavailable
            answer = PeerAnswer(ResultStatus.UNAVAILABLE, "UNAVAILABLE", f"{type(error).__name__}: {error}")
        except Exception as error:  # noqa: BLE001 - a bug is a per-state status too, and reported as a bug
            answer = PeerAnswer(ResultStatus.FAILED, "INTERNAL",
                                f"{self.state}'s contact point failed to carry the query to {peer} or to read its "
                                f"reply ({type(error).__name__}: {error}); a bug, not an answer of {peer}")
        return StateResult(peer, answer.status, answer.code, answer.detail, answer.header, answer.items,
                           round((time.monotonic() - started) * 1000, 3), references)

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
            hit_count=hit_count)
