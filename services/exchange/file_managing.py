"""The file-managing side of an automated exchange, without gRPC: what every searched file does around its matching.

`FileManagingSide` is the requested state's half (Art 3, 9, 12): it checks that the calling state
is the one its certificate names (SEC-1), or, for a category the router carries, that the certificate is
the Prüm II router's, which checked the requesting state's certificate before it routed the search
(P2-ROUTER-1; never for vehicles, P2-VRD-1), that both states are ready for the category (GATE-1), runs the category's search through its plug-in (`prum.services.exchange.plugin`), and makes the
receipt and the reply durable in the protocol log (LOG-1, LOG-2) before the reply may leave
(LOG-4). A refusal is logged the same way. The query data itself is never kept anywhere but in the
log (PUR-2). Every data service of a state shares its one `FileManagingSide`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

from prum.services.common.category import ROUTED_CATEGORIES, Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import GateClosed, IdentityMismatch, PrumError
from prum.services.common.identity import ROUTER, check_claim
from prum.services.common.router_phases import RouterPhases
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.plugin import CategoryPlugin, Supply
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json
from prum.services.supervisor import ReadinessBook

Q = TypeVar("Q")
F = TypeVar("F")
S = TypeVar("S")


@dataclass
class FileManagingSide:
    """The requested state's half of every automated search, one per state, shared by its data services."""

    state: str
    readiness: ReadinessBook
    log: ProtocolLog
    clock: Clock = field(default_factory=SystemClock)
    #: In the router topology, when the bilateral links stop carrying the categories the router carries
    #: (P2-TIME-1); None in the 2008 mesh.
    router_phases: RouterPhases | None = None

    def answer(self, plugin: CategoryPlugin[Q, F, S, Any], file: F, context: QueryContext,
               certified_state: str | None, query: Q) -> tuple[ReplyHeader, S]:
        """Admit the query, search `file` through the category's plug-in, log receipt and reply durably, and
        return the reply header and the result.

        Raises the domain error of a refusal after logging it; `IdentityMismatch` is raised before
        anything is logged, since the call does not come from the state it claims.
        """
        category = plugin.category
        query_data = plugin.query_record(query)
        # The requesting state's own certificate, or the router's carrying its search (P2-ROUTER-1, P2-VRD-1).
        check_claim(certified_state, context.requesting_state, routed=category in ROUTED_CATEGORIES)
        context.validate()
        if context.requested_state != self.state:
            raise IdentityMismatch(
                f"this is {self.state}'s service, but the request is addressed to {context.requested_state}")
        try:
            if (self.router_phases is not None and category in ROUTED_CATEGORIES
                    and certified_state not in (None, ROUTER) and self.router_phases.mesh_closed(self.clock.now())):
                raise GateClosed(f"{context.requesting_state}'s {category.name} search reached {self.state} on the "
                                 f"bilateral link: {self.router_phases.why_mesh_closed()}",
                                 state=context.requesting_state, category=category.name)
            for state, partner in ((self.state, context.requesting_state), (context.requesting_state, self.state)):
                # Ready, or one of the test queries of an open pilot run between the two, once (GATE-1).
                if not self.readiness.admits(state, category, partner, context.case_reference, context.request_id):
                    raise GateClosed(
                        f"{state} is not ready for {category.name} exchange: the Council has not decided "
                        f"that it implements the data-protection chapter (GATE-1)", state=state,
                        category=category.name)
            supply = plugin.search(file, context, query)
        except PrumError as refusal:
            self._log(category, context, query_data, None, refusal)
            raise
        header = self._log(category, context, query_data, supply, None)
        return header, supply.result

    def _log(self, category: Category, context: QueryContext, query_data: dict[str, Any],
             supply: Supply[Any] | None, refusal: PrumError | None) -> ReplyHeader:
        header = ReplyHeader(request_id=context.request_id, reply_id=str(uuid.uuid4()),
                             replied_at=self.clock.now(), requesting_state=context.requesting_state,
                             requested_state=self.state)
        common: dict[str, Any] = {
            "category": category, "side": Side.FILE_MANAGING, "logging_state": self.state,
            "requesting_state": context.requesting_state, "requested_state": self.state,
            "request_id": context.request_id, "reply_id": header.reply_id, "officer_id": context.officer_id,
            "ordering_officer_id": context.ordering_officer_id, "reason": context.reason,
            "case_reference": context.case_reference}
        receipt = LogEntry.new(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.QUERY,
                               data_supplied=canonical_json(query_data), outcome=Outcome.NONE, hit_count=0,
                               **common)
        if refusal is not None:
            reply = LogEntry.new(kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.REFUSAL,
                                 data_supplied=canonical_json({"refusal": type(refusal).__name__,
                                                               "message": str(refusal)}),
                                 outcome=Outcome.REFUSED, hit_count=0, **common)
        else:
            assert supply is not None
            reply = LogEntry.new(kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.REPLY,
                                 data_supplied=canonical_json(supply.data),
                                 outcome=Outcome.HIT if supply.hit_count else Outcome.NO_HIT,
                                 hit_count=supply.hit_count, **common)
        # One group commit: both entries are durable before the reply leaves (LOG-4).
        self.log.append_many([receipt, reply])
        return header
