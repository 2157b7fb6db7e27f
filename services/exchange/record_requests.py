"""The follow-up of a police-record match (P2-EPRIS-4), without gRPC: a reasoned request the holding state decides.

Beside FOL-1's follow-up (`follow_up`) and Prüm II's core data (`core_data`), the third way from a match to the data
behind it, and the only one where the holding state decides case by case.

Nothing is released automatically. The requesting state's officer chooses a match and sends a reasoned
request (`RecordRequests.request`), accepted only for a reference its own log shows it received as a match
from that state in that search; the holding state records it as pending (`receive`) and answers nothing
more until one of its officers decides (`decide`: share or refuse, with a reason), and then sends the
decision back (`receive_decision`). Each step is logged on both sides with the LOG-2 fields (non-automated
entries, LOG-3). The 48-hour rule of core data (P2-CORE-1) does not apply: there is no deadline.

Each follow-up is kept durably (SQLite, WAL, `synchronous=FULL`, one row per follow-up written before the step
returns), so a state restarted keeps its pending requests and its officers' decisions; the record shared is kept as
its plain fields, read back through the `record_from_data` the state gives.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput, NotAuthorised, UnknownReference, quote
from prum.services.common.identity import check_claim
from prum.services.common.store import open_database, transaction
from prum.services.exchange.context import QueryContext
from prum.services.exchange.follow_up import hit_was_supplied
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json

CATEGORY = Category.POLICE_RECORD


class HeldRecords(Protocol):
    """The holding state's national records (`police_records.index.PoliceRecordIndex`): a record by reference,
    a dataclass, raising `UnknownReference` for one it does not hold."""

    def record(self, reference: str) -> Any: ...


class Decision(StrEnum):
    PENDING = "PENDING"
    SHARED = "SHARED"
    REFUSED = "REFUSED"


@dataclass(frozen=True)
class RecordRequest:
    """One follow-up as a state holds it, on either side."""

    follow_up_id: str
    requesting_state: str
    holding_state: str
    reference: str
    search_request_id: str
    officer_id: str
    ordering_officer_id: str
    reason: str
    case_reference: str = ""
    decision: Decision = Decision.PENDING
    decision_reason: str = ""
    deciding_officer_id: str = ""
    #: The record, once shared (on the requesting side: as received).
    record: Any = None


class RecordRequestTransport(Protocol):
    """Carries a follow-up's two messages between the states (gRPC: `police_records.transport`)."""

    def send_request(self, context: QueryContext, reference: str, search_request_id: str) -> None: ...

    def send_decision(self, requesting_state: str, follow_up_id: str, decision: Decision, reason: str,
                      record: Any) -> None: ...


@dataclass
class RecordRequests:
    """Both halves of a state's EPRIS follow-ups: what its officers asked, and what peers asked of it."""

    state: str
    log: ProtocolLog
    index: HeldRecords
    officers: frozenset[str]
    clock: Clock = None  # type: ignore[assignment]
    #: Where the follow-ups are kept (None: in memory, for tests).
    path: str | Path | None = None
    #: A shared record back from its plain fields (the record type is the category's: the exchange knows none).
    record_from_data: Callable[[dict[str, Any]], Any] = lambda data: data

    def __post_init__(self) -> None:
        self.clock = self.clock or SystemClock()
        self._lock = threading.Lock()
        self._db = open_database(self.path)
        self._db.execute("CREATE TABLE IF NOT EXISTS follow_up (id TEXT PRIMARY KEY, item TEXT NOT NULL)")
        self._requests: dict[str, RecordRequest] = {}
        for (text,) in self._db.execute("SELECT item FROM follow_up"):
            item = self._from_json(text)
            self._requests[item.follow_up_id] = item

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _from_json(self, text: str) -> RecordRequest:
        data = json.loads(text)
        record = data.pop("record")
        return RecordRequest(**{**data, "decision": Decision(data["decision"]),
                                "record": None if record is None else self.record_from_data(record)})

    def _keep(self, item: RecordRequest) -> None:
        """Durable before the step returns; hold the lock."""
        data = {f.name: getattr(item, f.name) for f in fields(item)}
        data["record"] = asdict(item.record) if item.record is not None else None
        with transaction(self._db) as db:
            db.execute("INSERT OR REPLACE INTO follow_up (id, item) VALUES (?, ?)",
                       (item.follow_up_id, json.dumps(data, ensure_ascii=False)))
        self._requests[item.follow_up_id] = item

    def _officer(self, officer_id: str) -> None:
        if officer_id not in self.officers:
            raise NotAuthorised(f"officer {quote(officer_id)} is not an authorised officer of {self.state} (SEC-2)")

    def _entry(self, item: RecordRequest, kind: EntryKind, message_type: MessageType, side: Side,
               data: dict[str, Any], outcome: Outcome = Outcome.NONE, officer_id: str = "",
               reason: str = "") -> LogEntry:
        return LogEntry.new(kind=kind, message_type=message_type, category=CATEGORY, side=side,
                            logging_state=self.state, requesting_state=item.requesting_state,
                            requested_state=item.holding_state, request_id=item.follow_up_id, reply_id="",
                            officer_id=officer_id or item.officer_id, ordering_officer_id=item.ordering_officer_id,
                            reason=reason or item.reason, case_reference=item.case_reference,
                            data_supplied=canonical_json(data), outcome=outcome,
                            hit_count=1 if outcome is Outcome.HIT else 0)

    def get(self, follow_up_id: str) -> RecordRequest:
        with self._lock:
            item = self._requests.get(follow_up_id)
        if item is None:
            raise UnknownReference(f"no police-record follow-up {quote(follow_up_id)} at {self.state}")
        return item

    # -- the requesting side ---------------------------------------------------------------------------------------

    def request(self, officer_id: str, ordering_officer_id: str, reason: str, holding_state: str, reference: str,
                search_request_id: str, transport: RecordRequestTransport, case_reference: str = "") -> RecordRequest:
        """An officer's reasoned request for the record behind a match this state received; logged before it
        leaves. The answer is pending: the holding state decides later."""
        self._officer(officer_id)
        if not reason.strip():
            raise InvalidInput("is empty; a request for a police record states why it is needed (P2-EPRIS-4)",
                               field="reason")
        if not ordering_officer_id.strip():
            raise InvalidInput("is empty; name the officer who ordered the request (LOG-2)",
                               field="ordering_officer_id")
        if not hit_was_supplied(self.log, search_request_id, self.state, holding_state, CATEGORY, reference,
                                EntryKind.AUTOMATED_RECEIPT):
            raise UnknownReference(f"{self.state} received no police-record match {quote(reference)} from "
                                   f"{holding_state} in search {quote(search_request_id)}; a request is only for a "
                                   f"match received (P2-EPRIS-4)")
        item = RecordRequest(str(uuid.uuid4()), self.state, holding_state, reference, search_request_id, officer_id,
                             ordering_officer_id, reason, case_reference)
        self.log.append(self._entry(item, EntryKind.NON_AUTOMATED_SUPPLY, MessageType.FOLLOW_UP_REQUEST,
                                    Side.REQUESTING, {"reference": reference, "search_request_id": search_request_id}))
        with self._lock:
            self._keep(item)
        context = QueryContext(request_id=item.follow_up_id, requesting_state=self.state,
                               requested_state=holding_state, officer_id=officer_id,
                               ordering_officer_id=ordering_officer_id, reason=reason, case_reference=case_reference,
                               sent_at=self.clock.now())
        transport.send_request(context, reference, search_request_id)
        return item

    def receive_decision(self, certified_state: str | None, follow_up_id: str, decision: Decision, reason: str,
                         record: Any) -> RecordRequest:
        """The holding state's decision on one of this state's requests, logged as received."""
        item = self.get(follow_up_id)
        if item.requesting_state != self.state:
            raise UnknownReference(f"{follow_up_id} is not a request {self.state} sent")
        check_claim(certified_state, item.holding_state)
        if decision is Decision.PENDING:
            raise InvalidInput("is PENDING; a decision shares or refuses", field="decision")
        decided = replace(item, decision=decision, decision_reason=reason,
                          record=record if decision is Decision.SHARED else None)
        data: dict[str, Any] = {"decision": decision.value, "decision_reason": reason, "reference": item.reference,
                                "record": asdict(record) if decided.record else None}
        self.log.append(self._entry(decided, EntryKind.NON_AUTOMATED_RECEIPT, MessageType.FOLLOW_UP_REPLY,
                                    Side.REQUESTING, data,
                                    Outcome.HIT if decision is Decision.SHARED else Outcome.REFUSED))
        with self._lock:
            self._keep(decided)
        return decided

    # -- the holding side --------------------------------------------------------------------------------------

    def receive(self, context: QueryContext, certified_state: str | None, reference: str,
                search_request_id: str) -> RecordRequest:
        """A peer's reasoned request, for a match this state supplied to it: logged and kept pending; nothing is
        released until an officer of this state decides (P2-EPRIS-4)."""
        check_claim(certified_state, context.requesting_state)
        context.validate()
        if context.requested_state != self.state:
            raise InvalidInput(f"is {context.requested_state}; this is {self.state}'s police-record service",
                               field="context.requested_state")
        if not hit_was_supplied(self.log, search_request_id, context.requesting_state, self.state, CATEGORY,
                                reference, EntryKind.AUTOMATED_SUPPLY):
            raise UnknownReference(f"{self.state} supplied no police-record match {quote(reference)} to "
                                   f"{context.requesting_state} in search {quote(search_request_id)} (P2-EPRIS-4)")
        item = RecordRequest(context.request_id, context.requesting_state, self.state, reference, search_request_id,
                             context.officer_id, context.ordering_officer_id, context.reason,
                             context.case_reference)
        with self._lock:
            if item.follow_up_id in self._requests:
                raise Duplicate(f"follow-up {quote(item.follow_up_id)} was already received")
            self._keep(item)
        self.log.append(self._entry(item, EntryKind.NON_AUTOMATED_RECEIPT, MessageType.FOLLOW_UP_REQUEST,
                                    Side.FILE_MANAGING, {"reference": reference,
                                                         "search_request_id": search_request_id}))
        return item

    def decide(self, officer_id: str, follow_up_id: str, decision: Decision, reason: str,
               transport: RecordRequestTransport) -> tuple[RecordRequest, bool]:
        """An officer of the holding state shares or refuses, with a reason; logged, then sent back. Returns the
        decided request and whether the requesting state received the decision."""
        self._officer(officer_id)
        if decision is Decision.PENDING:
            raise InvalidInput("is PENDING; decide SHARED or REFUSED", field="decision")
        if not reason.strip():
            raise InvalidInput("is empty; a decision states its reason (P2-EPRIS-4)", field="reason")
        item = self.get(follow_up_id)
        if item.holding_state != self.state:
            raise UnknownReference(f"{follow_up_id} is a request {self.state} sent, not one it received")
        if item.decision is not Decision.PENDING:
            raise Duplicate(f"follow-up {quote(follow_up_id)} was already decided: {item.decision.value}")
        record = self.index.record(item.reference) if decision is Decision.SHARED else None
        decided = replace(item, decision=decision, decision_reason=reason, deciding_officer_id=officer_id,
                          record=record)
        data: dict[str, Any] = {"decision": decision.value, "decision_reason": reason, "reference": item.reference,
                                "deciding_officer_id": officer_id, "record": asdict(record) if record else None}
        self.log.append(self._entry(decided, EntryKind.NON_AUTOMATED_SUPPLY, MessageType.FOLLOW_UP_REPLY,
                                    Side.FILE_MANAGING, data,
                                    Outcome.HIT if decision is Decision.SHARED else Outcome.REFUSED))
        with self._lock:
            self._keep(decided)
        try:
            transport.send_decision(item.requesting_state, follow_up_id, decision, reason, record)
        except OSError:
            return decided, False  # logged here; the requesting state asks again with GetRecordRequest
        return decided, True
