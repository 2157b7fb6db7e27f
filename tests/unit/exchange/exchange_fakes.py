"""Fakes for the exchange's unit tests: peers that answer, refuse, hang or break, without gRPC."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from prum.services.common.category import GATED_CATEGORIES, Category
from prum.services.common.clock import SimulatedClock
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.requesting import ContactPoint, Officer, PeerAnswer, ResultStatus
from prum.services.logger import LogEntry, ProtocolLog
from prum.services.supervisor import ReadinessBook

NOW = datetime(2026, 5, 4, 9, 30, tzinfo=UTC)
MEMBERS = ["DE", "NL", "FR", "LU", "BE", "AT"]

#: What a fake peer does when asked: answer, or raise (a bug, a broken link), or hang until released.
Behaviour = Callable[[QueryContext, Any], PeerAnswer[Any]]


def header(context: QueryContext, reply_id: str = "") -> ReplyHeader:
    return ReplyHeader(context.request_id, reply_id or f"reply-{context.requested_state}", NOW,
                       context.requesting_state, context.requested_state)


def answers(*items: Any) -> Behaviour:
    """A peer that answers with `items` (a hit) or none (a no-hit)."""
    return lambda context, query: PeerAnswer(ResultStatus.HIT if items else ResultStatus.NO_HIT, "OK", "",
                                             header(context), tuple(items))


def refuses(status: ResultStatus, code: str, detail: str) -> Behaviour:
    """A peer that answers with a status code, as the gRPC transport maps it (`peers.answer_of_error`)."""
    return lambda context, query: PeerAnswer(status, code, detail)


def raises(error: BaseException) -> Behaviour:
    def behaviour(context: QueryContext, query: Any) -> PeerAnswer[Any]:
        raise error
    return behaviour


@dataclass
class FakePeers:
    """A `PeerTransport` whose peers behave as told; it records each call and what the log held at that moment."""

    log: ProtocolLog
    behaviours: dict[str, Behaviour] = field(default_factory=dict)
    asked: list[tuple[Category, QueryContext, Any, float]] = field(default_factory=list)
    logged_before: dict[str, list[LogEntry]] = field(default_factory=dict)
    released: threading.Event = field(default_factory=threading.Event)

    def hangs(self) -> Behaviour:
        """A peer that answers nothing until the test ends (its call outlives every deadline)."""
        def behaviour(context: QueryContext, query: Any) -> PeerAnswer[Any]:
            self.released.wait(30)
            return PeerAnswer(ResultStatus.NO_HIT, "OK", "", header(context))
        return behaviour

    def ask(self, category: Category, context: QueryContext, query: Any, timeout_s: float) -> PeerAnswer[Any]:
        self.asked.append((category, context, query, timeout_s))
        self.logged_before[context.requested_state] = self.log.query(request_id=context.request_id)
        return self.behaviours[context.requested_state](context, query)


def ready_book(clock: SimulatedClock, not_ready: tuple[tuple[str, Category], ...] = ()) -> ReadinessBook:
    book = ReadinessBook(MEMBERS, clock=clock)
    for state in MEMBERS:
        for category in GATED_CATEGORIES:
            if (state, category) not in not_ready:
                book.declare_ready(state, category)
    return book


def contact_point(state: str, log: ProtocolLog, book: ReadinessBook, peers: FakePeers, clock: SimulatedClock,
                  deadline_ms: int = 2000) -> ContactPoint:
    officers = {"DE-OFF-1": Officer("DE-OFF-1", "Kommissarin Weber"),
                "DE-OFF-9": Officer("DE-OFF-9", "Anwärter Roth", authorised=False)}
    return ContactPoint(state=state, members=MEMBERS, officers=officers, readiness=book, log=log, transport=peers,
                        clock=clock, deadline_ms=deadline_ms)


def data(entry: LogEntry) -> dict[str, Any]:
    return json.loads(entry.data_supplied)
