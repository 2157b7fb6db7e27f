"""The supervisors' audit of the router's log against the states' logs (services/router/audit.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prum.services.common.category import Category
from prum.services.common.fan_out import ResultStatus
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, Side
from prum.services.router.audit import audit_router_log
from prum.services.router.log import RoutedEntry

NOW = datetime(2027, 9, 1, 12, tzinfo=UTC)
REQUEST = "0b6c3f2e-5f1d-4c61-9d3b-2f8f5c1a7e90"


def routed(status: ResultStatus, requested: str = "NL", sequence: int = 1, received: datetime = NOW,
           reply_id: str = "reply-1", hits: int = 1, code: str = "OK", elapsed_ms: float = 3.0) -> RoutedEntry:
    return RoutedEntry(REQUEST, "DE", requested, Category.DNA, received, received, status, code, hits, reply_id,
                       elapsed_ms, sequence)


def entry(state: str, side: Side, kind: EntryKind, message: MessageType, requested: str = "NL",
          outcome: Outcome = Outcome.NONE, hits: int = 0, reply_id: str = "") -> LogEntry:
    return LogEntry.new(kind=kind, message_type=message, category=Category.DNA, side=side, logging_state=state,
                        requesting_state="DE", requested_state=requested, request_id=REQUEST, reply_id=reply_id,
                        outcome=outcome, hit_count=hits)


QUERY = entry("DE", Side.REQUESTING, EntryKind.AUTOMATED_SUPPLY, MessageType.QUERY)
REPLY = entry("NL", Side.FILE_MANAGING, EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY, outcome=Outcome.HIT, hits=1,
              reply_id="reply-1")


def audit(entries: list[RoutedEntry], logs: dict[str, list[LogEntry]]):  # type: ignore[no-untyped-def]
    return audit_router_log(entries, lambda state, request_id: logs.get(state, []), ["DE", "NL", "FR"], NOW,
                            timedelta(days=365))


def test_a_routed_hit_logged_on_both_sides_reconciles() -> None:
    result = audit([routed(ResultStatus.HIT)], {"DE": [QUERY], "NL": [REPLY]})
    assert (result.checked, result.reconciled, result.findings) == (1, 1, [])


def test_a_reply_the_requested_state_did_not_log_or_logged_otherwise_is_found() -> None:
    missing = audit([routed(ResultStatus.HIT)], {"DE": [QUERY]})
    assert "NL's log has no DNA reply" in missing.findings[0].finding
    other = audit([routed(ResultStatus.HIT, hits=2)], {"DE": [QUERY], "NL": [REPLY]})
    assert "the router carried reply reply-1, HIT, 2" in other.findings[0].finding


def test_refusals_need_the_states_refusal_but_a_failed_link_or_the_routers_own_check_nothing() -> None:
    refusal = entry("NL", Side.FILE_MANAGING, EntryKind.AUTOMATED_SUPPLY, MessageType.REFUSAL,
                    outcome=Outcome.REFUSED)
    refused_by_nl = routed(ResultStatus.NOT_READY, code="FAILED_PRECONDITION", reply_id="", hits=0)
    assert audit([refused_by_nl], {"DE": [QUERY], "NL": [refusal]}).findings == []
    assert "its log has no refusal" in audit([refused_by_nl], {"DE": [QUERY]}).findings[0].finding
    not_connected = routed(ResultStatus.NOT_READY, code="FAILED_PRECONDITION", reply_id="", hits=0, elapsed_ms=0.0)
    down = routed(ResultStatus.UNAVAILABLE, code="UNAVAILABLE", reply_id="", hits=0, sequence=2)
    assert audit([not_connected, down], {"DE": [QUERY]}).findings == []


def test_an_entry_past_the_retention_or_naming_a_stranger_is_found() -> None:
    old = routed(ResultStatus.HIT, received=NOW - timedelta(days=400))
    assert "past the router's retention" in audit([old], {"DE": [QUERY], "NL": [REPLY]}).findings[0].finding
    stranger = routed(ResultStatus.UNAVAILABLE, requested="XX", reply_id="", hits=0)
    assert "XX, which is not a state" in audit([stranger], {"DE": [QUERY]}).findings[0].finding
