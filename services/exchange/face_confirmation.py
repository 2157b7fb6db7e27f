"""An officer's confirmation of a facial-image candidate (P2-FACE-3, Art 47(1)(b)), both sides, without gRPC.

A face candidate is not a match until qualified staff of the requesting state confirm it. The requesting state's
contact point records the officer's decision on a candidate it received (its log shows the candidate pending in
the search's receipt) and notifies the requested state that supplied it, which records it in its own log too.
Each side records the decision as a reply entry of the original request (category FACE) whose `verified` list
holds the reference if it was confirmed and nothing if it was rejected: the receipt of the search itself verifies
none, so the evidence a follow-up (FOL-1) or a core-data request (P2-CORE-1(b)) rests on
(`follow_up.hit_was_supplied`) exists only after a confirmation, on each side. A candidate is decided once.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import CaseClosed, InvalidInput, UnknownReference, quote
from prum.services.common.identity import check_claim
from prum.services.exchange.context import check_state_code
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json, format_moment

MAX_NOTE = 500


@dataclass(frozen=True)
class FaceDecision:
    """An officer's decision on one candidate of one search, as both sides record it."""

    request_id: str
    requesting_state: str
    requested_state: str
    reference: str
    confirmed: bool
    officer_id: str
    note: str = ""

    def validate(self) -> None:
        for name in ("request_id", "reference", "officer_id"):
            if not getattr(self, name).strip():
                raise InvalidInput("is empty; a decision names the search, the candidate and the officer (P2-FACE-3)",
                                   field=name)
        check_state_code(self.requesting_state, "requesting_state")
        check_state_code(self.requested_state, "state")
        if len(self.note) > MAX_NOTE:
            raise InvalidInput(f"{len(self.note)} characters; allowed: at most {MAX_NOTE}", field="note")


class ConfirmationTransport(Protocol):
    """Carries a decision to the requested state; answers whether it logged it and a line saying what happened
    (a link that failed is an answer too, never an exception)."""

    def notify(self, decision: FaceDecision, timeout_s: float) -> tuple[bool, str]: ...


def _data(entry: LogEntry) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(entry.data_supplied or "{}")
    return data


@dataclass
class FaceConfirmations:
    """Both halves of P2-FACE-3 for one state: `confirm` (its officers decide) and `receive` (a peer's decision on
    a candidate this state supplied)."""

    state: str
    log: ProtocolLog
    clock: Clock = field(default_factory=SystemClock)

    def _entries(self, request_id: str, kind: EntryKind, requesting: str, requested: str) -> list[LogEntry]:
        return [e for e in self.log.query(request_id=request_id, kind=kind, category=Category.FACE, limit=10_000)
                if e.message_type is MessageType.REPLY and e.requesting_state == requesting
                and e.requested_state == requested]

    def _find(self, decision: FaceDecision, kind: EntryKind, candidates_key: str) -> LogEntry:
        """The entry of the search's reply that carried the candidate; CaseClosed if it was decided already."""
        entries = self._entries(decision.request_id, kind, decision.requesting_state, decision.requested_state)
        if any(_data(e).get("confirmation", {}).get("reference") == decision.reference for e in entries):
            raise CaseClosed(f"candidate {quote(decision.reference)} of request {quote(decision.request_id)} was "
                             f"already confirmed or rejected; a candidate is decided once (P2-FACE-3)")
        for entry in entries:
            data = _data(entry)
            listed = data.get(candidates_key, [])
            references = {c["reference"] if isinstance(c, dict) else c for c in listed}
            if "confirmation" not in data and decision.reference in references:
                return entry
        raise UnknownReference(f"{self.state}'s log shows no face candidate {quote(decision.reference)} between "
                               f"{decision.requesting_state} and {decision.requested_state} in request "
                               f"{quote(decision.request_id)}; only a candidate received in a search is confirmed "
                               f"(P2-FACE-3)")

    def _entry(self, original: LogEntry, decision: FaceDecision, kind: EntryKind, side: Side,
               data: dict[str, Any]) -> LogEntry:
        record = {"reference": decision.reference, "confirmed": decision.confirmed, "officer_id": decision.officer_id,
                  "note": decision.note, "decided_at": format_moment(self.clock.now())}
        return LogEntry.new(
            kind=kind, message_type=MessageType.REPLY, category=Category.FACE, side=side, logging_state=self.state,
            requesting_state=decision.requesting_state, requested_state=decision.requested_state,
            request_id=decision.request_id, reply_id=original.reply_id, officer_id=decision.officer_id,
            ordering_officer_id=original.ordering_officer_id, reason=original.reason,
            case_reference=original.case_reference, purpose=original.purpose,
            data_supplied=canonical_json({**data, "verified": [decision.reference] if decision.confirmed else [],
                                          "confirmation": record}),
            outcome=Outcome.HIT if decision.confirmed else Outcome.NO_HIT, hit_count=int(decision.confirmed))

    def confirm(self, decision: FaceDecision, authorise: Callable[[str], object], transport: ConfirmationTransport,
                timeout_s: float) -> tuple[bool, str]:
        """The requesting side: an authorised officer of this state decides on a candidate it received; logged here
        before the requested state is notified. Returns whether the requested state logged it, and what happened."""
        decision.validate()
        if decision.requesting_state != self.state:
            raise InvalidInput(f"is {decision.requesting_state}; this is {self.state}'s contact point",
                               field="requesting_state")
        authorise(decision.officer_id)
        receipt = self._find(decision, EntryKind.AUTOMATED_RECEIPT, "pending_confirmation")
        self.log.append(self._entry(receipt, decision, EntryKind.AUTOMATED_RECEIPT, Side.REQUESTING,
                                    {"reply_id": receipt.reply_id, "references": [decision.reference]}))
        return transport.notify(decision, timeout_s)

    def receive(self, decision: FaceDecision, certified_state: str | None) -> None:
        """The requested side: a requesting state's decision on a candidate this state supplied to it, in its own
        name (SEC-1); durable in this state's log before the acknowledgement."""
        check_claim(certified_state, decision.requesting_state)
        decision.validate()
        if decision.requested_state != self.state:
            raise InvalidInput(f"is {decision.requested_state}; this is {self.state}'s contact point", field="state")
        supply = self._find(decision, EntryKind.AUTOMATED_SUPPLY, "candidates")
        self.log.append(self._entry(supply, decision, EntryKind.AUTOMATED_SUPPLY, Side.FILE_MANAGING, {}))
