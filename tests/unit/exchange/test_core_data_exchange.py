"""Core data after a confirmed match (P2-CORE-1..3) without gRPC: DE asks NL for the core data behind a hit NL
supplied; the two halves are joined directly (the router's hop is the federation test's). On time, overdue on the
simulated clock, refused, delayed for a judicial authorisation, and every refusal of a request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import pytest
from exchange_fakes import NOW
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import CaseClosed, IdentityMismatch, InvalidInput, UnknownReference
from prum.services.contact_point.persons import CoreDetails, Person, PersonRegister
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.core_data import (
    CORE_DATA_FIELDS,
    OFFENCE_CATEGORIES,
    CaseSide,
    CaseStatus,
    Confirmation,
    CoreDataCases,
    CoreDataExchange,
    CoreDataPolicy,
    CoreDataRequest,
    CoreDataSettings,
    Decided,
    Decision,
)
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.logger.entry import canonical_json
from prum.services.supervisor.dpa import overdue_core_data_findings

OWN_STATE = "DE"
SEARCH = "5d7b8e40-0000-4000-8000-000000000001"
FACTS = "Burglary ring: the trace was found at the third break-in of a series in Aachen."


@dataclass
class Direct:
    """The router's hop without the router: each call goes to the other state's half, under the caller's name."""

    requesting: CoreDataExchange | None = None
    requested: CoreDataExchange | None = None
    down: bool = False

    def send_request(self, context: QueryContext, request: CoreDataRequest,
                     timeout_s: float) -> tuple[ReplyHeader, CaseStatus, datetime]:
        assert self.requested is not None
        header, case = self.requested.open_case(context, context.requesting_state, request)
        return header, case.status, case.due_at

    def send_decision(self, context: QueryContext, decided: Decided, timeout_s: float) -> None:
        assert self.requesting is not None
        if self.down:
            raise ConnectionError("UNAVAILABLE: DE cannot be reached")
        self.requesting.deliver(context, context.requested_state, decided)


def hit(state: str, kind: EntryKind, category: Category, reference: str, data: dict) -> LogEntry:
    return LogEntry.new(kind=kind, message_type=MessageType.REPLY, category=category,
                        side=Side.REQUESTING if kind is EntryKind.AUTOMATED_RECEIPT else Side.FILE_MANAGING,
                        logging_state=state, requesting_state="DE", requested_state="NL", request_id=SEARCH,
                        reply_id="reply-1", officer_id="DE-NCP-01", ordering_officer_id="DE-NCP-02",
                        reason="burglary series", data_supplied=canonical_json(data), outcome=Outcome.HIT,
                        hit_count=1)


@dataclass
class Pair:
    de: CoreDataExchange
    nl: CoreDataExchange
    link: Direct
    clock: SimulatedClock
    persons: PersonRegister

    def context(self, requested: str = "NL") -> QueryContext:
        return QueryContext(str(uuid.uuid4()), "DE", requested, "DE-NCP-01", "DE-NCP-02", "burglary series",
                            "DE-2026-0042", self.clock.now())

    def ask(self, category: Category = Category.FINGERPRINT, **changes: object) -> tuple[QueryContext, object]:
        reference = "NL-F-1" if category is Category.FINGERPRINT else "NL-P-1"
        request = CoreDataRequest(category, reference, SEARCH, "0200", FACTS,
                                  Confirmation("DE-FP-EXPERT-3", self.clock.now() - timedelta(minutes=5)))
        request = replace(request, **changes)  # type: ignore[arg-type]
        context = self.context()
        return context, self.de.request(context, request)


DEFAULT_POLICY = CoreDataPolicy()


def make_pair(policy: CoreDataPolicy = DEFAULT_POLICY, fields: tuple[str, ...] = CORE_DATA_FIELDS) -> Iterator[Pair]:
    clock = SimulatedClock(NOW)
    de_log, nl_log = ProtocolLog(":memory:", "DE", clock), ProtocolLog(":memory:", "NL", clock)
    de_log.append_many([hit("DE", EntryKind.AUTOMATED_RECEIPT, Category.DNA, "NL-P-1",
                            {"hits": [{"reference": "NL-P-1"}]}),
                        hit("DE", EntryKind.AUTOMATED_RECEIPT, Category.FINGERPRINT, "NL-F-1",
                            {"verified": ["NL-F-1"], "candidates": [{"reference": "NL-F-1"}, {"reference": "NL-F-9"}]})])
    nl_log.append_many([hit("NL", EntryKind.AUTOMATED_SUPPLY, Category.DNA, "NL-P-1", {"hits": [{"reference": "NL-P-1"}]}),
                        hit("NL", EntryKind.AUTOMATED_SUPPLY, Category.FINGERPRINT, "NL-F-1",
                            {"candidates": [{"reference": "NL-F-1"}, {"reference": "NL-F-9"}]})])
    persons = PersonRegister(None)
    persons.add_many([Person("NL-P-1", "Jansen", "Piet", "1980-02-01", "NL"),
                      Person("NL-F-1", "de Vries", "Anna Maria", "1975-06-30", "NL")])
    assert persons.add_details([CoreDetails("NL-F-1", ("Anna V.",), "Utrecht", "female", "2024-11-02",
                                            "Politie Utrecht", "burglary", "NL-2024-771"),
                                CoreDetails("NL-X-404")]) == (1, [("#2: no person record for reference 'NL-X-404'; "
                                                                  "register the person first")])
    link = Direct()
    settings = CoreDataSettings(fields=fields)
    de = CoreDataExchange("DE", de_log, CoreDataCases(None, clock), PersonRegister(None), link, CoreDataPolicy(),
                          settings, clock)
    nl = CoreDataExchange("NL", nl_log, CoreDataCases(None, clock), persons, link, policy, settings, clock)
    link.requesting, link.requested = de, nl
    yield Pair(de, nl, link, clock, persons)
    for log in (de_log, nl_log):
        log.close()


@pytest.fixture
def pair() -> Iterator[Pair]:
    yield from make_pair()


def kinds(log: ProtocolLog, request_id: str) -> list[tuple[EntryKind, MessageType, Side]]:
    return [(e.kind, e.message_type, e.side) for e in log.query(request_id=request_id)]


def test_a_confirmed_fingerprint_match_gets_its_core_data_at_once_and_both_sides_log_it(pair: Pair) -> None:
    context, case = pair.ask()
    assert case.status is CaseStatus.SUPPLIED and case.delivered and case.side is CaseSide.REQUESTING
    data = case.core_data
    assert (data.reference, data.first_names, data.surnames, data.aliases, data.date_of_birth, data.place_of_birth,
            data.nationality, data.gender, data.collected_on, data.collected_at, data.offence, data.case_number) == (
        "NL-F-1", "Anna Maria", "de Vries", ("Anna V.",), "1975-06-30", "Utrecht", "NL", "female", "2024-11-02",
        "Politie Utrecht", "burglary", "NL-2024-771")
    assert case.due_at == NOW + timedelta(hours=48) and not case.overdue(pair.clock.now())
    assert kinds(pair.de.log, context.request_id) == [
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.CORE_DATA_REQUEST, Side.REQUESTING),
        (EntryKind.NON_AUTOMATED_RECEIPT, MessageType.CORE_DATA_REPLY, Side.REQUESTING)]
    assert kinds(pair.nl.log, context.request_id) == [
        (EntryKind.NON_AUTOMATED_RECEIPT, MessageType.CORE_DATA_REQUEST, Side.FILE_MANAGING),
        (EntryKind.NON_AUTOMATED_SUPPLY, MessageType.CORE_DATA_REPLY, Side.FILE_MANAGING)]
    # LOG-2: both states, the officers, the reason and the data on every entry.
    for entry in pair.de.log.query(request_id=context.request_id) + pair.nl.log.query(request_id=context.request_id):
        assert (entry.requesting_state, entry.requested_state, entry.officer_id, entry.ordering_officer_id,
                entry.reason) == ("DE", "NL", "DE-NCP-01", "DE-NCP-02", "burglary series")
        assert entry.data_supplied and entry.recorded_at is not None
    supplied = pair.nl.cases.get(context.request_id, CaseSide.REQUESTED)
    assert supplied.status is CaseStatus.SUPPLIED and supplied.delivered


def test_the_core_data_set_holds_only_the_fields_of_the_setting() -> None:
    for pair in make_pair(fields=("surnames", "date_of_birth", "case_number")):
        _, case = pair.ask()
        assert (case.core_data.surnames, case.core_data.date_of_birth, case.core_data.case_number) == (
            "de Vries", "1975-06-30", "NL-2024-771")
        assert case.core_data.first_names == case.core_data.gender == "" and case.core_data.aliases == ()


def test_a_dna_case_waits_for_the_requested_state_to_confirm_and_becomes_overdue_after_48_hours(pair: Pair) -> None:
    context, case = pair.ask(Category.DNA, confirmation=None)
    assert case.status is CaseStatus.OPEN and case.delivered
    pair.clock.advance(timedelta(hours=47, minutes=59))
    assert pair.nl.cases.list(overdue_only=True) == [] == pair.de.cases.list(overdue_only=True)
    pair.clock.advance(timedelta(minutes=2))
    overdue_nl, overdue_de = pair.nl.cases.list(overdue_only=True), pair.de.cases.list(overdue_only=True)
    assert [c.case_id for c in overdue_nl] == [context.request_id] == [c.case_id for c in overdue_de]
    # Both DPAs see it, pointing at the log entry that opened the case.
    (finding,) = overdue_core_data_findings(overdue_nl, pair.clock.now())
    assert finding.sequence == overdue_nl[0].log_sequence and "overdue" in finding.problem
    assert "P2-CORE-1" in finding.problem and "DE" in finding.problem
    # A DNA supply names NL's confirming officer (Art 6(7)).
    with pytest.raises(InvalidInput, match="confirmed_by"):
        pair.nl.decide(context.request_id, Decision.SUPPLY, "NL-NCP-01")
    done = pair.nl.decide(context.request_id, Decision.SUPPLY, "NL-NCP-01", confirmed_by="NL-DNA-EXPERT-1")
    assert done.status is CaseStatus.SUPPLIED and done.delivered
    received = pair.de.cases.get(context.request_id, CaseSide.REQUESTING)
    assert received.status is CaseStatus.SUPPLIED and received.requested_confirmation.confirmed_by == "NL-DNA-EXPERT-1"
    assert received.core_data.surnames == "Jansen" and received.core_data.place_of_birth == ""  # no details held
    assert pair.nl.cases.list(overdue_only=True) == [] == pair.de.cases.list(overdue_only=True)
    with pytest.raises(CaseClosed, match="SUPPLIED already"):
        pair.nl.decide(context.request_id, Decision.REFUSE, "NL-NCP-01", reason="second thoughts")


def test_a_refusal_on_proportionality_reaches_the_requesting_state(pair: Pair) -> None:
    context, _ = pair.ask(Category.DNA, confirmation=None)
    with pytest.raises(InvalidInput, match="reason"):
        pair.nl.decide(context.request_id, Decision.REFUSE, "NL-NCP-01")
    refused = pair.nl.decide(context.request_id, Decision.REFUSE, "NL-NCP-01",
                             reason="not proportionate under Dutch law for a single burglary")
    assert refused.status is CaseStatus.REFUSED and refused.core_data is None
    received = pair.de.cases.get(context.request_id, CaseSide.REQUESTING)
    assert (received.status, received.reason) == (CaseStatus.REFUSED,
                                                   "not proportionate under Dutch law for a single burglary")
    assert kinds(pair.de.log, context.request_id)[-1] == (
        EntryKind.NON_AUTOMATED_RECEIPT, MessageType.CORE_DATA_REFUSAL, Side.REQUESTING)
    assert kinds(pair.nl.log, context.request_id)[-1] == (
        EntryKind.NON_AUTOMATED_SUPPLY, MessageType.CORE_DATA_REFUSAL, Side.FILE_MANAGING)


def test_a_delay_only_where_national_law_needs_a_judicial_authorisation(pair: Pair) -> None:
    context, _ = pair.ask(Category.DNA, confirmation=None)
    with pytest.raises(CaseClosed, match="needs no judicial authorisation"):
        pair.nl.decide(context.request_id, Decision.DELAY, "NL-NCP-01", reason="court order asked")
    for judicial in make_pair(CoreDataPolicy(judicial_authorisation=True)):
        # Even a confirmed fingerprint match waits: the law needs the court first.
        context, case = judicial.ask()
        assert case.status is CaseStatus.OPEN
        delayed = judicial.nl.decide(context.request_id, Decision.DELAY, "NL-NCP-01",
                                     reason="authorisation asked of the Rechter-commissaris Utrecht")
        assert delayed.status is CaseStatus.DELAYED and delayed.delivered
        judicial.clock.advance(timedelta(hours=72))  # past 48 hours, but delayed for a reason: not overdue
        assert judicial.nl.cases.list(overdue_only=True) == [] == judicial.de.cases.list(overdue_only=True)
        assert judicial.de.cases.get(context.request_id, CaseSide.REQUESTING).status is CaseStatus.DELAYED
        with pytest.raises(CaseClosed, match="delayed already"):
            judicial.nl.decide(context.request_id, Decision.DELAY, "NL-NCP-01", reason="again")
        supplied = judicial.nl.decide(context.request_id, Decision.SUPPLY, "NL-NCP-01")
        assert supplied.status is CaseStatus.SUPPLIED
        assert judicial.de.cases.get(context.request_id, CaseSide.REQUESTING).core_data.surnames == "de Vries"
        assert [m for _, m, _ in kinds(judicial.nl.log, context.request_id)] == [
            MessageType.CORE_DATA_REQUEST, MessageType.CORE_DATA_DELAY, MessageType.CORE_DATA_REPLY]


def test_an_operator_policy_waits_even_when_every_condition_holds() -> None:
    for pair in make_pair(CoreDataPolicy(automatic=False)):
        context, case = pair.ask()
        assert case.status is CaseStatus.OPEN
        assert pair.nl.decide(context.request_id, Decision.SUPPLY, "NL-NCP-01").status is CaseStatus.SUPPLIED


def test_a_decision_that_cannot_reach_the_requesting_state_is_kept_and_says_so(pair: Pair) -> None:
    context, _ = pair.ask(Category.DNA, confirmation=None)
    pair.link.down = True
    case = pair.nl.decide(context.request_id, Decision.REFUSE, "NL-NCP-01", reason="not proportionate")
    assert case.status is CaseStatus.REFUSED and not case.delivered and "UNAVAILABLE" in case.delivery_detail
    assert pair.de.cases.get(context.request_id, CaseSide.REQUESTING).status is CaseStatus.OPEN


def test_a_reference_never_supplied_is_refused_on_both_sides(pair: Pair) -> None:
    with pytest.raises(UnknownReference, match="received and confirmed no FINGERPRINT hit 'NL-F-9'"):
        pair.ask(reference="NL-F-9")  # a candidate DE did not confirm (FP-2)
    with pytest.raises(UnknownReference, match="no DNA hit 'NL-P-2'"):
        pair.ask(Category.DNA, reference="NL-P-2", confirmation=None)
    # The requested state checks its own log, whatever the requesting state's says.
    request = CoreDataRequest(Category.DNA, "NL-P-7", SEARCH, "0200", FACTS)
    with pytest.raises(UnknownReference, match="NL supplied no DNA hit 'NL-P-7' to DE"):
        pair.nl.open_case(pair.context(), "DE", request)
    assert pair.nl.cases.list() == []


def test_missing_confirmation_offence_or_facts_are_refused(pair: Pair) -> None:
    with pytest.raises(InvalidInput, match="confirmation: is missing; a fingerprint match is confirmed"):
        pair.ask(confirmation=None)
    with pytest.raises(InvalidInput, match="facts: is empty"):
        pair.ask(facts="  ")
    with pytest.raises(InvalidInput, match="confirmed_at"):
        pair.ask(confirmation=Confirmation("DE-FP-EXPERT-3", NOW + timedelta(hours=1)))
    # The requested state checks (b) and (c) itself too.
    request = CoreDataRequest(Category.FINGERPRINT, "NL-F-1", SEARCH, "0200", FACTS)
    with pytest.raises(InvalidInput, match="confirmation"):
        pair.nl.open_case(pair.context(), "DE", request)
    assert pair.de.log.query(request_id=None, kind=EntryKind.NON_AUTOMATED_SUPPLY) == []  # nothing left DE


def test_an_unknown_offence_code_is_refused_with_the_allowed_list(pair: Pair) -> None:
    with pytest.raises(InvalidInput) as refused:
        pair.ask(offence_code="9999")
    message = str(refused.value)
    assert message.startswith("offence_code: '9999' is not a category of the common offence table")
    assert all(f"{code} {name}" in message for code, name in OFFENCE_CATEGORIES.items())


def test_the_requested_state_takes_the_request_only_in_the_requesting_states_name(pair: Pair) -> None:
    request = CoreDataRequest(Category.DNA, "NL-P-1", SEARCH, "0200", FACTS)
    with pytest.raises(IdentityMismatch):
        pair.nl.open_case(pair.context(), "FR", request)
    header, case = pair.nl.open_case(pair.context(), "EU", request)  # the router carries it (P2-ROUTER-1)
    assert case.status is CaseStatus.OPEN and header.requested_state == "NL"


def test_without_a_router_a_request_is_refused_and_nothing_is_logged(pair: Pair) -> None:
    pair.de.transport = None  # the mesh: core data travel only through the router (P2-ROUTER-1)
    with pytest.raises(CaseClosed, match="no connection to the router"):
        pair.ask()
    assert pair.de.cases.list() == [] and pair.de.log.query(kind=EntryKind.NON_AUTOMATED_SUPPLY) == []


def test_a_request_that_never_reached_the_requested_state_is_kept_with_why_and_never_overdue(pair: Pair) -> None:
    def unreachable(context: QueryContext, request: CoreDataRequest, timeout_s: float) -> None:
        raise ConnectionError("UNAVAILABLE: the router cannot be reached")

    pair.link.send_request = unreachable  # type: ignore[method-assign, assignment]
    with pytest.raises(ConnectionError):
        pair.ask(Category.DNA, confirmation=None)
    (case,) = pair.de.cases.list()
    assert (case.status, case.delivered) == (CaseStatus.OPEN, False) and "UNAVAILABLE" in case.delivery_detail
    pair.clock.advance(timedelta(hours=49))
    assert pair.de.cases.list(overdue_only=True) == [] and pair.nl.cases.list() == []
    # The attempt is in DE's log all the same (LOG-2: what left, or was about to).
    assert [e.message_type for e in pair.de.log.query(request_id=case.case_id)] == [MessageType.CORE_DATA_REQUEST]


def test_two_operators_deciding_at_once_make_one_decision(pair: Pair) -> None:
    import threading

    context, _ = pair.ask(Category.DNA, confirmation=None)
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def operator(number: int) -> None:
        start.wait()
        try:
            pair.nl.decide(context.request_id, Decision.REFUSE, "NL-NCP-01", reason=f"not proportionate ({number})")
            outcomes.append("decided")
        except CaseClosed:
            outcomes.append("closed")

    threads = [threading.Thread(target=operator, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["closed"] * 5 + ["decided"]
    assert [e.message_type for e in pair.nl.log.query(request_id=context.request_id)].count(
        MessageType.CORE_DATA_REFUSAL) == 1
    assert pair.de.cases.get(context.request_id, CaseSide.REQUESTING).status is CaseStatus.REFUSED


def test_before_the_router_is_in_operation_a_request_is_refused_pointing_to_the_follow_up(pair: Pair) -> None:
    from prum.services.common.router_phases import RouterPhases

    pair.de.phases = RouterPhases(available_from=NOW + timedelta(days=30))  # P2-TIME-1
    with pytest.raises(CaseClosed, match=r"P2-TIME-1.*follow-up \(FOL-1\)"):
        pair.ask()
    assert pair.de.cases.list() == []
    pair.clock.advance(timedelta(days=30))
    _, case = pair.ask()
    assert case.status is CaseStatus.SUPPLIED
