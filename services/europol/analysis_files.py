"""Europol's analysis work files (AWF), without gRPC: the items each holds, their evaluation codes, and the review
of the need to keep them (EUR-1, EUR-3; seed 003's AWF rules, P2-EUROPOL-3).

Each item (a DNA profile's or a fingerprint template's reference; the data itself stays in Europol's DNA file and
AFIS) belongs to one file and carries its evaluation codes (`Evaluation`, EUR-1). The need to keep each item is
reviewed at least once a year, and an item is deleted at the latest 3 years after its file closed (EUR-3):
`review` lists the items whose year since their last review is over and deletes, through `erase`, those whose
file closed 3 years ago or more; `decide` records the analyst's decision on one item (keep it: its year starts
again; or delete it). Every review and decision is kept in `reviews`, for the EDPS (`prum.services.europol.audit`).
Time comes from the clock, so the years pass on a simulated one. SQLite in WAL mode, like every store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput, UnknownReference, quote
from prum.services.common.store import open_database, transaction
from prum.services.europol.evaluation import Evaluation, InformationReliability, SourceReliability

#: EUR-3: the need to keep an item is reviewed at least this often, in years.
REVIEW_EVERY_YEARS = 1
#: EUR-3: an item is deleted at the latest this many years after its file closed.
DELETE_AFTER_CLOSING_YEARS = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (file_id TEXT PRIMARY KEY, opened_at TEXT NOT NULL, closed_at TEXT);
CREATE TABLE IF NOT EXISTS items (
    reference TEXT PRIMARY KEY, category TEXT NOT NULL, file_id TEXT NOT NULL REFERENCES files (file_id),
    source TEXT NOT NULL, information TEXT NOT NULL, stored_at TEXT NOT NULL, reviewed_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reviews (
    id INTEGER PRIMARY KEY AUTOINCREMENT, run_at TEXT NOT NULL, kind TEXT NOT NULL, due TEXT NOT NULL,
    deleted TEXT NOT NULL, kept TEXT NOT NULL);
"""


def years_after(moment: datetime, years: int) -> datetime:
    """The same day and time `years` later (28 February for a 29 February that year lacks)."""
    try:
        return moment.replace(year=moment.year + years)
    except ValueError:
        return moment.replace(year=moment.year + years, day=28)


@dataclass(frozen=True)
class Item:
    reference: str
    category: Category
    evaluation: Evaluation
    stored_at: datetime
    reviewed_at: datetime


@dataclass(frozen=True)
class Review:
    """One review run (`kind` "REVIEW") or one analyst's decision ("DECISION"), as the EDPS reads it."""

    run_at: datetime
    kind: str
    #: Items whose year since their last review was over: their need to keep is to be decided.
    due: tuple[str, ...]
    #: Items deleted: their file closed 3 years ago or more, or the analyst decided they are not needed.
    deleted: tuple[str, ...]
    #: Items the analyst decided to keep (their year starts again).
    kept: tuple[str, ...] = ()


class AnalysisFiles:
    """Europol's analysis work files: items, evaluation codes, reviews and deletions (EUR-1, EUR-3)."""

    def __init__(self, path: str | Path | None = None, clock: Clock | None = None,
                 erase: Callable[[Category, str], None] | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        #: Removes an item's data from Europol's DNA file or AFIS when it is deleted here.
        self.erase = erase or (lambda category, reference: None)
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def open_file(self, file_id: str) -> None:
        Evaluation.parse("A", "1", file_id)  # the same rule as the contract's file id
        with self._lock, transaction(self._db):
            if self._db.execute("SELECT 1 FROM files WHERE file_id = ?", (file_id,)).fetchone():
                raise Duplicate(f"analysis work file {quote(file_id)} exists already")
            self._db.execute("INSERT INTO files VALUES (?, ?, NULL)", (file_id, self.clock.now().isoformat()))

    def file_ids(self) -> list[str]:
        """Every analysis work file, open or closed."""
        with self._lock:
            return [f for (f,) in self._db.execute("SELECT file_id FROM files ORDER BY file_id")]

    def close_file(self, file_id: str) -> datetime:
        """Close a file: its items are deleted at the latest 3 years from now (EUR-3). Returns that time."""
        now = self.clock.now()
        with self._lock, transaction(self._db):
            row = self._db.execute("SELECT closed_at FROM files WHERE file_id = ?", (file_id,)).fetchone()
            if row is None:
                raise UnknownReference(f"no analysis work file {quote(file_id)}")
            if row[0] is not None:
                raise InvalidInput(f"{quote(file_id)} closed at {row[0]} already", field="file_id")
            self._db.execute("UPDATE files SET closed_at = ? WHERE file_id = ?", (now.isoformat(), file_id))
        return years_after(now, DELETE_AFTER_CLOSING_YEARS)

    def add_many(self, items: Iterable[tuple[str, Category, Evaluation]]) -> int:
        """Take items into their (open) files with their evaluation codes (EUR-1); their first year of review
        starts now. Returns how many."""
        now = self.clock.now().isoformat()
        count = 0
        with self._lock, transaction(self._db):
            open_files = {f for (f,) in self._db.execute("SELECT file_id FROM files WHERE closed_at IS NULL")}
            for reference, category, evaluation in items:
                if evaluation.file not in open_files:
                    raise InvalidInput(f"{quote(evaluation.file)} is not an open analysis work file; allowed: "
                                       f"{', '.join(sorted(open_files)) or 'none open'}", field="file")
                self._db.execute("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", (
                    reference, Category(category).value, evaluation.file, evaluation.source.value,
                    evaluation.information.value, now, now))
                count += 1
        return count

    @staticmethod
    def _item(row: tuple) -> Item:  # type: ignore[type-arg]
        reference, category, file_id, source, information, stored_at, reviewed_at = row
        return Item(reference, Category(category),
                    Evaluation(SourceReliability(source), InformationReliability(information), file_id),
                    datetime.fromisoformat(stored_at), datetime.fromisoformat(reviewed_at))

    def item(self, reference: str) -> Item | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM items WHERE reference = ?", (reference,)).fetchone()
        return None if row is None else self._item(row)

    def evaluation(self, reference: str) -> Evaluation | None:
        """The evaluation codes and file of an item Europol holds (EUR-1); None for a reference it does not."""
        found = self.item(reference)
        return None if found is None else found.evaluation

    def items(self) -> list[Item]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM items ORDER BY reference").fetchall()
        return [self._item(row) for row in rows]

    def _closed(self) -> dict[str, datetime]:
        return {f: datetime.fromisoformat(at) for f, at in
                self._db.execute("SELECT file_id, closed_at FROM files WHERE closed_at IS NOT NULL")}

    def expired(self, now: datetime | None = None) -> list[Item]:
        """Items whose file closed 3 years ago or more: to be deleted (EUR-3)."""
        moment = now or self.clock.now()
        with self._lock:
            closed = self._closed()
            rows = self._db.execute("SELECT * FROM items ORDER BY reference").fetchall()
        return [i for i in map(self._item, rows) if i.evaluation.file in closed
                and years_after(closed[i.evaluation.file], DELETE_AFTER_CLOSING_YEARS) <= moment]

    def due(self, now: datetime | None = None) -> list[Item]:
        """Items whose year since their last review is over: their need to keep is to be reviewed (EUR-3)."""
        moment = now or self.clock.now()
        return [i for i in self.items() if years_after(i.reviewed_at, REVIEW_EVERY_YEARS) <= moment]

    def _delete(self, items: list[Item]) -> None:
        for item in items:
            self.erase(item.category, item.reference)  # the data first: an item listed here is never left behind
        with self._lock, transaction(self._db):
            self._db.executemany("DELETE FROM items WHERE reference = ?", [(i.reference,) for i in items])

    def _record(self, review: Review) -> Review:
        with self._lock, transaction(self._db):
            self._db.execute("INSERT INTO reviews (run_at, kind, due, deleted, kept) VALUES (?, ?, ?, ?, ?)", (
                review.run_at.isoformat(), review.kind, json.dumps(list(review.due)),
                json.dumps(list(review.deleted)), json.dumps(list(review.kept))))
        return review

    def review(self) -> Review:
        """EUR-3 on the clock: delete the items whose file closed 3 years ago or more, list those due for the
        yearly review. Recorded for the EDPS."""
        now = self.clock.now()
        expired = self.expired(now)
        self._delete(expired)
        due = tuple(i.reference for i in self.due(now))
        return self._record(Review(now, "REVIEW", due, tuple(i.reference for i in expired)))

    def decide(self, reference: str, keep: bool) -> Review:
        """The analyst's decision on one item's need to keep (EUR-3): kept, its year starts again; else deleted.
        Recorded for the EDPS."""
        item = self.item(reference)
        if item is None:
            raise UnknownReference(f"no item {quote(reference)} in Europol's analysis work files")
        now = self.clock.now()
        if keep:
            with self._lock, transaction(self._db):
                self._db.execute("UPDATE items SET reviewed_at = ? WHERE reference = ?", (now.isoformat(), reference))
            return self._record(Review(now, "DECISION", (), (), (reference,)))
        self._delete([item])
        return self._record(Review(now, "DECISION", (), (reference,)))

    def reviews(self) -> list[Review]:
        with self._lock:
            rows = self._db.execute("SELECT run_at, kind, due, deleted, kept FROM reviews ORDER BY id").fetchall()
        return [Review(datetime.fromisoformat(at), kind, tuple(json.loads(due)), tuple(json.loads(deleted)),
                       tuple(json.loads(kept))) for at, kind, due, deleted, kept in rows]
