"""The national DNA file: reference data in SQLite (WAL), matched through an in-memory exact index.

What it holds (DNA-1): a reference number, the kind (DNA-2), the normalised loci, the contested
marking (ACC-1), the blocking (ACC-2) and the time of ingest; no name nor any other personal data.
What it never holds (PUR-2): a query. `search` and `compare_many` read the in-memory index only;
the query profile is not written to any table, cache or index and is gone when the call returns.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from prum.services.common.store import open_database, transaction
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference
from prum.services.dna.index import LocusPairIndex
from prum.services.dna.matching import Match
from prum.services.dna.profile import NormalisedProfile, ProfileKind, check_inclusion, normalize_profile

_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}")
_REFERENCE_TEXT = ("1 to 64 letters, digits and . _ : / -, starting with a letter or digit "
                   "(a reference number only, no names or other personal data: DNA-1)")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS profile (
    reference    TEXT PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('IDENTIFIED_PERSON', 'UNIDENTIFIED_TRACE')),
    loci         TEXT NOT NULL,
    contested    INTEGER NOT NULL DEFAULT 0 CHECK (contested IN (0, 1)),
    marking_note TEXT NOT NULL DEFAULT '',
    blocked      INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    block_reason TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL
);
"""
_SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class DnaHit:
    """One matching profile of the file (DNA-9, DNA-10): reference data only.

    kind says whether it is an identified person or an unidentified trace (DNA-2); contested and
    marking_note carry the ACC-1 marking with the hit.
    """

    reference: str
    kind: ProfileKind
    match: Match
    profile: NormalisedProfile
    contested: bool = False
    marking_note: str = ""


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """A profile of the file as the own state sees it, for follow-ups and administration."""

    reference: str
    kind: ProfileKind
    profile: NormalisedProfile
    contested: bool
    marking_note: str
    blocked: bool
    block_reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class IngestReport:
    """Outcome of a bulk ingest: rejections are (position from 1, reference, reason)."""

    accepted: int
    rejections: list[tuple[int, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FileStats:
    profiles: int
    identified_persons: int
    unidentified_traces: int
    blocked: int
    contested: int


@dataclass(slots=True)
class _Entry:
    """In-memory state of one row, beside its profile in the index."""

    reference: str
    kind: ProfileKind
    contested: bool
    marking_note: str
    blocked: bool


def check_reference(reference: object, field_name: str = "reference") -> str:
    """A reference number as the file keeps it; InvalidInput otherwise (DNA-1)."""
    if not isinstance(reference, str) or not _REFERENCE.fullmatch(reference):
        raise InvalidInput(f"{reference!r} is not a reference number; allowed: {_REFERENCE_TEXT}",
                           field=field_name)
    return reference


def _loci_json(profile: Mapping[str, tuple[str, str]]) -> str:
    return json.dumps({locus: list(alleles) for locus, alleles in profile.items()}, separators=(",", ":"))


def _loci_from_json(text: str) -> NormalisedProfile:
    return NormalisedProfile((locus, (alleles[0], alleles[1])) for locus, alleles in json.loads(text).items())


class DnaFile:
    """The national DNA file of one state (Art 2-4): ingest, delete, mark, block, search, compare.

    `path` is a SQLite database file (created with its folder if missing) or ":memory:". The index
    is rebuilt from the database when the file opens. Thread-safe: one lock serialises every use
    of the connection and of the index, so gRPC worker threads may share one DnaFile.
    """

    def __init__(self, path: str | os.PathLike[str], clock: Clock | None = None) -> None:
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self.path = str(path)
        self._db = open_database(self.path)
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
        self._index = LocusPairIndex()
        self._entries: dict[int, _Entry] = {}
        self._rows: dict[str, int] = {}
        self._next_row = 0
        self._load()

    # -- life cycle -------------------------------------------------------------------------------

    def _load(self) -> None:
        with self._lock:
            cursor = self._db.execute(
                "SELECT reference, kind, loci, contested, marking_note, blocked FROM profile ORDER BY rowid")
            for reference, kind, loci, contested, note, blocked in cursor:
                self._remember(_Entry(reference, ProfileKind[kind], bool(contested), note, bool(blocked)),
                               _loci_from_json(loci))

    def _remember(self, entry: _Entry, profile: NormalisedProfile) -> None:
        row = self._next_row
        self._next_row += 1
        self._index.add(row, profile)
        self._entries[row] = entry
        self._rows[entry.reference] = row

    @property
    def journal_mode(self) -> str:
        """SQLite's journal mode: "wal" for a file on disk ("memory" for ":memory:")."""
        with self._lock:
            return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])

    def close(self) -> None:
        """Close the database; further use raises. Idempotent."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    # -- administration (own state) ---------------------------------------------------------------

    @staticmethod
    def _validate(reference: object, kind: object, loci: object) -> tuple[str, ProfileKind, NormalisedProfile]:
        reference = check_reference(reference)
        kind = ProfileKind.parse(kind)
        if not isinstance(loci, Mapping):
            raise InvalidInput(f"a profile is a mapping from locus to alleles, not {type(loci).__name__}",
                               field="loci")
        normalised = normalize_profile(loci)
        check_inclusion(normalised, kind)
        return reference, kind, normalised

    def ingest(self, reference: str, kind: ProfileKind | str, loci: Mapping[str, Any]) -> NormalisedProfile:
        """Store one profile (DNA-1..DNA-6); returns its normalised loci.

        Raises InvalidInput for a bad reference, kind or profile (including DNA-4 inclusion) and
        Duplicate when the reference is already in the file.
        """
        reference, kind, normalised = self._validate(reference, kind, loci)
        with self._lock:
            if reference in self._rows:
                raise Duplicate(f"reference {reference!r} is already in the DNA file")
            created_at = self._clock.now().isoformat()
            with self._transaction() as db:
                db.execute("INSERT INTO profile (reference, kind, loci, created_at) VALUES (?, ?, ?, ?)",
                           (reference, kind.name, _loci_json(normalised), created_at))
            self._remember(_Entry(reference, kind, False, "", False), normalised)
        return normalised

    def ingest_many(self, rows: Iterable[Any]) -> IngestReport:
        """Store many (reference, kind, loci) rows in one transaction; bad rows are reported, not stored.

        A row is rejected for what `ingest` refuses, for a malformed row, and for a reference
        already in the file or earlier in the same batch. Positions count from 1.
        """
        rejections: list[tuple[int, str, str]] = []
        accepted: dict[str, tuple[int, ProfileKind, NormalisedProfile]] = {}
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
                    raise Duplicate(f"reference {reference!r} appears twice in this batch "
                                    f"(first at position {accepted[reference][0]})")
                accepted[reference] = (position, kind, normalised)
            except (InvalidInput, Duplicate) as error:
                rejections.append((position, reference_text, str(error)))
        with self._lock:
            for reference in [r for r in accepted if r in self._rows]:
                position = accepted.pop(reference)[0]
                rejections.append((position, reference, f"reference {reference!r} is already in the DNA file"))
            created_at = self._clock.now().isoformat()
            with self._transaction() as db:
                db.executemany(
                    "INSERT INTO profile (reference, kind, loci, created_at) VALUES (?, ?, ?, ?)",
                    ((reference, kind.name, _loci_json(normalised), created_at)
                     for reference, (_, kind, normalised) in accepted.items()))
            for reference, (_, kind, normalised) in accepted.items():
                self._remember(_Entry(reference, kind, False, "", False), normalised)
        rejections.sort()
        return IngestReport(len(accepted), rejections)

    def delete(self, reference: str) -> bool:
        """Remove a profile from the file and the index (ACC-1: incorrect data deleted); False if absent."""
        with self._lock:
            row = self._rows.get(reference)
            if row is None:
                return False
            with self._transaction() as db:
                db.execute("DELETE FROM profile WHERE reference = ?", (reference,))
            self._index.remove(row)
            del self._entries[row]
            del self._rows[reference]
            return True

    def _entry(self, reference: str) -> _Entry:
        row = self._rows.get(reference)
        if row is None:
            raise UnknownReference(f"no profile with reference {reference!r} in the DNA file")
        return self._entries[row]

    def mark(self, reference: str, contested: bool, note: str) -> None:
        """Mark a contested profile, or lift the marking (ACC-1); the marking travels with every hit.

        Lifting needs a note naming its ground: the data subject's consent, or a court or DPA
        decision. Raises UnknownReference for an unknown reference.
        """
        note = (note or "").strip()
        with self._lock:
            entry = self._entry(reference)
            if not contested and entry.contested and not note:
                raise InvalidInput("lifting a marking needs its ground in the note: the data subject's consent "
                                   "or a court or DPA decision (ACC-1)", field="note")
            with self._transaction() as db:
                db.execute("UPDATE profile SET contested = ?, marking_note = ? WHERE reference = ?",
                           (int(bool(contested)), note, reference))
            entry.contested = bool(contested)
            entry.marking_note = note

    def block(self, reference: str, blocked: bool, reason: str) -> None:
        """Block a profile whose deletion would harm the data subject, or unblock it (ACC-2).

        A blocked profile is kept but never returned by `search` or `compare_many`. Blocking needs
        a reason. Raises UnknownReference for an unknown reference.
        """
        reason = (reason or "").strip()
        with self._lock:
            entry = self._entry(reference)
            if blocked and not reason:
                raise InvalidInput("blocking needs a reason: why deleting the data would harm the data subject "
                                   "(ACC-2)", field="reason")
            with self._transaction() as db:
                db.execute("UPDATE profile SET blocked = ?, block_reason = ? WHERE reference = ?",
                           (int(bool(blocked)), reason, reference))
            entry.blocked = bool(blocked)

    def get(self, reference: str, *, include_blocked: bool = False) -> StoredProfile:
        """One stored profile, for a follow-up or administration.

        A blocked profile is reported as unknown unless include_blocked is set (ACC-2: it is never
        supplied). Raises UnknownReference.
        """
        with self._lock:
            found = self._db.execute(
                "SELECT reference, kind, loci, contested, marking_note, blocked, block_reason, created_at "
                "FROM profile WHERE reference = ?", (reference,)).fetchone()
        if found is None or (found[5] and not include_blocked):
            raise UnknownReference(f"no profile with reference {reference!r} in the DNA file")
        reference, kind, loci, contested, note, blocked, reason, created_at = found
        return StoredProfile(reference, ProfileKind[kind], _loci_from_json(loci), bool(contested), note,
                             bool(blocked), reason, datetime.fromisoformat(created_at))

    def stats(self) -> FileStats:
        """Counts of the file, blocked and contested profiles included in `profiles`."""
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(kind = 'IDENTIFIED_PERSON'), 0), "
                "COALESCE(SUM(kind = 'UNIDENTIFIED_TRACE'), 0), COALESCE(SUM(blocked), 0), "
                "COALESCE(SUM(contested), 0) FROM profile").fetchone()
        return FileStats(*(int(value) for value in row))

    # -- automated exchange (Art 3, Art 4) ---------------------------------------------------------

    def search(self, loci: Mapping[str, Any], *,
               query_kind: ProfileKind | str = ProfileKind.UNIDENTIFIED_TRACE) -> list[DnaHit]:
        """Art 3 (DNA-10): one profile against the file; its hits, best first.

        The query is checked like any profile offered for search (DNA-4..DNA-7), matched through the
        index (DNA-8, DNA-9), and forgotten (PUR-2). Blocked profiles are never returned (ACC-2).
        Order: match class (full, wildcard, microvariant, near), then more matched loci, then more
        compared loci, then reference.
        """
        query = normalize_profile(loci)
        check_inclusion(query, ProfileKind.parse(query_kind, field="query_kind"))
        with self._lock:
            found = self._index.search(query)
            hits = [DnaHit(entry.reference, entry.kind, match, NormalisedProfile(self._index.profiles[row]),
                           entry.contested, entry.marking_note)
                    for row, match in found if not (entry := self._entries[row]).blocked]
        hits.sort(key=lambda hit: (*hit.match.order_key(), hit.reference))
        return hits

    def compare_many(self, profiles: Iterable[Any], *,
                     query_kind: ProfileKind | str = ProfileKind.UNIDENTIFIED_TRACE) -> Iterator[tuple[str, list[DnaHit]]]:
        """Art 4 (DNA-11): many profiles against the file, yielding (query reference, hits) per query.

        Each item is (reference, loci) or (reference, kind, loci); without a kind, `query_kind` (an
        unidentified trace, as Art 4 compares) is used for the inclusion check. Streaming: each query
        is matched when it is reached and nothing of it is kept (PUR-2). An invalid query raises
        InvalidInput naming its position and reference.
        """
        for position, item in enumerate(profiles, start=1):
            reference = str(item[0]) if isinstance(item, tuple) and item else ""
            try:
                if not isinstance(item, tuple) or len(item) not in (2, 3):
                    raise InvalidInput("an item is (reference, loci) or (reference, kind, loci)", field="profiles")
                kind = item[1] if len(item) == 3 else query_kind
                hits = self.search(item[-1], query_kind=kind)
            except InvalidInput as error:
                wrapped = InvalidInput(f"profile #{position} ({reference!r}): {error}")
                wrapped.field = error.field
                raise wrapped from error
            yield reference, hits
