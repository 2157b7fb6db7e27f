"""The router's forwarding of core data without gRPC (Art 47(1), P2-ROUTER-1, P2-ROUTER-3): in the sender's own
name, between connected states whose router connection is ready, a decision only for a request it carried, every
forwarding logged with its answer code and without content."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import GateClosed, IdentityMismatch, InvalidInput, UnknownReference
from prum.services.common.identity import ROUTER
from prum.services.router.log import RouterLog
from prum.services.router.relay import CoreDataRelay
from prum.services.supervisor import ReadinessBook

MEMBERS = ["DE", "NL", "FR"]
REQUEST_ID = "7a1d1c2e-0000-4000-8000-00000000c0de"


class Refused(Exception):
    pass


@dataclass
class FakeStates:
    """The states' contact points as the router's transport reaches them; a state in `refusing` refuses."""

    sent: list[tuple[str, str, Any]] = field(default_factory=list)
    refusing: set[str] = field(default_factory=set)
    relay: CoreDataRelay | None = None
    decide_at_once: bool = False

    def send_request(self, state: str, message: Any, request_id: str, timeout_s: float) -> Any:
        self.sent.append(("request", state, message))
        if state in self.refusing:
            raise Refused("NOT_FOUND")
        if self.decide_at_once and self.relay is not None:  # the requested state decides inside the call
            self.relay.relay_decision(state, request_id, "DE", state, "SUPPLIED", {"core_data": "Jansen"})
        return {"status": "OPEN"}

    def send_decision(self, state: str, message: Any, request_id: str, timeout_s: float) -> Any:
        self.sent.append(("decision", state, message))
        return {}

    def code_of(self, error: Exception) -> str:
        return str(error)


@pytest.fixture
def parts(tmp_path: Path) -> tuple[CoreDataRelay, FakeStates, ReadinessBook, RouterLog]:
    clock = SimulatedClock()
    book = ReadinessBook(MEMBERS, clock=clock)
    for state in MEMBERS:
        book.seed_ready(state, Category.ROUTER_CONNECTION)
    log = RouterLog(tmp_path / "router-log.db", clock)
    states = FakeStates()
    relay = CoreDataRelay(MEMBERS, book, log, states, clock)
    states.relay = relay
    return relay, states, book, log


def test_a_request_and_its_decision_are_carried_and_logged_without_content(parts, tmp_path: Path) -> None:
    relay, states, _, log = parts
    secret = {"reference": "NL-P-1", "facts": "burglary in Aachen"}
    assert relay.relay_request("DE", REQUEST_ID, "DE", "NL", Category.DNA, secret) == {"status": "OPEN"}
    relay.relay_decision("NL", REQUEST_ID, "DE", "NL", "REFUSED", {"reason": "not proportionate"})
    assert [(kind, state) for kind, state, _ in states.sent] == [("request", "NL"), ("decision", "DE")]
    entries = log.relayed(REQUEST_ID)
    assert [(e.message, e.from_state, e.to_state, e.category, e.code) for e in entries] == [
        ("REQUEST", "DE", "NL", Category.DNA, "OK"), ("REFUSED", "NL", "DE", Category.DNA, "OK")]
    db = b"".join(path.read_bytes() for path in tmp_path.glob("router-log.db*"))
    assert b"REFUSED" in db and b"NL-P-1" not in db and b"Aachen" not in db


def test_a_decision_made_inside_the_request_is_carried(parts) -> None:
    relay, states, _, log = parts
    states.decide_at_once = True
    relay.relay_request("DE", REQUEST_ID, "DE", "NL", Category.FINGERPRINT, {})
    assert [e.message for e in log.relayed(REQUEST_ID)] == ["SUPPLIED", "REQUEST"]


def test_only_the_sender_in_its_own_name(parts) -> None:
    relay, _, _, _ = parts
    with pytest.raises(IdentityMismatch):
        relay.relay_request("FR", REQUEST_ID, "DE", "NL", Category.DNA, {})
    relay.relay_request("DE", REQUEST_ID, "DE", "NL", Category.DNA, {})
    with pytest.raises(IdentityMismatch):  # the decision comes from the requested state, not the requesting one
        relay.relay_decision("DE", REQUEST_ID, "DE", "NL", "SUPPLIED", {})
    with pytest.raises(IdentityMismatch):  # nor from the router's own certificate
        relay.relay_decision(ROUTER, REQUEST_ID, "DE", "NL", "SUPPLIED", {})


def test_a_decision_only_for_a_request_the_router_carried(parts) -> None:
    relay, states, _, log = parts
    with pytest.raises(UnknownReference, match="carried no core-data request"):
        relay.relay_decision("NL", REQUEST_ID, "DE", "NL", "SUPPLIED", {})
    states.refusing.add("NL")
    with pytest.raises(Refused):
        relay.relay_request("DE", REQUEST_ID, "DE", "NL", Category.DNA, {})
    assert [(e.message, e.code) for e in log.relayed(REQUEST_ID)] == [("REQUEST", "NOT_FOUND")]
    with pytest.raises(UnknownReference):  # a refused request has no decision to carry
        relay.relay_decision("NL", REQUEST_ID, "DE", "NL", "SUPPLIED", {})
    with pytest.raises(InvalidInput, match="allowed: SUPPLIED, REFUSED, DELAYED"):
        relay.relay_decision("NL", REQUEST_ID, "DE", "NL", "OPEN", {})


def test_states_not_connected_or_not_ready_are_refused(parts) -> None:
    relay, states, book, _ = parts
    with pytest.raises(InvalidInput, match="not a state connected to this router"):
        relay.relay_request("DE", REQUEST_ID, "DE", "LU", Category.DNA, {})
    book.revoke("NL", Category.ROUTER_CONNECTION, "connection withdrawn")
    with pytest.raises(GateClosed, match="P2-GATE-1"):
        relay.relay_request("DE", REQUEST_ID, "DE", "NL", Category.DNA, {})
    assert states.sent == []


def test_forwardings_go_with_the_router_logs_retention(parts) -> None:
    relay, _, _, log = parts
    relay.relay_request("DE", REQUEST_ID, "DE", "NL", Category.DNA, {})
    log.clock.advance(timedelta(days=364))  # type: ignore[attr-defined]
    assert log.purge() == 0 and len(log.relayed(REQUEST_ID)) == 1
    log.clock.advance(timedelta(days=2))  # type: ignore[attr-defined]
    assert log.purge() == 1 and log.relayed(REQUEST_ID) == []
