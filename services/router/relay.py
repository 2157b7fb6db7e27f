"""The router's forwarding of core data after a confirmed match (Art 47(1), P2-ROUTER-1), without gRPC.

A requesting state's core-data request goes to the requested state, and that state's decision (supplied, refused,
delayed) back to the requesting state, each in one call the router carries whole: it reads only who sends what to
whom. The sender must be the state of the caller's certificate (the requesting state for a request, the requested
state for a decision, SEC-1); both states must be connected to the router and their connections declared ready
(P2-GATE-1); a decision is carried only for a request the router carried between the same two states. Every
forwarding is logged, durable before the router answers, without the data (`RouterLog.record_relayed`); a refusal
or failure of the receiving state is logged with its code and passed back unchanged.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from prum.services.common.category import Category
from prum.services.common.clock import Clock
from prum.services.common.errors import GateClosed, InvalidInput, UnknownReference, quote
from prum.services.common.identity import check_claim
from prum.services.router.log import RelayedEntry, RouterLog
from prum.services.supervisor import ReadinessBook

#: How a request is named in the router's log; a decision is named by its status.
REQUEST = "REQUEST"
DECISIONS = ("SUPPLIED", "REFUSED", "DELAYED")

T = TypeVar("T")


class CoreDataForwarder(Protocol):
    """The router's transport to the states' contact points (`transport.GrpcCoreDataStates`)."""

    def send_request(self, state: str, message: Any, request_id: str, timeout_s: float) -> Any: ...
    def send_decision(self, state: str, message: Any, request_id: str, timeout_s: float) -> Any: ...
    def code_of(self, error: Exception) -> str:
        """The status code name a failed call answered with (the router logs it)."""
        ...


@dataclass
class CoreDataRelay:
    members: Sequence[str]
    readiness: ReadinessBook
    log: RouterLog
    forwarder: CoreDataForwarder
    clock: Clock
    timeout_s: float = 3.0
    # Requests being carried now: the requested state may decide at once, before the router has its answer.
    _in_flight: dict[str, tuple[str, str, Category]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def relay_request(self, certified_state: str | None, request_id: str, requesting: str, requested: str,
                      category: Category, message: Any) -> Any:
        """A requesting state's request, to the requested state; returns its answer."""
        check_claim(certified_state, requesting)
        self._check(requesting, requested)
        with self._lock:
            self._in_flight[request_id] = (requesting, requested, category)
        try:
            return self._carry(REQUEST, request_id, requesting, requested, category,
                               lambda timeout: self.forwarder.send_request(requested, message, request_id, timeout))
        finally:
            with self._lock:
                self._in_flight.pop(request_id, None)

    def relay_decision(self, certified_state: str | None, request_id: str, requesting: str, requested: str,
                       status: str, message: Any) -> Any:
        """A requested state's decision, back to the requesting state; only for a request this router carried."""
        check_claim(certified_state, requested)
        if status not in DECISIONS:
            raise InvalidInput(f"{quote(status)}; allowed: {', '.join(DECISIONS)}", field="decision.status")
        self._check(requesting, requested)
        category = self._carried(request_id, requesting, requested)
        return self._carry(status, request_id, requested, requesting, category,
                           lambda timeout: self.forwarder.send_decision(requesting, message, request_id, timeout))

    def _carried(self, request_id: str, requesting: str, requested: str) -> Category:
        """The category of the request `request_id` this router carried (or is carrying) between the two states."""
        with self._lock:
            in_flight = self._in_flight.get(request_id)
        if in_flight is not None and in_flight[:2] == (requesting, requested):
            return in_flight[2]
        for entry in self.log.relayed(request_id):
            if entry.message == REQUEST and entry.code == "OK" and (entry.from_state, entry.to_state) == (
                    requesting, requested):
                return entry.category
        raise UnknownReference(f"the router carried no core-data request {quote(request_id)} from {requesting} to "
                               f"{requested}; a decision follows a request it carried (Art 47(1))")

    def _check(self, requesting: str, requested: str) -> None:
        for name, state in (("requesting_state", requesting), ("requested_state", requested)):
            if state not in self.members:
                raise InvalidInput(f"{quote(state)} is not a state connected to this router; allowed: "
                                   f"{', '.join(self.members)}", field=f"context.{name}")
            if not self.readiness.is_ready(state, Category.ROUTER_CONNECTION):
                raise GateClosed(f"{state}'s connection to the router is not declared ready (P2-GATE-1); core data "
                                 f"are not forwarded", state=state, category=Category.ROUTER_CONNECTION.name)
        if requesting == requested:
            raise InvalidInput(f"is {requested}, the requesting state itself", field="context.requested_state")

    def _carry(self, message: str, request_id: str, sender: str, receiver: str, category: Category,
               call: Callable[[float], T]) -> T:
        received_at = self.clock.now()
        try:
            answer = call(self.timeout_s)
        except Exception as error:
            self.log.record_relayed(RelayedEntry(request_id, message, sender, receiver, category, received_at,
                                                 self.clock.now(), self.forwarder.code_of(error)))
            raise
        self.log.record_relayed(RelayedEntry(request_id, message, sender, receiver, category, received_at,
                                             self.clock.now(), "OK"))
        return answer
