"""Step 2 of an exchange (FOL-1, Art 5 and 10), without gRPC: the personal data behind one hit.

A follow-up is a non-automated supply under national law, logged on both sides with reason, data,
date and both authorities' codes (LOG-3). Each side accepts it only for a reference that its own
protocol log shows was supplied as a hit between the two states in the original request, so the log
is the evidence that the hit happened. The reply carries any marking of contested data (ACC-1).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import GateClosed, InvalidInput, UnknownReference, quote
from prum.services.common.identity import check_claim
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json
from prum.services.supervisor import ReadinessBook

#: The categories whose hits allow a follow-up; the launcher passes those whose plug-in says so (`FollowUp`).
FOLLOW_UP_CATEGORIES = frozenset({Category.DNA, Category.FINGERPRINT})


class Person(Protocol):
    """The person behind a hit as the file-managing state's register holds them (the contact point's
    `persons.Person`): the personal data a follow-up supplies (FOL-1)."""

    @property
    def reference(self) -> str: ...
    @property
    def surname(self) -> str: ...
    @property
    def first_names(self) -> str: ...
    @property
    def date_of_birth(self) -> str: ...
    @property
    def nationality(self) -> str: ...


class PersonRecords(Protocol):
    """The register of persons behind the references of the national files (`persons.PersonRegister`)."""

    def get(self, reference: str) -> Person: ...


@dataclass(frozen=True)
class PersonalData:
    person: Person
    contested: bool = False
    marking_note: str = ""


class FollowUpTransport(Protocol):
    def follow_up(self, context: QueryContext, category: Category, reference: str,
                  original_request_id: str, timeout_s: float) -> tuple[ReplyHeader, PersonalData]: ...


def _references(entry: LogEntry) -> set[str]:
    """The references an automated reply carried as hits, as its log entry records them (either side); on the
    requesting side of a fingerprint search, only the candidates its own verification confirmed (FP-2)."""
    data = json.loads(entry.data_supplied or "{}")
    if "verified" in data:
        return set(data["verified"])
    found = set(data.get("references", []))
    found |= {hit.get("reference", "") for hit in data.get("hits", []) + data.get("candidates", [])}
    return found


def hit_was_supplied(log: ProtocolLog, request_id: str, requesting: str, requested: str, category: Category,
                      reference: str, kind: EntryKind) -> bool:
    """Whether `log` shows the hit `reference` supplied (`kind` AUTOMATED_SUPPLY, on the file-managing side) or
    received (AUTOMATED_RECEIPT, on the requesting side) between the two states in request `request_id`: the
    evidence a follow-up (FOL-1) and a core-data request (P2-CORE-1(a)) rest on."""
    for entry in log.query(request_id=request_id, limit=10_000):
        if (entry.kind is kind and entry.message_type is MessageType.REPLY and entry.category is category
                and entry.requesting_state == requesting and entry.requested_state == requested
                and entry.outcome is Outcome.HIT and reference in _references(entry)):
            return True
    return False


def step_entry(state: str, context: QueryContext, category: Category, kind: EntryKind, message_type: MessageType,
               side: Side, data: dict[str, Any], reply_id: str = "", outcome: Outcome = Outcome.NONE) -> LogEntry:
    """`state`'s log entry of one non-automated step after a hit (a follow-up, FOL-1; core data, P2-CORE-1): the
    LOG-2 and LOG-3 fields from the step's context, its purpose included, the data as canonical JSON."""
    return LogEntry.new(kind=kind, message_type=message_type, category=category, side=side, logging_state=state,
                        requesting_state=context.requesting_state, requested_state=context.requested_state,
                        request_id=context.request_id, reply_id=reply_id, officer_id=context.officer_id,
                        ordering_officer_id=context.ordering_officer_id, reason=context.reason,
                        case_reference=context.case_reference, data_supplied=canonical_json(data), outcome=outcome,
                        hit_count=1 if outcome is Outcome.HIT else 0, purpose=context.purpose)


@dataclass
class FollowUps:
    """Both halves of a follow-up for one state: `request` (its officers ask) and `answer` (peers ask)."""

    state: str
    readiness: ReadinessBook
    log: ProtocolLog
    persons: PersonRecords
    # reference -> (contested, marking note) from the national file that holds it (ACC-1).
    marking_of: Callable[[Category, str], tuple[bool, str]]
    clock: Clock = field(default_factory=SystemClock)
    categories: frozenset[Category] = FOLLOW_UP_CATEGORIES

    def _entry(self, context: QueryContext, category: Category, kind: EntryKind, message_type: MessageType,
               side: Side, data: dict[str, Any], reply_id: str = "", outcome: Outcome = Outcome.NONE) -> LogEntry:
        return step_entry(self.state, context, category, kind, message_type, side, data, reply_id, outcome)

    def _check(self, category: Category, context: QueryContext) -> None:
        if category not in self.categories:
            raise InvalidInput(f"{category.name}: follow-ups ask for the person behind a DNA or fingerprint hit; "
                               f"vehicle replies already carry the holder (VRD-2)", field="category")
        for state in (context.requesting_state, context.requested_state):
            if not self.readiness.is_ready(state, category):
                raise GateClosed(f"{state} is not ready for {category.name} exchange (GATE-1)", state=state,
                                 category=category.name)

    def request(self, context: QueryContext, category: Category, reference: str, original_request_id: str,
                transport: FollowUpTransport, timeout_s: float) -> tuple[ReplyHeader, PersonalData]:
        """The requesting side: only for a hit this state received; logged before it leaves and on return."""
        self._check(category, context)
        if not hit_was_supplied(self.log, original_request_id, self.state, context.requested_state, category,
                                 reference, EntryKind.AUTOMATED_RECEIPT):
            raise UnknownReference(f"{self.state} received no {category.name} hit {quote(reference)} from "
                                   f"{context.requested_state} in request {quote(original_request_id)}; a follow-up "
                                   f"is only for a reference received in a hit (FOL-1)")
        asked = {"reference": reference, "original_request_id": original_request_id}
        self.log.append(self._entry(context, category, EntryKind.NON_AUTOMATED_SUPPLY,
                                    MessageType.FOLLOW_UP_REQUEST, Side.REQUESTING, asked))
        header, data = transport.follow_up(context, category, reference, original_request_id, timeout_s)
        self.log.append(self._entry(context, category, EntryKind.NON_AUTOMATED_RECEIPT, MessageType.FOLLOW_UP_REPLY,
                                    Side.REQUESTING, {"person": data.person.__dict__, "contested": data.contested},
                                    reply_id=header.reply_id, outcome=Outcome.HIT))
        return header, data

    def answer(self, context: QueryContext, certified_state: str | None, category: Category, reference: str,
               original_request_id: str) -> tuple[ReplyHeader, PersonalData]:
        """The file-managing side: only for a hit it supplied to this state; durable in the log before the reply."""
        check_claim(certified_state, context.requesting_state)
        context.validate()
        if context.requested_state != self.state:
            raise InvalidInput(f"is {context.requested_state}; this is {self.state}'s contact point",
                               field="context.requested_state")
        self._check(category, context)
        if not hit_was_supplied(self.log, original_request_id, context.requesting_state, self.state, category,
                                 reference, EntryKind.AUTOMATED_SUPPLY):
            raise UnknownReference(f"{self.state} supplied no {category.name} hit {quote(reference)} to "
                                   f"{context.requesting_state} in request {quote(original_request_id)} (FOL-1)")
        contested, note = self.marking_of(category, reference)
        data = PersonalData(self.persons.get(reference), contested, note)
        header = ReplyHeader(context.request_id, str(uuid.uuid4()), self.clock.now(), context.requesting_state,
                             self.state)
        asked = {"reference": reference, "original_request_id": original_request_id}
        self.log.append_many([
            self._entry(context, category, EntryKind.NON_AUTOMATED_RECEIPT, MessageType.FOLLOW_UP_REQUEST,
                        Side.FILE_MANAGING, asked, reply_id=header.reply_id),
            self._entry(context, category, EntryKind.NON_AUTOMATED_SUPPLY, MessageType.FOLLOW_UP_REPLY,
                        Side.FILE_MANAGING, {"person": data.person.__dict__, "contested": contested,
                                             "marking_note": note}, reply_id=header.reply_id, outcome=Outcome.HIT),
        ])
        return header, data
