"""The national vehicle register of one state (Art 12): SQLite (WAL) for persistence, an index for lookups.

What it holds (VRD-2): per vehicle, the vehicle data, its owners / holders and its registration
history. What it never holds (PUR-2, Art 26(3)): a query. `lookup` reads the index and the stored
records; the VIN or registration number asked for is not written to any table, cache, index or
log, and is gone when the call returns (error messages do not repeat it either).

Lookups answer for a point in time: a plate may have belonged to several vehicles, one after the
other; the answer is the vehicle registered under it at that time.

Two indexes give the same answers: "sqlite" (the default) asks SQLite's own B-trees (the UNIQUE
index on vin, the registration table's primary key on plate); "dict" keeps VIN -> row and plate ->
row(s) in Python dicts and reads the record by row id. Measured with bench/vehicle_bench.py at
1,000,000 vehicles (NL, 2 cores): p50 lookup 51 us (sqlite) vs 46 us (dict), p99 about the same
(105-130 us), but the dict costs about 310 bytes of memory per vehicle (some 300 MiB per
million-vehicle state, several states per process in-process) and 3-4 s to open instead of under
1 s. A lookup's time goes to normalising the key and decoding the record, not to the index.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import Duplicate, InvalidInput
from prum.services.common.store import IngestReport
from prum.services.vehicle.identifiers import holder_key, normalize_plate, normalize_vin
from prum.services.vehicle.model import (
    Address,
    Company,
    Holder,
    HolderRole,
    NaturalPerson,
    Registration,
    Vehicle,
    VehicleRecord,
    VehicleStatus,
    normalize_record,
    utc,
)
from prum.services.vehicle.plates import COUNTRY_ALIASES, formats_of

IndexKind = Literal["dict", "sqlite"]
DEFAULT_INDEX: IndexKind = "sqlite"
"""The index `VehicleRegister` uses unless told otherwise (see bench/vehicle_bench.py for the figures)."""

INGEST_CHUNK = 2000
"""`ingest_many` commits every this many records, so lookups are not held up by a long bulk load."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS vehicle (
    id          INTEGER PRIMARY KEY,
    vin         TEXT NOT NULL UNIQUE,
    status      TEXT NOT NULL CHECK (status IN ('REGISTERED', 'STOLEN', 'DEREGISTERED')),
    record      TEXT NOT NULL,
    ingested_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS registration (
    plate      TEXT NOT NULL,
    valid_from INTEGER NOT NULL,
    vehicle_id INTEGER NOT NULL REFERENCES vehicle (id),
    valid_to   INTEGER,
    PRIMARY KEY (plate, valid_from, vehicle_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS holder (
    key        TEXT NOT NULL,
    vehicle_id INTEGER NOT NULL REFERENCES vehicle (id),
    PRIMARY KEY (key, vehicle_id)
) WITHOUT ROWID;
"""
_SCHEMA_VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros // 1_000_000, UTC).replace(microsecond=micros % 1_000_000)


@dataclass(frozen=True, slots=True)
class RegisterStats:
    country: str
    index: str
    vehicles: int
    registered: int
    stolen: int
    deregistered: int
    registrations: int


# -- storage form of a record: compact JSON arrays ---------------------------------------------------
# [vin, plate, make, model, colour, category, first_registration_date, status,
#  [[role, "P", surname, first_names, date_of_birth, street, postal_code, city, country]
#   | [role, "C", name, street, postal_code, city, country], ...],
#  [[plate, valid_from_us, valid_to_us | null], ...]]


def _encode(record: VehicleRecord) -> str:
    v = record.vehicle
    holders: list[list[Any]] = []
    for holder in record.holders:
        if holder.person is not None:
            p = holder.person
            a = p.address
            holders.append([holder.role.name, "P", p.surname, p.first_names, p.date_of_birth,
                            a.street, a.postal_code, a.city, a.country])
        else:
            c = holder.company
            assert c is not None
            a = c.address
            holders.append([holder.role.name, "C", c.name, a.street, a.postal_code, a.city, a.country])
    registrations = [[r.registration_number, _micros(r.valid_from), None if r.valid_to is None else _micros(r.valid_to)]
                     for r in record.registrations]
    return json.dumps([v.vin, v.registration_number, v.make, v.model, v.colour, v.category,
                       v.first_registration_date, v.status.name, holders, registrations],
                      ensure_ascii=False, separators=(",", ":"))


def _decode(text: str) -> VehicleRecord:
    vin, plate, make, model, colour, category, first, status, holders, registrations = json.loads(text)
    decoded_holders = []
    for h in holders:
        if h[1] == "P":
            party = NaturalPerson(h[2], h[3], h[4], Address(h[5], h[6], h[7], h[8]))
            decoded_holders.append(Holder(HolderRole[h[0]], person=party))
        else:
            decoded_holders.append(Holder(HolderRole[h[0]], company=Company(h[2], Address(h[3], h[4], h[5], h[6]))))
    return VehicleRecord(
        Vehicle(vin, plate, make, model, colour, category, first, VehicleStatus[status]),
        tuple(decoded_holders),
        tuple(Registration(r[0], _from_micros(r[1]), None if r[2] is None else _from_micros(r[2]))
              for r in registrations))


def _holder_keys(record: VehicleRecord) -> set[str]:
    """The keys of the natural persons who own or keep the vehicle now (P2-VRD-1); companies have none, nor has a
    person whose name no search could give in full (empty, or with a wildcard character)."""
    keys = set()
    for holder in record.holders:
        if holder.person is not None:
            try:
                keys.add(holder_key(holder.person.surname, holder.person.first_names, holder.person.date_of_birth))
            except InvalidInput:
                continue
    return keys


def _known_since(record: VehicleRecord) -> datetime:
    if record.registrations:
        return record.registrations[0].valid_from
    return datetime.combine(date.fromisoformat(record.vehicle.first_registration_date), datetime.min.time(),
                            UTC)


class _DictIndex:
    """VIN -> row id and plate -> row id (or a tuple of them, for a plate that moved), in memory."""

    kind = "dict"

    def __init__(self, db: sqlite3.Connection) -> None:
        self._vins: dict[str, int] = {}
        self._plates: dict[str, int | tuple[int, ...]] = {}
        for row_id, vin in db.execute("SELECT id, vin FROM vehicle"):
            self._vins[vin] = row_id
        for plate, row_id in db.execute("SELECT plate, vehicle_id FROM registration"):
            self._add_plate(plate, row_id)

    def _add_plate(self, plate: str, row_id: int) -> None:
        rows = self._plates.get(plate)
        if rows is None:
            self._plates[plate] = row_id
        elif isinstance(rows, int):
            if rows != row_id:
                self._plates[plate] = (rows, row_id)
        elif row_id not in rows:
            self._plates[plate] = (*rows, row_id)

    def _remove_plate(self, plate: str, row_id: int) -> None:
        rows = self._plates.get(plate)
        if rows == row_id:
            del self._plates[plate]
        elif isinstance(rows, tuple):
            rest = tuple(r for r in rows if r != row_id)
            self._plates[plate] = rest[0] if len(rest) == 1 else rest

    def add(self, row_id: int, record: VehicleRecord) -> None:
        self._vins[record.vehicle.vin] = row_id
        for registration in record.registrations:
            self._add_plate(registration.registration_number, row_id)

    def remove(self, row_id: int, record: VehicleRecord) -> None:
        self._vins.pop(record.vehicle.vin, None)
        for registration in record.registrations:
            self._remove_plate(registration.registration_number, row_id)

    def by_vin(self, db: sqlite3.Connection, vin: str, at_us: int) -> list[str]:
        row_id = self._vins.get(vin)
        if row_id is None:
            return []
        return [text for (text,) in db.execute("SELECT record FROM vehicle WHERE id = ?", (row_id,))]

    def by_plate(self, db: sqlite3.Connection, plate: str, at_us: int) -> list[str]:
        rows = self._plates.get(plate)
        if rows is None:
            return []
        ids = (rows,) if isinstance(rows, int) else rows
        return [text for row_id in ids for (text,) in db.execute("SELECT record FROM vehicle WHERE id = ?", (row_id,))]


class _SqliteIndex:
    """Lookups through SQLite's B-trees: the UNIQUE index on vin and the registration primary key."""

    kind = "sqlite"

    def __init__(self, db: sqlite3.Connection) -> None:
        pass

    def add(self, row_id: int, record: VehicleRecord) -> None:
        pass

    def remove(self, row_id: int, record: VehicleRecord) -> None:
        pass

    def by_vin(self, db: sqlite3.Connection, vin: str, at_us: int) -> list[str]:
        return [text for (text,) in db.execute("SELECT record FROM vehicle WHERE vin = ?", (vin,))]

    def by_plate(self, db: sqlite3.Connection, plate: str, at_us: int) -> list[str]:
        return [text for (text,) in db.execute(
            "SELECT v.record FROM registration r JOIN vehicle v ON v.id = r.vehicle_id "
            "WHERE r.plate = ? AND r.valid_from <= ? AND (r.valid_to IS NULL OR r.valid_to > ?)",
            (plate, at_us, at_us))]


class VehicleRegister:
    """The vehicle register of one state (Art 12): ingest records, look up by a complete VIN or plate.

    `path` is a SQLite database file (created with its folder if missing) or ":memory:". `country`
    (ISO 3166 alpha-2, EL or GR for Greece) decides the plate formats (VRD-1); it is stored in the
    database, so a reopen may leave it out and a different one is refused. `index` is "sqlite" (the
    default) or "dict" (see the module docstring). Thread-safe: one lock serialises the connection
    and the index.
    """

    def __init__(self, path: str | os.PathLike[str], clock: Clock | None = None, *, country: str | None = None,
                 index: IndexKind = DEFAULT_INDEX) -> None:
        if index not in ("dict", "sqlite"):
            raise ValueError(f"index must be 'dict' or 'sqlite', not {index!r}")
        self._clock: Clock = clock or SystemClock()
        self._lock = threading.RLock()
        self.path = str(path)
        if self.path != ":memory:" and not self.path.startswith("file:"):
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA cache_size=-65536")  # 64 MiB of page cache
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={_SCHEMA_VERSION}")
            self.country = self._settle_country(country)
            self._counts, self._registrations = self._load_counts()
            self._index_holders()
            self._index: _DictIndex | _SqliteIndex = _DictIndex(self._db) if index == "dict" else _SqliteIndex(self._db)
        except BaseException:
            self._db.close()
            raise

    def _index_holders(self) -> None:
        """Index the owners and holders of a register written before their index existed (P2-VRD-1), once."""
        if self._db.execute("SELECT 1 FROM meta WHERE key = 'holders_indexed'").fetchone():
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for row_id, text in self._db.execute("SELECT id, record FROM vehicle").fetchall():
                self._db.executemany("INSERT OR IGNORE INTO holder (key, vehicle_id) VALUES (?, ?)",
                                     ((key, row_id) for key in _holder_keys(_decode(text))))
            self._db.execute("INSERT INTO meta (key, value) VALUES ('holders_indexed', '1')")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _settle_country(self, country: str | None) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'country'").fetchone()
        stored = row[0] if row else None
        if country is None:
            if stored is None:
                raise ValueError("a new vehicle register needs its state's country code (country='NL', ...): "
                                 "it decides the registration-number formats (VRD-1)")
            return str(stored)
        code = country.strip().upper()
        code = COUNTRY_ALIASES.get(code, code)
        if formats_of(code) is None:
            raise ValueError(f"no registration-number formats for country {country!r}")
        if stored is not None and stored != code:
            raise ValueError(f"this register belongs to {stored}, not {code}")
        if stored is None:
            self._db.execute("INSERT INTO meta (key, value) VALUES ('country', ?)", (code,))
        return code

    # -- life cycle -------------------------------------------------------------------------------

    @property
    def index_kind(self) -> str:
        return self._index.kind

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
            return sum(self._counts.values())

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- administration (own state) ---------------------------------------------------------------

    def _store(self, record: VehicleRecord, *, replace_existing: bool,
               pending: list[tuple[int, VehicleRecord | None, VehicleRecord]]) -> None:
        """Check one normalised record against the register and write it (inside a transaction)."""
        vin = record.vehicle.vin
        found = self._db.execute("SELECT id, record FROM vehicle WHERE vin = ?", (vin,)).fetchone()
        if found is not None and not replace_existing:
            raise Duplicate(f"VIN {vin} is already in the register (ingest with replace=True to update it)")
        own_id = found[0] if found else None
        for registration in record.registrations:
            start = _micros(registration.valid_from)
            end = None if registration.valid_to is None else _micros(registration.valid_to)
            clash = self._db.execute(
                "SELECT vehicle_id FROM registration WHERE plate = ? AND vehicle_id IS NOT ? "
                "AND valid_from < COALESCE(?, 9223372036854775807) AND (valid_to IS NULL OR valid_to > ?) LIMIT 1",
                (registration.registration_number, own_id, end, start)).fetchone()
            if clash is not None:
                raise Duplicate(f"registration number {registration.registration_number} belongs to another vehicle "
                                "during part of this period (a plate has one vehicle at a time)")
        now = self._clock.now().isoformat()
        previous = None
        if own_id is not None:
            previous = _decode(found[1])
            self._db.executemany("DELETE FROM registration WHERE plate = ? AND valid_from = ? AND vehicle_id = ?",
                                 ((r.registration_number, _micros(r.valid_from), own_id)
                                  for r in previous.registrations))
            self._db.execute("UPDATE vehicle SET status = ?, record = ?, ingested_at = ? WHERE id = ?",
                             (record.vehicle.status.name, _encode(record), now, own_id))
            row_id = own_id
        else:
            cursor = self._db.execute("INSERT INTO vehicle (vin, status, record, ingested_at) VALUES (?, ?, ?, ?)",
                                      (vin, record.vehicle.status.name, _encode(record), now))
            row_id = int(cursor.lastrowid or 0)
        self._db.executemany(
            "INSERT INTO registration (plate, valid_from, vehicle_id, valid_to) VALUES (?, ?, ?, ?)",
            ((r.registration_number, _micros(r.valid_from), row_id, None if r.valid_to is None else _micros(r.valid_to))
             for r in record.registrations))
        if previous is not None:
            self._db.execute("DELETE FROM holder WHERE vehicle_id = ?", (row_id,))
        self._db.executemany("INSERT OR IGNORE INTO holder (key, vehicle_id) VALUES (?, ?)",
                             ((key, row_id) for key in _holder_keys(record)))
        pending.append((row_id, previous, record))

    def _load_counts(self) -> tuple[Counter[str], int]:
        """The counters kept in `meta` (written with every ingest), or counted once for an older file."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'counts'").fetchone()
        if row is not None:
            saved = json.loads(row[0])
            return Counter(saved["status"]), int(saved["registrations"])
        counts = Counter(dict(self._db.execute("SELECT status, COUNT(*) FROM vehicle GROUP BY status").fetchall()))
        registrations = int(self._db.execute("SELECT COUNT(*) FROM registration").fetchone()[0])
        self._save_counts(counts, registrations)
        return counts, registrations

    def _save_counts(self, counts: Counter[str], registrations: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('counts', ?)",
                         (json.dumps({"status": dict(counts), "registrations": registrations}),))

    def _counted(self, pending: list[tuple[int, VehicleRecord | None, VehicleRecord]]) -> tuple[Counter[str], int]:
        """The counters after `pending`, saved in the open transaction (so they survive with the rows)."""
        counts, registrations = Counter(self._counts), self._registrations
        for _, previous, record in pending:
            if previous is not None:
                counts[previous.vehicle.status.name] -= 1
                registrations -= len(previous.registrations)
            counts[record.vehicle.status.name] += 1
            registrations += len(record.registrations)
        self._save_counts(counts, registrations)
        return counts, registrations

    def _remember(self, pending: list[tuple[int, VehicleRecord | None, VehicleRecord]],
                  counted: tuple[Counter[str], int]) -> None:
        """After a commit: bring the index and the counters up to date."""
        for row_id, previous, record in pending:
            if previous is not None:
                self._index.remove(row_id, previous)
            self._index.add(row_id, record)
        self._counts, self._registrations = counted

    def ingest(self, record: VehicleRecord, *, replace: bool = False) -> VehicleRecord:
        """Store one record (VRD-2); returns it as stored (normalised).

        Raises InvalidInput for a record `normalize_record` refuses, and Duplicate when the VIN is
        already in the register (unless `replace`, which updates it: status, holders, history) or
        when one of its registration periods overlaps another vehicle's period for the same plate.
        """
        normalised = normalize_record(record, self.country)
        with self._lock:
            pending: list[tuple[int, VehicleRecord | None, VehicleRecord]] = []
            with self._transaction():
                self._store(normalised, replace_existing=replace, pending=pending)
                counted = self._counted(pending)
            self._remember(pending, counted)
        return normalised

    def ingest_many(self, records: Iterable[Any], *, replace: bool = False) -> IngestReport:
        """Store many records; bad ones are reported by position (from 1) and reason, not stored.

        A record is rejected for what `ingest` refuses, including a VIN or a plate period that an
        earlier record of the same batch already took. Commits every `INGEST_CHUNK` records.
        """
        rejections: list[tuple[int, str, str]] = []
        accepted = 0
        chunk: list[tuple[int, VehicleRecord | Any]] = []

        def flush() -> None:
            nonlocal accepted
            checked: list[tuple[int, str, VehicleRecord]] = []
            for position, record in chunk:
                vin_text = getattr(getattr(record, "vehicle", None), "vin", "")
                vin_text = vin_text if isinstance(vin_text, str) else ""
                try:
                    checked.append((position, vin_text, normalize_record(record, self.country)))
                except InvalidInput as error:
                    rejections.append((position, vin_text, str(error)))
            with self._lock:
                pending: list[tuple[int, VehicleRecord | None, VehicleRecord]] = []
                with self._transaction():
                    for position, vin_text, normalised in checked:
                        self._db.execute("SAVEPOINT one")
                        try:
                            self._store(normalised, replace_existing=replace, pending=pending)
                        except (Duplicate, InvalidInput) as error:
                            self._db.execute("ROLLBACK TO one")
                            rejections.append((position, vin_text, str(error)))
                        self._db.execute("RELEASE one")
                    counted = self._counted(pending)
                self._remember(pending, counted)
                accepted += len(pending)
            chunk.clear()

        for position, record in enumerate(records, start=1):
            chunk.append((position, record))
            if len(chunk) >= INGEST_CHUNK:
                flush()
        if chunk:
            flush()
        rejections.sort()
        return IngestReport(accepted, rejections)

    def stats(self) -> RegisterStats:
        """Counts of the register."""
        with self._lock:
            counts = self._counts
            return RegisterStats(self.country, self._index.kind, sum(counts.values()), counts["REGISTERED"],
                                 counts["STOLEN"], counts["DEREGISTERED"], self._registrations)

    # -- automated exchange (Art 12) ----------------------------------------------------------------

    def lookup_by_holder(self, surname: str, first_names: str, date_of_birth: str,
                         at: datetime | None = None) -> list[VehicleRecord]:
        """The vehicles a natural person owns or keeps now, by the complete surname, first names and date of birth
        (P2-VRD-1: Prüm II's search by the owner's or holder's identity; the key is checked by `holder_key`).
        Each record's plate is the one valid at `at` (default: now). PUR-2: the key is not kept."""
        key = holder_key(surname, first_names, date_of_birth)
        moment = self._clock.now() if at is None else utc(at, "at")
        with self._lock:
            texts = [text for (text,) in self._db.execute(
                "SELECT v.record FROM holder h JOIN vehicle v ON v.id = h.vehicle_id WHERE h.key = ? ORDER BY v.vin",
                (key,))]
        return [self._as_at(record, moment) for record in map(_decode, texts) if _known_since(record) <= moment]

    @staticmethod
    def _as_at(record: VehicleRecord, moment: datetime) -> VehicleRecord:
        """`record` with the plate valid at `moment` as its vehicle's registration number ("" if none)."""
        current = record.registration_at(moment)
        plate = current.registration_number if current else ""
        v = record.vehicle
        if plate == v.registration_number:
            return record
        return VehicleRecord(Vehicle(v.vin, plate, v.make, v.model, v.colour, v.category, v.first_registration_date,
                                     v.status), record.holders, record.registrations)

    def lookup(self, vin: str | None = None, registration_number: str | None = None,
               at: datetime | None = None) -> list[VehicleRecord]:
        """The vehicle records for exactly one complete key at time `at` (default: the clock's now).

        VRD-1: the key is normalised and checked by `normalize_vin` / `normalize_plate` (this
        state's formats); anything partial, a wildcard or a name is refused with InvalidInput.
        A plate answers for the vehicle registered under it at `at`; a VIN answers for its vehicle
        once it has been registered. Each record's `vehicle.registration_number` is the plate valid
        at `at` ("" if none); holders are the current ones. PUR-2: the key is not kept.
        """
        if (vin is None) == (registration_number is None):
            raise InvalidInput("give exactly one key: a complete VIN or a complete registration number (VRD-1)",
                               field="key")
        moment = self._clock.now() if at is None else utc(at, "at")
        at_us = _micros(moment)
        if vin is not None:
            key = normalize_vin(vin)
            with self._lock:
                texts = self._index.by_vin(self._db, key, at_us)
            records = [r for r in map(_decode, texts) if _known_since(r) <= moment]
        else:
            key = normalize_plate(registration_number, self.country)
            with self._lock:
                texts = self._index.by_plate(self._db, key, at_us)
            records = [r for r in map(_decode, texts)
                       if any(x.registration_number == key and x.covers(moment) for x in r.registrations)]
        answer = [self._as_at(record, moment) for record in records]
        if len(answer) > 1:
            answer.sort(key=lambda r: r.vehicle.vin)
        return answer
