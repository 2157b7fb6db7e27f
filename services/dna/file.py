"""The national DNA file: reference data in SQLite (WAL), matched through an in-memory exact index.

What it holds (DNA-1): a reference number, the kind (DNA-2), the normalised loci, the contested
marking (ACC-1), the blocking (ACC-2) and the time of ingest; no name nor any other personal data.
What it never holds (PUR-2): a query. `search` and `compare_many` read the in-memory index only;
the query profile is not written to any table, cache or index and is gone when the call returns.

In memory (see `block_index` and `encoding`): the profiles as rows of small allele codes, the block
keys that find them, and per row its kind and markings (one byte) and its reference number (packed
bytes). A row's number is its `slot` in the database, fixed for its life.

Start-up: from a snapshot of the in-memory state beside the database (`<db>.index.npz`), used only
when it was written at the database's current generation (a counter that triggers raise on every
change to the profile table, whoever makes it); otherwise rebuilt from the table.

Locks: searches share a reader lock and never wait for one another; a writer validates and writes to
SQLite outside it (serialised with other writers by the database lock) and takes the exclusive
(writer) lock only to publish the change in memory.
"""

from __future__ import annotations

import functools
import json
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import numpy as np
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference, quote
from prum.services.common.reference import ReferenceKind, check_reference
from prum.services.common.store import IngestReport, open_database, transaction
from prum.services.dna.block_index import BlockIndex
from prum.services.dna.encoding import ProfileMatrix
from prum.services.dna.matching import Match
from prum.services.dna.profile import NormalisedProfile, check_inclusion, normalize_profile

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profile (
    slot         INTEGER PRIMARY KEY,
    reference    TEXT NOT NULL UNIQUE,
    kind         TEXT NOT NULL CHECK (kind IN ('IDENTIFIED_PERSON', 'UNIDENTIFIED_TRACE')),
    loci         TEXT NOT NULL,
    contested    INTEGER NOT NULL DEFAULT 0 CHECK (contested IN (0, 1)),
    marking_note TEXT NOT NULL DEFAULT '',
    blocked      INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    block_reason TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS match_mark (
    reference        TEXT NOT NULL,
    requesting_state TEXT NOT NULL,
    request_id       TEXT NOT NULL,
    marked_at        TEXT NOT NULL,
    PRIMARY KEY (reference, request_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS file_state (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    generation INTEGER NOT NULL
);
INSERT OR IGNORE INTO file_state (id, generation) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS profile_inserted AFTER INSERT ON profile
    BEGIN UPDATE file_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS profile_updated AFTER UPDATE ON profile
    BEGIN UPDATE file_state SET generation = generation + 1 WHERE id = 1; END;
CREATE TRIGGER IF NOT EXISTS profile_deleted AFTER DELETE ON profile
    BEGIN UPDATE file_state SET generation = generation + 1 WHERE id = 1; END;
"""
_SCHEMA_VERSION = 2
_COLUMNS = "reference, kind, loci, contested, marking_note, blocked, block_reason, created_at"
_MIGRATE_FROM_1 = f"""
ALTER TABLE profile RENAME TO profile_v1;
{_SCHEMA}
INSERT INTO profile ({_COLUMNS}) SELECT {_COLUMNS} FROM profile_v1 ORDER BY rowid;
DROP TABLE profile_v1;
"""
_SNAPSHOT_FORMAT = 1
SNAPSHOT_MIN_PROFILES = 20_000
"""`DnaFile(snapshot=None)` writes a start-up snapshot on close only for files at least this big."""

_TRACE, _CONTESTED, _BLOCKED = 1, 2, 4


@dataclass(frozen=True, slots=True)
class MatchMark:
    """The file's note that another state's search matched one of its unidentified profiles (P2-DNA-5)."""

    reference: str
    requesting_state: str
    request_id: str
    marked_at: datetime


@dataclass(frozen=True, slots=True)
class DnaHit:
    """One matching profile of the file (DNA-9, DNA-10): reference data only.

    kind says whether it is an identified person or an unidentified trace (DNA-2); contested and
    marking_note carry the ACC-1 marking with the hit.
    """

    reference: str
    kind: ReferenceKind
    match: Match
    profile: NormalisedProfile
    contested: bool = False
    marking_note: str = ""


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A profile of the file as the own state sees it, for follow-ups and administration."""

    reference: str
    kind: ReferenceKind
    profile: NormalisedProfile
    contested: bool
    marking_note: str
    blocked: bool
    block_reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class FileStats:
    profiles: int
    identified_persons: int
    unidentified_traces: int
    blocked: int
    contested: int


def _loci_json(profile: Mapping[str, tuple[str, str]]) -> str:
    return json.dumps({locus: list(alleles) for locus, alleles in profile.items()}, separators=(",", ":"))


def _loci_from_json(text: str) -> NormalisedProfile:
    return NormalisedProfile((locus, (alleles[0], alleles[1])) for locus, alleles in json.loads(text).items())


class ReadWriteLock:
    """Many readers or one writer; a waiting writer goes before new readers (no writer starvation).
    Not re-entrant: a holder must not take it again."""

    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            while self._writing or self._writers_waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writing or self._readers:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._cond:
                self._writing = False
                self._cond.notify_all()


class _Catalogue:
    """Per slot: flags (trace, contested, blocked: one byte) and the reference number (packed ASCII
    bytes); marking notes by slot, for the few rows that have one."""

    def __init__(self) -> None:
        self.flags = np.zeros(0, dtype=np.uint8)
        self.start = np.zeros(0, dtype=np.int64)
        self.length = np.zeros(0, dtype=np.uint8)
        self.blob = bytearray()
        self.notes: dict[int, str] = {}

    def reserve(self, slots: int) -> None:
        if slots > len(self.flags):
            size = max(slots, len(self.flags) + len(self.flags) // 4 + 1024)
            for name in ("flags", "start", "length"):
                old = getattr(self, name)
                grown = np.zeros(size, dtype=old.dtype)
                grown[:len(old)] = old
                setattr(self, name, grown)

    def put(self, slots: np.ndarray, references: list[str], flags: np.ndarray) -> None:
        if not len(slots):
            return
        self.reserve(int(slots.max()) + 1)
        encoded = [reference.encode("ascii") for reference in references]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        self.start[slots] = len(self.blob) + np.cumsum(lengths) - lengths
        self.length[slots] = lengths
        self.blob += b"".join(encoded)
        self.flags[slots] = flags

    def reference(self, slot: int) -> str:
        start = int(self.start[slot])
        return self.blob[start:start + int(self.length[slot])].decode("ascii")

    def nbytes(self) -> int:
        return self.flags.nbytes + self.start.nbytes + self.length.nbytes + len(self.blob)


class DnaFile:
    """The national DNA file of one state (Art 2-4): ingest, delete, mark, block, search, compare.

    `path` is a SQLite database file (created with its folder if missing) or ":memory:". Thread-safe:
    gRPC worker threads may share one DnaFile; searches run in parallel with one another (see the
    module doc). `snapshot`: write a start-up snapshot beside the database on close (None: only for
    files of at least SNAPSHOT_MIN_PROFILES profiles; never for ":memory:").
    """

    def __init__(self, path: str | os.PathLike[str], clock: Clock | None = None, *,
                 snapshot: bool | None = None, mark_matched_traces: bool = False) -> None:
        self._clock: Clock = clock or SystemClock()
        #: P2-DNA-5: whether a match of another state's search on an unidentified profile is noted in the file.
        self.mark_matched_traces = mark_matched_traces
        self._db_lock = threading.RLock()
        self._rw = ReadWriteLock()
        self.path = str(path)
        self._snapshot_wanted = snapshot
        self._db = open_database(self.path)
        self._open_schema()
        self._index = BlockIndex()
        self._catalogue = _Catalogue()
        self._next_slot = 1
        self._saved_generation = -1
        self.loaded_from = ""
        """How the in-memory state was made at start-up: "snapshot" or "database"."""
        self._load()

    # -- life cycle -------------------------------------------------------------------------------

    def _open_schema(self) -> None:
        db = self._db
        version = db.execute("PRAGMA user_version").fetchone()[0]
        columns = [row[1] for row in db.execute("PRAGMA table_info(profile)")]
        if columns and "slot" not in columns:  # a version 1 file: give every profile a fixed slot
            with transaction(db):
                for statement in _MIGRATE_FROM_1.split(";\n"):
                    if statement.strip():
                        db.execute(statement)
        db.executescript(_SCHEMA)
        if version != _SCHEMA_VERSION:
            db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")

    @property
    def snapshot_path(self) -> Path | None:
        """Where the start-up snapshot lives (None for an in-memory database)."""
        if self.path == ":memory:" or self.path.startswith("file:"):
            return None
        return Path(self.path + ".index.npz")

    def _generation(self) -> int:
        return int(self._db.execute("SELECT generation FROM file_state WHERE id = 1").fetchone()[0])

    def _load(self) -> None:
        with self._db_lock, self._rw.write():
            generation = self._generation()
            if not self._load_snapshot(generation):
                self._load_rows()
                self.loaded_from = "database"
            self._saved_generation = generation if self.loaded_from == "snapshot" else -1

    def _load_rows(self, chunk: int = 1 << 16) -> None:
        matrix = ProfileMatrix()
        catalogue = _Catalogue()
        cursor = self._db.execute(
            "SELECT slot, reference, kind, loci, contested, marking_note, blocked FROM profile ORDER BY slot")
        top = 0
        while rows := cursor.fetchmany(chunk):
            slots = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
            profiles = [_loci_from_json(row[3]) for row in rows]
            matrix.put_columns(slots, ProfileMatrix.prepare(profiles))
            flags = np.fromiter(((_TRACE if row[2] == "UNIDENTIFIED_TRACE" else 0) | (_CONTESTED if row[4] else 0)
                                 | (_BLOCKED if row[6] else 0) for row in rows), dtype=np.uint8, count=len(rows))
            catalogue.put(slots, [row[1] for row in rows], flags)
            catalogue.notes.update((row[0], row[5]) for row in rows if row[5])
            top = max(top, int(slots[-1]))
        self._index = BlockIndex(matrix)
        self._catalogue = catalogue
        self._next_slot = top + 1

    def _load_snapshot(self, generation: int) -> bool:
        path = self.snapshot_path
        if path is None or not path.exists():
            return False
        try:
            with np.load(path, allow_pickle=False) as data:
                state = {name: data[name] for name in data.files}
            if int(state["format"][0]) != _SNAPSHOT_FORMAT or int(state["generation"][0]) != generation:
                return False
            matrix = ProfileMatrix.from_state({k[7:]: v for k, v in state.items() if k.startswith("matrix.")})
            index = BlockIndex.from_state(matrix, {k[6:]: v for k, v in state.items() if k.startswith("index.")})
            stored, top = self._db.execute("SELECT COUNT(*), COALESCE(MAX(slot), 0) FROM profile").fetchone()
            if len(index) != stored or top >= int(state["next_slot"][0]):
                return False
        except (OSError, KeyError, ValueError):
            return False
        catalogue = _Catalogue()
        size = len(state["catalogue.flags"])
        catalogue.reserve(size)
        catalogue.flags[:size] = state["catalogue.flags"]
        catalogue.start[:size] = state["catalogue.start"]
        catalogue.length[:size] = state["catalogue.length"]
        catalogue.blob = bytearray(state["catalogue.blob"].tobytes())
        catalogue.notes = {slot: note for slot, note in self._db.execute(
            "SELECT slot, marking_note FROM profile WHERE marking_note != ''")}
        self._index, self._catalogue = index, catalogue
        self._next_slot = int(state["next_slot"][0])
        self.loaded_from = "snapshot"
        return True

    def save_snapshot(self) -> Path | None:
        """Write the start-up snapshot now (atomically: a temporary file, then a rename); returns its
        path, or None for an in-memory database. It holds what the database holds, in the in-memory
        layout, never a query (PUR-2)."""
        path = self.snapshot_path
        if path is None:
            return None
        with self._db_lock, self._rw.read():
            generation = self._generation()
            catalogue = self._catalogue
            size = self._index.matrix.size
            state: dict[str, np.ndarray] = {
                "format": np.array([_SNAPSHOT_FORMAT]), "generation": np.array([generation]),
                "next_slot": np.array([self._next_slot]),
                "catalogue.flags": catalogue.flags[:size], "catalogue.start": catalogue.start[:size],
                "catalogue.length": catalogue.length[:size],
                "catalogue.blob": np.frombuffer(bytes(catalogue.blob), dtype=np.uint8),
            }
            state.update({f"matrix.{k}": v for k, v in self._index.matrix.state().items()})
            state.update({f"index.{k}": v for k, v in self._index.state().items()})
        temporary = path.with_name(path.name + ".tmp")
        with open(temporary, "wb") as handle:
            np.savez(handle, **state)  # type: ignore[arg-type]  # numpy's stub: a key could be allow_pickle; these are array names
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
        self._saved_generation = generation
        return path

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode: "wal" for a file on disk ("memory" for ":memory:")."""
        with self._db_lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Write the start-up snapshot if wanted and out of date, then close the database; further use
        raises. Idempotent."""
        with self._db_lock:
            try:
                generation = self._generation()
            except sqlite3.ProgrammingError:
                return  # already closed
            wanted = self._snapshot_wanted
            if wanted is None:
                wanted = len(self) >= SNAPSHOT_MIN_PROFILES
            if wanted and generation != self._saved_generation and self.snapshot_path is not None:
                self.save_snapshot()
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self._index)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    def memory(self) -> dict[str, int]:
        """Bytes held in memory, by part: the index's ("profiles", "keys", "sets") and "catalogue"
        (flags and reference numbers)."""
        with self._rw.read():
            return {**self._index.nbytes(), "catalogue": self._catalogue.nbytes()}

    # -- administration (own state) ---------------------------------------------------------------

    @staticmethod
    def _validate(reference: object, kind: object, loci: object) -> tuple[str, ReferenceKind, NormalisedProfile]:
        reference = check_reference(reference, "DNA-1")
        kind = ReferenceKind.parse(kind)
        if not isinstance(loci, Mapping):
            raise InvalidInput(f"a profile is a mapping from locus to alleles, not {type(loci).__name__}",
                               field="loci")
        normalised = normalize_profile(loci)
        check_inclusion(normalised, kind)
        return reference, kind, normalised

    def _publish(self, slots: list[int], accepted: list[tuple[str, ReferenceKind, NormalisedProfile]]) -> None:
        """Put stored profiles into memory: columns prepared outside the writer lock, then one write."""
        columns = ProfileMatrix.prepare([normalised for _, _, normalised in accepted])
        flags = np.array([_TRACE if kind is ReferenceKind.UNIDENTIFIED_TRACE else 0 for _, kind, _ in accepted],
                         dtype=np.uint8)
        rows = np.asarray(slots, dtype=np.int64)
        with self._rw.write():
            self._index.matrix.put_columns(rows, columns)
            self._index.add_encoded(rows)
            self._catalogue.put(rows, [reference for reference, _, _ in accepted], flags)

    def ingest(self, reference: str, kind: ReferenceKind | str, loci: Mapping[str, Any]) -> NormalisedProfile:
        """Store one profile (DNA-1..DNA-6); returns its normalised loci.

        Raises InvalidInput for a bad reference, kind or profile (including DNA-4 inclusion) and
        Duplicate when the reference is already in the file.
        """
        reference, kind, normalised = self._validate(reference, kind, loci)
        with self._db_lock:
            slot = self._next_slot
            created_at = self._clock.now().isoformat()
            try:
                with self._transaction() as db:
                    db.execute(f"INSERT INTO profile (slot, {_COLUMNS}) VALUES (?, ?, ?, ?, 0, '', 0, '', ?)",
                               (slot, reference, kind.name, _loci_json(normalised), created_at))
            except sqlite3.IntegrityError:
                raise Duplicate(f"reference {quote(reference)} is already in the DNA file") from None
            self._next_slot += 1
            self._publish([slot], [(reference, kind, normalised)])
        return normalised

    def ingest_many(self, rows: Iterable[Any], *, progress: Any = None) -> IngestReport:
        """Store many (reference, kind, loci) rows in one transaction; bad rows are reported, not stored.

        A row is rejected for what `ingest` refuses, for a malformed row, and for a reference
        already in the file or earlier in the same batch. Positions count from 1. `progress`, if
        given, is called as progress(done, total=None) while rows are validated.
        """
        rejections: list[tuple[int, str, str]] = []
        accepted: dict[str, tuple[int, ReferenceKind, NormalisedProfile]] = {}
        for position, row in enumerate(rows, start=1):
            reference_text = ""
            try:
                if isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
                    raise InvalidInput("a row is (reference, kind, loci)", field="row")
                items = list(row)
                if items and isinstance(items[0], str):
                    reference_text = items[0]
                if len(items) != 3:
                    raise InvalidInput(f"a row is (reference, kind, loci), got {len(items)} items", field="row")
                reference, kind, normalised = self._validate(*items)
                if reference in accepted:
                    raise Duplicate(f"reference {quote(reference)} appears twice in this batch "
                                    f"(first at position {accepted[reference][0]})")
                accepted[reference] = (position, kind, normalised)
            except (InvalidInput, Duplicate) as error:
                rejections.append((position, reference_text, str(error)))
            if progress is not None and position % 10_000 == 0:
                progress(position)
        with self._db_lock:
            names = list(accepted)
            for start in range(0, len(names), 500):
                chunk = names[start:start + 500]
                for (reference,) in self._db.execute(
                        f"SELECT reference FROM profile WHERE reference IN ({','.join('?' * len(chunk))})", chunk):
                    position = accepted.pop(reference)[0]
                    rejections.append((position, reference, f"reference {quote(reference)} is already in the DNA file"))
            created_at = self._clock.now().isoformat()
            first = self._next_slot
            items = [(reference, kind, normalised) for reference, (_, kind, normalised) in accepted.items()]
            with self._transaction() as db:
                db.executemany(
                    f"INSERT INTO profile (slot, {_COLUMNS}) VALUES (?, ?, ?, ?, 0, '', 0, '', ?)",
                    ((first + i, reference, kind.name, _loci_json(normalised), created_at)
                     for i, (reference, kind, normalised) in enumerate(items)))
            self._next_slot = first + len(items)
            if items:
                self._publish(list(range(first, first + len(items))), items)
        rejections.sort()
        return IngestReport(len(items), rejections)

    def _slot(self, reference: str) -> tuple[int, int, str] | None:
        """(slot, contested, marking note) of a reference, from the database (hold the database lock)."""
        return self._db.execute("SELECT slot, contested, marking_note FROM profile WHERE reference = ?",
                                (reference,)).fetchone()

    def delete(self, reference: str) -> bool:
        """Remove a profile from the file and the index (ACC-1: incorrect data deleted); False if absent."""
        with self._db_lock:
            found = self._slot(reference)
            if found is None:
                return False
            with self._transaction() as db:
                db.execute("DELETE FROM profile WHERE slot = ?", (found[0],))
            with self._rw.write():
                self._index.remove(found[0])
                self._catalogue.flags[found[0]] = 0
                self._catalogue.notes.pop(found[0], None)
            return True

    def mark(self, reference: str, contested: bool, note: str) -> None:
        """Mark a contested profile, or lift the marking (ACC-1); the marking travels with every hit.

        Lifting needs a note naming its ground: the data subject's consent, or a court or DPA
        decision. Raises UnknownReference for an unknown reference.
        """
        note = (note or "").strip()
        with self._db_lock:
            found = self._slot(reference)
            if found is None:
                raise UnknownReference(f"no profile with reference {quote(reference)} in the DNA file")
            if not contested and found[1] and not note:
                raise InvalidInput("lifting a marking needs its ground in the note: the data subject's consent "
                                   "or a court or DPA decision (ACC-1)", field="note")
            with self._transaction() as db:
                db.execute("UPDATE profile SET contested = ?, marking_note = ? WHERE slot = ?",
                           (int(bool(contested)), note, found[0]))
            with self._rw.write():
                flags = self._catalogue.flags
                flags[found[0]] = (int(flags[found[0]]) & ~_CONTESTED) | (_CONTESTED if contested else 0)
                if note:
                    self._catalogue.notes[found[0]] = note
                else:
                    self._catalogue.notes.pop(found[0], None)

    def note_matches(self, hits: Iterable[DnaHit], requesting_state: str, request_id: str) -> int:
        """P2-DNA-5: note in the file that `requesting_state`'s search `request_id` matched each unidentified
        profile among `hits` (when the state does so, `mark_matched_traces`). Returns how many were noted."""
        if not self.mark_matched_traces:  # checked first: every search of every state passes here
            return 0
        traces = [hit.reference for hit in hits if hit.kind is ReferenceKind.UNIDENTIFIED_TRACE]
        if not traces:
            return 0
        moment = self._clock.now().isoformat()
        with self._db_lock, self._transaction() as db:
            db.executemany("INSERT OR IGNORE INTO match_mark (reference, requesting_state, request_id, marked_at) "
                           "VALUES (?, ?, ?, ?)", ((ref, requesting_state, request_id, moment) for ref in traces))
        return len(traces)

    def match_marks(self, reference: str = "") -> list[MatchMark]:
        """The matches noted (P2-DNA-5), oldest first; only `reference`'s if given."""
        where, args = ("WHERE reference = ?", (reference,)) if reference else ("", ())
        with self._db_lock:
            rows = self._db.execute(f"SELECT reference, requesting_state, request_id, marked_at FROM match_mark "
                                    f"{where} ORDER BY marked_at, reference", args).fetchall()
        return [MatchMark(row[0], row[1], row[2], datetime.fromisoformat(row[3])) for row in rows]

    def block(self, reference: str, blocked: bool, reason: str) -> None:
        """Block a profile whose deletion would harm the data subject, or unblock it (ACC-2).

        A blocked profile is kept but never returned by `search` or `compare_many`. Blocking needs
        a reason. Raises UnknownReference for an unknown reference.
        """
        reason = (reason or "").strip()
        with self._db_lock:
            found = self._slot(reference)
            if found is None:
                raise UnknownReference(f"no profile with reference {quote(reference)} in the DNA file")
            if blocked and not reason:
                raise InvalidInput("blocking needs a reason: why deleting the data would harm the data subject "
                                   "(ACC-2)", field="reason")
            with self._transaction() as db:
                db.execute("UPDATE profile SET blocked = ?, block_reason = ? WHERE slot = ?",
                           (int(bool(blocked)), reason, found[0]))
            with self._rw.write():
                flags = self._catalogue.flags
                flags[found[0]] = (int(flags[found[0]]) & ~_BLOCKED) | (_BLOCKED if blocked else 0)

    def get(self, reference: str, *, include_blocked: bool = False) -> StoredProfile:
        """One stored profile, for a follow-up or administration.

        A blocked profile is reported as unknown unless include_blocked is set (ACC-2: it is never
        supplied). Raises UnknownReference.
        """
        with self._db_lock:
            found = self._db.execute(
                "SELECT reference, kind, loci, contested, marking_note, blocked, block_reason, created_at "
                "FROM profile WHERE reference = ?", (reference,)).fetchone()
        if found is None or (found[5] and not include_blocked):
            raise UnknownReference(f"no profile with reference {quote(reference)} in the DNA file")
        reference, kind, loci, contested, note, blocked, reason, created_at = found
        return StoredProfile(reference, ReferenceKind[kind], _loci_from_json(loci), bool(contested), note,
                             bool(blocked), reason, datetime.fromisoformat(created_at))

    def stats(self) -> FileStats:
        """Counts of the file, blocked and contested profiles included in `profiles`."""
        with self._rw.read():
            matrix = self._index.matrix
            flags = self._catalogue.flags[:matrix.size][matrix.live[:matrix.size]]
            traces = int(np.count_nonzero(flags & _TRACE))
            return FileStats(len(flags), len(flags) - traces, traces, int(np.count_nonzero(flags & _BLOCKED)),
                             int(np.count_nonzero(flags & _CONTESTED)))

    # -- automated exchange (Art 3, Art 4) ---------------------------------------------------------

    def _hits(self, found: list[tuple[int, Match]]) -> list[DnaHit]:
        """DnaHits of index results, blocked rows left out (hold the reader lock)."""
        catalogue, matrix = self._catalogue, self._index.matrix
        hits = []
        for slot, match in found:
            flags = int(catalogue.flags[slot])
            if flags & _BLOCKED:
                continue
            hits.append(DnaHit(catalogue.reference(slot),
                               ReferenceKind.UNIDENTIFIED_TRACE if flags & _TRACE else ReferenceKind.IDENTIFIED_PERSON,
                               match, matrix.profile(slot), bool(flags & _CONTESTED), catalogue.notes.get(slot, "")))
        hits.sort(key=lambda hit: (*hit.match.order_key(), hit.reference))
        return hits

    def search(self, loci: Mapping[str, Any], *,
               query_kind: ReferenceKind | str = ReferenceKind.UNIDENTIFIED_TRACE) -> list[DnaHit]:
        """Art 3 (DNA-10): one profile against the file; its hits, best first.

        The query is checked like any profile offered for search (DNA-4..DNA-7), matched through the
        index (DNA-8, DNA-9), and forgotten (PUR-2). Blocked profiles are never returned (ACC-2).
        Order: match class (full, wildcard, microvariant, near), then more matched loci, then more
        compared loci, then reference.
        """
        query = normalize_profile(loci)
        check_inclusion(query, ReferenceKind.parse(query_kind, field="query_kind"))
        with self._rw.read():
            return self._hits(self._index.search(query))

    def compare_many(self, profiles: Iterable[Any], *,
                     query_kind: ReferenceKind | str = ReferenceKind.UNIDENTIFIED_TRACE) -> Iterator[tuple[str, list[DnaHit]]]:
        """Art 4 (DNA-11): many profiles against the file, yielding (query reference, hits) per query.

        Each item is (reference, loci) or (reference, kind, loci); without a kind, `query_kind` (an
        unidentified trace, as Art 4 compares) is used for the inclusion check. Streaming: each query
        is matched when it is reached and nothing of it is kept (PUR-2). An invalid query raises
        InvalidInput naming its position and reference.
        """
        for position, item in enumerate(profiles, start=1):
            reference, _kind, query = self._comparison_item(position, item, query_kind)
            with self._rw.read():
                hits = self._hits(self._index.search(query))
            yield reference, hits

    def _answers(self, index: BlockIndex,
                 part: list[tuple[str, ReferenceKind, NormalisedProfile]]) -> list[tuple[str, list[DnaHit]]]:
        """The hits of one part of a `compare_batch` chunk in `index` (read under the caller's lock)."""
        return [(reference, self._hits(index.search(query))) for reference, _, query in part]

    def compare_batch(self, profiles: Iterable[Any], *,
                      query_kind: ReferenceKind | str = ReferenceKind.UNIDENTIFIED_TRACE,
                      chunk: int = 4096, workers: int = 1) -> Iterator[tuple[str, list[DnaHit]]]:
        """Art 4 in local bulk: like `compare_many`, but reads `chunk` queries ahead, checks them, and
        matches each chunk under one reader lock, split over `workers` threads (the index's compiled
        steps release the GIL). Results come in input order. Nothing of a query is kept after its
        chunk (PUR-2). An invalid query raises InvalidInput naming its position and reference, before
        any result of its chunk is yielded."""
        iterator = iter(profiles)
        position = 0
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            while True:
                block = []
                for item in iterator:
                    position += 1
                    block.append(self._comparison_item(position, item, query_kind))
                    if len(block) >= chunk:
                        break
                if not block:
                    return
                with self._rw.read():
                    answer = functools.partial(self._answers, self._index)
                    if pool is None:
                        answers = answer(block)
                    else:
                        step = -(-len(block) // workers)
                        parts = pool.map(answer, [block[i:i + step] for i in range(0, len(block), step)])
                        answers = [pair for part in parts for pair in part]
                yield from answers
        finally:
            if pool is not None:
                pool.shutdown()

    @staticmethod
    def _comparison_item(position: int, item: Any, query_kind: ReferenceKind | str
                         ) -> tuple[str, ReferenceKind, NormalisedProfile]:
        reference = str(item[0]) if isinstance(item, tuple) and item else ""
        try:
            if not isinstance(item, tuple) or len(item) not in (2, 3):
                raise InvalidInput("an item is (reference, loci) or (reference, kind, loci)", field="profiles")
            kind = ReferenceKind.parse(item[1] if len(item) == 3 else query_kind, field="query_kind")
            query = normalize_profile(item[-1])
            check_inclusion(query, kind)
        except InvalidInput as error:
            wrapped = InvalidInput(f"profile #{position} ({quote(reference)}): {error}")
            wrapped.field = error.field
            raise wrapped from error
        return reference, kind, query
