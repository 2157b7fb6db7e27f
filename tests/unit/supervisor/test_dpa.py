"""The DPA's work: log requests within 4 weeks (LOG-7), sample audits kept 18 months (AUD-1), declarations
(DEC-1), data subjects' requests and their deadlines (SUB-1)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference
from prum.services.logger import GENESIS_HASH, EntryKind, LogEntry, MessageType, Outcome, ProtocolLog, Side
from prum.services.supervisor import (
    LOG_REQUEST_DEADLINE,
    Audits,
    Declaration,
    DeclarationKind,
    Declarations,
    LogRequests,
    Status,
    SubjectCaseKind,
    SubjectCases,
    add_months,
    check_lawfulness,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
AUTHORISED = {"NL-0001", "NL-0002"}


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def query(officer: str = "NL-0001", ordering: str = "NL-0100", reason: str = "burglary", **more: object) -> LogEntry:
    fields: dict[str, object] = dict(
        kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.QUERY, category=Category.DNA,
        side=Side.REQUESTING, logging_state="NL", requesting_state="NL", requested_state="DE",
        officer_id=officer, ordering_officer_id=ordering, reason=reason, data_supplied='{"loci":{}}')
    fields.update(more)
    return LogEntry.new(**fields)  # type: ignore[arg-type]


def receipt() -> LogEntry:
    """The file-managing side: officers of another state, so not checked against NL's list."""
    return LogEntry.new(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.QUERY, category=Category.DNA,
                        side=Side.FILE_MANAGING, logging_state="NL", requesting_state="BE", requested_state="NL",
                        officer_id="BE-7", reason="theft", data_supplied='{"loci":{}}')


# -- LOG-7 ---------------------------------------------------------------------------------------------


def test_a_log_request_is_due_four_weeks_later(clock: SimulatedClock) -> None:
    requests = LogRequests(clock)
    request = requests.open(since=START - timedelta(days=90), until=START)
    assert request.id == "LR-000001" and request.opened_at == START
    assert request.due_at == START + timedelta(weeks=4) == START + LOG_REQUEST_DEADLINE
    assert request.status is Status.OPEN
    clock.advance(timedelta(weeks=4))
    assert requests.get(request.id).status is Status.OPEN  # the last moment is still in time
    clock.advance(timedelta(seconds=1))
    assert requests.get(request.id).status is Status.OVERDUE
    assert [r.id for r in requests.list(Status.OVERDUE)] == [request.id]


def test_answering_records_the_entries_delivered(clock: SimulatedClock, tmp_path: Path) -> None:
    log = ProtocolLog(tmp_path / "nl.db", "NL", clock=clock)
    log.append_many([query(), query(), receipt()])
    requests = LogRequests(clock)
    request = requests.open()
    clock.advance(timedelta(days=3))
    answered = requests.answer(request.id, sum(1 for _ in log.export()))
    assert answered.status is Status.ANSWERED and answered.entries_delivered == 3
    assert answered.answered_at == START + timedelta(days=3) and not answered.answered_late
    clock.advance(timedelta(weeks=8))
    assert requests.get(request.id).status is Status.ANSWERED  # answered in time stays answered
    with pytest.raises(Duplicate):
        requests.answer(request.id, 3)
    log.close()


def test_a_late_answer_is_answered_but_marked_late(clock: SimulatedClock) -> None:
    requests = LogRequests(clock)
    request = requests.open()
    clock.advance(timedelta(weeks=5))
    answered = requests.answer(request.id, 10)
    assert answered.status is Status.ANSWERED and answered.answered_late


def test_log_request_errors(clock: SimulatedClock) -> None:
    requests = LogRequests(clock)
    with pytest.raises(UnknownReference):
        requests.answer("LR-999999", 1)
    with pytest.raises(InvalidInput) as refused:
        requests.answer(requests.open().id, -1)
    assert refused.value.field == "entries_delivered"
    with pytest.raises(InvalidInput) as refused:
        requests.open(since=START, until=START - timedelta(days=1))
    assert refused.value.field == "since"


# -- AUD-1 ---------------------------------------------------------------------------------------------


def test_lawfulness_of_one_entry() -> None:
    sealed = query().sealed(1, START, GENESIS_HASH)
    assert check_lawfulness(sealed, AUTHORISED) == []
    assert check_lawfulness(query(officer="NL-0666").sealed(2, START, GENESIS_HASH), AUTHORISED) == [
        "officer 'NL-0666' is not on the list of specially authorised officers (SEC-2)"]
    unlogged = query(officer="", ordering="", reason="", data_supplied="").sealed(3, START, GENESIS_HASH)
    assert check_lawfulness(unlogged, AUTHORISED) == [
        "the data supplied is not recorded (LOG-2)", "no officer who ran the query (LOG-2)",
        "no officer who ordered the query (LOG-2)", "no reason for the query (LOG-2)"]
    assert check_lawfulness(receipt().sealed(4, START, GENESIS_HASH), AUTHORISED) == []
    assert check_lawfulness(receipt(), AUTHORISED) == ["no date and time of the exchange (LOG-2)"]
    follow_up = LogEntry.new(kind=EntryKind.NON_AUTOMATED_SUPPLY, message_type=MessageType.FOLLOW_UP_REPLY,
                             category=Category.DNA, side=Side.FILE_MANAGING, logging_state="NL",
                             requesting_state="BE", requested_state="NL", data_supplied='{"p":1}',
                             outcome=Outcome.NONE).sealed(5, START, GENESIS_HASH)
    assert check_lawfulness(follow_up, AUTHORISED) == ["no reason for the non-automated exchange (LOG-3)"]


def test_an_audit_samples_with_a_seed_and_flags_findings(clock: SimulatedClock, tmp_path: Path) -> None:
    log = ProtocolLog(tmp_path / "nl.db", "NL", clock=clock)
    log.append_many([query() if i % 5 else query(officer="NL-0666") for i in range(40)] + [receipt()] * 10)
    entries = list(log.export())
    audits = Audits(clock)
    audit = audits.run(entries, sample_size=20, seed=2008, authorised_officers=AUTHORISED)
    again = audits.run(entries, sample_size=20, seed=2008, authorised_officers=AUTHORISED)
    assert audit.sequences == again.sequences and audit.id != again.id  # reproducible with the seed
    assert audits.run(entries, 20, 7, AUTHORISED).sequences != audit.sequences
    assert audit.sampled == 20 and audit.population == 50 and len(set(audit.sequences)) == 20
    unauthorised = {e.sequence for e in entries if e.officer_id == "NL-0666"}
    expected = sorted(set(audit.sequences) & unauthorised)
    assert expected, "the seed should draw at least one unauthorised query"
    assert [f.sequence for f in audit.findings] == expected
    assert all("NL-0666" in f.problem and "SEC-2" in f.problem for f in audit.findings)
    log.close()


def test_a_sample_larger_than_the_log_takes_every_entry(clock: SimulatedClock) -> None:
    entries = [query().sealed(i, START, GENESIS_HASH) for i in range(1, 4)]
    audit = Audits(clock).run(entries, sample_size=100, seed=1, authorised_officers=AUTHORISED)
    assert audit.sampled == 3 and audit.sequences == (1, 2, 3) and audit.findings == ()
    with pytest.raises(InvalidInput) as refused:
        Audits(clock).run(entries, sample_size=0, seed=1, authorised_officers=AUTHORISED)
    assert refused.value.field == "sample_size"


def test_audit_results_are_kept_18_months_then_deleted(clock: SimulatedClock) -> None:
    audits = Audits(clock)
    audit = audits.run([query().sealed(1, START, GENESIS_HASH)], 1, 1, AUTHORISED)
    assert audit.delete_after == datetime(2027, 7, 5, 9, 0, tzinfo=timezone.utc)
    clock.set(audit.delete_after - timedelta(seconds=1))
    assert audits.purge() == 0 and audits.get(audit.id) == audit
    clock.advance(timedelta(seconds=1))
    assert audits.purge() == 1
    assert audits.list() == []
    with pytest.raises(UnknownReference, match="18 months"):
        audits.get(audit.id)


def test_add_months_keeps_the_day_or_takes_the_months_last() -> None:
    assert add_months(datetime(2026, 8, 31, 12, tzinfo=timezone.utc), 18) == datetime(2028, 2, 29, 12,
                                                                                       tzinfo=timezone.utc)
    assert add_months(datetime(2026, 1, 31, tzinfo=timezone.utc), 1) == datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert add_months(datetime(2026, 11, 5, tzinfo=timezone.utc), 3) == datetime(2027, 2, 5, tzinfo=timezone.utc)


# -- DEC-1 ---------------------------------------------------------------------------------------------


def test_a_newer_declaration_replaces_the_older_of_the_same_kind_and_category(clock: SimulatedClock) -> None:
    declarations = Declarations(clock)
    declarations.file("NL", DeclarationKind.NATIONAL_FILE, Category.DNA, "CODIS NL, 300 000 profiles")
    declarations.file("NL", DeclarationKind.NATIONAL_FILE, Category.FINGERPRINT, "HAVANK")
    declarations.file("NL", DeclarationKind.CONTACT_POINT, None, "NFI / LIV, The Hague")
    declarations.file("DE", DeclarationKind.CONTACT_POINT, None, "BKA Wiesbaden")
    clock.advance(timedelta(days=10))
    newer = declarations.file("NL", "NATIONAL_FILE", "DNA", "DNA-databank NL, 330 000 profiles")
    assert newer.filed_at == START + timedelta(days=10)
    nl = declarations.list("NL")
    assert [(d.kind, d.category, d.text) for d in nl] == [
        (DeclarationKind.CONTACT_POINT, None, "NFI / LIV, The Hague"),
        (DeclarationKind.NATIONAL_FILE, Category.DNA, "DNA-databank NL, 330 000 profiles"),
        (DeclarationKind.NATIONAL_FILE, Category.FINGERPRINT, "HAVANK")]
    assert declarations.current("NL", DeclarationKind.NATIONAL_FILE, Category.DNA) == newer
    assert [d.state for d in declarations.list()] == ["DE", "NL", "NL", "NL"]


def test_declaration_errors(clock: SimulatedClock) -> None:
    declarations = Declarations(clock)
    with pytest.raises(InvalidInput) as refused:
        declarations.file("nl", DeclarationKind.CONTACT_POINT, None, "x")
    assert refused.value.field == "state"
    with pytest.raises(InvalidInput) as refused:
        declarations.file("NL", DeclarationKind.CONTACT_POINT, None, "  ")
    assert refused.value.field == "text"
    with pytest.raises(InvalidInput, match="allowed kinds"):
        declarations.file("NL", "EMBASSY", None, "x")


def test_an_announced_declaration_keeps_its_filing_time_and_the_last_filed_wins(clock: SimulatedClock) -> None:
    """DEC-1 across states: announcements may cross or repeat; each state keeps the declaration filed last."""
    at_nl, at_de = Declarations(clock), Declarations(SimulatedClock(START + timedelta(days=400)))
    first = at_nl.file("NL", DeclarationKind.CONTACT_POINT, None, "NFI / LIV, The Hague")
    clock.advance(timedelta(days=3))
    second = at_nl.file("NL", DeclarationKind.CONTACT_POINT, None, "DLIO, Zoetermeer")
    assert at_de.receive(second) == second  # the filing time is NL's, not DE's clock
    assert at_de.receive(first) == second  # an older announcement arriving late changes nothing
    assert at_de.receive(second) == second and at_de.list() == [second]  # the same one twice: idempotent
    with pytest.raises(InvalidInput, match="time zone"):
        at_de.receive(Declaration("NL", DeclarationKind.CONTACT_POINT, None, "x", datetime(2026, 1, 1)))
    with pytest.raises(InvalidInput) as refused:
        at_de.receive(Declaration("NL", DeclarationKind.CONTACT_POINT, None, " ", second.filed_at))
    assert refused.value.field == "text"


# -- SUB-1 ---------------------------------------------------------------------------------------------


def test_an_information_request_is_due_in_one_month_then_overdue(clock: SimulatedClock) -> None:
    cases = SubjectCases(clock)
    case = cases.open(SubjectCaseKind.INFORMATION, "Which of my data did NL supply abroad?", reference="NL-77",
                      category=Category.DNA)
    assert case.id == "SC-000001" and case.status is Status.OPEN
    assert case.due_at == datetime(2026, 2, 5, 9, 0, tzinfo=timezone.utc)
    clock.set(case.due_at)
    assert cases.get(case.id).status is Status.OPEN
    clock.advance(timedelta(minutes=1))
    assert cases.get(case.id).status is Status.OVERDUE
    answered = cases.answer(case.id, "Two supplies to DE, listed in the enclosure.")
    assert answered.status is Status.ANSWERED and answered.answered_at == clock.now()
    with pytest.raises(Duplicate):
        cases.answer(case.id, "again")


def test_a_complaint_has_three_months_and_deadlines_can_follow_national_law(clock: SimulatedClock) -> None:
    complaint = SubjectCases(clock).open("COMPLAINT", "My profile was searched without reason")
    assert complaint.due_at == datetime(2026, 4, 5, 9, 0, tzinfo=timezone.utc)
    dutch = SubjectCases(clock, deadline_months={SubjectCaseKind.INFORMATION: 2})
    assert dutch.open("INFORMATION", "inzage").due_at == datetime(2026, 3, 5, 9, 0, tzinfo=timezone.utc)


def test_each_kind_of_subject_request_and_the_open_list(clock: SimulatedClock) -> None:
    cases = SubjectCases(clock)
    opened = [cases.open(kind, f"request to {kind.name.lower()}") for kind in SubjectCaseKind]
    assert [c.kind for c in opened] == list(SubjectCaseKind)
    assert all(c.due_at > c.opened_at for c in opened)
    cases.answer(opened[0].id, "done")
    assert len(cases.list(Status.OPEN)) == 5 and len(cases.list(Status.ANSWERED)) == 1


def test_subject_case_errors(clock: SimulatedClock) -> None:
    cases = SubjectCases(clock)
    with pytest.raises(InvalidInput) as refused:
        cases.open("REVENGE", "x")
    assert refused.value.field == "kind"
    with pytest.raises(InvalidInput) as refused:
        cases.open(SubjectCaseKind.DELETION, " ")
    assert refused.value.field == "description"
    with pytest.raises(UnknownReference):
        cases.get("SC-404")
