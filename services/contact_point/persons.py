"""The national person records behind identified references (FOL-1), kept apart from the DNA file (DNA-1), and
the details the Prüm II core data set adds to them (P2-CORE-3): aliases, place of birth, gender, when and where
the biometric data were taken, the offence and case number linked to them.

Only a follow-up request or a core-data request, answered under national law, ever reads them.
"""

from __future__ import annotations

import json
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
CREATE TABLE IF NOT EXISTS core_details (
    reference TEXT PRIMARY KEY, aliases TEXT NOT NULL, place_of_birth TEXT NOT NULL, gender TEXT NOT NULL,
    collected_on TEXT NOT NULL, collected_at TEXT NOT NULL, offence TEXT NOT NULL, case_number TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Person:
    reference: str
    surname: str
    first_names: str
    date_of_birth: str  # ISO 8601
    nationality: str    # ISO 3166 alpha-2


@dataclass(frozen=True)
class CoreDetails:
    """What the core data set (P2-CORE-3) adds to a person record."""

    reference: str
    aliases: tuple[str, ...] = ()
    place_of_birth: str = ""
    gender: str = ""
    collected_on: str = ""  # ISO 8601 date the biometric data were taken
    collected_at: str = ""  # where they were taken
    offence: str = ""       # the offence linked to the data
    case_number: str = ""   # the criminal case number linked to the data


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

    def add_details(self, details: Iterable[CoreDetails]) -> tuple[int, list[str]]:
        """Store the core-data details of references (replacing earlier ones); returns (accepted, rejections). Details
        of a reference without a person record are refused: the core data set starts from the person."""
        accepted, rejections, rows = 0, [], []
        with self._lock:
            known = {r for (r,) in self._db.execute("SELECT reference FROM person")}
        for position, d in enumerate(details, start=1):
            if d.reference not in known:
                rejections.append(f"#{position}: no person record for reference {quote(d.reference)}; register the "
                                  f"person first")
                continue
            rows.append((d.reference, json.dumps(list(d.aliases)), d.place_of_birth, d.gender, d.collected_on,
                         d.collected_at, d.offence, d.case_number))
            accepted += 1
        with self._lock, transaction(self._db) as db:
            db.executemany("INSERT OR REPLACE INTO core_details VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return accepted, rejections

    def details(self, reference: str) -> CoreDetails:
        """The core-data details of `reference`; empty ones when the register holds none."""
        with self._lock:
            row = self._db.execute("SELECT * FROM core_details WHERE reference = ?", (reference,)).fetchone()
        if row is None:
            return CoreDetails(reference)
        return CoreDetails(row[0], tuple(json.loads(row[1])), *row[2:])

    def close(self) -> None:
        with self._lock:
            self._db.close()
