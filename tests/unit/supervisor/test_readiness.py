"""The Council readiness book: evaluation steps, unanimous vote, revocation (GATE-1, GATE-2)."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from prum.services.common.category import READINESS_KEYS, Category
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import Duplicate, GateClosed, InvalidInput
from prum.services.supervisor import Readiness, ReadinessBook, ReadinessStep, Vote

MEMBERS = ["NL", "DE", "FR", "LU"]
START = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def book(clock: SimulatedClock) -> ReadinessBook:
    return ReadinessBook(MEMBERS, clock=clock)


def evaluated(book: ReadinessBook, state: str = "LU", category: Category = Category.DNA) -> None:
    for step in ReadinessStep:
        book.record_step(state, category, step)


def test_the_matrix_shows_every_member_and_category_not_ready_at_first(book: ReadinessBook) -> None:
    rows = book.matrix()
    assert [(r.state, r.category) for r in rows] == [(s, c) for s in MEMBERS for c in READINESS_KEYS]
    assert not any(r.ready or r.revoked or r.steps_done for r in rows)
    assert not book.is_ready("NL", Category.DNA)
    with pytest.raises(InvalidInput, match="allowed: DNA, FINGERPRINT, VEHICLE, FACE, POLICE_RECORD, ROUTER_CONNECTION"):
        book.is_ready("NL", Category.PERSON_INFORMATION)  # Art 13-16 supplies have no Council gate


def test_declared_ready_from_the_federation_file(book: ReadinessBook, clock: SimulatedClock) -> None:
    row = book.declare_ready("NL", Category.VEHICLE)
    assert row.ready and row.decided_at == START and row.steps_done == tuple(ReadinessStep)
    assert book.is_ready("NL", Category.VEHICLE) and book.is_ready("NL", "VEHICLE")
    assert not book.is_ready("NL", Category.DNA)  # per category
    book.require_ready("NL", Category.VEHICLE)


def test_steps_are_recorded_idempotently_in_contract_order(book: ReadinessBook) -> None:
    book.record_step("LU", Category.DNA, ReadinessStep.PILOT_RUN_PASSED)
    row = book.record_step("LU", Category.DNA, ReadinessStep.DECLARATIONS_FILED)
    row = book.record_step("LU", Category.DNA, "DECLARATIONS_FILED")
    assert row.steps_done == (ReadinessStep.DECLARATIONS_FILED, ReadinessStep.PILOT_RUN_PASSED)
    assert row.steps_missing == (ReadinessStep.QUESTIONNAIRE_ANSWERED, ReadinessStep.EVALUATION_VISIT_DONE)
    assert not row.ready


def test_no_vote_before_every_evaluation_step(book: ReadinessBook) -> None:
    book.record_step("LU", Category.DNA, ReadinessStep.DECLARATIONS_FILED)
    book.record_step("LU", Category.DNA, ReadinessStep.QUESTIONNAIRE_ANSWERED)
    book.record_step("LU", Category.DNA, ReadinessStep.PILOT_RUN_PASSED)
    with pytest.raises(GateClosed, match="EVALUATION_VISIT_DONE") as refused:
        book.cast_vote("LU", Category.DNA, "NL", Vote.IN_FAVOUR)
    assert refused.value.state == "LU"
    assert "QUESTIONNAIRE_ANSWERED" not in str(refused.value)


def test_unanimity_decides_and_the_tally_counts_up(book: ReadinessBook, clock: SimulatedClock) -> None:
    evaluated(book)
    tallies = []
    for voter in MEMBERS:
        clock.advance(timedelta(hours=1))
        tallies.append(book.cast_vote("LU", Category.DNA, voter, Vote.IN_FAVOUR))
    assert [(t.votes_in_favour, t.votes_needed, t.readiness.ready) for t in tallies] == [
        (1, 4, False), (2, 4, False), (3, 4, False), (4, 4, True)]
    assert tallies[-1].readiness.decided_at == START + timedelta(hours=4)
    assert book.is_ready("LU", Category.DNA)
    assert not book.is_ready("LU", Category.FINGERPRINT)


def test_one_vote_against_blocks_until_it_changes(book: ReadinessBook) -> None:
    evaluated(book)
    book.cast_vote("LU", Category.DNA, "FR", Vote.AGAINST)
    for voter in ("NL", "DE", "LU"):
        tally = book.cast_vote("LU", Category.DNA, voter, Vote.IN_FAVOUR)
    assert not tally.readiness.ready and tally.votes_in_favour == 3 and tally.votes_needed == 4
    assert tally.votes["FR"] is Vote.AGAINST
    with pytest.raises(GateClosed, match="not decided unanimously"):
        book.require_ready("LU", Category.DNA)
    tally = book.cast_vote("LU", Category.DNA, "FR", Vote.IN_FAVOUR)
    assert tally.readiness.ready


def test_abstention_does_not_prevent_unanimity(book: ReadinessBook) -> None:
    """Art 238(4) TFEU: abstentions do not prevent acts that require unanimity."""
    evaluated(book)
    book.cast_vote("LU", Category.DNA, "FR", Vote.ABSTAIN)
    book.cast_vote("LU", Category.DNA, "NL", Vote.IN_FAVOUR)
    book.cast_vote("LU", Category.DNA, "DE", Vote.IN_FAVOUR)
    tally = book.cast_vote("LU", Category.DNA, "LU", Vote.IN_FAVOUR)
    assert tally.readiness.ready
    assert (tally.votes_in_favour, tally.votes_needed) == (3, 3)


def test_every_member_must_vote_and_abstentions_alone_decide_nothing(book: ReadinessBook) -> None:
    evaluated(book)
    for voter in ("NL", "DE", "FR"):
        tally = book.cast_vote("LU", Category.DNA, voter, Vote.ABSTAIN)
    assert not tally.readiness.ready  # LU has not voted yet
    tally = book.cast_vote("LU", Category.DNA, "LU", Vote.ABSTAIN)
    assert not tally.readiness.ready and tally.votes_in_favour == 0


def test_a_decided_state_is_not_voted_on_again(book: ReadinessBook) -> None:
    book.declare_ready("NL", Category.DNA)
    with pytest.raises(Duplicate, match="already decided"):
        book.cast_vote("NL", Category.DNA, "DE", Vote.AGAINST)


@pytest.mark.parametrize("subject, voter, vote, field", [
    ("XX", "NL", Vote.IN_FAVOUR, "subject_state"), ("LU", "PL", Vote.IN_FAVOUR, "voting_state"),
    ("LU", "NL", "MAYBE", "vote")])
def test_votes_from_or_on_strangers_are_refused(book: ReadinessBook, subject: str, voter: str, vote: str,
                                                field: str) -> None:
    evaluated(book)
    with pytest.raises(InvalidInput) as refused:
        book.cast_vote(subject, Category.DNA, voter, vote)
    assert refused.value.field == field


def test_revocation_closes_the_gate_and_a_new_vote_reopens_it(book: ReadinessBook, clock: SimulatedClock) -> None:
    book.declare_ready("DE", Category.FINGERPRINT)
    clock.advance(timedelta(days=30))
    row = book.revoke("DE", Category.FINGERPRINT, "evaluation found unlogged supplies")
    assert row.revoked and not row.ready and row.revoked_at == START + timedelta(days=30)
    assert not book.is_ready("DE", Category.FINGERPRINT)
    with pytest.raises(GateClosed, match="revoked \\(evaluation found unlogged supplies\\)"):
        book.require_ready("DE", Category.FINGERPRINT)
    assert book.get("DE", Category.FINGERPRINT).steps_done == tuple(ReadinessStep)
    for voter in MEMBERS:
        tally = book.cast_vote("DE", Category.FINGERPRINT, voter, Vote.IN_FAVOUR)
    assert tally.readiness.ready and not tally.readiness.revoked
    assert book.is_ready("DE", Category.FINGERPRINT)


def test_a_gate_checked_before_a_change_is_read_again_after_it(book: ReadinessBook) -> None:
    """The book keeps its last checks in memory (two per supply): a decision, a revocation and a merged row from
    another state's catch-up each make the next check read the book again (GATE-1, GATE-2)."""
    assert not book.is_ready("LU", Category.DNA)  # checked, and kept
    book.declare_ready("LU", Category.DNA)
    assert book.is_ready("LU", Category.DNA) and book.is_ready("LU", Category.DNA)
    book.revoke("LU", Category.DNA, "unlogged supplies")
    assert not book.is_ready("LU", Category.DNA)
    with pytest.raises(GateClosed):
        with book._lock, book._atomic():  # a write that fails after its row: rolled back, the cache no help
            book._save(Readiness("LU", Category.DNA, tuple(ReadinessStep), True))
            raise GateClosed("abandoned")
    assert not book.is_ready("LU", Category.DNA)


def test_only_a_decision_can_be_revoked_and_a_reason_is_given(book: ReadinessBook) -> None:
    with pytest.raises(GateClosed, match="no decision to revoke"):
        book.revoke("LU", Category.DNA, "never decided")
    book.declare_ready("LU", Category.DNA)
    with pytest.raises(InvalidInput) as refused:
        book.revoke("LU", Category.DNA, " ")
    assert refused.value.field == "reason"


def test_require_ready_names_the_state_and_category(book: ReadinessBook) -> None:
    with pytest.raises(GateClosed) as refused:
        book.require_ready("LU", Category.DNA)
    message = str(refused.value)
    assert message.startswith("LU is not ready for DNA exchange")
    assert "GATE-1" in message and refused.value.state == "LU"
    with pytest.raises(GateClosed, match="PL is not a member"):
        book.require_ready("PL", Category.VEHICLE)
    assert not book.is_ready("PL", Category.VEHICLE)


def test_a_bad_category_or_step_is_refused(book: ReadinessBook) -> None:
    with pytest.raises(InvalidInput) as refused:
        book.record_step("NL", "PASSPORT", ReadinessStep.PILOT_RUN_PASSED)  # not a category (FACE is, since issue 21)
    assert refused.value.field == "category"
    with pytest.raises(InvalidInput) as refused:
        book.record_step("NL", Category.DNA, "LUNCH_EATEN")
    assert refused.value.field == "step"


def test_persisted_in_sqlite_wal_and_reopened(tmp_path: Path, clock: SimulatedClock) -> None:
    path = tmp_path / "readiness.db"
    book = ReadinessBook(MEMBERS, clock=clock, path=path)
    book.declare_ready("NL", Category.DNA)
    evaluated(book, "LU", Category.VEHICLE)
    book.cast_vote("LU", Category.VEHICLE, "NL", Vote.IN_FAVOUR)
    book.close()
    reopened = ReadinessBook(MEMBERS, clock=clock, path=path)
    raw = sqlite3.connect(path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()
    assert reopened.is_ready("NL", Category.DNA)
    assert reopened.get("NL", Category.DNA).decided_at == START
    for voter in ("DE", "FR", "LU"):
        tally = reopened.cast_vote("LU", Category.VEHICLE, voter, Vote.IN_FAVOUR)
    assert tally.readiness.ready and tally.votes_in_favour == 4  # NL's vote survived the reopening
    reopened.close()


# -- the pilot run (GATE-1) -------------------------------------------------------------------------


PILOT = "PILOT-3f1c6a0e-test"
QUERIES = (f"{PILOT}-0a1b2c3d4e", f"{PILOT}-5f6a7b8c9d")


def test_a_pilot_window_admits_its_own_test_queries_with_its_peer_only(book: ReadinessBook) -> None:
    book.declare_ready("NL", Category.DNA)
    window = book.open_pilot(PILOT, "LU", Category.DNA, "NL", QUERIES)
    assert window.query_ids == QUERIES
    assert not book.is_ready("LU", Category.DNA)  # the pilot decides nothing
    first, second = QUERIES
    assert not book.admits("LU", Category.DNA, "NL", PILOT, "r-1")  # the pilot id itself is no test query
    assert not book.admits("LU", Category.DNA, "NL", "LU-2026-17", "r-1")  # an ordinary query
    assert not book.admits("LU", Category.DNA, "DE", first, "r-1")  # another peer
    assert not book.admits("LU", Category.VEHICLE, "NL", first, "r-1")  # another category
    assert book.pilot_peer("LU", Category.DNA, first) == "NL" and book.pilot_peer("LU", Category.DNA, PILOT) is None
    assert book.admits("LU", Category.DNA, "NL", first, "r-1")
    assert book.admits("LU", Category.DNA, "NL", first, "r-1")  # the same request, checked again
    assert not book.admits("LU", Category.DNA, "NL", first, "r-2")  # reused by another request: refused
    assert book.admits("LU", Category.DNA, "NL", second, "r-3")
    book.close_pilot(PILOT)
    assert not book.admits("LU", Category.DNA, "NL", first, "r-1")


def test_a_pilot_window_expires_by_itself(book: ReadinessBook, clock: SimulatedClock) -> None:
    from prum.services.supervisor.readiness import PILOT_WINDOW

    book.declare_ready("NL", Category.DNA)
    window = book.open_pilot(PILOT, "LU", Category.DNA, "NL", QUERIES)
    assert window.expires_at == START + PILOT_WINDOW
    clock.advance(PILOT_WINDOW - timedelta(seconds=1))
    assert book.pilot_peer("LU", Category.DNA, QUERIES[0]) == "NL"
    clock.advance(timedelta(seconds=1))
    assert not book.admits("LU", Category.DNA, "NL", QUERIES[0], "r-1")
    with pytest.raises(InvalidInput, match="at most"):
        book.open_pilot("PILOT-longer-window", "LU", Category.DNA, "NL", ("PILOT-longer-window-0a1b2c3d",),
                        expires_at=clock.now() + 2 * PILOT_WINDOW)


def test_a_pilot_window_names_its_test_queries(book: ReadinessBook) -> None:
    book.declare_ready("NL", Category.DNA)
    for query_ids, says in (((), "allowed: 1 to 100"), (("LU-2026-17",), "the pilot id, '-' and a random part"),
                            ((f"{PILOT}-1",), "at least 8"), (tuple(f"{PILOT}-{n:08d}" for n in range(101)), "1 to 100")):
        with pytest.raises(InvalidInput, match=says) as refused:
            book.open_pilot(PILOT, "LU", Category.DNA, "NL", query_ids)
        assert refused.value.field == "query_ids"


def test_a_pilot_needs_a_ready_peer_another_state_and_a_pilot_id(book: ReadinessBook) -> None:
    with pytest.raises(GateClosed, match="cannot host"):
        book.open_pilot(PILOT, "LU", Category.DNA, "NL", QUERIES)  # NL is not ready itself
    book.declare_ready("NL", Category.DNA)
    with pytest.raises(InvalidInput) as itself:
        book.open_pilot(PILOT, "NL", Category.DNA, "NL", QUERIES)
    assert itself.value.field == "peer_state"
    with pytest.raises(InvalidInput) as named:
        book.open_pilot("LU-2026-17", "LU", Category.DNA, "NL", QUERIES)
    assert named.value.field == "pilot_id"


def test_a_peers_own_row_is_merged_the_latest_dated_change_winning(book: ReadinessBook, clock: SimulatedClock) -> None:
    """GATE-2 catch-up: steps add up; a decision or revocation newer than the one held wins; the same report twice,
    or an older one arriving late, changes nothing; an undated decision from the federation file is older than any."""
    seeded = book.seed_ready("NL", Category.DNA)
    assert seeded.ready and seeded.decided_at is None
    assert book.seed_ready("NL", Category.DNA) == seeded  # a row held is never seeded again
    revoked_at = START + timedelta(days=3)
    revocation = Readiness("NL", Category.DNA, tuple(ReadinessStep), False, None, True, revoked_at, "audit gap")
    assert book.merge(revocation) and not book.is_ready("NL", Category.DNA)
    assert not book.merge(revocation)  # idempotent
    assert not book.merge(seeded)  # the undated decision is older than the revocation
    redecided = Readiness("NL", Category.DNA, tuple(ReadinessStep), True, revoked_at + timedelta(days=30))
    for voter in book.members:  # the new round's votes, each taken in from its voter
        book.merge_vote("NL", Category.DNA, voter, Vote.IN_FAVOUR)
    assert book.merge(redecided) and book.get("NL", Category.DNA) == redecided
    assert not book.merge(revocation)  # older than the new decision: arrives late, changes nothing
    evaluated_elsewhere = Readiness("LU", Category.DNA, (ReadinessStep.QUESTIONNAIRE_ANSWERED,))
    book.record_step("LU", Category.DNA, ReadinessStep.DECLARATIONS_FILED)
    assert book.merge(evaluated_elsewhere)
    assert book.get("LU", Category.DNA).steps_done == (ReadinessStep.DECLARATIONS_FILED,
                                                       ReadinessStep.QUESTIONNAIRE_ANSWERED)
    assert not book.get("LU", Category.DNA).ready


def test_a_merged_revocation_clears_the_votes_of_the_round(book: ReadinessBook, clock: SimulatedClock) -> None:
    evaluated(book)
    for voter in ("NL", "DE", "FR", "LU"):
        book.cast_vote("LU", Category.DNA, voter, Vote.IN_FAVOUR)
    decided = book.get("LU", Category.DNA)
    clock.advance(timedelta(days=1))
    assert book.merge(Readiness("LU", Category.DNA, decided.steps_done, False, decided.decided_at, True, clock.now(),
                                "withdrawn"))
    tally = book.cast_vote("LU", Category.DNA, "NL", Vote.IN_FAVOUR)  # a new round starts from one vote
    assert tally.votes == {"NL": Vote.IN_FAVOUR} and not tally.readiness.ready


def test_a_voters_own_vote_is_merged_and_the_decision_falls_when_the_book_settles(book: ReadinessBook) -> None:
    """GATE-1 catch-up: a vote taken in from its voter is kept even before this book has seen every step; it decides
    nothing by itself: `settle` takes the decisions the held votes make once every step is in; a vote on a decision
    already taken changes nothing."""
    assert book.merge_vote("LU", Category.DNA, "DE", Vote.IN_FAVOUR)  # LU's steps not seen here yet: kept
    assert not book.merge_vote("LU", Category.DNA, "DE", Vote.IN_FAVOUR)  # the same vote again
    assert book.settle() == []  # steps missing
    evaluated(book)
    for voter in ("NL", "FR"):
        book.cast_vote("LU", Category.DNA, voter, Vote.IN_FAVOUR)
    assert book.votes_of("DE") == [("LU", Category.DNA, Vote.IN_FAVOUR)]
    assert book.merge_vote("LU", Category.DNA, "LU", Vote.IN_FAVOUR)
    assert not book.is_ready("LU", Category.DNA)  # every vote is in, but merging a vote decides nothing
    assert [(row.state, row.category, row.ready) for row in book.settle()] == [("LU", Category.DNA, True)]
    assert book.is_ready("LU", Category.DNA) and book.settle() == []
    assert book.votes_of("DE") == [("LU", Category.DNA, Vote.IN_FAVOUR)]  # the round's votes stay, to be checked
    assert not book.merge_vote("LU", Category.DNA, "DE", Vote.AGAINST)  # too late to change anything


def test_a_state_is_not_believed_on_its_own_word_that_the_council_found_it_ready(
        book: ReadinessBook, clock: SimulatedClock) -> None:
    """GATE-2: a decision reported by its subject is taken in only if the votes held here, each from its own voter,
    make it unanimous; the steps it reports are taken in any case; a revocation is always believed."""
    evaluated(book)
    claim = Readiness("LU", Category.DNA, tuple(ReadinessStep), True, clock.now() + timedelta(hours=1))
    assert not book.merge(claim) and not book.is_ready("LU", Category.DNA)  # no vote held: not believed
    for voter in ("NL", "DE", "FR"):
        book.merge_vote("LU", Category.DNA, voter, Vote.IN_FAVOUR)
    assert not book.merge(claim) and not book.is_ready("LU", Category.DNA)  # LU's own vote missing
    book.merge_vote("LU", Category.DNA, "LU", Vote.IN_FAVOUR)
    assert book.merge(claim) and book.get("LU", Category.DNA) == claim  # unanimous: taken in, with its date
    book.merge_vote("NL", Category.DNA, "DE", Vote.AGAINST)
    blocked = Readiness("NL", Category.DNA, tuple(ReadinessStep), True, clock.now() + timedelta(hours=2))
    book.merge(blocked)
    assert not book.is_ready("NL", Category.DNA)  # a vote against: never believed
    assert book.get("NL", Category.DNA).steps_done == tuple(ReadinessStep)  # its steps are taken in
    revocation = Readiness("LU", Category.DNA, tuple(ReadinessStep), False, claim.decided_at, True,
                           clock.now() + timedelta(days=1), "withdrawn")
    assert book.merge(revocation) and not book.is_ready("LU", Category.DNA)
