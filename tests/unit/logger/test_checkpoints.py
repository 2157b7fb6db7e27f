"""Signed checkpoints of the protocol log (LOG-5): a rewrite of the whole chain with every hash recomputed,
a forged checkpoint and removed checkpoints are all found; the purge keeps the chain anchored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prum.federation.runtime.pki import FederationPki
from prum.services.common.category import Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import InvalidInput
from prum.services.logger import (
    TWO_YEARS,
    CheckpointKey,
    EntryKind,
    LogEntry,
    MessageType,
    ProtocolLog,
    Side,
    check_checkpoint,
)
from prum.services.logger.log import _COLUMNS, _entry_to_row, _row_to_entry

START = datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)
EVERY = 10


def reply(request_id: str) -> LogEntry:
    return LogEntry.new(kind=EntryKind.AUTOMATED_SUPPLY, message_type=MessageType.REPLY, category=Category.DNA,
                        side=Side.FILE_MANAGING, logging_state="NL", requesting_state="BE", requested_state="NL",
                        request_id=request_id, data_supplied='{"references":["NL-1"]}')


@pytest.fixture(scope="module")
def pki() -> FederationPki:
    return FederationPki.create(["NL", "BE"])


def key_of(pki: FederationPki, state: str = "NL", private: bool = True) -> CheckpointKey:
    material = pki.material_for(state)
    return CheckpointKey.from_pem(material.cert_pem, material.key_pem if private else None)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "nl.db"


@pytest.fixture
def log(path: Path, clock: SimulatedClock, pki: FederationPki) -> Iterator[ProtocolLog]:
    opened = ProtocolLog(path, "NL", clock=clock, key=key_of(pki), checkpoint_every=EVERY)
    yield opened
    opened.close()


def fill(log: ProtocolLog, clock: SimulatedClock, count: int, prefix: str = "r") -> None:
    for index in range(count):
        log.append(reply(f"{prefix}{index}"))
        clock.advance(timedelta(seconds=1))


def rewrite_chain(path: Path, from_sequence: int, **changes: object) -> None:
    """The attack a bare hash chain misses: change one entry, then recompute every hash after it and the head."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS entries_never_updated")
    db.execute("DROP TRIGGER IF EXISTS entries_deleted_only_by_purge")
    rows = db.execute(f"SELECT {', '.join(_COLUMNS)} FROM entries ORDER BY sequence").fetchall()
    previous = None
    for row in rows:
        entry = _row_to_entry(row)
        if entry.sequence < from_sequence:
            previous = entry.hash
            continue
        if entry.sequence == from_sequence:
            entry = replace(entry, **changes)
        entry = replace(entry, hash="", previous_hash="").sealed(entry.sequence, entry.recorded_at,
                                                                 previous or entry.previous_hash)
        previous = entry.hash
        db.execute("DELETE FROM entries WHERE sequence = ?", (entry.sequence,))
        db.execute(f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})",
                   _entry_to_row(entry))
    db.execute("UPDATE head SET hash = ?", (previous,))
    db.close()


def raw(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    db = sqlite3.connect(path, isolation_level=None)
    for statement in statements:
        db.execute(statement, params)
    db.close()


# -- signing ---------------------------------------------------------------------------------------


def test_a_checkpoint_is_signed_every_n_entries_and_verifies(log: ProtocolLog, clock: SimulatedClock) -> None:
    fill(log, clock, 25)
    assert [c.sequence for c in log.checkpoints()] == [10, 20]
    tenth = log.query(after_sequence=9, limit=1)[0]
    assert log.checkpoints()[0].hash == tenth.hash
    result = log.verify()
    assert result.intact and result.checkpoints_checked == 2


def test_one_group_commit_crossing_a_multiple_signs_once_at_its_end(log: ProtocolLog) -> None:
    log.append_many([reply(f"r{i}") for i in range(7)])
    log.append_many([reply(f"s{i}") for i in range(7)])  # 8..14 crosses 10
    assert [c.sequence for c in log.checkpoints()] == [14]
    assert log.verify().intact


def test_a_checkpoint_on_demand_is_checkable_with_the_certificate_alone(
        log: ProtocolLog, clock: SimulatedClock, pki: FederationPki) -> None:
    fill(log, clock, 3)
    checkpoint = log.checkpoint()
    assert (checkpoint.sequence, checkpoint.hash) == (3, log.stats().last_hash)
    assert checkpoint.signed_at == clock.now()
    nl_cert, _ = pki.states["NL"]
    be_cert, _ = pki.states["BE"]
    assert check_checkpoint(checkpoint, nl_cert)
    assert not check_checkpoint(checkpoint, be_cert)  # BE's key did not sign it
    assert not check_checkpoint(replace(checkpoint, hash="0" * 64), nl_cert)
    assert not check_checkpoint(replace(checkpoint, sequence=2), nl_cert)
    assert log.verify().checkpoints_checked == 1


def test_a_log_without_its_key_cannot_sign(path: Path, clock: SimulatedClock, pki: FederationPki) -> None:
    log = ProtocolLog(path, "NL", clock=clock, key=key_of(pki, private=False), checkpoint_every=EVERY)
    with pytest.raises(InvalidInput, match="without its private key"):
        log.checkpoint()
    log.close()


def test_a_key_of_another_state_or_a_mismatched_key_is_refused(path: Path, pki: FederationPki) -> None:
    with pytest.raises(InvalidInput, match="'BE''s, not NL's"):
        ProtocolLog(path, "NL", key=key_of(pki, "BE"))
    nl_cert, _ = pki.states["NL"]
    _, be_key = pki.states["BE"]
    with pytest.raises(InvalidInput, match="does not belong to the certificate"):
        CheckpointKey(nl_cert, be_key)


# -- certificates change, logs stay ----------------------------------------------------------------


def with_ca(pki: FederationPki, state: str = "NL") -> CheckpointKey:
    material = pki.material_for(state)
    return CheckpointKey.from_pem(material.cert_pem, material.key_pem, material.ca_pem)


def test_checkpoints_signed_under_an_earlier_certificate_still_verify(path: Path, clock: SimulatedClock) -> None:
    pki = FederationPki.create(["NL", "BE"], now=START - timedelta(days=1))
    log = ProtocolLog(path, "NL", clock=clock, key=with_ca(pki), checkpoint_every=EVERY)
    fill(log, clock, 12)
    log.close()
    clock.advance(timedelta(days=800))
    pki.issue("NL", now=clock.now())  # the certificate is re-issued (825 days), the log is kept 2 or 4 years
    renewed = ProtocolLog(path, "NL", clock=clock, key=with_ca(pki), checkpoint_every=EVERY)
    fill(renewed, clock, 10)
    signers = {c.sequence: c.certificate for c in renewed.checkpoints()}
    assert signers[10] != signers[20]
    result = renewed.verify()
    assert result.intact and result.checkpoints_checked == 2
    renewed.close()
    # Without the CA only the current certificate counts: the older checkpoint cannot be checked.
    material = pki.material_for("NL")
    current_only = ProtocolLog(path, "NL", clock=clock, key=CheckpointKey.from_pem(material.cert_pem),
                               checkpoint_every=EVERY)
    assert [s for s, p in current_only.verify().violations if "does not verify" in p] == [10]
    current_only.close()


def test_a_checkpoint_under_a_certificate_the_ca_did_not_issue_or_out_of_its_validity_is_forged(
        log: ProtocolLog, clock: SimulatedClock, pki: FederationPki) -> None:
    nl_cert, _ = pki.states["NL"]
    ca = pki.ca_cert
    fill(log, clock, 3)
    digest = log.stats().last_hash
    rogue = FederationPki.create(["NL"])  # another CA, its own "NL"
    forged = with_ca(rogue).sign("NL", 3, digest, clock.now())
    assert not check_checkpoint(forged, nl_cert, ca)
    be_signed = with_ca(pki, "BE").sign("NL", 3, digest, clock.now())  # the federation's CA, but BE's certificate
    assert not check_checkpoint(be_signed, nl_cert, ca)
    old_cert, old_key = FederationPki.issue(pki, "NL", now=clock.now() - timedelta(days=900))  # expired by now
    expired = CheckpointKey(old_cert, old_key).sign("NL", 3, digest, clock.now())
    assert not check_checkpoint(expired, nl_cert, ca)
    assert check_checkpoint(replace(expired, signed_at=clock.now() - timedelta(days=899)), nl_cert, ca) is False
    back_then = CheckpointKey(old_cert, old_key).sign("NL", 3, digest, clock.now() - timedelta(days=899))
    assert check_checkpoint(back_then, nl_cert, ca)  # signed while that certificate was valid


def test_a_log_from_before_checkpoints_carried_their_certificate_is_upgraded(
        path: Path, clock: SimulatedClock, pki: FederationPki) -> None:
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE signed_checkpoints (sequence INTEGER PRIMARY KEY, hash TEXT NOT NULL, "
               "signed_at TEXT NOT NULL, signature BLOB NOT NULL)")
    db.close()
    log = ProtocolLog(path, "NL", clock=clock, key=key_of(pki), checkpoint_every=EVERY)
    fill(log, clock, 10)
    assert log.verify().checkpoints_checked == 1
    log.close()


# -- tampering -------------------------------------------------------------------------------------


def test_the_rewrite_is_reported_at_the_first_checkpoint_after_it(
        log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25)
    rewrite_chain(path, 4, officer_id="NL-9999")
    result = log.verify()
    # The bare hash chain is consistent again (no broken link, no hash mismatch): only the checkpoints tell.
    assert not result.intact
    assert [s for s, _ in result.violations] == [10, 20]
    assert all("differs from the one signed in the checkpoint" in p for _, p in result.violations)


def test_a_forged_checkpoint_signature_is_detected(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25)
    rewrite_chain(path, 4, officer_id="NL-9999")
    # The attacker also moves the checkpoints onto the new chain, without the key to sign them.
    db = sqlite3.connect(path)
    new_hashes = dict(db.execute("SELECT sequence, hash FROM entries").fetchall())
    db.close()
    for sequence in (10, 20):
        raw(path, "UPDATE signed_checkpoints SET hash = ? WHERE sequence = ?", params=(new_hashes[sequence], sequence))
    result = log.verify()
    assert not result.intact and result.checkpoints_checked == 0
    forged = [s for s, p in result.violations if "does not verify against NL's certificate" in p]
    missing = [s for s, p in result.violations if "no valid signed checkpoint at or after entry 20" in p]
    assert forged == [10, 20] and missing == [20] and len(result.violations) == 3


def test_a_checkpoint_signed_by_another_states_key_is_forged(
        log: ProtocolLog, path: Path, clock: SimulatedClock, pki: FederationPki) -> None:
    fill(log, clock, 12)
    forged = key_of(pki, "BE").sign("NL", 12, log.stats().last_hash, clock.now())
    raw(path, "INSERT INTO signed_checkpoints (sequence, hash, signed_at, signature) VALUES (12, ?, ?, ?)",
        params=(forged.hash, forged.signed_at.isoformat(), forged.signature))
    (violation,) = log.verify().violations
    assert violation[0] == 12 and "forged or altered" in violation[1]


def test_removed_checkpoints_are_missed(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25)
    rewrite_chain(path, 4, officer_id="NL-9999")
    raw(path, "DELETE FROM signed_checkpoints")
    (violation,) = log.verify().violations
    assert violation[0] == 20 and "checkpoints were removed" in violation[1]


def test_a_cut_tail_below_a_checkpoint_is_detected(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25)
    fifteenth = log.query(after_sequence=14, limit=1)[0]
    raw(path, "DROP TRIGGER entries_deleted_only_by_purge", "DELETE FROM entries WHERE sequence > 15")
    raw(path, "UPDATE head SET sequence = 15, hash = ?", params=(fifteenth.hash,))
    problems = dict(log.verify().violations)
    assert "beyond the log's head" in problems[20]


# -- retention -------------------------------------------------------------------------------------


def test_the_checkpoints_survive_a_purge_re_anchored_at_the_fold(
        log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25, "old")
    clock.advance(timedelta(days=200))
    fill(log, clock, 8, "young")  # 26..33: a checkpoint at 30
    clock.advance(TWO_YEARS - timedelta(days=100))
    assert log.purge().removed == 25
    assert [c.sequence for c in log.checkpoints()] == [25, 30]  # 10 and 20 went with the fold, 25 anchors it
    result = log.verify()
    assert result.intact and result.checkpoints_checked == 2 and result.entries_checked == 8


def test_a_rewrite_after_a_purge_is_still_caught(log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25, "old")
    clock.advance(timedelta(days=200))
    fill(log, clock, 8, "young")
    clock.advance(TWO_YEARS - timedelta(days=100))
    log.purge()
    rewrite_chain(path, 27, reason="forged")
    problems = dict(log.verify().violations)
    assert "differs from the one signed" in problems[30]


def test_a_log_purged_empty_stays_anchored(log: ProtocolLog, clock: SimulatedClock) -> None:
    fill(log, clock, 23)
    clock.advance(TWO_YEARS)
    assert log.purge().removed == 23
    assert [c.sequence for c in log.checkpoints()] == [23]
    result = log.verify()
    assert result.intact and result.checkpoints_checked == 1
    assert log.append(reply("after")).sequence == 24 and log.verify().intact


def test_the_purge_does_not_fold_past_a_contradicted_checkpoint(
        log: ProtocolLog, path: Path, clock: SimulatedClock) -> None:
    fill(log, clock, 25, "old")
    rewrite_chain(path, 4, officer_id="NL-9999")
    clock.advance(TWO_YEARS)
    log.purge()
    result = log.verify()
    assert not result.intact
    assert any(s == 10 and "differs from the one signed" in p for s, p in result.violations)


@pytest.mark.parametrize("opened_with", ["no key", "certificate only"])
def test_a_purge_without_the_private_key_is_refused_and_removes_nothing(
        log: ProtocolLog, path: Path, clock: SimulatedClock, pki: FederationPki, opened_with: str) -> None:
    fill(log, clock, 25, "old")  # checkpoints at 10 and 20
    clock.advance(timedelta(days=200))
    fill(log, clock, 8, "young")  # a checkpoint at 30
    clock.advance(TWO_YEARS - timedelta(days=100))
    key = None if opened_with == "no key" else key_of(pki, private=False)
    keyless = ProtocolLog(path, "NL", clock=clock, key=key, checkpoint_every=EVERY)
    try:
        assert keyless.purge(dry_run=True).removed == 25  # what a purge would remove can still be seen
        with pytest.raises(InvalidInput) as refused:
            keyless.purge()
        assert refused.value.field == "key"
        assert "without its private key" in str(refused.value) and "fold point (entry 25)" in str(refused.value)
    finally:
        keyless.close()
    assert log.stats().entries == 33  # nothing removed, no checkpoint dropped
    assert [c.sequence for c in log.checkpoints()] == [10, 20, 30]
    assert log.verify().intact
    assert log.purge().removed == 25  # the state's own logger, with its key, purges and re-anchors
    assert [c.sequence for c in log.checkpoints()] == [25, 30] and log.verify().intact


def test_a_log_that_never_signed_purges_without_a_key(path: Path, clock: SimulatedClock) -> None:
    plain = ProtocolLog(path, "NL", clock=clock, checkpoint_every=EVERY)
    try:
        fill(plain, clock, 12)
        clock.advance(TWO_YEARS)
        assert plain.purge().removed == 12 and plain.verify().intact
    finally:
        plain.close()
