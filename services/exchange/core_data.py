"""Core data after a confirmed match (Prüm II, Regulation (EU) 2024/982 Art 47; P2-CORE-1..3), without gRPC: both
halves of the exchange, the cases each state keeps, and their deadline.

The requesting state's officer asks for the core data behind a DNA or fingerprint hit (`CoreDataExchange.request`):
the request names the search and the reference of the hit, the human confirmation of the match, an offence category
of the common table of Framework Decision 2009/315 (`OFFENCE_CATEGORIES`) and a description of the facts. It is
accepted only for a hit this state's protocol log shows it received, logged before it leaves, and travels through
the central router (P2-ROUTER-1). The requested state (`open_case`) checks (a) its own log shows it supplied that
hit to that state in that search, (b) the confirmation is there (fingerprints: the requesting state's qualified
staff, Art 47(1)(b)), (c) the offence category and the facts are there; it logs the receipt and opens a case due
`deadline_hours` later (48 by default, P2-CORE-1) on the federation's clock.

The requested state then decides (`decide`): supply the core data set (P2-CORE-3: the fields of the federation
file's list, from its person register), refuse with a reason (proportionality under its national law), or record a
reasoned delay to obtain a judicial authorisation (P2-CORE-2; only where its national law needs one, a per-state
setting). With the per-state setting `automatic` (the default) it supplies at once when every condition holds: a
fingerprint match confirmed by the requesting state, a person record behind the reference, and no judicial
authorisation needed. A DNA match is confirmed by the requested state itself (Art 6(7)): its operator records who
confirmed it when deciding to supply, so a DNA case always waits for that decision.

Every decision is pushed back through the router to the requesting state (`deliver`), which stores it. Both states
log every step (CORE_DATA_REQUEST, CORE_DATA_REPLY, CORE_DATA_REFUSAL, CORE_DATA_DELAY) with the LOG-2 fields, and
both keep the case: a case still OPEN past its due time is overdue on both sides (`CoreDataCases.list`), which the
supervisors' audit reports (`prum.services.supervisor.dpa.overdue_core_data_findings`).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import CaseClosed, Duplicate, InvalidInput, UnknownReference, quote
from prum.services.common.identity import check_claim
from prum.services.common.router_phases import RouterPhases
from prum.services.common.store import open_database, transaction
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.exchange.follow_up import Person, hit_was_supplied, step_entry
from prum.services.logger import EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side

#: The offence categories of the common table of Framework Decision 2009/315 (Council Decision 2009/316/JHA,
#: Annex A, ECRIS): the top-level ("open") categories read from the table. A request names one by its code.
OFFENCE_CATEGORIES: dict[str, str] = {
    "0100": "Crimes within the jurisdiction of the International Criminal Court",
    "0200": "Participation in a criminal organisation",
    "0300": "Terrorism",
    "0400": "Trafficking in human beings",
}

#: P2-CORE-1: the requested state sends the core data within 48 hours (a federation-file setting).
DEFAULT_DEADLINE_HOURS = 48

#: P2-CORE-3 (U): the fields of the core data set by default (a federation-file setting may narrow it).
CORE_DATA_FIELDS = ("first_names", "surnames", "aliases", "date_of_birth", "place_of_birth", "nationality", "gender",
                    "collected_on", "collected_at", "offence", "case_number")

#: The categories whose confirmed matches give core data (Art 47(1)(a): Arts 6, 11 and 20). A face candidate is a
#: match on each side's log only once an officer confirmed it (P2-FACE-3, `face_confirmation`).
CORE_DATA_CATEGORIES = frozenset({Category.DNA, Category.FINGERPRINT, Category.FACE})

MAX_FACTS = 4000
MAX_REASON = 1000


class CaseStatus(StrEnum):
    OPEN = "OPEN"          # no decision yet: overdue past its due time
    DELAYED = "DELAYED"    # a reasoned delay for a judicial authorisation (P2-CORE-2)
    SUPPLIED = "SUPPLIED"
    REFUSED = "REFUSED"


class Decision(StrEnum):
    SUPPLY = "SUPPLY"
    REFUSE = "REFUSE"
    DELAY = "DELAY"


class CaseSide(StrEnum):
    REQUESTING = "REQUESTING"  # this state asked
    REQUESTED = "REQUESTED"    # this state holds the data and decides


DECIDED_AS = {Decision.SUPPLY: CaseStatus.SUPPLIED, Decision.REFUSE: CaseStatus.REFUSED,
              Decision.DELAY: CaseStatus.DELAYED}
#: How each decision is logged on both sides.
MESSAGE_OF = {CaseStatus.SUPPLIED: MessageType.CORE_DATA_REPLY, CaseStatus.REFUSED: MessageType.CORE_DATA_REFUSAL,
              CaseStatus.DELAYED: MessageType.CORE_DATA_DELAY}
OUTCOME_OF = {CaseStatus.SUPPLIED: Outcome.HIT, CaseStatus.REFUSED: Outcome.REFUSED, CaseStatus.DELAYED: Outcome.NONE}


def check_offence(code: str) -> str:
    """`code` if it is a category of the common offence table, else a refusal listing the allowed codes."""
    if code not in OFFENCE_CATEGORIES:
        allowed = "; ".join(f"{c} {name}" for c, name in OFFENCE_CATEGORIES.items())
        raise InvalidInput(f"{quote(code)} is not a category of the common offence table (Framework Decision "
                           f"2009/315); allowed: {allowed}", field="offence_code")
    return code


@dataclass(frozen=True)
class Confirmation:
    """Who confirmed a match, and when (Art 47(1)(b); for DNA the requested state, Art 6(7))."""

    confirmed_by: str
    confirmed_at: datetime


@dataclass(frozen=True)
class CoreDataPolicy:
    """One state's national law and practice for core data (per-state federation-file settings)."""

    #: Its national law needs a judicial authorisation before core data leave (P2-CORE-2): it may record a delay.
    judicial_authorisation: bool = False
    #: It supplies at once when every condition holds; otherwise every case waits for an operator's decision.
    automatic: bool = True


@dataclass(frozen=True)
class CoreDataSettings:
    """The federation's settings for core data (the `[router]` table of the federation file)."""

    deadline_hours: int = DEFAULT_DEADLINE_HOURS
    fields: tuple[str, ...] = CORE_DATA_FIELDS


@dataclass(frozen=True)
class CoreDataSet:
    """The core data behind one reference (P2-CORE-3); fields left out by the settings are empty."""

    reference: str
    first_names: str = ""
    surnames: str = ""
    aliases: tuple[str, ...] = ()
    date_of_birth: str = ""
    place_of_birth: str = ""
    nationality: str = ""
    gender: str = ""
    collected_on: str = ""
    collected_at: str = ""
    offence: str = ""
    case_number: str = ""


@dataclass(frozen=True)
class CoreDataRequest:
    """What a core-data request states about the hit and why it is asked for (Art 47(1))."""

    category: Category
    reference: str
    original_request_id: str
    offence_code: str
    facts: str
    confirmation: Confirmation | None = None

    def validate(self, now: datetime) -> None:
        """(b) and (c) of P2-CORE-1, and the request's own form."""
        if self.category not in CORE_DATA_CATEGORIES:
            raise InvalidInput(f"{self.category.name}; core data follow a confirmed DNA, fingerprint or facial-image "
                               f"match only (Art 47(1)(a)); allowed: DNA, FINGERPRINT, FACE", field="category")
        for name in ("reference", "original_request_id"):
            if not getattr(self, name).strip():
                raise InvalidInput("is empty; a core-data request names the hit it follows (Art 47(1)(a))", field=name)
        check_offence(self.offence_code)
        if not self.facts.strip():
            raise InvalidInput("is empty; describe the facts, so the requested state can check proportionality "
                               "under its national law (Art 47(1)(c))", field="facts")
        if len(self.facts) > MAX_FACTS:
            raise InvalidInput(f"{len(self.facts)} characters; allowed: at most {MAX_FACTS}", field="facts")
        if self.confirmation is None:
            if self.category in (Category.FINGERPRINT, Category.FACE):
                raise InvalidInput(f"is missing; a {self.category.name.lower()} match is confirmed by qualified staff "
                                   f"of the requesting state before core data are asked for (Art 47(1)(b))",
                                   field="confirmation")
            return
        if not self.confirmation.confirmed_by.strip():
            raise InvalidInput("is empty; name the officer who confirmed the match (Art 47(1)(b))",
                               field="confirmation.confirmed_by")
        if self.confirmation.confirmed_at > now:
            raise InvalidInput(f"{self.confirmation.confirmed_at.isoformat()} is in the future; allowed: a moment "
                               f"before the request", field="confirmation.confirmed_at")


@dataclass(frozen=True)
class Decided:
    """A requested state's decision as it travels to the requesting state."""

    status: CaseStatus
    reason: str
    decided_at: datetime
    reply_id: str
    core_data: CoreDataSet | None = None
    requested_confirmation: Confirmation | None = None


@dataclass(frozen=True)
class CoreDataCase:
    """One core-data exchange as one state keeps it; `case_id` is the core-data request's own request id."""

    case_id: str
    side: CaseSide
    context: QueryContext
    request: CoreDataRequest
    opened_at: datetime
    due_at: datetime
    status: CaseStatus = CaseStatus.OPEN
    decided_at: datetime | None = None
    reason: str = ""
    core_data: CoreDataSet | None = None
    requested_confirmation: Confirmation | None = None
    #: Requesting side: the request reached the requested state; requested side: the decision reached the
    #: requesting state. `delivery_detail` says why not.
    delivered: bool = False
    delivery_detail: str = ""
    #: The log entry that opened the case (the DPA's finding points at it).
    log_sequence: int = 0

    @property
    def requesting_state(self) -> str:
        return self.context.requesting_state

    @property
    def requested_state(self) -> str:
        return self.context.requested_state

    def overdue(self, now: datetime) -> bool:
        """Past its due time without supply, refusal or a reasoned delay (P2-CORE-1); a request that never reached
        the requested state is listed with why (`delivery_detail`), not overdue."""
        undelivered = self.side is CaseSide.REQUESTING and not self.delivered and bool(self.delivery_detail)
        return self.status is CaseStatus.OPEN and now > self.due_at and not undelivered


# -- the cases' store ----------------------------------------------------------------------------------------

def _moment(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _read_moment(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _confirmation(data: dict[str, Any] | None) -> Confirmation | None:
    if not data:
        return None
    return Confirmation(data["confirmed_by"], datetime.fromisoformat(data["confirmed_at"]))


def _confirmation_data(confirmation: Confirmation | None) -> dict[str, str] | None:
    if confirmation is None:
        return None
    return {"confirmed_by": confirmation.confirmed_by, "confirmed_at": confirmation.confirmed_at.isoformat()}


def _core_data_set(data: dict[str, Any] | None) -> CoreDataSet | None:
    if data is None:
        return None
    return CoreDataSet(**{**data, "aliases": tuple(data.get("aliases", ()))})


def case_to_json(case: CoreDataCase) -> str:
    c, r = case.context, case.request
    return json.dumps({
        "case_id": case.case_id, "side": case.side.value,
        "context": {"request_id": c.request_id, "requesting_state": c.requesting_state,
                    "requested_state": c.requested_state, "officer_id": c.officer_id,
                    "ordering_officer_id": c.ordering_officer_id, "reason": c.reason,
                    "case_reference": c.case_reference, "sent_at": _moment(c.sent_at)},
        "request": {"category": r.category.value, "reference": r.reference,
                    "original_request_id": r.original_request_id, "offence_code": r.offence_code, "facts": r.facts,
                    "confirmation": _confirmation_data(r.confirmation)},
        "opened_at": _moment(case.opened_at), "due_at": _moment(case.due_at), "status": case.status.value,
        "decided_at": _moment(case.decided_at), "reason": case.reason,
        "core_data": asdict(case.core_data) if case.core_data else None,
        "requested_confirmation": _confirmation_data(case.requested_confirmation),
        "delivered": case.delivered, "delivery_detail": case.delivery_detail, "log_sequence": case.log_sequence})


def case_from_json(text: str) -> CoreDataCase:
    d = json.loads(text)
    c, r = d["context"], d["request"]
    return CoreDataCase(
        d["case_id"], CaseSide(d["side"]),
        QueryContext(**{**c, "sent_at": _read_moment(c["sent_at"])}),
        CoreDataRequest(Category(r["category"]), r["reference"], r["original_request_id"], r["offence_code"],
                        r["facts"], _confirmation(r["confirmation"])),
        datetime.fromisoformat(d["opened_at"]), datetime.fromisoformat(d["due_at"]), CaseStatus(d["status"]),
        _read_moment(d["decided_at"]), d["reason"], _core_data_set(d["core_data"]),
        _confirmation(d["requested_confirmation"]), d["delivered"], d["delivery_detail"], d["log_sequence"])


_SCHEMA = """
CREATE TABLE IF NOT EXISTS core_data_case (
    case_id TEXT NOT NULL, side TEXT NOT NULL, opened_at TEXT NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (case_id, side)
);
"""


class CoreDataCases:
    """The core-data cases of one state, both sides (SQLite, WAL; in memory without a path). Thread-safe."""

    def __init__(self, path: str | Path | None = None, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript(_SCHEMA)

    def save(self, case: CoreDataCase) -> None:
        with self._lock, transaction(self._db) as db:
            db.execute("INSERT OR REPLACE INTO core_data_case VALUES (?, ?, ?, ?)",
                       (case.case_id, case.side.value, case.opened_at.isoformat(), case_to_json(case)))

    def find(self, case_id: str, side: CaseSide) -> CoreDataCase | None:
        with self._lock:
            row = self._db.execute("SELECT body FROM core_data_case WHERE case_id = ? AND side = ?",
                                   (case_id, side.value)).fetchone()
        return case_from_json(row[0]) if row else None

    def get(self, case_id: str, side: CaseSide) -> CoreDataCase:
        case = self.find(case_id, side)
        if case is None:
            asked = "received" if side is CaseSide.REQUESTED else "sent"
            raise UnknownReference(f"no core-data request {quote(case_id)} was {asked} by this state")
        return case

    def list(self, overdue_only: bool = False) -> list[CoreDataCase]:
        """Every case, oldest first; only those overdue now with `overdue_only`."""
        with self._lock:
            rows = self._db.execute("SELECT body FROM core_data_case ORDER BY opened_at, case_id").fetchall()
        cases = [case_from_json(body) for (body,) in rows]
        now = self.clock.now()
        return [c for c in cases if c.overdue(now)] if overdue_only else cases

    def close(self) -> None:
        with self._lock:
            self._db.close()


# -- the exchange ---------------------------------------------------------------------------------------------

class CoreRecords(Protocol):
    """The register behind the references (`persons.PersonRegister`): the person and the core-data details."""

    def get(self, reference: str) -> Person: ...
    def details(self, reference: str) -> Any: ...


class CoreDataTransport(Protocol):
    """Carries a request to the requested state and a decision back, both through the router. A failure to reach
    the other state raises `OSError` (`ConnectionError`); a refusal by it raises the domain error it answered."""

    def send_request(self, context: QueryContext, request: CoreDataRequest,
                     timeout_s: float) -> tuple[ReplyHeader, CaseStatus, datetime]: ...

    def send_decision(self, context: QueryContext, decided: Decided, timeout_s: float) -> None: ...


def core_data_of(person: Person, details: Any, fields: tuple[str, ...]) -> CoreDataSet:
    """The core data set of one reference, with only `fields` filled (P2-CORE-3)."""
    full = CoreDataSet(
        reference=person.reference, first_names=person.first_names, surnames=person.surname,
        aliases=tuple(details.aliases), date_of_birth=person.date_of_birth, place_of_birth=details.place_of_birth,
        nationality=person.nationality, gender=details.gender, collected_on=details.collected_on,
        collected_at=details.collected_at, offence=details.offence, case_number=details.case_number)
    return replace(CoreDataSet(person.reference), **{name: getattr(full, name) for name in fields})


@dataclass
class CoreDataExchange:
    """Both halves of core-data exchange for one state: `request` and `deliver` (it asks), `open_case` and `decide`
    (it is asked)."""

    state: str
    log: ProtocolLog
    cases: CoreDataCases
    records: CoreRecords
    transport: CoreDataTransport | None = None
    policy: CoreDataPolicy = field(default_factory=CoreDataPolicy)
    settings: CoreDataSettings = field(default_factory=CoreDataSettings)
    clock: Clock = field(default_factory=SystemClock)
    timeout_s: float = 3.0
    #: When the router carries anything (P2-TIME-1): before its date there is no core-data exchange to join.
    phases: RouterPhases = field(default_factory=RouterPhases)
    # One step of a case at a time (two operators deciding, a decision arriving while the request returns); never
    # held across a call to another state.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def deadline(self) -> timedelta:
        return timedelta(hours=self.settings.deadline_hours)

    def _entry(self, context: QueryContext, category: Category, kind: EntryKind, message_type: MessageType,
               side: Side, data: dict[str, Any], reply_id: str = "", outcome: Outcome = Outcome.NONE) -> LogEntry:
        return step_entry(self.state, context, category, kind, message_type, side, data, reply_id, outcome)

    @staticmethod
    def _asked(request: CoreDataRequest) -> dict[str, Any]:
        return {"reference": request.reference, "original_request_id": request.original_request_id,
                "offence_code": request.offence_code, "facts": request.facts,
                "confirmation": _confirmation_data(request.confirmation)}

    def _transport(self) -> CoreDataTransport:
        if self.transport is None:
            raise CaseClosed(f"{self.state} has no connection to the router: core data travel through it "
                             f"(P2-ROUTER-1); the federation's topology is the mesh")
        return self.transport

    # -- the requesting side --

    def request(self, context: QueryContext, request: CoreDataRequest) -> CoreDataCase:
        """The requesting side: only for a hit this state received; logged before it leaves; the case is kept
        before it leaves too, so a decision that comes back at once finds it."""
        now = self.clock.now()
        request.validate(now)
        transport = self._transport()
        if not self.phases.in_operation(now):
            raise CaseClosed(f"{self.phases.why_not_in_operation()}; core data after a match travel through it "
                             f"(Art 47(1)): until then ask for the personal data behind the hit with a follow-up "
                             f"(FOL-1)")
        if context.requested_state == self.state:
            raise InvalidInput(f"is {self.state}, this state; core data are asked of the state that supplied the hit",
                               field="requested_state")
        if not hit_was_supplied(self.log, request.original_request_id, self.state, context.requested_state,
                                request.category, request.reference, EntryKind.AUTOMATED_RECEIPT):
            confirmed = " and confirmed" if request.category in (Category.FINGERPRINT, Category.FACE) else ""
            raise UnknownReference(
                f"{self.state} received{confirmed} no {request.category.name} hit {quote(request.reference)} from "
                f"{context.requested_state} in request {quote(request.original_request_id)}; core data follow a "
                f"match received in a search only (Art 47(1)(a))")
        entry = self.log.append(self._entry(context, request.category, EntryKind.NON_AUTOMATED_SUPPLY,
                                            MessageType.CORE_DATA_REQUEST, Side.REQUESTING, self._asked(request)))
        case = CoreDataCase(context.request_id, CaseSide.REQUESTING, context, request, now, now + self.deadline,
                            log_sequence=entry.sequence)
        self.cases.save(case)
        try:
            transport.send_request(context, request, self.timeout_s)
        except Exception as error:  # kept, not delivered: listed with why, never overdue
            with self._lock:
                self.cases.save(replace(self.cases.get(case.case_id, CaseSide.REQUESTING),
                                        delivery_detail=f"not delivered: {error}"[:500]))
            raise
        with self._lock:  # the decision may be in already (a state that decides at once)
            delivered = replace(self.cases.get(case.case_id, CaseSide.REQUESTING), delivered=True,
                                delivery_detail="")
            self.cases.save(delivered)
        return delivered

    def deliver(self, context: QueryContext, certified_state: str | None, decided: Decided) -> CoreDataCase:
        """The requesting side receives the requested state's decision (through the router) and stores it."""
        check_claim(certified_state, context.requested_state, routed=True)
        context.validate()
        if context.requesting_state != self.state:
            raise InvalidInput(f"is {context.requesting_state}; this is {self.state}'s contact point",
                               field="context.requesting_state")
        with self._lock:
            return self._store_decision(context, decided)

    def _store_decision(self, context: QueryContext, decided: Decided) -> CoreDataCase:
        case = self.cases.get(context.request_id, CaseSide.REQUESTING)
        if case.context.requested_state != context.requested_state:
            raise UnknownReference(f"{self.state} sent core-data request {quote(context.request_id)} to "
                                   f"{case.context.requested_state}, not {context.requested_state}")
        if case.status not in (CaseStatus.OPEN, CaseStatus.DELAYED):
            raise CaseClosed(f"core-data request {quote(case.case_id)} is {case.status.value} already; a decision "
                             f"follows only an open or delayed case")
        self._check_decided(case, decided)
        data = {"status": decided.status.value, "reason": decided.reason,
                "requested_confirmation": _confirmation_data(decided.requested_confirmation),
                "core_data": asdict(decided.core_data) if decided.core_data else None}
        self.log.append(self._entry(context, case.request.category, EntryKind.NON_AUTOMATED_RECEIPT,
                                    MESSAGE_OF[decided.status], Side.REQUESTING, data, decided.reply_id,
                                    OUTCOME_OF[decided.status]))
        case = replace(case, status=decided.status, decided_at=decided.decided_at, reason=decided.reason,
                       core_data=decided.core_data,
                       requested_confirmation=decided.requested_confirmation or case.requested_confirmation)
        self.cases.save(case)
        return case

    @staticmethod
    def _check_decided(case: CoreDataCase, decided: Decided) -> None:
        if decided.status is CaseStatus.OPEN:
            raise InvalidInput("is OPEN; a decision is SUPPLIED, REFUSED or DELAYED", field="status")
        if decided.status is CaseStatus.SUPPLIED:
            if decided.core_data is None or decided.core_data.reference != case.request.reference:
                raise InvalidInput(f"is missing or names another reference; supplied core data are those of "
                                   f"{quote(case.request.reference)}", field="core_data")
            if case.request.category is Category.DNA and decided.requested_confirmation is None:
                raise InvalidInput("is missing; the requested state confirms a DNA match before it supplies core "
                                   "data (Art 6(7))", field="requested_confirmation")
        elif not decided.reason.strip():
            raise InvalidInput(f"is empty; a {decided.status.value} decision gives its reason (Art 47)",
                               field="reason")

    # -- the requested side --

    def open_case(self, context: QueryContext, certified_state: str | None,
                  request: CoreDataRequest) -> tuple[ReplyHeader, CoreDataCase]:
        """The requested side: checks (a) to (c) of P2-CORE-1, logs the receipt (durable before the reply) and opens
        a case due within the deadline; decides at once where its policy says so and every condition holds."""
        check_claim(certified_state, context.requesting_state, routed=True)
        context.validate()
        if context.requested_state != self.state:
            raise InvalidInput(f"is {context.requested_state}; this is {self.state}'s contact point",
                               field="context.requested_state")
        now = self.clock.now()
        request.validate(now)  # (b) the confirmation, (c) the offence category and the facts
        if not hit_was_supplied(self.log, request.original_request_id, context.requesting_state, self.state,
                                request.category, request.reference, EntryKind.AUTOMATED_SUPPLY):  # (a)
            raise UnknownReference(f"{self.state} supplied no {request.category.name} hit {quote(request.reference)} "
                                   f"to {context.requesting_state} in request {quote(request.original_request_id)}; "
                                   f"core data follow a match this state reported (Art 47(1)(a))")
        header = ReplyHeader(context.request_id, str(uuid.uuid4()), now, context.requesting_state, self.state)
        with self._lock:
            if self.cases.find(context.request_id, CaseSide.REQUESTED) is not None:
                raise Duplicate(f"core-data request {quote(context.request_id)} was received already")
            entry = self.log.append(self._entry(context, request.category, EntryKind.NON_AUTOMATED_RECEIPT,
                                                MessageType.CORE_DATA_REQUEST, Side.FILE_MANAGING,
                                                self._asked(request), header.reply_id))
            case = CoreDataCase(context.request_id, CaseSide.REQUESTED, context, request, now, now + self.deadline,
                                log_sequence=entry.sequence)
            self.cases.save(case)
            if not self._decides_at_once(case):
                return header, case
            case, decided = self._record(case, Decision.SUPPLY, "", None,
                                         f"{self.state} (automatic: every condition holds)")
        return header, self._push(case, decided)

    def _decides_at_once(self, case: CoreDataCase) -> bool:
        """Whether every condition of an automatic supply holds: the policy, no judicial authorisation, a match the
        requesting state confirmed (not DNA: the requested state confirms it, Art 6(7)), a person record."""
        if not self.policy.automatic or self.policy.judicial_authorisation:
            return False
        if case.request.category is Category.DNA or case.request.confirmation is None:
            return False
        try:
            self.records.get(case.request.reference)
        except UnknownReference:
            return False  # a trace: nobody behind it; the operator refuses or asks otherwise
        return True

    def decide(self, case_id: str, decision: Decision, officer_id: str, reason: str = "",
               confirmed_by: str = "") -> CoreDataCase:
        """The requested state's operator decides a case (the officer is authorised by the caller, SEC-2)."""
        with self._lock:
            case, decided = self._checked_decision(case_id, decision, officer_id, reason, confirmed_by)
        return self._push(case, decided)

    def _checked_decision(self, case_id: str, decision: Decision, officer_id: str, reason: str,
                          confirmed_by: str) -> tuple[CoreDataCase, Decided]:
        case = self.cases.get(case_id, CaseSide.REQUESTED)
        if case.status not in (CaseStatus.OPEN, CaseStatus.DELAYED):
            raise CaseClosed(f"core-data request {quote(case_id)} is {case.status.value} already; allowed: a decision "
                             f"on an open or delayed case")
        if decision is not Decision.SUPPLY and not reason.strip():
            raise InvalidInput(f"is empty; to {decision.value.lower()} give the reason (proportionality under "
                               f"{self.state}'s law, or the judicial authorisation awaited)", field="reason")
        if len(reason) > MAX_REASON:
            raise InvalidInput(f"{len(reason)} characters; allowed: at most {MAX_REASON}", field="reason")
        if decision is Decision.DELAY:
            if not self.policy.judicial_authorisation:
                raise CaseClosed(f"{self.state}'s national law needs no judicial authorisation for core data, so the "
                                 f"48 hours may not be exceeded (Art 47(2), P2-CORE-2); allowed: SUPPLY or REFUSE")
            if case.status is CaseStatus.DELAYED:
                raise CaseClosed(f"core-data request {quote(case_id)} is delayed already; allowed: SUPPLY or REFUSE "
                                 f"once the authorisation is decided")
        confirmation = None
        if decision is Decision.SUPPLY and case.request.category is Category.DNA:
            if not confirmed_by.strip():
                raise InvalidInput(f"is empty; {self.state} confirms a DNA match before it supplies core data "
                                   f"(Art 6(7)): name the officer who confirmed it", field="confirmed_by")
            confirmation = Confirmation(confirmed_by, self.clock.now())
        return self._record(case, decision, reason.strip(), confirmation, officer_id)

    def _record(self, case: CoreDataCase, decision: Decision, reason: str, confirmation: Confirmation | None,
                decided_by: str) -> tuple[CoreDataCase, Decided]:
        """Record the decision: logged (durable) and kept on the case, before it leaves."""
        now = self.clock.now()
        status = DECIDED_AS[decision]
        core = None
        if decision is Decision.SUPPLY:
            reference = case.request.reference
            core = core_data_of(self.records.get(reference), self.records.details(reference), self.settings.fields)
        decided = Decided(status, reason, now, str(uuid.uuid4()), core, confirmation)
        self.log.append(self._entry(case.context, case.request.category, EntryKind.NON_AUTOMATED_SUPPLY,
                                    MESSAGE_OF[status], Side.FILE_MANAGING,
                                    {"status": status.value, "reason": reason, "decided_by": decided_by,
                                     "requested_confirmation": _confirmation_data(confirmation),
                                     "core_data": asdict(core) if core else None},
                                    decided.reply_id, OUTCOME_OF[status]))
        case = replace(case, status=status, decided_at=now, reason=reason, core_data=core,
                       requested_confirmation=confirmation or case.requested_confirmation, delivered=False,
                       delivery_detail="")
        self.cases.save(case)
        return case, decided

    def _push(self, case: CoreDataCase, decided: Decided) -> CoreDataCase:
        """The recorded decision to the requesting state through the router; whether it arrived goes on the case."""
        try:
            self._transport().send_decision(case.context, decided, self.timeout_s)
        except (OSError, CaseClosed) as error:
            case = replace(case, delivery_detail=f"not delivered: {error}"[:500])
        else:
            case = replace(case, delivered=True)
        with self._lock:  # only the delivery changes: a later decision on a delayed case is its own record
            current = self.cases.get(case.case_id, CaseSide.REQUESTED)
            if (current.status, current.decided_at) == (case.status, case.decided_at):
                current = replace(current, delivered=case.delivered, delivery_detail=case.delivery_detail)
                self.cases.save(current)
        return current
