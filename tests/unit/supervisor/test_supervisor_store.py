"""The supervisor's registers survive a restart (LOG-7, AUD-1, DEC-1, SUB-1, GATE-2): every record is written to
the state's SQLite file (WAL) and a supervisor reopened from the same path has the records back with their
deadlines, statuses, retention dates and id counters; the readiness book reopened from the federation file keeps
what happened since (a revocation is not undone by the file's first decisions)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prum.federation.runtime.launcher import readiness_from_file
from prum.federation.runtime.topology import load_federation
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import UnknownReference
from prum.services.logger import EntryKind, LogEntry, MessageType, ProtocolLog, Side
from prum.services.supervisor import (
    DeclarationKind,
    JointCaseKind,
    JointCaseStatus,
    ReadinessBook,
    ReadinessStep,
    Status,
    SubjectCaseKind,
)
from prum.services.supervisor.authority import SupervisoryAuthority

START = datetime(2026, 6, 1, 9, 0, tzinfo=timezone.utc)
MEMBERS = ["NL", "DE", "FR", "LU"]


def query(officer: str) -> LogEntry:
    return LogEntry.new(kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.QUERY, category=Category.DNA,
                        side=Side.REQUESTING, logging_state="NL", requesting_state="NL", requested_state="DE",
                        officer_id=officer, ordering_officer_id="NL-0100", reason="burglary",
                        data_supplied='{"loci":{}}')


def open_authority(folder: Path, clock: SimulatedClock) -> SupervisoryAuthority:
    return SupervisoryAuthority("NL", ReadinessBook(MEMBERS, clock, folder / "readiness.db"),
                                ProtocolLog(folder / "protocol-log.db", "NL", clock=clock), {"NL-0001"}, clock,
                                folder / "supervisor.db")


def close(authority: SupervisoryAuthority) -> None:
    authority.close()
    authority.readiness.close()
    authority.log.close()


def test_every_register_is_back_after_a_restart(tmp_path: Path) -> None:
    clock = SimulatedClock(START)
    before = open_authority(tmp_path, clock)
    before.log.append_many([query("NL-0001"), query("NL-9999")])
    request, _ = before.request_logs(None, None)
    pending = before.log_requests.open(START - timedelta(days=30), START)
    audit = before.run_audit(sample_size=5, seed=3)
    declaration = before.declarations.file("NL", DeclarationKind.NATIONAL_FILE, Category.DNA, "DNA-databank NL")
    received = before.declarations.receive(declaration.__class__(
        "DE", DeclarationKind.CONTACT_POINT, None, "BKA Wiesbaden", START - timedelta(days=2)))
    cases = {kind: before.subject_cases.open(kind, f"request to {kind.name.lower()}", reference="NL-77",
                                             category=Category.DNA)
             for kind in (SubjectCaseKind.BLOCKING, SubjectCaseKind.MARKING, SubjectCaseKind.COMPLAINT)}
    answered = before.subject_cases.answer(cases[SubjectCaseKind.MARKING].id, "marked as contested (ACC-1)")
    joint = before.joint_cases.open("DE", JointCaseKind.COMPLAINT, "NL-P-7 contests a DE hit", "req-42")
    joint = before.joint_cases.add_finding(joint.id, "NL's log has the query, officer authorised")
    closed = before.joint_cases.close(before.joint_cases.open("FR", JointCaseKind.AUDIT, "sample of May").id,
                                      "lawful")
    listed = (before.log_requests.list(), before.audits.list(), before.declarations.list(),
              before.subject_cases.list(), before.joint_cases.list())
    close(before)

    after = open_authority(tmp_path, clock)
    try:
        assert (after.log_requests.list(), after.audits.list(), after.declarations.list(),
                after.subject_cases.list(), after.joint_cases.list()) == listed
        assert after.log_requests.get(request.id).status is Status.ANSWERED
        assert after.log_requests.get(pending.id).due_at == START + timedelta(weeks=4)
        assert after.audits.get(audit.id).findings == audit.findings != ()  # NL-9999 is not authorised
        assert after.declarations.current("DE", DeclarationKind.CONTACT_POINT) == received
        assert after.subject_cases.get(answered.id).answer == "marked as contested (ACC-1)"
        assert after.joint_cases.get(joint.id).findings == joint.findings
        # Deadlines and statuses run on after the restart: the open requests turn overdue on time.
        clock.advance(timedelta(weeks=4, seconds=1))
        assert [r.id for r in after.log_requests.list(Status.OVERDUE)] == [pending.id]
        clock.set(cases[SubjectCaseKind.BLOCKING].due_at + timedelta(minutes=1))  # one month
        assert {c.id for c in after.subject_cases.list(Status.OVERDUE)} == {
            cases[SubjectCaseKind.BLOCKING].id}  # a complaint has three months
        # Ids go on from where they stopped, findings too: nothing is numbered twice.
        assert after.log_requests.open().id == "LR-000003"
        assert after.subject_cases.open("INFORMATION", "inzage").id == "SC-000004"
        assert after.joint_cases.add_finding(joint.id, "DE's reply logged").findings[-1].id == "NL-2"
        assert after.joint_cases.open("LU", JointCaseKind.AUDIT, "x").id == "JC-NL-000003"
        # Retention (AUD-1) is kept with each record: 18 months after the audit and after the case closed.
        clock.set(audit.delete_after)
        assert after.audits.purge() == 1 and after.audits.list() == []
        with pytest.raises(UnknownReference):
            after.audits.get(audit.id)
        assert closed.delete_after is not None
        clock.set(closed.delete_after)
        assert closed.id not in {c.id for c in after.joint_cases.list()}
        assert after.joint_cases.get(joint.id).status is JointCaseStatus.OPEN
    finally:
        close(after)


def test_the_registers_live_in_one_sqlite_file_in_wal_mode(tmp_path: Path) -> None:
    authority = open_authority(tmp_path, SimulatedClock(START))
    close(authority)
    db = sqlite3.connect(tmp_path / "supervisor.db")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert {"log_requests", "audits", "declarations", "subject_cases", "joint_cases", "counters"} <= tables
    finally:
        db.close()


def test_a_reopened_book_keeps_a_revocation_the_federation_file_does_not_know(tmp_path: Path) -> None:
    federation = load_federation()
    clock = SimulatedClock(START)
    state, category = next((s.code, Category[c]) for s in federation.states for c in s.ready)
    book = readiness_from_file(federation, clock, tmp_path / "readiness.db")
    book.revoke(state, category, "evaluation visit found no logging")
    candidate, missing = next((s.code, c) for s in federation.states for c in Category
                              if c.name in ("DNA", "FINGERPRINT", "VEHICLE") and c.name not in s.ready)
    book.record_step(candidate, missing, ReadinessStep.QUESTIONNAIRE_ANSWERED)
    book.close()
    reopened = readiness_from_file(federation, clock, tmp_path / "readiness.db")
    try:
        row = reopened.get(state, category)
        assert row.revoked and not reopened.is_ready(state, category)
        assert row.revocation_reason == "evaluation visit found no logging"
        assert reopened.get(candidate, missing).steps_done == (ReadinessStep.QUESTIONNAIRE_ANSWERED,)
    finally:
        reopened.close()
