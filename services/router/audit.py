"""The supervisors' audit of the router's log (P2-ROUTER-3, P2-LOG-1), without gRPC.

eu-LISA's log of the router is supervised by the EDPS together with the national data-protection authorities, each
of which supervises the logs of its own state. The audit puts the two side by side: for every query the router
routed, the states' own protocol logs must tell the same story (LOG-1, LOG-2; P2-LOG-1):

- the requesting state logged the query it supplied to that state, in that category, under that request id, before
  the router took it;
- a requested state that answered (HIT, NO_HIT) logged its reply under the same request and reply id, with the same
  outcome and hit count; one that refused logged its refusal;
- the router kept no entry past its retention (P2-ROUTER-3); no entry names a state the federation does not have.

A query the router refused as a whole, or answered NOT_READY without a call (P2-GATE-1), or that met a link down or
a deadline, needs nothing at the requested state. Each disagreement is a finding naming the router's entry, the
state and what was missing or different; the audit reads, it changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from prum.services.common.fan_out import ResultStatus
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, Side
from prum.services.router.log import RoutedEntry

#: What a requested state's reply entry says of each answered status.
OUTCOME_OF = {ResultStatus.HIT: Outcome.HIT, ResultStatus.NO_HIT: Outcome.NO_HIT}


@dataclass(frozen=True)
class RouterFinding:
    sequence: int
    request_id: str
    state: str
    finding: str


@dataclass(frozen=True)
class RouterAudit:
    """The outcome of one audit: how many routed queries were checked and what did not reconcile."""

    checked: int
    reconciled: int
    findings: list[RouterFinding] = field(default_factory=list)


def _find(entries: Sequence[LogEntry], side: Side, kind: EntryKind, message: MessageType,
          routed: RoutedEntry) -> LogEntry | None:
    for entry in entries:
        if (entry.side is side and entry.kind is kind and entry.message_type is message
                and entry.category is routed.category and entry.requesting_state == routed.requesting_state
                and entry.requested_state == routed.requested_state):
            return entry
    return None


def _check(routed: RoutedEntry, logged: Callable[[str, str], Sequence[LogEntry]], members: set[str],
           oldest_kept: datetime) -> list[str]:
    problems: list[str] = []
    if routed.received_at < oldest_kept:
        problems.append(f"kept past the router's retention: received {routed.received_at.isoformat()}, the oldest "
                        f"entry kept may be from {oldest_kept.isoformat()} (P2-ROUTER-3)")
    for state in (routed.requesting_state, routed.requested_state):
        if state and state not in members:
            problems.append(f"names {state}, which is not a state of this federation")
    if not routed.requested_state or problems:
        return problems  # refused as a whole by the router: nothing went to any state
    requesting = logged(routed.requesting_state, routed.request_id)
    if _find(requesting, Side.REQUESTING, EntryKind.AUTOMATED_SUPPLY, MessageType.QUERY, routed) is None:
        problems.append(f"{routed.requesting_state}'s log has no {routed.category.name} query to "
                        f"{routed.requested_state} under this request id (LOG-1: every supply is logged)")
    if routed.status in OUTCOME_OF:
        managing = logged(routed.requested_state, routed.request_id)
        reply = _find(managing, Side.FILE_MANAGING, EntryKind.AUTOMATED_SUPPLY, MessageType.REPLY, routed)
        if reply is None:
            problems.append(f"{routed.requested_state}'s log has no {routed.category.name} reply to "
                            f"{routed.requesting_state} under this request id, though the router carried one")
        elif (reply.reply_id, reply.outcome, reply.hit_count) != (routed.reply_id, OUTCOME_OF[routed.status],
                                                                  routed.hit_count):
            problems.append(f"{routed.requested_state}'s reply entry says reply {reply.reply_id}, "
                            f"{reply.outcome.value}, {reply.hit_count} hit(s); the router carried reply "
                            f"{routed.reply_id}, {routed.status.value}, {routed.hit_count}")
    elif routed.status is ResultStatus.REFUSED or (routed.status is ResultStatus.NOT_READY and routed.elapsed_ms > 0):
        # NOT_READY after a call is the state's own refusal (GATE-1); without a call (no time taken) it is the
        # router's check of the state's router connection (P2-GATE-1), and the state saw nothing.
        managing = logged(routed.requested_state, routed.request_id)
        if _find(managing, Side.FILE_MANAGING, EntryKind.AUTOMATED_SUPPLY, MessageType.REFUSAL, routed) is None:
            problems.append(f"{routed.requested_state} refused ({routed.code}), but its log has no refusal for "
                            f"this request id")
    return problems


def audit_router_log(routed: Iterable[RoutedEntry], logged: Callable[[str, str], Sequence[LogEntry]],
                     members: Iterable[str], now: datetime, retention: timedelta) -> RouterAudit:
    """Reconcile every entry of the router's log with the states' logs (`logged(state, request_id)`: that state's
    entries of one request) as the module says."""
    member_set = set(members)
    checked = reconciled = 0
    findings: list[RouterFinding] = []
    for entry in routed:
        checked += 1
        problems = _check(entry, logged, member_set, now - retention)
        if not problems:
            reconciled += 1
        findings += [RouterFinding(entry.sequence, entry.request_id, entry.requested_state or entry.requesting_state,
                                   problem) for problem in problems]
    return RouterAudit(checked, reconciled, findings)
