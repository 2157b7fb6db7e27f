"""The reasoned follow-up of a police-record match (P2-EPRIS-4), without gRPC: two states' `RecordRequests` joined
by a transport that calls the other side directly. Nothing is released until the holding state decides."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import Duplicate, InvalidInput, NotAuthorised, UnknownReference
from prum.services.exchange.context import QueryContext
from prum.services.exchange.record_requests import Decision, RecordRequests
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json
from prum.services.police_records.index import PoliceRecord, PoliceRecordIndex

RECORD = PoliceRecord("PL-PR-1", "Łukasz", "Wiśniewski", "1984-03-07")


@dataclass
class Direct:
    """The transport: each side's messages reach the other side's core in the sender's own name."""

    sides: dict[str, RecordRequests]
    sender: str

    def send_request(self, context: QueryContext, reference: str, search_request_id: str) -> None:
        self.sides[context.requested_state].receive(context, self.sender, reference, search_request_id)

    def send_decision(self, requesting_state: str, follow_up_id: str, decision: Decision, reason: str,
                      record: Any) -> None:
        self.sides[requesting_state].receive_decision(self.sender, follow_up_id, decision, reason, record)


@pytest.fixture()
def sides() -> dict[str, RecordRequests]:
    clock = SimulatedClock(datetime(2026, 6, 1, tzinfo=UTC))
    index = PoliceRecordIndex(clock)
    index.ingest(RECORD)
    return {state: RecordRequests(state, ProtocolLog(":memory:", state, clock), index if state == "PL" else
                                  PoliceRecordIndex(clock), frozenset({f"{state}-NCP-01"}), clock)
            for state in ("DE", "PL")}


def _match(sides: dict[str, RecordRequests], reference: str = "PL-PR-1") -> str:
    """A search in which PL supplied `reference` to DE as a match, as both logs record it."""
    search_id = str(uuid.uuid4())
    for state, kind, side in (("DE", EntryKind.AUTOMATED_RECEIPT, Side.REQUESTING),
                              ("PL", EntryKind.AUTOMATED_SUPPLY, Side.FILE_MANAGING)):
        sides[state].log.append(LogEntry.new(
            kind=kind, message_type=MessageType.REPLY, category=Category.POLICE_RECORD, side=side,
            logging_state=state, requesting_state="DE", requested_state="PL", request_id=search_id, reply_id="r",
            officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="robbery", case_reference="",
            data_supplied=canonical_json({"references": [reference]}), outcome=Outcome.HIT, hit_count=1))
    return search_id


def _ask(sides: dict[str, RecordRequests], search_id: str, reason: str = "suspect of a robbery") -> str:
    return sides["DE"].request("DE-NCP-01", "DE-NCP-02", reason, "PL", "PL-PR-1", search_id,
                               Direct(sides, "DE")).follow_up_id


def test_a_request_stays_pending_until_the_holding_state_decides(sides: dict[str, RecordRequests]) -> None:
    follow_up_id = _ask(sides, _match(sides))
    assert sides["PL"].get(follow_up_id).decision is Decision.PENDING
    assert sides["DE"].get(follow_up_id).record is None  # nothing released automatically
    decided, delivered = sides["PL"].decide("PL-NCP-01", follow_up_id, Decision.SHARED, "identity confirmed",
                                            Direct(sides, "PL"))
    assert delivered and decided.record == RECORD
    received = sides["DE"].get(follow_up_id)
    assert (received.decision, received.record, received.decision_reason) == (Decision.SHARED, RECORD,
                                                                              "identity confirmed")


def test_a_refusal_carries_its_reason_and_no_record(sides: dict[str, RecordRequests]) -> None:
    follow_up_id = _ask(sides, _match(sides))
    sides["PL"].decide("PL-NCP-01", follow_up_id, Decision.REFUSED, "ongoing investigation", Direct(sides, "PL"))
    received = sides["DE"].get(follow_up_id)
    assert (received.decision, received.record) == (Decision.REFUSED, None)
    for state in ("DE", "PL"):
        entries = sides[state].log.query(request_id=follow_up_id)
        assert {(e.message_type, e.outcome) for e in entries} == {(MessageType.FOLLOW_UP_REQUEST, Outcome.NONE),
                                                                  (MessageType.FOLLOW_UP_REPLY, Outcome.REFUSED)}
        assert all(e.reason == "suspect of a robbery" or e.message_type is MessageType.FOLLOW_UP_REPLY
                   for e in entries)


def test_a_decision_is_taken_once(sides: dict[str, RecordRequests]) -> None:
    follow_up_id = _ask(sides, _match(sides))
    sides["PL"].decide("PL-NCP-01", follow_up_id, Decision.REFUSED, "no", Direct(sides, "PL"))
    with pytest.raises(Duplicate):
        sides["PL"].decide("PL-NCP-01", follow_up_id, Decision.SHARED, "changed my mind", Direct(sides, "PL"))


@pytest.mark.parametrize("officer, decision, reason, error", [
    ("DE-NCP-01", Decision.SHARED, "why", NotAuthorised),  # not PL's officer
    ("PL-NCP-01", Decision.PENDING, "why", InvalidInput),
    ("PL-NCP-01", Decision.SHARED, " ", InvalidInput),
])
def test_a_decision_needs_the_holders_officer_a_choice_and_a_reason(
        sides: dict[str, RecordRequests], officer: str, decision: Decision, reason: str, error: type) -> None:
    follow_up_id = _ask(sides, _match(sides))
    with pytest.raises(error):
        sides["PL"].decide(officer, follow_up_id, decision, reason, Direct(sides, "PL"))
    assert sides["PL"].get(follow_up_id).decision is Decision.PENDING


def test_a_request_needs_a_reason_and_a_match_received(sides: dict[str, RecordRequests]) -> None:
    search_id = _match(sides)
    with pytest.raises(InvalidInput):
        _ask(sides, search_id, reason="")
    with pytest.raises(UnknownReference):
        _ask(sides, str(uuid.uuid4()))  # no such search
    with pytest.raises(NotAuthorised):
        sides["DE"].request("DE-NCP-99", "DE-NCP-02", "why", "PL", "PL-PR-1", search_id, Direct(sides, "DE"))


def test_the_holder_refuses_a_request_for_a_match_it_never_supplied(sides: dict[str, RecordRequests]) -> None:
    search_id = str(uuid.uuid4())
    context = QueryContext(request_id=str(uuid.uuid4()), requesting_state="DE", requested_state="PL",
                           officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02", reason="why",
                           sent_at=datetime(2026, 6, 1, tzinfo=UTC))
    with pytest.raises(UnknownReference):
        sides["PL"].receive(context, "DE", "PL-PR-1", search_id)
