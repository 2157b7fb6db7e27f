"""Retention of the protocol log (LOG-6): 2 years by default, NL keeps non-automated supplies 4 years, and the
chain stays verifiable after a purge (LOG-5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import InvalidInput
from prum.services.logger import (
    FOUR_YEARS,
    TWO_YEARS,
    EntryKind,
    LogEntry,
    MessageType,
    ProtocolLog,
    RetentionPolicy,
    Side,
)

START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


def automated(state: str = "NL", request_id: str = "r") -> LogEntry:
    return LogEntry.new(kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.REPLY, category=Category.DNA,
                        side=Side.FILE_MANAGING, logging_state=state, requesting_state="BE", requested_state=state,
                        request_id=request_id, data_supplied='{"references":[]}')


def follow_up(state: str = "NL", request_id: str = "f") -> LogEntry:
    """Evidence of supplied judicial data: the personal data behind a hit, supplied on a follow-up request."""
    return LogEntry.new(kind=EntryKind.NON_AUTOMATED_SUPPLY, message_type=MessageType.FOLLOW_UP_REPLY,
                        category=Category.DNA, side=Side.FILE_MANAGING, logging_state=state, requesting_state="BE",
                        requested_state=state, request_id=request_id, reason="MLA request 2026/17",
                        data_supplied='{"person":"…"}')


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


def open_log(tmp_path: Path, state: str, clock: SimulatedClock) -> ProtocolLog:
    return ProtocolLog(tmp_path / f"{state}.db", state, clock=clock)


@pytest.fixture
def nl(tmp_path: Path, clock: SimulatedClock) -> Iterator[ProtocolLog]:
    log = open_log(tmp_path, "NL", clock)
    yield log
    log.close()


@pytest.fixture
def de(tmp_path: Path, clock: SimulatedClock) -> Iterator[ProtocolLog]:
    log = open_log(tmp_path, "DE", clock)
    yield log
    log.close()


# -- the policy --------------------------------------------------------------------------------------


def test_default_policy_keeps_everything_two_years() -> None:
    policy = RetentionPolicy.for_state("DE")
    assert all(policy.period(kind) == TWO_YEARS for kind in EntryKind)
    assert TWO_YEARS == timedelta(days=730)


def test_the_netherlands_keeps_evidence_of_supplied_judicial_data_four_years() -> None:
    policy = RetentionPolicy.for_state("NL")
    assert policy.period(EntryKind.NON_AUTOMATED_SUPPLY) == FOUR_YEARS == timedelta(days=1461)
    assert policy.period(EntryKind.AUTOMATED_SUPPLY) == TWO_YEARS
    assert policy.period(EntryKind.NON_AUTOMATED_RECEIPT) == TWO_YEARS


def test_overrides_from_the_federation_file_by_kind_name() -> None:
    policy = RetentionPolicy.for_state("BE", {"NON_AUTOMATED_RECEIPT": 1095})
    assert policy.period(EntryKind.NON_AUTOMATED_RECEIPT) == timedelta(days=1095)
    assert policy.period(EntryKind.NON_AUTOMATED_SUPPLY) == TWO_YEARS


def test_an_unknown_kind_is_refused_with_the_allowed_names() -> None:
    with pytest.raises(InvalidInput, match="NON_AUTOMATED_SUPPLY") as refused:
        RetentionPolicy.for_state("BE", {"JUDICIAL": 1461})
    assert refused.value.field == "retention"


def test_no_period_may_be_shorter_than_two_years() -> None:
    with pytest.raises(InvalidInput, match="at least 2 years"):
        RetentionPolicy.for_state("BE", {"AUTOMATED_SUPPLY": 365})
    with pytest.raises(InvalidInput, match="at least 2 years"):
        RetentionPolicy(default=timedelta(days=729))


def test_a_log_takes_its_states_policy_by_default(tmp_path: Path, clock: SimulatedClock) -> None:
    log = open_log(tmp_path, "NL", clock)
    assert log.retention == RetentionPolicy.for_state("NL")
    log.close()


# -- purge at 2 years --------------------------------------------------------------------------------


def test_an_entry_is_kept_until_two_years_and_purged_right_after(de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append(automated("DE"))
    clock.advance(TWO_YEARS - timedelta(seconds=1))
    report = de.purge()
    assert report.removed == 0 and de.stats().entries == 1
    clock.advance(timedelta(seconds=1))
    report = de.purge()
    assert report.removed == 1
    assert report.removed_by_kind[EntryKind.AUTOMATED_SUPPLY] == 1
    assert report.removed_by_kind[EntryKind.NON_AUTOMATED_SUPPLY] == 0
    assert de.stats().entries == 0 and de.query() == []


def test_outside_nl_a_follow_up_supply_also_goes_after_two_years(de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append(follow_up("DE"))
    clock.advance(TWO_YEARS)
    assert de.purge().removed_by_kind[EntryKind.NON_AUTOMATED_SUPPLY] == 1


def test_only_old_entries_go(de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append_many([automated("DE", "old-1"), automated("DE", "old-2")])
    clock.advance(timedelta(days=400))
    de.append(automated("DE", "young"))
    clock.advance(timedelta(days=330))
    assert de.purge().removed == 2
    assert [e.request_id for e in de.query()] == ["young"]


def test_dry_run_reports_without_removing(de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append_many([automated("DE"), follow_up("DE")])
    clock.advance(TWO_YEARS + timedelta(days=1))
    report = de.purge(dry_run=True)
    assert report.dry_run and report.removed == 2
    assert de.stats().entries == 2
    assert de.purge().removed == 2 and de.stats().entries == 0


# -- NL: 4 years for non-automated supplies ----------------------------------------------------------


def test_nl_keeps_non_automated_supplies_four_years(nl: ProtocolLog, clock: SimulatedClock) -> None:
    nl.append_many([automated(), follow_up(), automated()])
    clock.advance(TWO_YEARS)
    report = nl.purge()
    assert report.removed == 2 and report.removed_by_kind[EntryKind.NON_AUTOMATED_SUPPLY] == 0
    assert [e.kind for e in nl.query()] == [EntryKind.NON_AUTOMATED_SUPPLY]
    clock.set(START + FOUR_YEARS - timedelta(microseconds=1))
    assert nl.purge().removed == 0
    clock.advance(timedelta(microseconds=1))
    report = nl.purge()
    assert report.removed_by_kind == {EntryKind.AUTOMATED_SUPPLY: 0, EntryKind.AUTOMATED_RECEIPT: 0,
                                      EntryKind.NON_AUTOMATED_SUPPLY: 1, EntryKind.NON_AUTOMATED_RECEIPT: 0}
    assert nl.stats().entries == 0


# -- the chain after a purge -------------------------------------------------------------------------


def test_the_chain_verifies_after_a_purge_and_new_entries_continue_it(de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append_many([automated("DE", f"r{i}") for i in range(5)])
    clock.advance(timedelta(days=100))
    de.append_many([automated("DE", f"s{i}") for i in range(3)])
    clock.advance(TWO_YEARS - timedelta(days=50))
    assert de.purge().removed == 5
    result = de.verify()
    assert result.intact and result.entries_checked == 3
    last = de.stats()
    appended = de.append(automated("DE", "after"))
    assert appended.sequence == 9 and appended.previous_hash == last.last_hash
    assert de.verify().intact


def test_a_checkpoint_records_the_last_removed_entry(tmp_path: Path, de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append_many([automated("DE", f"r{i}") for i in range(4)])
    clock.advance(timedelta(days=1))
    fifth = de.append(automated("DE", "fifth"))
    clock.advance(TWO_YEARS)
    de.append(automated("DE", "young"))
    clock.advance(timedelta(hours=1))
    assert de.purge().removed == 5
    raw = sqlite3.connect(tmp_path / "DE.db")
    assert raw.execute("SELECT sequence, hash FROM checkpoint").fetchall() == [(5, fifth.hash)]
    assert raw.execute("SELECT COUNT(*) FROM tombstones").fetchone()[0] == 0  # folded into the checkpoint
    raw.close()
    assert [e.request_id for e in de.query()] == ["young"]
    assert de.verify().intact


def test_a_log_purged_empty_still_verifies_and_chains_on(de: ProtocolLog, clock: SimulatedClock) -> None:
    written = de.append_many([automated("DE") for _ in range(3)])
    clock.advance(TWO_YEARS)
    de.purge()
    assert de.verify().intact and de.verify().entries_checked == 0
    appended = de.append(automated("DE"))
    assert appended.sequence == 4 and appended.previous_hash == written[-1].hash
    assert de.verify().intact


def test_nl_chain_verifies_across_the_gaps_left_by_a_partial_purge(nl: ProtocolLog, clock: SimulatedClock) -> None:
    nl.append_many([automated(), follow_up(), automated(), automated(), follow_up(), automated()])
    clock.advance(TWO_YEARS)
    nl.append(automated(request_id="young"))
    assert nl.purge().removed == 4
    assert [e.sequence for e in nl.query()] == [2, 5, 7]
    result = nl.verify()
    assert result.intact, result.violations
    clock.advance(FOUR_YEARS - TWO_YEARS)
    nl.purge()
    assert [e.sequence for e in nl.query()] == []
    assert nl.verify().intact


def test_a_middle_entry_deleted_after_a_purge_is_still_detected(
        tmp_path: Path, nl: ProtocolLog, clock: SimulatedClock) -> None:
    nl.append_many([automated(), follow_up(), automated(), automated()])
    clock.advance(TWO_YEARS)
    nl.append_many([automated(request_id="young-1"), automated(request_id="young-2"),
                    automated(request_id="young-3")])
    nl.purge()
    assert nl.verify().intact
    raw = sqlite3.connect(tmp_path / "NL.db", isolation_level=None)
    raw.execute("DROP TRIGGER entries_deleted_only_by_purge")
    raw.execute("DELETE FROM entries WHERE sequence = 6")
    raw.close()
    result = nl.verify()
    assert not result.intact
    assert result.violations == [(6, "entry 6 is missing before entry 7: deleted outside a retention purge")]


def test_a_later_purge_does_not_erase_the_evidence_of_a_deletion(
        tmp_path: Path, de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append_many([automated("DE", f"r{i}") for i in range(5)])
    clock.advance(timedelta(days=1))
    de.append(automated("DE", "young"))
    raw = sqlite3.connect(tmp_path / "DE.db", isolation_level=None)
    raw.execute("DROP TRIGGER entries_deleted_only_by_purge")
    raw.execute("DELETE FROM entries WHERE sequence = 3")
    raw.close()
    clock.advance(TWO_YEARS - timedelta(hours=1))
    assert de.purge().removed == 4  # 1, 2, 4, 5: the retention purge itself
    (violation,) = de.verify().violations
    assert violation[0] == 3 and "entry 3 is missing" in violation[1]


def test_the_purge_cannot_be_imitated_by_a_raw_delete(tmp_path: Path, de: ProtocolLog, clock: SimulatedClock) -> None:
    de.append_many([automated("DE") for _ in range(3)])
    raw = sqlite3.connect(tmp_path / "DE.db")
    with pytest.raises(sqlite3.DatabaseError, match="only the retention purge deletes entries"):
        raw.execute("DELETE FROM entries WHERE sequence = 1")
    raw.close()
    assert de.stats().entries == 3


def test_a_purged_entry_restored_from_a_backup_is_detected(
        tmp_path: Path, nl: ProtocolLog, clock: SimulatedClock) -> None:
    nl.append_many([follow_up(), automated(request_id="purged"), follow_up()])
    backup = sqlite3.connect(tmp_path / "NL.db").execute("SELECT * FROM entries WHERE sequence = 2").fetchone()
    clock.advance(TWO_YEARS)
    assert nl.purge().removed == 1
    raw = sqlite3.connect(tmp_path / "NL.db", isolation_level=None)
    assert raw.execute("SELECT sequence FROM tombstones").fetchall() == [(2,)]
    raw.execute(f"INSERT INTO entries VALUES ({', '.join('?' * len(backup))})", backup)
    raw.close()
    (violation,) = nl.verify().violations
    assert violation[0] == 2 and "retention purge removed it" in violation[1]
