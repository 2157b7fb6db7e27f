"""The Art 30 protocol log: sequence and hash chain (LOG-5), durability (LOG-4), validation (LOG-2, LOG-3),
queries and export (LOG-7), tamper detection (LOG-5)."""

from __future__ import annotations

import hashlib
import itertools
import json
import sqlite3
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from enum import Enum
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import InvalidInput
from prum.services.common.purpose import SearchPurpose
from prum.services.logger import (
    GENESIS_HASH,
    EntryKind,
    LogEntry,
    MessageType,
    Outcome,
    ProtocolLog,
    Side,
    validate_entry,
)
from prum.services.logger.entry import CanonicalJson, canonical_data, canonical_json

START = datetime(2026, 1, 5, 9, 0, 0, 123456, tzinfo=timezone.utc)


def query_entry(**overrides: object) -> LogEntry:
    """A requesting-side automated query, as NL's contact point logs it before sending it to DE."""
    fields: dict[str, object] = dict(
        kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.QUERY, category=Category.DNA,
        side=Side.REQUESTING, logging_state="NL", requesting_state="NL", requested_state="DE",
        request_id="req-1", officer_id="NL-0001", ordering_officer_id="NL-0100", reason="burglary Utrecht",
        case_reference="2026/123", data_supplied='{"loci": {"TH01": ["6", "9.3"]}}')
    fields.update(overrides)
    return LogEntry.new(**fields)  # type: ignore[arg-type]


def reply_entry(**overrides: object) -> LogEntry:
    """A file-managing-side reply: DE logs what it supplied to NL."""
    fields: dict[str, object] = dict(
        kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.REPLY, category=Category.DNA,
        side=Side.FILE_MANAGING, logging_state="DE", requesting_state="NL", requested_state="DE",
        request_id="req-1", reply_id="rep-1", data_supplied='{"references": ["DE-1"]}', outcome=Outcome.HIT,
        hit_count=1)
    fields.update(overrides)
    return LogEntry.new(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "protocol-log.db"


@pytest.fixture
def log(path: Path, clock: SimulatedClock) -> ProtocolLog:
    opened = ProtocolLog(path, "NL", clock=clock)
    yield opened  # type: ignore[misc]
    opened.close()


def fill(log: ProtocolLog, clock: SimulatedClock, count: int) -> list[LogEntry]:
    written = []
    for index in range(count):
        written.append(log.append(query_entry(request_id=f"req-{index + 1}")))
        clock.advance(timedelta(seconds=1))
    return written


def tamper(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    """What someone with the database file can do: drop the append-only triggers, then change rows."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS entries_never_updated")
    db.execute("DROP TRIGGER IF EXISTS entries_deleted_only_by_purge")
    for statement in statements:
        db.execute(statement, params if "?" in statement else ())
    db.close()


# -- sequence and chain (LOG-5) ------------------------------------------------------------------------


def test_sequence_starts_at_one_and_chains_from_genesis(log: ProtocolLog, clock: SimulatedClock) -> None:
    first, second, third = fill(log, clock, 3)
    assert [first.sequence, second.sequence, third.sequence] == [1, 2, 3]
    assert first.previous_hash == GENESIS_HASH
    assert second.previous_hash == first.hash and third.previous_hash == second.hash
    assert all(len(e.hash) == 64 and e.hash == e.compute_hash() for e in (first, second, third))
    assert len({first.hash, second.hash, third.hash}) == 3


def test_recorded_at_comes_from_the_clock_with_microseconds(log: ProtocolLog, clock: SimulatedClock) -> None:
    entry = log.append(query_entry())
    assert entry.recorded_at == START
    (stored,) = log.query()
    assert stored.recorded_at == START and stored.recorded_at.microsecond == 123456
    assert stored == entry


def test_append_many_is_one_run_of_consecutive_sequences(log: ProtocolLog) -> None:
    log.append(query_entry())
    written = log.append_many([query_entry(request_id=f"r{i}") for i in range(4)])
    assert [e.sequence for e in written] == [2, 3, 4, 5]
    assert all(later.previous_hash == earlier.hash for earlier, later in itertools.pairwise(written))
    assert log.append_many([]) == []


def test_append_many_writes_nothing_if_one_entry_is_invalid(log: ProtocolLog) -> None:
    with pytest.raises(InvalidInput):
        log.append_many([query_entry(), query_entry(officer_id="")])
    assert log.stats().entries == 0


@pytest.mark.parametrize("field, value", [
    ("reason", "another reason"), ("officer_id", "NL-0002"), ("data_supplied", '{"loci":{}}'),
    ("requested_state", "FR"), ("hit_count", 2), ("outcome", Outcome.FAILED), ("category", Category.VEHICLE),
])
def test_the_hash_covers_every_field(field: str, value: object) -> None:
    sealed = query_entry().sealed(1, START, GENESIS_HASH)
    assert replace(sealed, **{field: value}).compute_hash() != sealed.hash
    assert replace(sealed, previous_hash="f" * 64).compute_hash() != sealed.hash
    assert replace(sealed, sequence=2).compute_hash() != sealed.hash
    assert replace(sealed, recorded_at=START + timedelta(microseconds=1)).compute_hash() != sealed.hash


def reference_canonical(entry: LogEntry) -> bytes:
    """The hashed form as the contract describes it: canonical JSON of every field but `hash`, enums by name, the
    purpose only when it is not a criminal investigation."""
    fields = {name: getattr(entry, name) for name in entry.__dataclass_fields__ if name != "hash"}
    if fields["purpose"] is SearchPurpose.CRIMINAL_INVESTIGATION:
        del fields["purpose"]
    fields["recorded_at"] = entry.recorded_at.isoformat(timespec="microseconds") if entry.recorded_at else ""
    fields = {name: value.name if isinstance(value, Enum) else value for name, value in fields.items()}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(text=st.text(), other=st.text(alphabet=st.characters(codec="utf-8")), count=st.integers(0, 2**40),
       sequence=st.integers(1, 2**62), odd=st.sampled_from([None, True, 1.5, "7"]))
def test_the_hashed_form_is_canonical_json_byte_for_byte(text: str, other: str, count: int, sequence: int,
                                                         odd: object) -> None:
    """The template that builds the hashed form (LOG-4 throughput) writes what json.dumps writes, for any
    text, and falls back to json.dumps for values of another type (a tampered row read back)."""
    entry = query_entry(reason=text, officer_id=other, case_reference=text + other, data_supplied=other,
                        hit_count=count).sealed(sequence, START, "a" * 64)
    assert entry.canonical() == reference_canonical(entry)
    assert entry.hash == hashlib.sha256(reference_canonical(entry)).hexdigest()
    odd_entry = replace(entry, hit_count=odd)
    assert odd_entry.canonical() == reference_canonical(odd_entry)
    missing = replace(entry, purpose=SearchPurpose.MISSING_PERSON)
    assert missing.canonical() == reference_canonical(missing) and b'"purpose":"MISSING_PERSON"' in missing.canonical()


def test_data_supplied_is_stored_as_canonical_json(log: ProtocolLog) -> None:
    entry = log.append(query_entry(data_supplied='{ "b": 1,  "a": [2, 3] }'))
    assert entry.data_supplied == '{"a":[2,3],"b":1}'
    assert json.loads(entry.data_supplied) == {"a": [2, 3], "b": 1}


def test_data_a_service_wrote_with_canonical_json_is_kept_as_written_and_chains_the_same(log: ProtocolLog) -> None:
    """The answering services write their data with `canonical_json`; the logger takes that text without parsing it
    again, and the entry is the one plain text of the same content gives, hash included (LOG-5)."""
    data = {"vin": "WVWZZZ1JZXW000001", "at": datetime(2026, 11, 29, tzinfo=timezone.utc), "ß": ["ü", 1.5]}
    written = canonical_json(data)
    assert type(written) is CanonicalJson and canonical_data(written) is written
    assert written == '{"at":"2026-11-29 00:00:00+00:00","vin":"WVWZZZ1JZXW000001","ß":["ü",1.5]}'
    kept = log.append(query_entry(data_supplied=written, request_id="typed"))
    plain = log.append(query_entry(data_supplied=str(written), request_id="typed"))
    assert kept.data_supplied == plain.data_supplied == written
    assert kept.hash == kept.compute_hash() and plain.hash == plain.compute_hash()
    assert [e.data_supplied for e in log.query(request_id="typed")] == [written, written]
    assert log.verify().intact


def test_concurrent_appends_keep_one_unbroken_chain(log: ProtocolLog) -> None:
    def worker(number: int) -> None:
        for index in range(25):
            log.append(query_entry(request_id=f"t{number}-{index}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    entries = list(log.export())
    assert [e.sequence for e in entries] == list(range(1, 201))
    assert log.verify().intact


def test_a_leader_hands_the_lead_on_and_waits_for_no_commit_but_its_own(log: ProtocolLog,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a steady stream of appends, the caller that led a commit returns once that commit is on disk: the
    batches that arrived meanwhile are written by one of their own callers, in the next commit (LOG-4)."""
    write = log._write
    writers: list[tuple[str, int]] = []
    writing = threading.Event()

    def slow_write(groups: list) -> list:  # type: ignore[type-arg]
        writers.append((threading.current_thread().name, len(groups)))
        writing.set()
        threading.Event().wait(0.15)  # the fsync of a slow disk
        return write(groups)

    monkeypatch.setattr(log, "_write", slow_write)
    returned: dict[str, float] = {}

    def caller(name: str) -> None:
        log.append(query_entry(request_id=name))
        returned[name] = len(writers)  # commits begun by the time this caller got its answer

    first = threading.Thread(target=caller, args=("first",), name="first")
    first.start()
    writing.wait(5)
    later = [threading.Thread(target=caller, args=(f"later-{n}",), name=f"later-{n}") for n in range(3)]
    for thread in later:  # they arrive while the first commit is under way
        thread.start()
    first.join(5)
    for thread in later:
        thread.join(5)
    assert writers[0] == ("first", 1) and len(writers) == 2
    assert writers[1][0].startswith("later-") and writers[1][1] == 3  # one of them led the three
    assert returned["first"] <= 2  # the first caller did not stay to write the later batches
    assert [e.sequence for e in log.export()] == [1, 2, 3, 4] and log.verify().intact


# -- durability (LOG-4) --------------------------------------------------------------------------------


def test_wal_mode_and_synchronous_full(log: ProtocolLog, path: Path) -> None:
    assert log.pragma("journal_mode") == "wal"
    assert log.pragma("synchronous") == 2  # FULL
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file
    raw.close()


def test_a_second_log_on_the_same_file_sees_every_entry_and_continues_the_chain(
        log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    written = fill(log, clock, 3)
    other = ProtocolLog(path, "NL", clock=clock)
    try:
        assert other.query() == written
        fourth = other.append(query_entry(request_id="from-the-other"))
        assert fourth.sequence == 4 and fourth.previous_hash == written[-1].hash
        assert log.stats().last_sequence == 4
        assert other.verify().intact and log.verify().intact
    finally:
        other.close()


def test_an_entry_survives_a_kill_right_after_append_returns(path: Path) -> None:
    child = textwrap.dedent(f"""
        import os, signal
        from prum.services.common.category import Category
        from prum.services.logger import EntryKind, LogEntry, MessageType, ProtocolLog, Side
        log = ProtocolLog({str(path)!r}, "DE")
        for i in range(5):
            log.append(LogEntry.new(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.QUERY,
                category=Category.VEHICLE, side=Side.FILE_MANAGING, logging_state="DE", requesting_state="NL",
                requested_state="DE", request_id=f"r{{i}}", data_supplied='{{"vin": "WVWZZZ1JZXW000001"}}'))
        print("appended", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no close, no checkpoint: only what is durable survives
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=60)
    assert "appended" in result.stdout, result.stderr
    assert result.returncode == -9
    reopened = ProtocolLog(path, "DE")
    try:
        assert [e.request_id for e in reopened.export()] == [f"r{i}" for i in range(5)]
        assert reopened.verify().intact
    finally:
        reopened.close()


def test_a_log_file_belongs_to_one_state(log: ProtocolLog, path: Path) -> None:
    with pytest.raises(InvalidInput, match="protocol log of NL, not of DE"):
        ProtocolLog(path, "DE")
    with pytest.raises(InvalidInput) as refused:
        ProtocolLog(path.with_name("other.db"), "nl")
    assert refused.value.field == "state"


def test_an_in_memory_log_works_the_same(clock: SimulatedClock) -> None:
    memory = ProtocolLog(":memory:", "NL", clock=clock)
    written = memory.append_many([query_entry(), query_entry()])
    assert [e.sequence for e in memory.export()] == [1, 2] and written[1].previous_hash == written[0].hash
    assert memory.verify().intact and memory.verify().entries_checked == 2
    memory.close()


# -- validation (LOG-2, LOG-3) -------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["reason", "officer_id", "ordering_officer_id"])
def test_a_requesting_side_query_needs_reason_and_both_officers(log: ProtocolLog, field: str) -> None:
    with pytest.raises(InvalidInput, match="LOG-2") as refused:
        log.append(query_entry(**{field: "  "}))
    assert refused.value.field == field
    assert log.stats().entries == 0


@pytest.mark.parametrize("field", ["requesting_state", "requested_state"])
@pytest.mark.parametrize("value", ["", "nl", "NLD", "N1"])
def test_both_state_codes_are_always_required(field: str, value: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_entry(reply_entry(**{field: value}))
    assert refused.value.field == field


def test_the_file_managing_side_logs_without_officers() -> None:
    validate_entry(reply_entry(officer_id="", ordering_officer_id="", reason=""))


@pytest.mark.parametrize("kind", [EntryKind.NON_AUTOMATED_SUPPLY, EntryKind.NON_AUTOMATED_RECEIPT])
@pytest.mark.parametrize("field", ["reason", "data_supplied"])
def test_a_non_automated_exchange_needs_reason_and_data(kind: EntryKind, field: str) -> None:
    entry = reply_entry(kind=kind, message_type=MessageType.FOLLOW_UP_REPLY,
                        **{"reason": "MLA request 2026/9", field: ""})
    validate_entry(replace(entry, **{field: "\"present\""}))
    with pytest.raises(InvalidInput, match="LOG-3") as refused:
        validate_entry(entry)
    assert refused.value.field == field


@pytest.mark.parametrize("field, value", [("sequence", 7), ("recorded_at", START), ("previous_hash", "ab"),
                                          ("hash", "cd")])
def test_the_logger_alone_sets_sequence_time_and_hashes(log: ProtocolLog, field: str, value: object) -> None:
    with pytest.raises(InvalidInput, match="set by the logger") as refused:
        log.append(replace(query_entry(), **{field: value}))
    assert refused.value.field == field


def test_an_entry_for_another_states_log_is_refused(log: ProtocolLog) -> None:
    with pytest.raises(InvalidInput, match="protocol log of NL") as refused:
        log.append(reply_entry())  # DE's entry
    assert refused.value.field == "logging_state"


def test_the_logging_state_must_be_on_its_side_of_the_exchange() -> None:
    with pytest.raises(InvalidInput, match="REQUESTING side") as refused:
        validate_entry(query_entry(requesting_state="FR"))
    assert refused.value.field == "logging_state"


def test_data_supplied_must_be_json(log: ProtocolLog) -> None:
    with pytest.raises(InvalidInput, match="not JSON") as refused:
        log.append(query_entry(data_supplied="TH01=6,9.3"))
    assert refused.value.field == "data_supplied"


def test_an_empty_logging_state_is_filled_in_with_the_logs_state(log: ProtocolLog) -> None:
    entry = log.append(query_entry(logging_state=""))
    assert entry.logging_state == "NL"


# -- query, export, stats ------------------------------------------------------------------------------


def test_query_filters_and_pages(log: ProtocolLog, clock: SimulatedClock) -> None:
    fill(log, clock, 5)
    log.append(query_entry(request_id="req-v", category=Category.VEHICLE))
    log.append(query_entry(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.REPLY, request_id="req-2",
                           outcome=Outcome.NO_HIT))
    assert [e.sequence for e in log.query(request_id="req-2")] == [2, 7]
    assert [e.sequence for e in log.query(kind=EntryKind.AUTOMATED_RECEIPT)] == [7]
    assert [e.sequence for e in log.query(category=Category.VEHICLE)] == [6]
    assert [e.sequence for e in log.query(after_sequence=2, limit=2)] == [3, 4]
    # since inclusive, until exclusive
    window = log.query(since=START + timedelta(seconds=1), until=START + timedelta(seconds=3))
    assert [e.sequence for e in window] == [2, 3]


@pytest.mark.parametrize("arguments, field", [({"limit": 0}, "limit"), ({"limit": 10_001}, "limit"),
                                              ({"after_sequence": -1}, "after_sequence"),
                                              ({"since": datetime(2026, 1, 1)}, "since")])
def test_query_refuses_bad_arguments(log: ProtocolLog, arguments: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        log.query(**arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_export_streams_every_entry_in_sequence_order_across_pages(log: ProtocolLog) -> None:
    log.append_many([query_entry(request_id=f"r{i}") for i in range(1203)])
    exported = log.export()
    assert next(exported).sequence == 1  # a generator: the DPA's copy is streamed
    assert [e.sequence for e in exported] == list(range(2, 1204))


def test_stats_count_per_kind_and_name_the_head(log: ProtocolLog, clock: SimulatedClock) -> None:
    fill(log, clock, 2)
    last = log.append(query_entry(kind=EntryKind.AUTOMATED_RECEIPT, message_type=MessageType.REPLY))
    stats = log.stats()
    assert stats.entries == 3
    assert stats.entries_by_kind[EntryKind.AUTOMATED_SUPPLY] == 2
    assert stats.entries_by_kind[EntryKind.AUTOMATED_RECEIPT] == 1
    assert stats.entries_by_kind[EntryKind.NON_AUTOMATED_SUPPLY] == 0
    assert (stats.last_sequence, stats.last_hash) == (3, last.hash)


def test_an_empty_log(log: ProtocolLog) -> None:
    stats = log.stats()
    assert (stats.entries, stats.last_sequence, stats.last_hash) == (0, 0, GENESIS_HASH)
    assert log.verify().intact and log.verify().entries_checked == 0
    assert list(log.export()) == []


# -- tampering (LOG-5) ---------------------------------------------------------------------------------


def test_a_clean_log_verifies_intact(log: ProtocolLog, clock: SimulatedClock) -> None:
    fill(log, clock, 6)
    result = log.verify()
    assert result.intact and result.entries_checked == 6 and result.violations == []


def test_the_database_itself_refuses_updates_and_deletes(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 3)
    raw = sqlite3.connect(path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("UPDATE entries SET reason = 'x' WHERE sequence = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        raw.execute("DELETE FROM entries WHERE sequence = 2")
    raw.close()
    assert log.verify().intact


def test_an_edited_entry_is_detected_at_its_sequence(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 5)
    tamper(path, "UPDATE entries SET officer_id = 'NL-9999' WHERE sequence = 3")
    result = log.verify()
    assert not result.intact
    assert result.violations == [(3, "the entry's content does not match its hash: it was edited, or moved from "
                                     "another position")]
    assert result.entries_checked == 5


def test_an_edit_with_a_recomputed_hash_breaks_the_link_to_the_next_entry(
        log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    written = fill(log, clock, 5)
    forged = replace(written[2], officer_id="NL-9999", hash="")
    forged = replace(forged, hash=forged.compute_hash())
    tamper(path, "UPDATE entries SET officer_id = ?, hash = ? WHERE sequence = 3", params=("NL-9999", forged.hash))
    (violation,) = log.verify().violations
    assert violation[0] == 4 and "does not chain to entry 3" in violation[1]


def test_rewriting_the_last_entry_is_caught_at_the_head(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    written = fill(log, clock, 3)
    forged = replace(written[2], reason="routine check", hash="")
    forged = replace(forged, hash=forged.compute_hash())
    tamper(path, "UPDATE entries SET reason = ?, hash = ? WHERE sequence = 3", params=("routine check", forged.hash))
    (violation,) = log.verify().violations
    assert violation[0] == 3 and "recorded at the head" in violation[1]


def test_a_deleted_middle_entry_is_detected(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 5)
    tamper(path, "DELETE FROM entries WHERE sequence = 3")
    result = log.verify()
    assert result.violations == [(3, "entry 3 is missing before entry 4: deleted outside a retention purge")]
    assert result.entries_checked == 4


def test_deleted_entries_at_the_end_are_detected(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 5)
    tamper(path, "DELETE FROM entries WHERE sequence >= 4")
    (violation,) = log.verify().violations
    assert violation[0] == 4 and "entries 4 to 5 are missing at the end" in violation[1]


def test_a_forged_entry_appended_behind_the_loggers_back_is_detected(
        log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    written = fill(log, clock, 3)
    # A well-formed forgery: right sequence, right previous hash, right hash.
    forged = query_entry(officer_id="NL-0001", reason="covering a search").sealed(4, START, written[-1].hash)
    columns = ("sequence, kind, message_type, category, side, logging_state, requesting_state, requested_state, "
               "request_id, reply_id, officer_id, ordering_officer_id, reason, case_reference, data_supplied, "
               "outcome, hit_count, purpose, recorded_at, previous_hash, hash")
    values = [getattr(forged, c.strip()) for c in columns.split(",")]
    values = [v.isoformat(timespec="microseconds") if isinstance(v, datetime) else
              (v.name if hasattr(v, "name") else v) for v in values]
    tamper(path, f"INSERT INTO entries ({columns}) VALUES ({', '.join('?' * 21)})", params=tuple(values))
    (violation,) = log.verify().violations
    assert violation[0] == 4 and "beyond the log's head (3)" in violation[1]


def test_a_forged_entry_inserted_in_the_middle_is_detected(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 5)
    # Make room at 3 by moving 3..5 up by one, then copy entry 2 (with its hash) into the hole.
    tamper(path, "UPDATE entries SET sequence = sequence + 100 WHERE sequence >= 3",
           "UPDATE entries SET sequence = sequence - 99 WHERE sequence >= 100",
           "INSERT INTO entries SELECT 3, kind, message_type, category, side, logging_state, requesting_state, "
           "requested_state, request_id, reply_id, officer_id, ordering_officer_id, reason, case_reference, "
           "data_supplied, outcome, hit_count, recorded_at, previous_hash, hash, purpose FROM entries WHERE sequence = 2")
    result = log.verify()
    flagged = {sequence for sequence, _ in result.violations}
    assert 3 in flagged and not result.intact
    assert min(flagged) == 3  # nothing before the insertion is blamed
    assert any(s == 6 and "beyond the log's head (5)" in p for s, p in result.violations)


def test_two_swapped_entries_are_detected(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 6)
    tamper(path, "UPDATE entries SET sequence = -3 WHERE sequence = 3",
           "UPDATE entries SET sequence = 3 WHERE sequence = 4",
           "UPDATE entries SET sequence = 4 WHERE sequence = -3")
    result = log.verify()
    hash_breaks = {s for s, p in result.violations if "does not match its hash" in p}
    assert hash_breaks == {3, 4}
    assert {s for s, _ in result.violations} <= {3, 4, 5}
    assert result.entries_checked == 6


def test_verify_reads_a_snapshot_while_appends_go_on(log: ProtocolLog) -> None:
    log.append_many([query_entry(request_id=f"r{i}") for i in range(3000)])
    stop = threading.Event()
    appended: list[int] = []

    def writer() -> None:
        while not stop.is_set():
            appended.append(log.append(query_entry(request_id="during")).sequence)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        results = [log.verify() for _ in range(3)]
    finally:
        stop.set()
        thread.join()
    assert all(r.intact for r in results), [r.violations[:3] for r in results]
    assert all(r.entries_checked >= 3000 for r in results)
    assert log.verify().entries_checked == 3000 + len(appended)


def test_a_log_kept_from_before_entries_had_a_purpose_still_verifies(path: Path, clock: SimulatedClock) -> None:
    """An upgrade keeps the evidence (LOG-5): a log written before entries recorded the purpose (P2-SCOPE-1) is
    migrated on open, each old entry a criminal investigation, and its chain verifies with the hashes it was sealed
    with: the hashed form leaves out a criminal investigation's purpose, as the old form had no purpose at all. A
    new entry with another purpose is hashed with it."""
    before = ProtocolLog(path, "NL", clock=clock)
    written = fill(before, clock, 3)
    before.close()
    for entry in written:  # sealed as the code before the purpose sealed them: no purpose in the hashed JSON
        old_form = json.loads(reference_canonical(entry))
        assert "purpose" not in old_form
        assert entry.hash == hashlib.sha256(json.dumps(old_form, sort_keys=True, separators=(",", ":"),
                                                       ensure_ascii=False).encode("utf-8")).hexdigest()
    tamper(path, "ALTER TABLE entries DROP COLUMN purpose")  # the file as the older prum left it
    after = ProtocolLog(path, "NL", clock=clock)
    try:
        assert [e.purpose for e in after.query()] == [SearchPurpose.CRIMINAL_INVESTIGATION] * 3
        after.append(query_entry(request_id="req-4").with_fields(purpose=SearchPurpose.MISSING_PERSON))
        verification = after.verify()
        assert verification.intact and verification.entries_checked == 4, verification.violations
    finally:
        after.close()
