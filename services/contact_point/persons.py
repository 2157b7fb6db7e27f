"""The national person records behind identified references (FOL-1), kept apart from the DNA file (DNA-1).

Only a follow-up request, answered under national law, ever reads them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from prum.services.common.errors import InvalidInput, UnknownReference, quote
from prum.services.common.store import open_database, transaction

_SCHEMA = """
CREATE TABLE IF NOT EXISTS person (
    reference TEXT PRIMARY KEY, surname TEXT NOT NULL, first_names TEXT NOT NULL,
    date_of_birth TEXT NOT NULL, nationality TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Person:
    reference: str
    surname: str
    first_names: str
    date_of_birth: str  # ISO 8601
    nationality: str    # ISO 3166 alpha-2


class PersonRegister:
    def __init__(self, path: str | Path | None) -> None:
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript(_SCHEMA)

    def add_many(self, persons: Iterable[Person]) -> tuple[int, list[str]]:
        """Store persons; returns (accepted, rejections). A person without reference or surname is refused."""
        accepted, rejections, rows = 0, [], []
        for position, person in enumerate(persons, start=1):
            if not person.reference or not person.surname:
                rejections.append(f"#{position}: reference and surname are required")
                continue
            rows.append((person.reference, person.surname, person.first_names, person.date_of_birth,
                         person.nationality))
            accepted += 1
        with self._lock, transaction(self._db) as db:
            db.executemany("INSERT OR REPLACE INTO person VALUES (?, ?, ?, ?, ?)", rows)
        return accepted, rejections

    def get(self, reference: str) -> Person:
        if not reference:
            raise InvalidInput("is empty; name the reference number received in the hit", field="reference")
        with self._lock:
            row = self._db.execute("SELECT * FROM person WHERE reference = ?", (reference,)).fetchone()
        if row is None:
            raise UnknownReference(f"no person record for reference {quote(reference)}: an unidentified trace has "
                                   f"none; ask for the case file through mutual legal assistance")
        return Person(*row)

    def close(self) -> None:
        with self._lock:
            self._db.close()
