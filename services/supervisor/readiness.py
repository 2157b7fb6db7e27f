"""The Council's readiness decisions for the whole federation, as one state sees them (GATE-1, GATE-2).

Per (state, category): the four evaluation steps of Art 25(2) and Art 20 of 2008/616 (declarations,
questionnaire, pilot run, evaluation visit), the unanimous Council vote that follows them, and a
revocation. Every state keeps this book; a data service asks `is_ready` / `require_ready` before it
supplies or receives data. A state's connection to the Prüm II router is gated the same way, as the key
`Category.ROUTER_CONNECTION` (P2-GATE-1): the router asks it before it routes a state's search or a search to it.

Voting: every member state of the federation votes, the subject state included. One AGAINST blocks.
ABSTAIN does not: under Art 238(4) TFEU (ex Art 205(3) TEC) abstention does not prevent a Council act
that needs unanimity. The Council decides once every member has cast a vote, none is AGAINST and at
least one is IN_FAVOUR, so `votes_needed` is the number of members minus the abstentions. A state may
change its vote until the decision. A revocation withdraws the decision and clears the votes; the
steps stay done, and a new unanimous vote re-admits the state.

Pilot run: the one exception to the gates before the decision. The candidate state runs real test
queries against one peer that is ready; for that, both books open a *pilot window* (candidate,
category, peer, pilot id, expiry, and the ids of the pilot's own test queries): a query between the
two passes the gates only if it carries one of those query ids as its case reference, each id for one
request only (the first that uses it), and only until the window is closed or expires (`PILOT_WINDOW`).
The query ids are random and known only to the pilot runner and the two books until used, so an
officer of the candidate cannot reuse the pilot (its id, or a query id seen in the log) for other
queries.

Catch-up (GATE-2): a state that was down while others changed takes in, from each state's supervisor, that
state's own votes (`merge_vote`), then its own row (`merge`: steps add up, the latest dated decision or
revocation wins, a decision only if the votes held make it unanimous), then takes the decisions the votes
make whose subject it did not reach (`settle`).

Storage: SQLite (WAL) when a path is given, else an in-memory SQLite database: one code path.
Tables `readiness(state, category, steps, ready, decided_at, revoked, revoked_at, revocation_reason)`,
`votes(subject_state, category, voting_state, vote, cast_at)`,
`pilots(pilot_id, state, category, peer, opened_at, expires_at, closed)` and
`pilot_queries(query_id, pilot_id, request_id)` (the request that used the id; '' while unused).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path

from prum.services.common.category import READINESS_KEYS, Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, GateClosed, InvalidInput, quote
from prum.services.common.store import open_database, transaction
from prum.services.logger.entry import format_moment
from prum.services.supervisor.dpa import read_moment, stored_moment


class ReadinessStep(StrEnum):
    """The evaluation before the Council decides (GATE-1); names as in the contract."""

    DECLARATIONS_FILED = "DECLARATIONS_FILED"
    QUESTIONNAIRE_ANSWERED = "QUESTIONNAIRE_ANSWERED"
    PILOT_RUN_PASSED = "PILOT_RUN_PASSED"
    EVALUATION_VISIT_DONE = "EVALUATION_VISIT_DONE"


class Vote(StrEnum):
    IN_FAVOUR = "IN_FAVOUR"
    AGAINST = "AGAINST"
    ABSTAIN = "ABSTAIN"


@dataclass(frozen=True)
class Readiness:
    """Whether `state` may supply and receive data of `category` (contract `Readiness`)."""

    state: str
    category: Category
    steps_done: tuple[ReadinessStep, ...] = ()
    ready: bool = False
    decided_at: datetime | None = None
    revoked: bool = False
    revoked_at: datetime | None = None
    revocation_reason: str = ""

    @property
    def steps_missing(self) -> tuple[ReadinessStep, ...]:
        return tuple(step for step in ReadinessStep if step not in self.steps_done)


#: How long a pilot window stays open at most, if nobody closes it.
PILOT_WINDOW = timedelta(hours=1)
#: How many test queries one pilot run may send at most.
PILOT_MAX_QUERIES = 100


@dataclass(frozen=True)
class PilotWindow:
    """`state`'s pilot queries of `category` to and from `peer` pass the gates while open (GATE-1)."""

    pilot_id: str
    state: str
    category: Category
    peer: str
    opened_at: datetime
    expires_at: datetime
    closed: bool = False
    #: The case references of the pilot's own test queries: each admits one request (GATE-1).
    query_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class VoteTally:
    """The answer to a vote (contract `CastCouncilVoteResponse`)."""

    readiness: Readiness
    votes_in_favour: int
    votes_needed: int
    votes: dict[str, Vote]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS readiness (
    state TEXT NOT NULL, category TEXT NOT NULL, steps TEXT NOT NULL DEFAULT '',
    ready INTEGER NOT NULL DEFAULT 0, decided_at TEXT, revoked INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT, revocation_reason TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (state, category)
);
CREATE TABLE IF NOT EXISTS pilots (
    pilot_id TEXT PRIMARY KEY, state TEXT NOT NULL, category TEXT NOT NULL, peer TEXT NOT NULL,
    opened_at TEXT NOT NULL, expires_at TEXT NOT NULL, closed INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS pilot_queries (
    query_id TEXT PRIMARY KEY, pilot_id TEXT NOT NULL, request_id TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS votes (
    subject_state TEXT NOT NULL, category TEXT NOT NULL, voting_state TEXT NOT NULL, vote TEXT NOT NULL,
    cast_at TEXT NOT NULL, PRIMARY KEY (subject_state, category, voting_state)
);
"""


_NEVER = datetime.min.replace(tzinfo=UTC)


def _decides(votes: dict[str, Vote], members: Sequence[str]) -> bool:
    """Unanimity: every member voted, none AGAINST, at least one IN_FAVOUR (ABSTAIN does not block)."""
    return len(votes) == len(members) and Vote.AGAINST not in votes.values() and Vote.IN_FAVOUR in votes.values()


def _last_change(row: Readiness) -> datetime:
    """When the row's decision (or its revocation) was taken; an undated decision or none: never."""
    moment = row.revoked_at if row.revoked else row.decided_at if row.ready else None
    return moment or _NEVER


class ReadinessBook:
    """Readiness of every member state per category (GATE-1, GATE-2). Thread-safe."""

    def __init__(self, members: Sequence[str], clock: Clock | None = None,
                 path: str | Path | None = None, voters: Sequence[str] | None = None) -> None:
        """`voters`: the members of the Council, whose unanimity decides (GATE-1); by default every member. A
        participant gated like a state but without a vote (Europol, P2-EUROPOL-1) is a member and no voter."""
        if not members:
            raise InvalidInput("is empty; a federation has member states", field="members")
        self.members = list(dict.fromkeys(members))
        self.voters = list(dict.fromkeys(voters)) if voters else self.members
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript(_SCHEMA)
        # (state, category) -> ready and not revoked, as last read from the book: every supply checks two, twice a
        # search. Only this object writes the book, and every write of a row empties the cache (under the lock),
        # so a check after a decision or a revocation reads the row again.
        self._ready: dict[tuple[str, str], bool] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _atomic(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """One write transaction (the caller holds the lock)."""
        return transaction(self._db)

    # -- checks ---------------------------------------------------------------------------------

    def _member(self, state: str, field: str = "state") -> str:
        if state not in self.members:
            raise InvalidInput(f"{quote(state)} is not a member of this federation; members: "
                               f"{', '.join(self.members)}", field=field)
        return state

    @staticmethod
    def _category(category: Category | str) -> Category:
        try:
            gated = Category(category)
        except ValueError:
            gated = None
        if gated not in READINESS_KEYS:
            raise InvalidInput(f"{quote(category)}; allowed: {', '.join(c.name for c in READINESS_KEYS)}",
                               field="category")
        return gated  # type: ignore[return-value]

    def _row(self, state: str, category: Category) -> Readiness:
        row = self._db.execute(
            "SELECT steps, ready, decided_at, revoked, revoked_at, revocation_reason FROM readiness "
            "WHERE state = ? AND category = ?", (state, category.name)).fetchone()
        if row is None:
            return Readiness(state, category)
        steps, ready, decided_at, revoked, revoked_at, reason = row
        done = set(filter(None, steps.split(",")))
        return Readiness(state, category, tuple(s for s in ReadinessStep if s.name in done), bool(ready),
                         read_moment(decided_at), bool(revoked), read_moment(revoked_at), reason)

    def _save(self, row: Readiness) -> None:
        self._ready.clear()  # also if the transaction then rolls back: the next check reads the book
        self._db.execute(
            "INSERT OR REPLACE INTO readiness VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (row.state, row.category.name, ",".join(s.name for s in row.steps_done), int(row.ready),
             stored_moment(row.decided_at), int(row.revoked), stored_moment(row.revoked_at), row.revocation_reason))

    def _record_vote(self, subject: str, category: Category, voter: str, vote: Vote, cast_at: datetime) -> None:
        """Keep `voter`'s vote of the current round (inside the caller's transaction)."""
        self._db.execute("INSERT OR REPLACE INTO votes VALUES (?, ?, ?, ?, ?)",
                         (subject, category.name, voter, vote.name, format_moment(cast_at)))

    def _clear_votes(self, subject: str, category: Category) -> None:
        """End the round: a revocation clears its votes (inside the caller's transaction)."""
        self._db.execute("DELETE FROM votes WHERE subject_state = ? AND category = ?", (subject, category.name))

    def _votes(self, state: str, category: Category) -> dict[str, Vote]:
        return {voter: Vote(vote) for voter, vote in self._db.execute(
            "SELECT voting_state, vote FROM votes WHERE subject_state = ? AND category = ?",
            (state, category.name))}

    # -- reading --------------------------------------------------------------------------------

    def get(self, state: str, category: Category | str) -> Readiness:
        with self._lock:
            return self._row(self._member(state), self._category(category))

    def is_ready(self, state: str, category: Category | str) -> bool:
        """True when the Council has decided for `state` and `category` and not revoked it (GATE-1)."""
        if state not in self.members:
            return False
        key = (state, self._category(category).name)
        ready = self._ready.get(key)
        if ready is None:
            with self._lock:  # a read and the cache's fill under the lock every write takes
                found = self._db.execute("SELECT ready AND NOT revoked FROM readiness WHERE state = ? AND "
                                         "category = ?", key).fetchone()
                ready = self._ready[key] = bool(found and found[0])
        return ready

    def require_ready(self, state: str, category: Category | str) -> None:
        """Raise GateClosed unless `state` may exchange `category` data (GATE-1)."""
        category = self._category(category)
        if state not in self.members:
            raise GateClosed(f"{state} is not a member of this federation, so it is not ready for "
                             f"{category.name} exchange (GATE-1)", state=state, category=category.name)
        row = self.get(state, category)
        if row.ready and not row.revoked:
            return
        if row.revoked:
            why = f"the Council's decision was revoked ({row.revocation_reason})"
        elif row.steps_missing:
            why = f"evaluation steps missing: {', '.join(s.name for s in row.steps_missing)}"
        else:
            why = "the Council has not decided unanimously"
        raise GateClosed(f"{state} is not ready for {category.name} exchange: {why} (GATE-1)", state=state,
                         category=category.name)

    def matrix(self) -> list[Readiness]:
        """Every (member, category) row, members in federation order (GATE-2: visible to every state)."""
        with self._lock:
            return [self._row(state, category) for state in self.members for category in READINESS_KEYS]

    # -- the workflow ---------------------------------------------------------------------------

    def declare_ready(self, state: str, category: Category | str,
                      decided_at: datetime | None = None) -> Readiness:
        """Record a decision the Council took before this book was opened."""
        category = self._category(category)
        with self._lock:
            self._member(state)
            row = Readiness(state, category, tuple(ReadinessStep), True, decided_at or self.clock.now())
            self._save(row)
            return row

    def seed_ready(self, state: str, category: Category | str) -> Readiness:
        """A decision the federation file records, taken before the federation started, so undated: written
        only if the book holds no row for it (a book reopened after a restart keeps what happened since: a
        revocation, steps, a later decision), and older than any dated change a peer reports (`merge`)."""
        category = self._category(category)
        with self._lock:
            held = self._db.execute("SELECT 1 FROM readiness WHERE state = ? AND category = ?",
                                    (self._member(state), category.name)).fetchone()
            if held is None:
                self._save(Readiness(state, category, tuple(ReadinessStep), True))
            return self._row(state, category)

    def votes_of(self, voter: str) -> list[tuple[str, Category, Vote]]:
        """The votes `voter` cast in the current round of every decision, taken or not: (subject state, category,
        vote) (GATE-1). A revocation ends a round and clears its votes, so these are the votes a decision in force
        rests on, which lets another book check a decision it is told of (`merge`)."""
        with self._lock:
            rows = self._db.execute("SELECT subject_state, category, vote FROM votes WHERE voting_state = ? "
                                    "ORDER BY subject_state, category", (voter,)).fetchall()
        return [(subject, Category[category], Vote(vote)) for subject, category, vote in rows]

    def merge_vote(self, subject_state: str, category: Category | str, voting_state: str, vote: Vote | str) -> bool:
        """Take in `voting_state`'s own vote as its supervisor reports it (catch-up; the caller checks the sender's
        certificate names `voting_state`). Unlike `cast_vote` it does not refuse, and it decides nothing by itself:
        a catch-up takes in every vote first, then the subjects' rows (`merge`), then `settle`. A vote on a
        decision this book holds already changes nothing. True if the book changed."""
        category = self._category(category)
        vote = Vote(vote)
        with self._lock:
            row = self._row(self._member(subject_state, "subject_state"), category)
            if voting_state not in self.voters:
                raise InvalidInput(f"{quote(voting_state)} has no vote in the Council; voters: "
                                   f"{', '.join(self.voters)}", field="voting_state")
            if row.ready and not row.revoked or self._votes(subject_state, category).get(voting_state) is vote:
                return False
            with self._atomic():
                self._record_vote(subject_state, category, voting_state, vote, self.clock.now())
            return True

    def merge(self, reported: Readiness) -> bool:
        """Take in `reported`, `reported.state`'s own row as that state's supervisor holds it (GATE-2 catch-up of
        a state that was down; the caller checks that the sender's certificate names `reported.state`).

        Idempotent and order-free: steps add up; of the decision and the revocation, the one with the latest
        date wins (an undated decision, from the federation file, is older than any); taking in a revocation
        clears the votes, as `revoke` does. A state is not believed on its own word that the Council found it
        ready: a decision is taken in only if the votes this book holds (each taken from its own voter) make it
        unanimous, otherwise only the steps are. True if the row changed here.
        """
        category = self._category(reported.category)
        with self._lock:
            held = self._row(self._member(reported.state), category)
            steps = tuple(s for s in ReadinessStep if s in held.steps_done or s in reported.steps_done)
            merged = replace(held, steps_done=steps)
            if _last_change(reported) > _last_change(held) and (
                    reported.revoked or _decides(self._votes(reported.state, category), self.voters)):
                merged = replace(reported, steps_done=steps)
            if merged == held:
                return False
            with self._atomic():
                self._save(merged)
                if merged.revoked and not held.revoked:
                    self._clear_votes(merged.state, category)
            return True

    def settle(self) -> list[Readiness]:
        """Take every decision the votes held here make (unanimity, every step done) that this book has not taken
        yet: after a catch-up in which the subject itself was not reached. Returns the rows decided now."""
        with self._lock:
            rounds = self._db.execute("SELECT DISTINCT subject_state, category FROM votes").fetchall()
            decided = []
            for subject, name in rounds:
                row = self._row(subject, Category[name])
                if (not (row.ready and not row.revoked) and not row.steps_missing
                        and _decides(self._votes(subject, row.category), self.voters)):
                    decided.append(Readiness(subject, row.category, row.steps_done, True, self.clock.now()))
            if decided:
                with self._atomic():
                    for row in decided:
                        self._save(row)
            return decided

    def record_step(self, state: str, category: Category | str, step: ReadinessStep | str) -> Readiness:
        """Mark one evaluation step done (idempotent; steps may be recorded in any order)."""
        category = self._category(category)
        try:
            step = ReadinessStep(step)
        except ValueError:
            raise InvalidInput(f"{quote(step)}; allowed: {', '.join(s.name for s in ReadinessStep)}",
                               field="step") from None
        with self._lock:
            row = self._row(self._member(state), category)
            done = set(row.steps_done) | {step}
            row = Readiness(**{**row.__dict__, "steps_done": tuple(s for s in ReadinessStep if s in done)})
            self._save(row)
            return row

    def cast_vote(self, subject_state: str, category: Category | str, voting_state: str,
                  vote: Vote | str) -> VoteTally:
        """One member's vote on the Council decision for `subject_state` and `category` (GATE-1).

        GateClosed while evaluation steps are missing; Duplicate once the decision is taken. The
        decision falls when every member has voted, none AGAINST, at least one IN_FAVOUR.
        """
        category = self._category(category)
        try:
            vote = Vote(vote)
        except ValueError:
            allowed = ", ".join(v.name for v in Vote)
            raise InvalidInput(f"{quote(vote)}; allowed: {allowed}", field="vote") from None
        with self._lock:
            row = self._row(self._member(subject_state, "subject_state"), category)
            if voting_state not in self.voters:
                raise InvalidInput(f"{quote(voting_state)} has no vote in the Council; voters: "
                                   f"{', '.join(self.voters)}", field="voting_state")
            if row.steps_missing:
                raise GateClosed(
                    f"the Council cannot vote on {subject_state}'s {category.name} readiness yet; evaluation "
                    f"steps missing: {', '.join(s.name for s in row.steps_missing)} (GATE-1)",
                    state=subject_state)
            if row.ready and not row.revoked:
                decided = format_moment(row.decided_at or self.clock.now())
                raise Duplicate(f"the Council already decided that {subject_state} is ready for "
                                f"{category.name} exchange (on {decided}); revoke it first")
            now = self.clock.now()
            with self._atomic():  # the vote and the decision it completes
                self._record_vote(subject_state, category, voting_state, vote, now)
                votes = self._votes(subject_state, category)
                in_favour = sum(v is Vote.IN_FAVOUR for v in votes.values())
                needed = len(self.voters) - sum(v is Vote.ABSTAIN for v in votes.values())
                if _decides(votes, self.voters):
                    row = Readiness(subject_state, category, row.steps_done, True, now)
                    self._save(row)
            return VoteTally(row, in_favour, needed, votes)

    # -- the pilot run ----------------------------------------------------------------------------

    def open_pilot(self, pilot_id: str, state: str, category: Category | str, peer: str,
                   query_ids: Sequence[str], expires_at: datetime | None = None) -> PilotWindow:
        """Open a pilot window for `state`'s test queries with `peer` (idempotent for the same id): only queries
        whose case reference is one of `query_ids` ("<pilot id>-" and a random part each) pass, one each."""
        category = self._category(category)
        if not pilot_id.startswith("PILOT-") or len(pilot_id) < 12:
            raise InvalidInput(f"{quote(pilot_id)}; a pilot id is 'PILOT-' and a random part", field="pilot_id")
        query_ids = tuple(dict.fromkeys(query_ids))
        if not 1 <= len(query_ids) <= PILOT_MAX_QUERIES:
            raise InvalidInput(f"names {len(query_ids)} test queries; allowed: 1 to {PILOT_MAX_QUERIES}, the ids of "
                               f"the pilot's own test queries", field="query_ids")
        for query_id in query_ids:
            if not query_id.startswith(f"{pilot_id}-") or len(query_id) < len(pilot_id) + 9:
                raise InvalidInput(f"{quote(query_id)}; a test query id is the pilot id, '-' and a random part of at "
                                   f"least 8 characters", field="query_ids")
        with self._lock:
            self._member(state)
            self._member(peer, "peer_state")
            if peer == state:
                raise InvalidInput(f"{peer}; a pilot runs against another state", field="peer_state")
            host = self._row(peer, category)
            if not host.ready or host.revoked:
                raise GateClosed(f"{peer} is not ready for {category.name} exchange itself, so it cannot host "
                                 f"{state}'s pilot run (GATE-1)", state=peer, category=category.name)
            now = self.clock.now()
            window = PilotWindow(pilot_id, state, category, peer, now, expires_at or now + PILOT_WINDOW,
                                 query_ids=query_ids)
            if window.expires_at > now + PILOT_WINDOW:
                raise InvalidInput(f"a pilot window lasts at most {PILOT_WINDOW}", field="expires_at")
            with self._atomic():
                self._db.execute("INSERT OR IGNORE INTO pilots VALUES (?, ?, ?, ?, ?, ?, 0)",
                                 (pilot_id, state, category.name, peer, format_moment(now),
                                  format_moment(window.expires_at)))
                self._db.executemany("INSERT OR IGNORE INTO pilot_queries (query_id, pilot_id) VALUES (?, ?)",
                                     [(query_id, pilot_id) for query_id in query_ids])
            return window

    def close_pilot(self, pilot_id: str) -> None:
        """Close a pilot window: from now on its queries meet the gates like any other."""
        with self._lock, self._atomic():
            self._db.execute("UPDATE pilots SET closed = 1 WHERE pilot_id = ?", (pilot_id,))

    def _pilot_query(self, state: str, category: Category | str, query_id: str) -> tuple[str, str] | None:
        """(peer, request id that used it or '') of a test query of `state`'s open pilot window (caller locks)."""
        if not query_id.startswith("PILOT-"):
            return None
        found = self._db.execute(
            "SELECT p.peer, q.request_id FROM pilot_queries q JOIN pilots p ON p.pilot_id = q.pilot_id "
            "WHERE q.query_id = ? AND p.state = ? AND p.category = ? AND NOT p.closed AND p.expires_at > ?",
            (query_id, state, Category(category).name, format_moment(self.clock.now()))).fetchone()
        return (found[0], found[1]) if found else None

    def pilot_peer(self, state: str, category: Category | str, query_id: str) -> str | None:
        """The peer of `state`'s open pilot window for `category` whose test queries include `query_id`, or
        None (GATE-1); whether the id is still unused, `claim_pilot_query` says."""
        with self._lock:
            found = self._pilot_query(state, category, query_id)
        return found[0] if found else None

    def claim_pilot_query(self, state: str, category: Category | str, partner: str, query_id: str,
                          request_id: str) -> bool:
        """True if `query_id` is a test query of `state`'s open pilot window with `partner` and is unused (it is
        then bound to `request_id`) or already bound to `request_id`: each test query passes once (GATE-1)."""
        if not request_id:
            return False
        with self._lock:
            found = self._pilot_query(state, category, query_id)
            if found is None or found[0] != partner or found[1] not in ("", request_id):
                return False
            if not found[1]:
                with self._atomic():
                    claimed = self._db.execute("UPDATE pilot_queries SET request_id = ? WHERE query_id = ? AND "
                                               "request_id = ''", (request_id, query_id)).rowcount
                return bool(claimed)
            return True

    def admits(self, state: str, category: Category | str, partner: str, case_reference: str,
               request_id: str) -> bool:
        """May `state` exchange `category` data with `partner` in request `request_id`? If it is ready, or if this
        is one of the test queries of its open pilot run with `partner` (its query id as the case reference), for
        the first request that carries that id only (GATE-1)."""
        return self.is_ready(state, category) or self.claim_pilot_query(state, category, partner, case_reference,
                                                                        request_id)

    def revoke(self, state: str, category: Category | str, reason: str) -> Readiness:
        """Withdraw a decision (GATE-2): from now on queries to and from `state` are refused."""
        category = self._category(category)
        if not reason.strip():
            raise InvalidInput("is empty; say why the decision is revoked", field="reason")
        with self._lock:
            row = self._row(self._member(state), category)
            if not row.ready or row.revoked:
                raise GateClosed(f"{state} is not ready for {category.name} exchange, so there is no "
                                 f"decision to revoke", state=state, category=category.name)
            row = Readiness(state, category, row.steps_done, False, row.decided_at, True, self.clock.now(),
                            reason.strip())
            with self._atomic():
                self._save(row)
                self._clear_votes(state, category)
            return row
