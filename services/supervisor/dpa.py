"""The national data-protection authority's own work, without gRPC (LOG-7, AUD-1, DEC-1, SUB-1).

- `LogRequests`: the DPA asks for the logs; due 4 weeks after the request (LOG-7).
- `Audits`: random sample checks of the lawfulness of logged exchanges; results kept 18 months (AUD-1).
- `Declarations`: what a state declares (contact point, national file, competent authority, data
  protection) per category; a newer declaration replaces the older one (DEC-1).
- `SubjectCases`: data subjects' requests, each with its legal deadline (SUB-1).
- `overdue_core_data_findings`: the Prüm II core-data cases of the state still open past their 48 hours
  (P2-CORE-1), which every audit reports beside its sample's findings.

Statuses (OPEN / ANSWERED / OVERDUE) are computed from the clock each time a record is read, so a
simulated clock moved past a deadline turns an open request overdue.

Storage: SQLite (WAL) when a path is given, else an in-memory SQLite database: one code path, as the
readiness book. Every register of a supervisor may share one file (its own tables and connection);
ids come from a persisted counter, times are stored as fixed-width UTC text, deadlines and retention
dates with the record, so a restarted state has every record, deadline and status back.
"""

from __future__ import annotations

import calendar
import contextlib
import json
import random
import sqlite3
import threading
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference, quote
from prum.services.common.identity import is_state_code
from prum.services.common.store import open_database, transaction
from prum.services.logger.entry import LogEntry, MessageType, Side, format_moment

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
    if not is_state_code(state):
        raise InvalidInput(f"{quote(state)} is not a state code; allowed: ISO 3166 alpha-2 in capitals, e.g. 'NL'",
                           field=field)
    return state


def stored_moment(moment: datetime | None) -> str | None:
    """A time as a register stores it: fixed-width UTC text (sorts as time does)."""
    return format_moment(moment) if moment is not None else None


def read_moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _category_or_none(name: str | None) -> Category | None:
    return Category[name] if name else None


class _Register:
    """A lock, a clock and a database shared by the DPA's registers; each register adds its `schema`."""

    prefix = "X"
    schema = ""

    def __init__(self, clock: Clock | None = None, path: str | Path | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
                               + self.schema)

    def close_store(self) -> None:
        """Close the database (not `close`: a joint case is closed with a conclusion)."""
        with self._lock:
            self._db.close()

    def _write(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction (the caller holds the lock)."""
        return transaction(self._db)

    def _count(self, name: str) -> int:
        """The next number of the persisted counter `name` (inside the caller's transaction)."""
        self._db.execute("INSERT INTO counters VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
                         (name,))
        return int(self._db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0])

    def _next_id(self) -> str:
        return f"{self.prefix}-{self._count(self.prefix):06d}"

    def _put(self, table: str, keys: tuple[str, ...], row: Mapping[str, object]) -> None:
        """Insert or update one row by its key columns (the row keeps its place: lists follow insertion order)."""
        columns = list(row)
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c not in keys)
        self._db.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
                         f"ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {updates}", tuple(row.values()))


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
    schema = """CREATE TABLE IF NOT EXISTS log_requests (
        id TEXT PRIMARY KEY, opened_at TEXT NOT NULL, due_at TEXT NOT NULL, since TEXT, until TEXT,
        answered_at TEXT, entries_delivered INTEGER NOT NULL DEFAULT 0);"""
    _COLUMNS = "id, opened_at, due_at, since, until, answered_at, entries_delivered"

    def _save(self, request: LogRequest) -> None:
        self._put("log_requests", ("id",), {
            "id": request.id, "opened_at": stored_moment(request.opened_at), "due_at": stored_moment(request.due_at),
            "since": stored_moment(request.since), "until": stored_moment(request.until),
            "answered_at": stored_moment(request.answered_at), "entries_delivered": request.entries_delivered})

    @staticmethod
    def _from_row(row: tuple) -> LogRequest:  # type: ignore[type-arg]
        request_id, opened_at, due_at, since, until, answered_at, delivered = row
        return LogRequest(request_id, read_moment(opened_at), read_moment(due_at),  # type: ignore[arg-type]
                          read_moment(since), read_moment(until), read_moment(answered_at), delivered)

    def _current(self, request: LogRequest) -> LogRequest:
        return replace(request, status=_status(request.answered_at, request.due_at, self.clock.now()))

    def open(self, since: datetime | None = None, until: datetime | None = None) -> LogRequest:
        if since and until and since >= until:
            raise InvalidInput(f"{since.isoformat()} is not before until {until.isoformat()}", field="since")
        with self._lock, self._write():
            now = self.clock.now()
            request = LogRequest(self._next_id(), now, now + LOG_REQUEST_DEADLINE, since, until)
            self._save(request)
            return self._current(request)

    def answer(self, request_id: str, entries_delivered: int) -> LogRequest:
        """Record that the logs were delivered (LOG-7); a late answer is kept as ANSWERED, `answered_late`."""
        if entries_delivered < 0:
            raise InvalidInput(f"{entries_delivered}; allowed: 0 or more", field="entries_delivered")
        with self._lock, self._write():
            request = self._get(request_id)
            if request.answered_at is not None:
                raise Duplicate(f"log request {request_id} was already answered at "
                                f"{request.answered_at.isoformat()}")
            request = replace(request, answered_at=self.clock.now(), entries_delivered=entries_delivered)
            self._save(request)
            return self._current(request)

    def _get(self, request_id: str) -> LogRequest:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM log_requests WHERE id = ?", (request_id,)).fetchone()
        if row is None:
            raise UnknownReference(f"no log request {quote(request_id)}")
        return self._from_row(row)

    def get(self, request_id: str) -> LogRequest:
        with self._lock:
            return self._current(self._get(request_id))

    def list(self, status: Status | None = None) -> list[LogRequest]:
        with self._lock:
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM log_requests ORDER BY rowid").fetchall()
        current = [self._current(self._from_row(row)) for row in rows]
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
        if not is_state_code(getattr(entry, name)):
            problems.append(f"no valid {name.replace('_', ' ')} code (LOG-2)")
    if entry.kind.supply and not entry.data_supplied.strip():
        problems.append("the data supplied is not recorded (LOG-2)")
    officer_acts = entry.message_type in (MessageType.QUERY, MessageType.FOLLOW_UP_REQUEST,
                                          MessageType.CORE_DATA_REQUEST)
    if entry.side is Side.REQUESTING and officer_acts:
        if not entry.officer_id.strip():
            problems.append("no officer who ran the query (LOG-2)")
        elif entry.officer_id not in authorised_officers:
            problems.append(f"officer {quote(entry.officer_id)} is not on the list of specially authorised "
                            f"officers (SEC-2)")
        if not entry.ordering_officer_id.strip():
            problems.append("no officer who ordered the query (LOG-2)")
        if not entry.reason.strip():
            problems.append("no reason for the query (LOG-2)")
    elif not entry.kind.automated and not entry.reason.strip():
        problems.append("no reason for the non-automated exchange (LOG-3)")
    return problems


class OverdueCase(Protocol):
    """A core-data case as the DPA reads it (`prum.services.exchange.core_data.CoreDataCase`)."""

    @property
    def case_id(self) -> str: ...
    @property
    def requesting_state(self) -> str: ...
    @property
    def requested_state(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def log_sequence(self) -> int: ...


def overdue_core_data_findings(cases: Iterable[OverdueCase], now: datetime) -> tuple[AuditFinding, ...]:
    """One finding per overdue core-data case, at the log entry that opened it (P2-CORE-1)."""
    return tuple(AuditFinding(case.log_sequence, (
        f"core-data request {case.case_id} of {case.requesting_state} to {case.requested_state} is overdue: due "
        f"{format_moment(case.due_at)}, {_hours(now - case.due_at)} ago, with no supply, refusal or reasoned delay "
        f"(P2-CORE-1, P2-CORE-2)")) for case in cases)


def _hours(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} hours"


class Audits(_Register):
    """Random sample checks of lawfulness (AUD-1); each result is deleted 18 months after the check."""

    prefix = "AUD"
    schema = """CREATE TABLE IF NOT EXISTS audits (
        id TEXT PRIMARY KEY, run_at TEXT NOT NULL, sampled INTEGER NOT NULL, findings TEXT NOT NULL,
        delete_after TEXT NOT NULL, seed INTEGER NOT NULL, population INTEGER NOT NULL, sequences TEXT NOT NULL);"""
    _COLUMNS = "id, run_at, sampled, findings, delete_after, seed, population, sequences"

    @staticmethod
    def _from_row(row: tuple) -> Audit:  # type: ignore[type-arg]
        audit_id, run_at, sampled, findings, delete_after, seed, population, sequences = row
        return Audit(audit_id, read_moment(run_at), sampled,  # type: ignore[arg-type]
                     tuple(AuditFinding(sequence, problem) for sequence, problem in json.loads(findings)),
                     read_moment(delete_after), seed, population, tuple(json.loads(sequences)))  # type: ignore[arg-type]

    def run(self, entries: Iterable[LogEntry], sample_size: int, seed: int,
            authorised_officers: Collection[str], overdue: Iterable[AuditFinding] = ()) -> Audit:
        """Draw `sample_size` entries (all, if fewer) with `seed` and check each; same seed, same sample. The
        `overdue` findings (core-data cases past their deadline) are reported whatever the sample."""
        if sample_size < 1:
            raise InvalidInput(f"{sample_size}; allowed: 1 or more", field="sample_size")
        population = list(entries)
        sample = sorted(random.Random(seed).sample(population, min(sample_size, len(population))),
                        key=lambda e: e.sequence)
        findings = tuple(AuditFinding(entry.sequence, problem) for entry in sample
                         for problem in check_lawfulness(entry, authorised_officers)) + tuple(overdue)
        with self._lock, self._write():
            now = self.clock.now()
            audit = Audit(self._next_id(), now, len(sample), findings,
                          add_months(now, AUDIT_RETENTION_MONTHS), seed, len(population),
                          tuple(e.sequence for e in sample))
            self._put("audits", ("id",), {
                "id": audit.id, "run_at": stored_moment(audit.run_at), "sampled": audit.sampled,
                "findings": json.dumps([[f.sequence, f.problem] for f in audit.findings]),
                "delete_after": stored_moment(audit.delete_after), "seed": audit.seed,
                "population": audit.population, "sequences": json.dumps(list(audit.sequences))})
            return audit

    def get(self, audit_id: str) -> Audit:
        with self._lock:
            row = self._db.execute(f"SELECT {self._COLUMNS} FROM audits WHERE id = ?", (audit_id,)).fetchone()
        if row is None:
            raise UnknownReference(f"no audit {quote(audit_id)} (results are deleted after 18 months)")
        return self._from_row(row)

    def list(self) -> list[Audit]:
        with self._lock:
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM audits ORDER BY rowid").fetchall()
        return [self._from_row(row) for row in rows]

    def purge(self) -> int:
        """Delete the results whose 18 months are over (AUD-1); returns how many."""
        with self._lock, self._write():
            return self._db.execute("DELETE FROM audits WHERE delete_after <= ?",
                                    (stored_moment(self.clock.now()),)).rowcount


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

    schema = """CREATE TABLE IF NOT EXISTS declarations (
        state TEXT NOT NULL, kind TEXT NOT NULL, category TEXT NOT NULL, text TEXT NOT NULL, filed_at TEXT NOT NULL,
        PRIMARY KEY (state, kind, category));"""

    def _save(self, declaration: Declaration) -> None:
        self._put("declarations", ("state", "kind", "category"), {
            "state": declaration.state, "kind": declaration.kind.name,
            "category": declaration.category.name if declaration.category else "", "text": declaration.text,
            "filed_at": stored_moment(declaration.filed_at)})

    def _held(self, state: str, kind: DeclarationKind, category: Category | None) -> Declaration | None:
        row = self._db.execute("SELECT text, filed_at FROM declarations WHERE state = ? AND kind = ? AND category = ?",
                               (state, kind.name, category.name if category else "")).fetchone()
        return Declaration(state, kind, category, row[0], read_moment(row[1])) if row else None  # type: ignore[arg-type]

    def file(self, state: str, kind: DeclarationKind | str, category: Category | str | None,
             text: str) -> Declaration:
        """File a declaration; it replaces the one in force of the same state, kind and category."""
        declaration = self._checked(state, kind, category, text, self.clock.now())
        with self._lock, self._write():
            self._save(declaration)
            return declaration

    def receive(self, declaration: Declaration) -> Declaration:
        """Take in another state's declaration as its supervisor announced it (DEC-1), with the time it was
        filed there: it replaces the one in force unless that one was filed later (announcements may cross),
        and the same announcement twice changes nothing. Returns the declaration in force."""
        if declaration.filed_at is None or declaration.filed_at.tzinfo is None:
            raise InvalidInput("has no time zone or is missing; the filing state's time is kept", field="filed_at")
        received = self._checked(declaration.state, declaration.kind, declaration.category, declaration.text,
                                 declaration.filed_at)
        with self._lock, self._write():
            current = self._held(received.state, received.kind, received.category)
            if current is None or current.filed_at <= received.filed_at:
                self._save(received)
                current = received
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
            return self._held(state, DeclarationKind(kind), Category(category) if category else None)

    def list(self, state: str | None = None) -> list[Declaration]:
        """The declarations in force, of one state or all, by state, kind and category."""
        with self._lock:
            rows = self._db.execute("SELECT state, kind, category, text, filed_at FROM declarations "
                                    "WHERE ? IS NULL OR state = ?", (state, state)).fetchall()
        found = [Declaration(code, DeclarationKind[kind], _category_or_none(category), text,
                             read_moment(filed_at))  # type: ignore[arg-type]
                 for code, kind, category, text, filed_at in rows]
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
    schema = """CREATE TABLE IF NOT EXISTS subject_cases (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, category TEXT NOT NULL, reference TEXT NOT NULL,
        description TEXT NOT NULL, opened_at TEXT NOT NULL, due_at TEXT NOT NULL, answer TEXT NOT NULL,
        answered_at TEXT);"""
    _COLUMNS = "id, kind, category, reference, description, opened_at, due_at, answer, answered_at"

    def __init__(self, clock: Clock | None = None,
                 deadline_months: Mapping[SubjectCaseKind, int] | None = None, path: str | Path | None = None) -> None:
        super().__init__(clock, path)
        self.deadline_months = {**SUBJECT_CASE_MONTHS, **(deadline_months or {})}

    def _save(self, case: SubjectCase) -> None:
        self._put("subject_cases", ("id",), {
            "id": case.id, "kind": case.kind.name, "category": case.category.name if case.category else "",
            "reference": case.reference, "description": case.description, "opened_at": stored_moment(case.opened_at),
            "due_at": stored_moment(case.due_at), "answer": case.answer, "answered_at": stored_moment(case.answered_at)})

    @staticmethod
    def _from_row(row: tuple) -> SubjectCase:  # type: ignore[type-arg]
        case_id, kind, category, reference, description, opened_at, due_at, answer, answered_at = row
        return SubjectCase(case_id, SubjectCaseKind[kind], _category_or_none(category), reference, description,
                           read_moment(opened_at), read_moment(due_at), answer,  # type: ignore[arg-type]
                           read_moment(answered_at))

    def _current(self, case: SubjectCase) -> SubjectCase:
        return replace(case, status=_status(case.answered_at, case.due_at, self.clock.now()))

    def open(self, kind: SubjectCaseKind | str, description: str, reference: str = "",
             category: Category | str | None = None) -> SubjectCase:
        try:
            kind = SubjectCaseKind(kind)
        except ValueError:
            raise InvalidInput(f"{quote(kind)}; allowed: {', '.join(k.name for k in SubjectCaseKind)}",
                               field="kind") from None
        if not description.strip():
            raise InvalidInput("is empty; say what the data subject asks", field="description")
        with self._lock, self._write():
            now = self.clock.now()
            case = SubjectCase(self._next_id(), kind, Category(category) if category else None, reference,
                               description.strip(), now, add_months(now, self.deadline_months[kind]))
            self._save(case)
            return self._current(case)

    def answer(self, case_id: str, answer: str) -> SubjectCase:
        if not answer.strip():
            raise InvalidInput("is empty; the data subject receives an answer", field="answer")
        with self._lock, self._write():
            case = self._get(case_id)
            if case.answered_at is not None:
                raise Duplicate(f"subject case {case_id} was already answered at "
                                f"{case.answered_at.isoformat()}")
            case = replace(case, answer=answer.strip(), answered_at=self.clock.now())
            self._save(case)
            return self._current(case)

    def _get(self, case_id: str) -> SubjectCase:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM subject_cases WHERE id = ?", (case_id,)).fetchone()
        if row is None:
            raise UnknownReference(f"no subject case {quote(case_id)}")
        return self._from_row(row)

    def get(self, case_id: str) -> SubjectCase:
        with self._lock:
            return self._current(self._get(case_id))

    def list(self, status: Status | None = None) -> list[SubjectCase]:
        with self._lock:
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM subject_cases ORDER BY rowid").fetchall()
        current = [self._current(self._from_row(row)) for row in rows]
        return [c for c in current if status is None or c.status is status]


__all__ = [
    "AUDIT_RETENTION_MONTHS", "LOG_REQUEST_DEADLINE", "SUBJECT_CASE_MONTHS", "Audit", "AuditFinding",
    "Audits", "Declaration", "DeclarationKind", "Declarations", "LogRequest", "LogRequests", "Status",
    "SubjectCase", "SubjectCaseKind", "SubjectCases", "add_months", "check_lawfulness",
]
