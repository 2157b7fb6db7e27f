"""One state's Art 30 protocol log in SQLite: durable, append-only, hash-chained, purged on time.

Durability (LOG-4): WAL journal with `synchronous=FULL`, one transaction per `append` (or one for a
whole `append_many`, a group commit with one fsync); the method returns only after the commit, so
the caller replies only once its entry survives a crash.

Integrity (LOG-5): every entry carries `previous_hash` and `hash = SHA-256(canonical entry)`; the
first entry chains to `GENESIS_HASH`. A `head` row written in the same transaction as every append
records the last sequence and hash, so a tail cut off or a row added outside the logger shows too.
Triggers refuse UPDATE on entries and DELETE of any entry the retention purge has not released.

Retention (LOG-6): `purge` deletes entries older than their kind's period. A removed entry leaves a
*tombstone* (sequence, previous hash, hash: no content) so that entries kept longer (NL keeps
non-automated supplies 4 years) still chain across the gap; the unbroken run of tombstones right
after the *checkpoint* folds into it (the sequence and hash of the last entry removed), which is
where `verify` starts. A gap no tombstone explains stops the fold, so it stays visible.

Signed checkpoints (LOG-5): the hash algorithm is public, so someone who can write the file could
rewrite the whole chain and the head consistently. Given the state's key (`CheckpointKey`, from its
federation certificate), the log signs a checkpoint (sequence, hash of that entry, time) whenever a
write crosses a multiple of `checkpoint_every` entries, and on demand (`checkpoint()`). `verify`
checks each checkpoint's signature against the state's certificate and that the chain still has
that hash at that sequence, and that no periodic checkpoint is missing; so a consistent rewrite is
caught at the first checkpoint after its start. The purge keeps the chain anchored: the fold stops
before a tombstone that disagrees with a checkpoint (the disagreement stays visible), and after a
fold the log signs a checkpoint at the fold point before dropping the ones the fold passed; a log
opened without its private key refuses a purge that would pass a signed checkpoint (InvalidInput).
Limit: a rewrite that also cuts the tail below the last checkpoint and removes the checkpoints looks
like a shorter log; the signed checkpoints handed out (ListCheckpoints, the DPA) catch that.

Schema: `meta(key, value)` (state, schema version), `entries(sequence PK, <the Entry fields>)`,
`head(id=1, sequence, hash)`, `tombstones(sequence PK, kind, previous_hash, hash, purged_at)`,
`checkpoint(id=1, sequence, hash, purged_at)` (the purge fold),
`signed_checkpoints(sequence PK, hash, signed_at, signature, certificate)`. Times are ISO 8601 UTC text, microsecond precision.
"""

from __future__ import annotations

import contextlib
import operator
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.identity import is_state_code
from prum.services.common.purpose import SearchPurpose
from prum.services.common.store import open_database, transaction
from prum.services.logger.checkpoint import CheckpointKey, SignedCheckpoint
from prum.services.logger.entry import (
    GENESIS_HASH,
    EntryKind,
    LogEntry,
    MessageType,
    Outcome,
    Side,
    canonical_data,
    format_moment,
    validate_entry,
)

SCHEMA_VERSION = "1"
#: LOG-6: logs are kept 2 years. Days, as the federation file counts them ('2y' = 730 days).
TWO_YEARS = timedelta(days=730)
#: The Dutch retention list keeps evidence of supplied judicial data at least 4 years ('4y' = 1461 days).
FOUR_YEARS = timedelta(days=1461)
MAX_QUERY_LIMIT = 10_000
#: A signed checkpoint every this many entries (LOG-5), besides those made on demand and at a purge.
CHECKPOINT_EVERY = 1000
_EXPORT_PAGE = 500

_COLUMNS = ("sequence", "kind", "message_type", "category", "side", "logging_state", "requesting_state",
            "requested_state", "request_id", "reply_id", "officer_id", "ordering_officer_id", "reason",
            "case_reference", "data_supplied", "outcome", "hit_count", "purpose", "recorded_at", "previous_hash",
            "hash")
_SELECT = f"SELECT {', '.join(_COLUMNS)} FROM entries"
#: The columns `_checkpoint_from_row` reads.
_SELECT_CHECKPOINTS = "SELECT sequence, hash, signed_at, signature, certificate FROM signed_checkpoints"
_INSERT = f"INSERT INTO entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
    sequence INTEGER PRIMARY KEY,
    kind TEXT NOT NULL, message_type TEXT NOT NULL, category TEXT NOT NULL, side TEXT NOT NULL,
    logging_state TEXT NOT NULL, requesting_state TEXT NOT NULL, requested_state TEXT NOT NULL,
    request_id TEXT NOT NULL, reply_id TEXT NOT NULL, officer_id TEXT NOT NULL,
    ordering_officer_id TEXT NOT NULL, reason TEXT NOT NULL, case_reference TEXT NOT NULL,
    data_supplied TEXT NOT NULL, outcome TEXT NOT NULL, hit_count INTEGER NOT NULL,
    recorded_at TEXT NOT NULL, previous_hash TEXT NOT NULL, hash TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT 'CRIMINAL_INVESTIGATION'
);
CREATE INDEX IF NOT EXISTS entries_by_request ON entries (request_id);
CREATE INDEX IF NOT EXISTS entries_by_time ON entries (recorded_at);
CREATE INDEX IF NOT EXISTS entries_by_kind_time ON entries (kind, recorded_at);
CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY CHECK (id = 1), sequence INTEGER NOT NULL,
                                 hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tombstones (sequence INTEGER PRIMARY KEY, kind TEXT NOT NULL,
                                       previous_hash TEXT NOT NULL, hash TEXT NOT NULL,
                                       purged_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1), sequence INTEGER NOT NULL,
                                       hash TEXT NOT NULL, purged_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS signed_checkpoints (sequence INTEGER PRIMARY KEY, hash TEXT NOT NULL,
                                               signed_at TEXT NOT NULL, signature BLOB NOT NULL,
                                               certificate BLOB NOT NULL DEFAULT x'');
CREATE TRIGGER IF NOT EXISTS entries_never_updated BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the protocol log is append-only: entries are never updated (LOG-5)'); END;
CREATE TRIGGER IF NOT EXISTS entries_deleted_only_by_purge BEFORE DELETE ON entries
WHEN NOT EXISTS (SELECT 1 FROM tombstones WHERE sequence = OLD.sequence)
BEGIN
    SELECT RAISE(ABORT, 'the protocol log is append-only: only the retention purge deletes entries (LOG-6)');
END;
"""


@dataclass(frozen=True)
class RetentionPolicy:
    """How long each kind of entry is kept (LOG-6): `default` unless `by_kind` says longer.

    No period may be shorter than the 2 years of LOG-6; national law may keep some kinds longer.
    """

    default: timedelta = TWO_YEARS
    by_kind: Mapping[EntryKind, timedelta] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for kind, period in {"default": self.default, **{k.name: v for k, v in self.by_kind.items()}}.items():
            if period < TWO_YEARS:
                raise InvalidInput(f"{period.days} days; LOG-6 keeps logs at least 2 years "
                                   f"({TWO_YEARS.days} days)", field=f"retention.{kind}")

    def period(self, kind: EntryKind) -> timedelta:
        return self.by_kind.get(kind, self.default)

    @classmethod
    def for_state(cls, code: str,
                  overrides_days: Mapping[str | EntryKind, int] | None = None) -> RetentionPolicy:
        """The national policy: the Netherlands keeps non-automated supplies (evidence of supplied
        judicial data) 4 years, every other state keeps everything 2 years; `overrides_days`
        (kind name -> days, as the federation file gives them) replace either."""
        by_kind: dict[EntryKind, timedelta] = {}
        if code == "NL":
            by_kind[EntryKind.NON_AUTOMATED_SUPPLY] = FOUR_YEARS
        for name, days in (overrides_days or {}).items():
            try:
                kind = EntryKind[name.name if isinstance(name, EntryKind) else str(name)]
            except KeyError:
                allowed = ", ".join(k.name for k in EntryKind)
                raise InvalidInput(f"{quote(name)} is not an entry kind; allowed: {allowed}",
                                   field="retention") from None
            by_kind[kind] = timedelta(days=days)
        return cls(by_kind=by_kind)


@dataclass(frozen=True)
class Verification:
    """The result of checking the hash chain (LOG-5); `violations` are (sequence, problem) pairs."""

    intact: bool
    entries_checked: int
    violations: list[tuple[int, str]]
    #: Signed checkpoints whose signature held and whose sequence the walk reached (LOG-5).
    checkpoints_checked: int = 0


@dataclass(frozen=True)
class PurgeReport:
    removed: int
    removed_by_kind: dict[EntryKind, int]
    dry_run: bool = False


@dataclass(frozen=True)
class LogStats:
    entries: int
    entries_by_kind: dict[EntryKind, int]
    last_sequence: int
    last_hash: str


def _aware(moment: datetime | None, name: str) -> str | None:
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise InvalidInput("has no time zone; give an aware UTC time", field=name)
    return format_moment(moment)


def _row_to_entry(row: tuple) -> LogEntry:  # type: ignore[type-arg]
    values = dict(zip(_COLUMNS, row, strict=True))
    return LogEntry(
        sequence=values["sequence"], kind=EntryKind(values["kind"]),
        message_type=MessageType(values["message_type"]), category=Category(values["category"]),
        side=Side(values["side"]), logging_state=values["logging_state"],
        requesting_state=values["requesting_state"], requested_state=values["requested_state"],
        request_id=values["request_id"], reply_id=values["reply_id"], officer_id=values["officer_id"],
        ordering_officer_id=values["ordering_officer_id"], reason=values["reason"],
        case_reference=values["case_reference"], data_supplied=values["data_supplied"],
        outcome=Outcome(values["outcome"]), hit_count=values["hit_count"],
        recorded_at=datetime.fromisoformat(values["recorded_at"]), previous_hash=values["previous_hash"],
        hash=values["hash"], purpose=SearchPurpose(values["purpose"]))


_ROW_VALUES = operator.itemgetter(*_COLUMNS)
_RECORDED_AT = _COLUMNS.index("recorded_at")


def _entry_to_row(entry: LogEntry, stamp: str | None = None) -> tuple:  # type: ignore[type-arg]
    """The row of an entry in `_COLUMNS` order: enums by name (an enum's value is its name, and SQLite
    stores a str subclass as its text), the time in its fixed-width form (`stamp` if given)."""
    assert entry.recorded_at is not None
    row = _ROW_VALUES(entry.__dict__)
    return (*row[:_RECORDED_AT], stamp or format_moment(entry.recorded_at), *row[_RECORDED_AT + 1:])


class _Batch:
    """One caller's entries waiting for the next group commit. `done` is a bare lock, held from the start
    and released by the leader once the batch is on disk, or to hand the caller the lead: waiting on it costs
    one blocking acquire in C, where an Event runs a Condition's Python code on both sides (this hand-off is
    paid per append)."""

    __slots__ = ("done", "entries", "error", "written")

    def __init__(self, entries: list[LogEntry]) -> None:
        self.entries = entries
        self.done = threading.Lock()
        self.done.acquire()
        self.written: list[LogEntry] | None = None
        self.error: BaseException | None = None


class ProtocolLog:
    """The Art 30 log of one state (LOG-1..LOG-6). Thread-safe; several instances (or processes)
    may share one file, since the chain head is read inside each write transaction."""

    def __init__(self, path: str | Path, state: str, clock: Clock | None = None,
                 retention: RetentionPolicy | None = None, key: CheckpointKey | None = None,
                 checkpoint_every: int = CHECKPOINT_EVERY) -> None:
        if not is_state_code(state):
            raise InvalidInput(f"{quote(state)} is not a state code; allowed: ISO 3166 alpha-2 in capitals, "
                               f"e.g. 'NL'", field="state")
        if key is not None and key.state != state:
            raise InvalidInput(f"the certificate is {quote(key.state)}'s, not {state}'s", field="key")
        if checkpoint_every < 1:
            raise InvalidInput(f"{checkpoint_every}; allowed: 1 or more", field="checkpoint_every")
        #: Signs checkpoints (LOG-5) if it holds the private key; checks them if it holds the certificate.
        self.key = key
        self.checkpoint_every = checkpoint_every
        self.path = str(path)
        self.state = state
        self.clock: Clock = clock or SystemClock()
        self.retention = retention or RetentionPolicy.for_state(state)
        self._lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[_Batch] = []
        self._leading = False
        self._db = open_database(self.path)
        if {"entries"} <= {row[0] for row in self._db.execute("SELECT name FROM sqlite_master")} and "purpose" not in {
                row[1] for row in self._db.execute("PRAGMA table_info(entries)")}:
            # A log from before entries recorded the purpose (P2-SCOPE-1): every search then was a criminal one.
            self._db.execute("ALTER TABLE entries ADD COLUMN purpose TEXT NOT NULL DEFAULT 'CRIMINAL_INVESTIGATION'")
        self._db.executescript(_SCHEMA)
        if "certificate" not in {row[1] for row in self._db.execute("PRAGMA table_info(signed_checkpoints)")}:
            # A log from before checkpoints carried their certificate: theirs is the state's current one.
            self._db.execute("ALTER TABLE signed_checkpoints ADD COLUMN certificate BLOB NOT NULL DEFAULT x''")
        with self._transaction():
            stored = dict(self._db.execute("SELECT key, value FROM meta").fetchall())
            if "state" in stored and stored["state"] != state:
                raise InvalidInput(f"{self.path} is the protocol log of {stored['state']}, not of {state}",
                                   field="state")
            self._db.execute("INSERT OR IGNORE INTO meta VALUES ('state', ?), ('schema_version', ?)",
                             (state, SCHEMA_VERSION))
            self._db.execute("INSERT OR IGNORE INTO head VALUES (1, 0, ?)", (GENESIS_HASH,))

    # -- plumbing -------------------------------------------------------------------------------

    @contextlib.contextmanager
    def _transaction(self, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
        """One transaction on the writing connection, under the lock; IMMEDIATE takes the write lock
        at once, so the head read inside it is the one the new entries chain to."""
        with self._lock, transaction(self._db, mode) as db:
            yield db

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def pragma(self, name: str) -> object:
        """A pragma's value on the writing connection: `pragma('journal_mode')` -> 'wal',
        `pragma('synchronous')` -> 2 (FULL)."""
        if not name.isidentifier():
            raise InvalidInput(f"{quote(name)} is not a pragma name", field="name")
        with self._lock:
            return self._db.execute(f"PRAGMA {name}").fetchone()[0]

    # -- writing --------------------------------------------------------------------------------

    def append(self, entry: LogEntry) -> LogEntry:
        """Write one entry; returns it with sequence, recorded_at and hashes once it is durable (LOG-4)."""
        return self.append_many([entry])[0]

    def append_many(self, entries: Iterable[LogEntry]) -> list[LogEntry]:
        """Write several entries, all or none; returns them sealed once they are durable (LOG-4).

        Group commit: concurrent callers' entries go into one transaction and one fsync. The first caller to
        find no write under way leads: it writes every batch waiting at that moment (its own included) in one
        commit. Batches that arrive meanwhile wait; when the commit is on disk the leader hands the lead to the
        first of them, which writes them all in the next commit, and returns. So no caller waits for more than
        the commit under way and its own, however long the load lasts.
        """
        prepared = [self._prepare(entry) for entry in entries]
        if not prepared:
            return []
        batch = _Batch(prepared)
        with self._pending_lock:
            self._pending.append(batch)
            lead = not self._leading
            self._leading = True
        if not lead:
            batch.done.acquire()  # released when the batch is on disk, or when it is handed the lead
        if batch.written is None and batch.error is None:
            self._lead()
        if batch.error is not None:
            raise batch.error
        assert batch.written is not None
        return batch.written

    def _lead(self) -> None:
        """Write every waiting batch in one commit, then wake their callers and hand the lead on."""
        with self._pending_lock:
            batches, self._pending = self._pending, []
        try:
            written = self._write([batch.entries for batch in batches])
        except BaseException as error:  # noqa: BLE001 - handed to every waiting caller, nothing acknowledged
            for batch in batches:
                batch.error = error
        else:
            for batch, sealed in zip(batches, written):
                batch.written = sealed
        with self._pending_lock:
            successor = self._pending[0] if self._pending else None
            self._leading = successor is not None
        for batch in batches:
            batch.done.release()
        if successor is not None:
            successor.done.release()  # it finds its batch unwritten: it leads the next commit

    def _write(self, groups: list[list[LogEntry]]) -> list[list[LogEntry]]:
        """One transaction for several callers' batches, chained in arrival order."""
        written: list[list[LogEntry]] = []
        with self._transaction() as db:
            sequence, previous = db.execute("SELECT sequence, hash FROM head WHERE id = 1").fetchone()
            now = self.clock.now()
            stamp = format_moment(now)  # one time for the whole group commit
            rows = []
            for group in groups:
                sealed_group = []
                for entry in group:
                    sequence += 1
                    sealed = entry.sealed(sequence, now, previous, stamp)
                    rows.append(_entry_to_row(sealed, stamp))
                    previous = sealed.hash
                    sealed_group.append(sealed)
                written.append(sealed_group)
            db.executemany(_INSERT, rows)
            db.execute("UPDATE head SET sequence = ?, hash = ? WHERE id = 1", (sequence, previous))
            if sequence // self.checkpoint_every > (sequence - len(rows)) // self.checkpoint_every:
                self._sign(db, sequence, previous, now)
        return written

    def _sign(self, db: sqlite3.Connection, sequence: int, digest: str, now: datetime) -> SignedCheckpoint | None:
        """Sign and store a checkpoint of the chain at `sequence` (inside the caller's transaction)."""
        if self.key is None or not self.key.can_sign:
            return None
        signed = self.key.sign(self.state, sequence, digest, now)
        db.execute("INSERT OR REPLACE INTO signed_checkpoints VALUES (?, ?, ?, ?, ?)",
                   (sequence, digest, format_moment(now), signed.signature, signed.certificate))
        return signed

    def checkpoint(self) -> SignedCheckpoint:
        """Sign a checkpoint of the chain's head now (LOG-5), e.g. before handing it to the DPA."""
        if self.key is None or not self.key.can_sign:
            raise InvalidInput(f"the protocol log of {self.state} was opened without its private key; it "
                               f"cannot sign checkpoints", field="key")
        with self._transaction() as db:
            sequence, digest = db.execute("SELECT sequence, hash FROM head WHERE id = 1").fetchone()
            signed = self._sign(db, sequence, digest, self.clock.now())
        assert signed is not None
        return signed

    def checkpoints(self, after_sequence: int = 0, limit: int = MAX_QUERY_LIMIT) -> list[SignedCheckpoint]:
        """The stored signed checkpoints in sequence order (LOG-5), as anchors to hand out."""
        with self._lock:
            rows = self._db.execute(f"{_SELECT_CHECKPOINTS} WHERE sequence > ? ORDER BY sequence LIMIT ?",
                                    (after_sequence, limit)).fetchall()
        return [self._checkpoint_from_row(row) for row in rows]

    def _checkpoint_from_row(self, row: tuple) -> SignedCheckpoint:  # type: ignore[type-arg]
        sequence, digest, signed_at, signature, certificate = row
        return SignedCheckpoint(self.state, sequence, digest, datetime.fromisoformat(signed_at), bytes(signature),
                                bytes(certificate))

    def _prepare(self, entry: LogEntry) -> LogEntry:
        if not isinstance(entry, LogEntry):
            raise InvalidInput(f"{type(entry).__name__} is not a LogEntry", field="entry")
        if not entry.logging_state:
            entry = entry.with_fields(logging_state=self.state)
        if entry.logging_state != self.state:
            raise InvalidInput(f"{quote(entry.logging_state)}; this is the protocol log of {self.state}",
                               field="logging_state")
        validate_entry(entry)
        if entry.data_supplied:
            data = canonical_data(entry.data_supplied)
            if data != entry.data_supplied:
                entry = entry.with_fields(data_supplied=data)
        return entry

    # -- reading --------------------------------------------------------------------------------

    def query(self, request_id: str | None = None, kind: EntryKind | None = None,
              category: Category | None = None,
              since: datetime | None = None, until: datetime | None = None, after_sequence: int = 0,
              limit: int = 1000) -> list[LogEntry]:
        """Entries in sequence order matching every given filter; `since` inclusive, `until` exclusive."""
        if not 1 <= limit <= MAX_QUERY_LIMIT:
            raise InvalidInput(f"{limit}; allowed: 1 to {MAX_QUERY_LIMIT}", field="limit")
        if after_sequence < 0:
            raise InvalidInput(f"{after_sequence}; allowed: 0 or more", field="after_sequence")
        clauses: list[str] = ["sequence > ?"]
        params: list[object] = [after_sequence]
        for column, value in (("request_id", request_id), ("kind", kind and EntryKind(kind).name),
                              ("category", category and Category(category).name)):
            if value:
                clauses.append(f"{column} = ?")
                params.append(value)
        for op, name, moment in ((">=", "since", since), ("<", "until", until)):
            text = _aware(moment, name)
            if text is not None:
                clauses.append(f"recorded_at {op} ?")
                params.append(text)
        sql = f"{_SELECT} WHERE {' AND '.join(clauses)} ORDER BY sequence LIMIT ?"
        with self._lock:
            rows = self._db.execute(sql, (*params, limit)).fetchall()
        return [_row_to_entry(row) for row in rows]

    def export(self, since: datetime | None = None, until: datetime | None = None) -> Iterator[LogEntry]:
        """Every entry in the period, in sequence order, read page by page (LOG-7: the DPA's copy)."""
        after = 0
        while True:
            page = self.query(since=since, until=until, after_sequence=after, limit=_EXPORT_PAGE)
            yield from page
            if len(page) < _EXPORT_PAGE:
                return
            after = page[-1].sequence

    def stats(self) -> LogStats:
        with self._lock:
            counts = dict(self._db.execute("SELECT kind, COUNT(*) FROM entries GROUP BY kind").fetchall())
            sequence, last_hash = self._db.execute("SELECT sequence, hash FROM head WHERE id = 1").fetchone()
        by_kind = {kind: counts.get(kind.name, 0) for kind in EntryKind}
        return LogStats(entries=sum(by_kind.values()), entries_by_kind=by_kind, last_sequence=sequence,
                        last_hash=last_hash)

    # -- integrity ------------------------------------------------------------------------------

    def verify(self) -> Verification:
        """Walk the chain from the purge checkpoint (or genesis) and report every break (LOG-5).

        Edited entry: its hash no longer matches its content. Moved or swapped entries: the same,
        since the sequence is hashed, and their `previous_hash` no longer links. Deleted entry:
        a gap in the sequence that no purge tombstone explains, or a tail shorter than the head.
        Inserted entry: a broken link, or a sequence beyond the recorded head. A file-backed log
        is read from its own WAL snapshot, so appends go on while a long log is checked.
        """
        with self._snapshot() as db:
            checkpoint = db.execute("SELECT sequence, hash FROM checkpoint WHERE id = 1").fetchone()
            head = db.execute("SELECT sequence, hash FROM head WHERE id = 1").fetchone()
            tombstones = db.execute("SELECT sequence, previous_hash, hash FROM tombstones "
                                    "ORDER BY sequence").fetchall()
            signed = [self._checkpoint_from_row(row) for row in db.execute(f"{_SELECT_CHECKPOINTS} ORDER BY sequence")]
            start_sequence, start_hash = checkpoint or (0, GENESIS_HASH)
            walk = _ChainWalk(start_sequence, start_hash, anchors=self._anchors(signed))
            pending = iter(tombstones)
            tombstone = next(pending, None)
            for row in db.execute(f"{_SELECT} ORDER BY sequence"):
                while tombstone is not None and tombstone[0] <= row[0]:
                    if tombstone[0] < row[0]:
                        walk.tombstone(*tombstone)
                    else:
                        walk.violations.append((row[0], _RE_INSERTED))
                    tombstone = next(pending, None)
                walk.entry(row, head[0])
            while tombstone is not None:
                walk.tombstone(*tombstone)
                tombstone = next(pending, None)
        if self.key is not None:
            self._expect_periodic(walk, signed, head[0])
        return walk.finish(*head)

    def _anchors(self, signed: list[SignedCheckpoint]) -> dict[int, SignedCheckpoint]:
        """The checkpoints `verify` matches against the chain: all of them if there is no certificate to
        check them with, else those whose signature holds (the others are reported as forged)."""
        if self.key is None:
            return {c.sequence: c for c in signed}
        return {c.sequence: c for c in signed if self.key.check(c)}

    def _expect_periodic(self, walk: _ChainWalk, signed: list[SignedCheckpoint], head_sequence: int) -> None:
        """Report forged checkpoints, and a missing one: one is signed every `checkpoint_every` entries."""
        for checkpoint in signed:
            if checkpoint.sequence not in walk.anchors:
                walk.violations.append((checkpoint.sequence, (f"the signed checkpoint at {checkpoint.sequence} does "
                                                             f"not verify against {self.state}'s certificate: "
                                                             f"forged or altered")))
        due = head_sequence // self.checkpoint_every * self.checkpoint_every
        if due and not any(c.sequence >= due for c in walk.anchors.values()):
            walk.violations.append((due, (f"no valid signed checkpoint at or after entry {due}, though one is signed "
                                         f"every {self.checkpoint_every} entries: checkpoints were removed")))

    def _snapshot(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        """A consistent read: a WAL snapshot on its own connection, or the locked writer in memory."""
        if self.path in ("", ":memory:") or self.path.startswith("file::memory:"):
            return self._transaction("DEFERRED")
        return _read_snapshot(self.path)

    # -- retention ------------------------------------------------------------------------------

    def purge(self, dry_run: bool = False) -> PurgeReport:
        """Delete every entry older than its kind's retention period (LOG-6), keeping the chain checkable."""
        now = self.clock.now()
        removed: Counter[EntryKind] = Counter()
        with self._transaction() as db:
            doomed: list[tuple[int, str, str, str]] = []
            for kind in EntryKind:
                cutoff = format_moment(now - self.retention.period(kind))
                doomed += db.execute("SELECT sequence, kind, previous_hash, hash FROM entries "
                                     "WHERE kind = ? AND recorded_at <= ?", (kind.name, cutoff)).fetchall()
            for _, kind_name, _, _ in doomed:
                removed[EntryKind(kind_name)] += 1
            if doomed and not dry_run:
                stamp = format_moment(now)
                db.executemany("INSERT INTO tombstones VALUES (?, ?, ?, ?, ?)",
                               [(seq, kind, prev, digest, stamp) for seq, kind, prev, digest in doomed])
                db.executemany("DELETE FROM entries WHERE sequence = ?", [(seq,) for seq, *_ in doomed])
                self._compact(db, stamp, now)
        return PurgeReport(removed=sum(removed.values()),
                           removed_by_kind={kind: removed.get(kind, 0) for kind in EntryKind},
                           dry_run=dry_run)

    def _compact(self, db: sqlite3.Connection, stamp: str, now: datetime) -> None:
        """Fold into the checkpoint the run of tombstones that follows it without a gap or a broken link;
        a gap (an entry deleted outside a purge) or a hash a signed checkpoint contradicts stops the fold,
        so `verify` still reports it. The fold point is then signed, and the checkpoints it passed go;
        InvalidInput (nothing purged) if some would go and this log cannot sign."""
        checkpoint = db.execute("SELECT sequence, hash FROM checkpoint WHERE id = 1").fetchone()
        last_sequence, last_hash = checkpoint if checkpoint else (0, GENESIS_HASH)
        signed = dict(db.execute("SELECT sequence, hash FROM signed_checkpoints WHERE sequence > ?",
                                 (last_sequence,)).fetchall())
        folded = False
        for sequence, previous_hash, digest in db.execute(
                "SELECT sequence, previous_hash, hash FROM tombstones WHERE sequence > ? ORDER BY sequence",
                (last_sequence,)).fetchall():
            if sequence != last_sequence + 1 or previous_hash != last_hash or signed.get(sequence, digest) != digest:
                break
            last_sequence, last_hash, folded = sequence, digest, True
        if not folded:
            return
        passed = db.execute("SELECT COUNT(*) FROM signed_checkpoints WHERE sequence < ?",
                            (last_sequence,)).fetchone()[0]
        if passed and (self.key is None or not self.key.can_sign):
            # Dropping them unsigned would leave the fold unanchored; keeping them would leave anchors `verify`
            # never reaches (reported as a cut log). So nothing is purged (the caller's transaction rolls back).
            raise InvalidInput(
                f"the protocol log of {self.state} was opened without its private key: the purge would fold past "
                f"{passed} signed checkpoint(s) and must sign a new one at the fold point (entry {last_sequence}) "
                f"to keep the chain anchored (LOG-5); purge with the state's key (CheckpointKey with its private "
                f"key), or run a dry run", field="key")
        db.execute("INSERT INTO checkpoint VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                   "sequence = excluded.sequence, hash = excluded.hash, purged_at = excluded.purged_at",
                   (last_sequence, last_hash, stamp))
        db.execute("DELETE FROM tombstones WHERE sequence <= ?", (last_sequence,))
        self._sign(db, last_sequence, last_hash, now)  # None without the key, and then none was passed
        db.execute("DELETE FROM signed_checkpoints WHERE sequence < ?", (last_sequence,))


def _span(first: int, last: int) -> str:
    return f"entry {first} is" if first == last else f"entries {first} to {last} are"


_RE_INSERTED = "the entry is present although the retention purge removed it: re-inserted outside the logger"
_EDITED = "the entry's content does not match its hash: it was edited, or moved from another position"


@contextlib.contextmanager
def _read_snapshot(path: str) -> Iterator[sqlite3.Connection]:
    """A read-only connection holding one WAL snapshot for the whole read."""
    uri = f"{Path(path).resolve().as_uri()}?mode=ro"
    db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=30.0)
    try:
        db.execute("BEGIN")
        yield db
        db.execute("COMMIT")
    finally:
        db.close()


class _ChainWalk:
    """The state of one `verify` pass: the last link seen and the violations found so far (LOG-5)."""

    def __init__(self, sequence: int, digest: str, anchors: dict[int, SignedCheckpoint] | None = None) -> None:
        self.last_sequence, self.last_hash = sequence, digest
        self.checked = 0
        self.violations: list[tuple[int, str]] = []
        #: Signed checkpoints by sequence; each is matched once the walk reaches its sequence.
        self.anchors = anchors or {}
        self._unmatched = dict(self.anchors)
        self._match(sequence, digest)

    def _match(self, sequence: int, digest: str) -> None:
        checkpoint = self._unmatched.pop(sequence, None)
        if checkpoint is not None and checkpoint.hash != digest:
            self.violations.append((sequence, (f"the chain's hash at {sequence} differs from the one signed in the "
                                              f"checkpoint of {format_moment(checkpoint.signed_at)}: the chain "
                                              f"was rewritten up to here")))

    def _link(self, sequence: int, previous_hash: str, what: str) -> None:
        if sequence > self.last_sequence + 1:
            first = self.last_sequence + 1
            self.violations.append((first, (f"{_span(first, sequence - 1)} missing before {what} {sequence}: "
                                           f"deleted outside a retention purge")))
        elif previous_hash != self.last_hash:
            self.violations.append((sequence, (f"{what} {sequence} does not chain to entry "
                                              f"{self.last_sequence} (previous_hash differs): an entry was "
                                              f"replaced, inserted or reordered")))

    def tombstone(self, sequence: int, previous_hash: str, digest: str) -> None:
        self._link(sequence, previous_hash, "purged entry")
        self._match(sequence, digest)
        self.last_sequence, self.last_hash = sequence, digest

    def entry(self, row: tuple, head_sequence: int) -> None:  # type: ignore[type-arg]
        sequence, previous_hash, digest = row[0], row[-2], row[-1]
        self.checked += 1
        if sequence <= self.last_sequence:
            self.violations.append((sequence, (f"the entry lies inside the purged range (up to "
                                              f"{self.last_sequence}): inserted outside the logger")))
        else:
            self._link(sequence, previous_hash, "entry")
        try:
            edited = _row_to_entry(row).compute_hash() != digest
        except (ValueError, TypeError):  # a value no entry can have, e.g. an unknown kind
            edited = True
        if edited:
            self.violations.append((sequence, _EDITED))
        if sequence > head_sequence:
            self.violations.append((sequence, (f"the entry lies beyond the log's head ({head_sequence}): "
                                              f"inserted outside the logger")))
        self._match(sequence, digest)
        self.last_sequence, self.last_hash = max(self.last_sequence, sequence), digest

    def finish(self, head_sequence: int, head_hash: str) -> Verification:
        if self.last_sequence < head_sequence:
            first = self.last_sequence + 1
            self.violations.append((first, (f"{_span(first, head_sequence)} missing at the end of the log "
                                           f"(the head records {head_sequence}): deleted outside a "
                                           f"retention purge")))
        elif self.last_sequence == head_sequence and self.last_hash != head_hash:
            self.violations.append((head_sequence, ("the last entry's hash differs from the one recorded at "
                                                   "the head: the entry was replaced")))
        for sequence in sorted(self._unmatched):
            where = "beyond the log's head" if sequence > head_sequence else "inside the purged range"
            self.violations.append((sequence, (f"a signed checkpoint names entry {sequence}, {where} "
                                              f"({head_sequence if sequence > head_sequence else 'purged'}): "
                                              f"the log was cut or its purge record moved")))
        self.violations.sort(key=lambda v: v[0])
        return Verification(intact=not self.violations, entries_checked=self.checked,
                            violations=self.violations,
                            checkpoints_checked=len(self.anchors) - len(self._unmatched))
