"""The national data-protection authority's own work, pure and in memory (LOG-7, AUD-1, DEC-1, SUB-1).

- `LogRequests`: the DPA asks for the logs; due 4 weeks after the request (LOG-7).
- `Audits`: random sample checks of the lawfulness of logged exchanges; results kept 18 months (AUD-1).
- `Declarations`: what a state declares (contact point, national file, competent authority, data
  protection) per category; a newer declaration replaces the older one (DEC-1).
- `SubjectCases`: data subjects' requests, each with its legal deadline (SUB-1).

Statuses (OPEN / ANSWERED / OVERDUE) are computed from the clock each time a record is read, so a
simulated clock moved past a deadline turns an open request overdue.
"""

from __future__ import annotations

import calendar
import random
import re
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference
from prum.services.logger.entry import Category, LogEntry, MessageType, Side

_STATE_CODE = re.compile(r"^[A-Z]{2}$")

#: LOG-7: the logs reach the DPA without delay, at the latest within 4 weeks.
LOG_REQUEST_DEADLINE = timedelta(weeks=4)
#: AUD-1: audit results are kept 18 months, then deleted.
AUDIT_RETENTION_MONTHS = 18


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the 31st falls back to the month's last day)."""
    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    return moment.replace(year=year, month=month, day=min(moment.day, calendar.monthrange(year, month)[1]))


class Status(StrEnum):
    """Of a log request or a subject case (contract `LogRequestStatus`, `SubjectCaseStatus`)."""

    OPEN = "OPEN"
    ANSWERED = "ANSWERED"
    OVERDUE = "OVERDUE"


def _status(answered_at: datetime | None, due_at: datetime, now: datetime) -> Status:
    if answered_at is not None:
        return Status.ANSWERED
    return Status.OVERDUE if now > due_at else Status.OPEN


def _check_state(state: str, field: str = "state") -> str:
    if not _STATE_CODE.match(state or ""):
        raise InvalidInput(f"{state!r} is not a state code; allowed: ISO 3166 alpha-2 in capitals, e.g. 'NL'",
                           field=field)
    return state


class _Register:
    """Ids, a lock and a clock shared by the DPA's registers."""

    prefix = "X"

    def __init__(self, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._count = 0

    def _next_id(self) -> str:
        self._count += 1
        return f"{self.prefix}-{self._count:06d}"


# -- LOG-7 -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LogRequest:
    """A DPA's request for the logs (contract `LogRequest`); `status` as of when it was read."""

    id: str
    opened_at: datetime
    due_at: datetime
    since: datetime | None = None
    until: datetime | None = None
    answered_at: datetime | None = None
    entries_delivered: int = 0
    status: Status = Status.OPEN

    @property
    def answered_late(self) -> bool:
        return self.answered_at is not None and self.answered_at > self.due_at


class LogRequests(_Register):
    """The DPA's requests for the protocol log, each due 4 weeks after it is opened (LOG-7)."""

    prefix = "LR"

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._requests: dict[str, LogRequest] = {}

    def _current(self, request: LogRequest) -> LogRequest:
        return replace(request, status=_status(request.answered_at, request.due_at, self.clock.now()))

    def open(self, since: datetime | None = None, until: datetime | None = None) -> LogRequest:
        if since and until and since >= until:
            raise InvalidInput(f"{since.isoformat()} is not before until {until.isoformat()}", field="since")
        with self._lock:
            now = self.clock.now()
            request = LogRequest(self._next_id(), now, now + LOG_REQUEST_DEADLINE, since, until)
            self._requests[request.id] = request
            return self._current(request)

    def answer(self, request_id: str, entries_delivered: int) -> LogRequest:
        """Record that the logs were delivered (LOG-7); a late answer is kept as ANSWERED, `answered_late`."""
        if entries_delivered < 0:
            raise InvalidInput(f"{entries_delivered}; allowed: 0 or more", field="entries_delivered")
        with self._lock:
            request = self._get(request_id)
            if request.answered_at is not None:
                raise Duplicate(f"log request {request_id} was already answered at "
                                f"{request.answered_at.isoformat()}")
            request = replace(request, answered_at=self.clock.now(), entries_delivered=entries_delivered)
            self._requests[request_id] = request
            return self._current(request)

    def _get(self, request_id: str) -> LogRequest:
        try:
            return self._requests[request_id]
        except KeyError:
            raise UnknownReference(f"no log request {request_id!r}") from None

    def get(self, request_id: str) -> LogRequest:
        with self._lock:
            return self._current(self._get(request_id))

    def list(self, status: Status | None = None) -> list[LogRequest]:
        with self._lock:
            current = [self._current(r) for r in self._requests.values()]
        return [r for r in current if status is None or r.status is status]


# -- AUD-1 -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFinding:
    sequence: int
    problem: str


@dataclass(frozen=True)
class Audit:
    """One sample check (contract `Audit`); `population` is how many entries the sample was drawn from."""

    id: str
    run_at: datetime
    sampled: int
    findings: tuple[AuditFinding, ...]
    delete_after: datetime
    seed: int = 0
    population: int = 0
    sequences: tuple[int, ...] = ()


def check_lawfulness(entry: LogEntry, authorised_officers: Collection[str]) -> list[str]:
    """What is unlawful or missing in one logged exchange (LOG-2, LOG-3, SEC-2); empty when nothing is."""
    problems: list[str] = []
    if entry.recorded_at is None:
        problems.append("no date and time of the exchange (LOG-2)")
    for name in ("requesting_state", "requested_state"):
        if not _STATE_CODE.match(getattr(entry, name) or ""):
            problems.append(f"no valid {name.replace('_', ' ')} code (LOG-2)")
    if entry.kind.supply and not entry.data_supplied.strip():
        problems.append("the data supplied is not recorded (LOG-2)")
    officer_acts = entry.message_type in (MessageType.QUERY, MessageType.FOLLOW_UP_REQUEST)
    if entry.side is Side.REQUESTING and officer_acts:
        if not entry.officer_id.strip():
            problems.append("no officer who ran the query (LOG-2)")
        elif entry.officer_id not in authorised_officers:
            problems.append(f"officer {entry.officer_id!r} is not on the list of specially authorised "
                            f"officers (SEC-2)")
        if not entry.ordering_officer_id.strip():
            problems.append("no officer who ordered the query (LOG-2)")
        if not entry.reason.strip():
            problems.append("no reason for the query (LOG-2)")
    elif not entry.kind.automated and not entry.reason.strip():
        problems.append("no reason for the non-automated exchange (LOG-3)")
    return problems


class Audits(_Register):
    """Random sample checks of lawfulness (AUD-1); each result is deleted 18 months after the check."""

    prefix = "AUD"

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._audits: dict[str, Audit] = {}

    def run(self, entries: Iterable[LogEntry], sample_size: int, seed: int,
            authorised_officers: Collection[str]) -> Audit:
        """Draw `sample_size` entries (all, if fewer) with `seed` and check each; same seed, same sample."""
        if sample_size < 1:
            raise InvalidInput(f"{sample_size}; allowed: 1 or more", field="sample_size")
        population = list(entries)
        sample = sorted(random.Random(seed).sample(population, min(sample_size, len(population))),
                        key=lambda e: e.sequence)
        findings = tuple(AuditFinding(entry.sequence, problem) for entry in sample
                         for problem in check_lawfulness(entry, authorised_officers))
        with self._lock:
            now = self.clock.now()
            audit = Audit(self._next_id(), now, len(sample), findings,
                          add_months(now, AUDIT_RETENTION_MONTHS), seed, len(population),
                          tuple(e.sequence for e in sample))
            self._audits[audit.id] = audit
            return audit

    def get(self, audit_id: str) -> Audit:
        with self._lock:
            try:
                return self._audits[audit_id]
            except KeyError:
                raise UnknownReference(f"no audit {audit_id!r} (results are deleted after 18 months)") \
                    from None

    def list(self) -> list[Audit]:
        with self._lock:
            return list(self._audits.values())

    def purge(self) -> int:
        """Delete the results whose 18 months are over (AUD-1); returns how many."""
        with self._lock:
            now = self.clock.now()
            expired = [a.id for a in self._audits.values() if a.delete_after <= now]
            for audit_id in expired:
                del self._audits[audit_id]
            return len(expired)


# -- DEC-1 -----------------------------------------------------------------------------------------

class DeclarationKind(StrEnum):
    CONTACT_POINT = "CONTACT_POINT"
    NATIONAL_FILE = "NATIONAL_FILE"
    COMPETENT_AUTHORITY = "COMPETENT_AUTHORITY"
    DATA_PROTECTION = "DATA_PROTECTION"


@dataclass(frozen=True)
class Declaration:
    """A state's declaration (contract `Declaration`); `category` None: every category."""

    state: str
    kind: DeclarationKind
    category: Category | None
    text: str
    filed_at: datetime


class Declarations(_Register):
    """The declarations in force, one per (state, kind, category); a newer one replaces the older (DEC-1)."""

    def __init__(self, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._current: dict[tuple[str, DeclarationKind, Category | None], Declaration] = {}

    def file(self, state: str, kind: DeclarationKind | str, category: Category | str | None,
             text: str) -> Declaration:
        """File a declaration; it replaces the one in force of the same state, kind and category."""
        declaration = self._checked(state, kind, category, text, self.clock.now())
        with self._lock:
            self._current[(declaration.state, declaration.kind, declaration.category)] = declaration
            return declaration

    def receive(self, declaration: Declaration) -> Declaration:
        """Take in another state's declaration as its supervisor announced it (DEC-1), with the time it was
        filed there: it replaces the one in force unless that one was filed later (announcements may cross),
        and the same announcement twice changes nothing. Returns the declaration in force."""
        if declaration.filed_at is None or declaration.filed_at.tzinfo is None:
            raise InvalidInput("has no time zone or is missing; the filing state's time is kept", field="filed_at")
        received = self._checked(declaration.state, declaration.kind, declaration.category, declaration.text,
                                 declaration.filed_at)
        key = (received.state, received.kind, received.category)
        with self._lock:
            current = self._current.get(key)
            if current is None or current.filed_at <= received.filed_at:
                self._current[key] = current = received
            return current

    @staticmethod
    def _checked(state: str, kind: DeclarationKind | str, category: Category | str | None, text: str,
                 filed_at: datetime) -> Declaration:
        _check_state(state)
        try:
            kind = DeclarationKind(kind)
            category = Category(category) if category else None
        except ValueError as error:
            kinds = ", ".join(k.name for k in DeclarationKind)
            categories = ", ".join(c.name for c in Category)
            raise InvalidInput(f"{error}; allowed kinds: {kinds}; categories: {categories}",
                               field="declaration") from None
        if not text.strip():
            raise InvalidInput("is empty; a declaration says what is declared", field="text")
        return Declaration(state, kind, category, text.strip(), filed_at)

    def current(self, state: str, kind: DeclarationKind | str, category: Category | str | None = None
                ) -> Declaration | None:
        with self._lock:
            return self._current.get((state, DeclarationKind(kind), Category(category) if category else None))

    def list(self, state: str | None = None) -> list[Declaration]:
        """The declarations in force, of one state or all, by state, kind and category."""
        with self._lock:
            found = [d for d in self._current.values() if state is None or d.state == state]
        return sorted(found, key=lambda d: (d.state, list(DeclarationKind).index(d.kind),
                                            d.category.name if d.category else ""))


# -- SUB-1 -----------------------------------------------------------------------------------------

class SubjectCaseKind(StrEnum):
    INFORMATION = "INFORMATION"
    CORRECTION = "CORRECTION"
    DELETION = "DELETION"
    BLOCKING = "BLOCKING"
    MARKING = "MARKING"
    COMPLAINT = "COMPLAINT"


#: Calendar months to answer, by kind. One month for the data subject's own rights (the common
#: national figure, as in Art 12(3) GDPR and the national laws implementing Directive 2016/680); a
#: complaint to the independent authority three months (its progress report, cf. Art 78(2) GDPR).
#: Figures of this simulator, not confirmed against any one state's law: pass `deadline_months`.
SUBJECT_CASE_MONTHS: Mapping[SubjectCaseKind, int] = {
    SubjectCaseKind.INFORMATION: 1, SubjectCaseKind.CORRECTION: 1, SubjectCaseKind.DELETION: 1,
    SubjectCaseKind.BLOCKING: 1, SubjectCaseKind.MARKING: 1, SubjectCaseKind.COMPLAINT: 3,
}


@dataclass(frozen=True)
class SubjectCase:
    """A data subject's request (contract `SubjectCase`); `status` as of when it was read."""

    id: str
    kind: SubjectCaseKind
    category: Category | None
    reference: str
    description: str
    opened_at: datetime
    due_at: datetime
    answer: str = ""
    answered_at: datetime | None = None
    status: Status = Status.OPEN


class SubjectCases(_Register):
    """Data subjects' requests and their deadlines (SUB-1)."""

    prefix = "SC"

    def __init__(self, clock: Clock | None = None,
                 deadline_months: Mapping[SubjectCaseKind, int] | None = None) -> None:
        super().__init__(clock)
        self.deadline_months = {**SUBJECT_CASE_MONTHS, **(deadline_months or {})}
        self._cases: dict[str, SubjectCase] = {}

    def _current(self, case: SubjectCase) -> SubjectCase:
        return replace(case, status=_status(case.answered_at, case.due_at, self.clock.now()))

    def open(self, kind: SubjectCaseKind | str, description: str, reference: str = "",
             category: Category | str | None = None) -> SubjectCase:
        try:
            kind = SubjectCaseKind(kind)
        except ValueError:
            raise InvalidInput(f"{kind!r}; allowed: {', '.join(k.name for k in SubjectCaseKind)}",
                               field="kind") from None
        if not description.strip():
            raise InvalidInput("is empty; say what the data subject asks", field="description")
        with self._lock:
            now = self.clock.now()
            case = SubjectCase(self._next_id(), kind, Category(category) if category else None, reference,
                               description.strip(), now, add_months(now, self.deadline_months[kind]))
            self._cases[case.id] = case
            return self._current(case)

    def answer(self, case_id: str, answer: str) -> SubjectCase:
        if not answer.strip():
            raise InvalidInput("is empty; the data subject receives an answer", field="answer")
        with self._lock:
            case = self._get(case_id)
            if case.answered_at is not None:
                raise Duplicate(f"subject case {case_id} was already answered at "
                                f"{case.answered_at.isoformat()}")
            case = replace(case, answer=answer.strip(), answered_at=self.clock.now())
            self._cases[case_id] = case
            return self._current(case)

    def _get(self, case_id: str) -> SubjectCase:
        try:
            return self._cases[case_id]
        except KeyError:
            raise UnknownReference(f"no subject case {case_id!r}") from None

    def get(self, case_id: str) -> SubjectCase:
        with self._lock:
            return self._current(self._get(case_id))

    def list(self, status: Status | None = None) -> list[SubjectCase]:
        with self._lock:
            current = [self._current(c) for c in self._cases.values()]
        return [c for c in current if status is None or c.status is status]


__all__ = [
    "AUDIT_RETENTION_MONTHS", "LOG_REQUEST_DEADLINE", "SUBJECT_CASE_MONTHS", "Audit", "AuditFinding",
    "Audits", "Declaration", "DeclarationKind", "Declarations", "LogRequest", "LogRequests", "Status",
    "SubjectCase", "SubjectCaseKind", "SubjectCases", "add_months", "check_lawfulness",
]
