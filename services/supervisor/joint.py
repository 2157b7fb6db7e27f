"""Joint cases of two states' DPAs (AUD-1: "DPAs of different states cooperate on a case").

The DPA of one state opens a case with the DPA of another, about an audit or a data subject's
complaint concerning a supply between them (the request id names it). Both supervisors hold the
case; each DPA adds its own findings; either closes it with a conclusion; the status is the same on
both sides. Each change travels as the whole case to the partner, which *merges* it: findings are
kept by id (a finding's id names the state that made it, so ids never collide), a closed case stays
closed, and the same announcement twice or out of order changes nothing. A partner may add findings
only in its own name. Closed cases are kept 18 months, like audit results, then deleted.

Storage: SQLite (WAL) when a path is given (the supervisor's file, beside the DPA's registers), else in
memory; table `joint_cases` holds each case with its findings (JSON), so a restarted state has them back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from prum.services.common.clock import Clock
from prum.services.common.errors import (
    CapacityExhausted,
    IdentityMismatch,
    InvalidInput,
    NotAuthorised,
    UnknownReference,
    quote,
)
from prum.services.common.identity import is_state_code
from prum.services.supervisor.dpa import (
    AUDIT_RETENTION_MONTHS,
    _Register,
    add_months,
    read_moment,
    stored_moment,
)

#: The most findings a joint case holds: the whole case travels to the partner in one message
#: (`supervisor.v1.JointCase.findings`, at most 1000).
MAX_FINDINGS = 1000


class JointCaseKind(StrEnum):
    AUDIT = "AUDIT"  # a joint lawfulness check of a supply between the two states
    COMPLAINT = "COMPLAINT"  # a data subject's complaint concerning such a supply


class JointCaseStatus(StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"


@dataclass(frozen=True)
class JointFinding:
    """One DPA's finding; `id` is "<state>-<n>", so the two DPAs never give the same id."""

    id: str
    state: str
    text: str
    recorded_at: datetime


@dataclass(frozen=True)
class JointCase:
    """A case both DPAs hold (contract `JointCase`); `states` is (opener, partner)."""

    id: str
    kind: JointCaseKind
    states: tuple[str, str]
    subject: str
    request_id: str
    opened_at: datetime
    findings: tuple[JointFinding, ...] = ()
    status: JointCaseStatus = JointCaseStatus.OPEN
    closed_by: str = ""
    conclusion: str = ""
    closed_at: datetime | None = None

    @property
    def delete_after(self) -> datetime | None:
        """18 months after closing, like the results of an audit (AUD-1); never while open."""
        return add_months(self.closed_at, AUDIT_RETENTION_MONTHS) if self.closed_at else None

    def partner_of(self, state: str) -> str:
        return self.states[1] if state == self.states[0] else self.states[0]


def _text(value: str, field: str, why: str) -> str:
    if not value.strip():
        raise InvalidInput(f"is empty; {why}", field=field)
    return value.strip()


class JointCases(_Register):
    """The joint cases one state's DPA holds with other states' DPAs (AUD-1)."""

    prefix = "JC"
    schema = """CREATE TABLE IF NOT EXISTS joint_cases (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, opener TEXT NOT NULL, partner TEXT NOT NULL, subject TEXT NOT NULL,
        request_id TEXT NOT NULL, opened_at TEXT NOT NULL, findings TEXT NOT NULL, status TEXT NOT NULL,
        closed_by TEXT NOT NULL, conclusion TEXT NOT NULL, closed_at TEXT, delete_after TEXT);"""
    _COLUMNS = ("id, kind, opener, partner, subject, request_id, opened_at, findings, status, closed_by, conclusion, "
                "closed_at")

    def __init__(self, state: str, clock: Clock | None = None, path: str | Path | None = None) -> None:
        super().__init__(clock, path)
        self.state = state

    def _save(self, case: JointCase) -> JointCase:
        self._put("joint_cases", ("id",), {
            "id": case.id, "kind": case.kind.name, "opener": case.states[0], "partner": case.states[1],
            "subject": case.subject, "request_id": case.request_id, "opened_at": stored_moment(case.opened_at),
            "findings": json.dumps([[f.id, f.state, f.text, stored_moment(f.recorded_at)] for f in case.findings]),
            "status": case.status.name, "closed_by": case.closed_by, "conclusion": case.conclusion,
            "closed_at": stored_moment(case.closed_at), "delete_after": stored_moment(case.delete_after)})
        return case

    @staticmethod
    def _from_row(row: tuple) -> JointCase:  # type: ignore[type-arg]
        (case_id, kind, opener, partner, subject, request_id, opened_at, findings, status, closed_by, conclusion,
         closed_at) = row
        return JointCase(case_id, JointCaseKind[kind], (opener, partner), subject, request_id,
                         read_moment(opened_at),  # type: ignore[arg-type]
                         tuple(JointFinding(f_id, f_state, text, read_moment(at))  # type: ignore[arg-type]
                               for f_id, f_state, text, at in json.loads(findings)),
                         JointCaseStatus[status], closed_by, conclusion, read_moment(closed_at))

    def open(self, partner: str, kind: JointCaseKind | str, subject: str, request_id: str = "") -> JointCase:
        """Open a case with `partner`'s DPA; its id names this state, so it is unique in the federation."""
        if not is_state_code(partner) or partner == self.state:
            raise InvalidInput(f"{quote(partner)}; the partner is another member state's code, e.g. 'DE'",
                               field="partner_state")
        try:
            kind = JointCaseKind(kind)
        except ValueError:
            raise InvalidInput(f"{quote(kind)}; allowed: {', '.join(k.name for k in JointCaseKind)}",
                               field="kind") from None
        subject = _text(subject, "subject", "say what the joint case is about")
        with self._lock, self._write():
            case = JointCase(f"{self.prefix}-{self.state}-{self._next_id().split('-')[-1]}", kind,
                             (self.state, partner), subject, request_id.strip(), self.clock.now())
            return self._save(case)

    def add_finding(self, case_id: str, text: str) -> JointCase:
        """This DPA's finding on an open case."""
        text = _text(text, "text", "a finding says what was found")
        with self._lock, self._write():
            case = self._open_case(case_id)
            if len(case.findings) >= MAX_FINDINGS:
                raise CapacityExhausted(f"joint case {case_id} holds {MAX_FINDINGS} findings, the most a case carries "
                                        f"to the partner DPA; open another joint case for further findings")
            finding = JointFinding(f"{self.state}-{self._count('JF')}", self.state, text, self.clock.now())
            return self._save(replace(case, findings=(*case.findings, finding)))

    def close(self, case_id: str, conclusion: str) -> JointCase:
        """Close a case with this DPA's conclusion; the partner sees it closed once told."""
        conclusion = _text(conclusion, "conclusion", "a closed case says what was concluded")
        with self._lock, self._write():
            case = self._open_case(case_id)
            return self._save(replace(case, status=JointCaseStatus.CLOSED, closed_by=self.state,
                                      conclusion=conclusion, closed_at=self.clock.now()))

    def receive(self, origin: str, shared: JointCase) -> JointCase:
        """Merge the case as the partner `origin` holds it (its certificate checked by the caller)."""
        if self.state not in shared.states or origin not in shared.states or origin == self.state:
            raise NotAuthorised(f"the joint case {shared.id} is between {' and '.join(shared.states)}; "
                                f"{origin} cannot share it with {self.state}")
        if not shared.id.startswith(f"{self.prefix}-{shared.states[0]}-"):
            raise InvalidInput(f"{quote(shared.id)}: a joint case's id names the state that opened it "
                               f"({shared.states[0]})", field="joint_case.id")
        # The partner's times are kept as sent: each must be there (the register stores them NOT NULL, and
        # findings are ordered by them).
        if shared.opened_at is None:
            raise InvalidInput("is missing; a shared case says when it was opened", field="joint_case.opened_at")
        for position, finding in enumerate(shared.findings):
            if finding.recorded_at is None:
                raise InvalidInput("is missing; a shared finding says when it was recorded",
                                   field=f"joint_case.findings[{position}].recorded_at")
        with self._lock, self._write():
            held = self._held(shared.id)
            known = {f.id: f for f in held.findings} if held else {}
            for finding in shared.findings:
                if finding.id in known:
                    continue
                if finding.state != origin or not finding.id.startswith(f"{origin}-"):
                    raise IdentityMismatch(f"{origin} shared a finding in the name of {finding.state}; each DPA "
                                           f"adds findings in its own name only")
                known[finding.id] = finding
            merged = held or replace(shared, findings=())
            if merged.status is JointCaseStatus.OPEN and shared.status is JointCaseStatus.CLOSED:
                merged = replace(merged, status=JointCaseStatus.CLOSED, closed_by=shared.closed_by,
                                 conclusion=shared.conclusion, closed_at=shared.closed_at)
            findings = tuple(sorted(known.values(), key=lambda f: (f.recorded_at, f.id)))
            return self._save(replace(merged, findings=findings))

    def get(self, case_id: str) -> JointCase:
        with self._lock:
            return self._case(case_id)

    def list(self, partner: str | None = None) -> list[JointCase]:
        """The cases held (with `partner` only, if given), oldest first; those 18 months past closing are
        deleted first (AUD-1)."""
        self.purge()
        with self._lock:
            rows = self._db.execute(f"SELECT {self._COLUMNS} FROM joint_cases WHERE ? IS NULL OR ? IN (opener, partner)"
                                    f" ORDER BY opened_at, id", (partner, partner)).fetchall()
        return [self._from_row(row) for row in rows]

    def purge(self) -> int:
        """Delete closed cases 18 months after closing (AUD-1); returns how many went."""
        with self._lock, self._write():
            return self._db.execute("DELETE FROM joint_cases WHERE delete_after <= ?",
                                    (stored_moment(self.clock.now()),)).rowcount

    def _held(self, case_id: str) -> JointCase | None:
        row = self._db.execute(f"SELECT {self._COLUMNS} FROM joint_cases WHERE id = ?", (case_id,)).fetchone()
        return self._from_row(row) if row else None

    def _case(self, case_id: str) -> JointCase:
        case = self._held(case_id)
        if case is None:
            raise UnknownReference(f"case_id: {quote(case_id)} is no joint case of {self.state}'s DPA")
        return case

    def _open_case(self, case_id: str) -> JointCase:
        case = self._case(case_id)
        if case.status is JointCaseStatus.CLOSED:
            raise InvalidInput(f"{case_id} was closed by {case.closed_by}; a closed case takes no more changes",
                               field="case_id")
        return case
