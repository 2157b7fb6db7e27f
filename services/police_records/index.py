"""A state's police-record index for EPRIS (P2-EPRIS-1, -3, -5), without gRPC.

The national records (the biographic data of suspects and convicted persons, P2-EPRIS-1) stay at the
national side, in `PoliceRecordIndex`'s record store. What a search goes through is the pseudonymised index:
for every name part of a record (first names, surnames, aliases) its phonetic codes (jellyfish's NYSIIS and
metaphone, after unidecode's transliteration to Latin letters) joined with the year of birth, each keyed with
HMAC-SHA256 under a secret key. The index holds only those keyed values and record positions, so it reveals
nothing without a query that produces the same values (P2-EPRIS-5: "pseudonymised").

The key rotates: `refresh` draws a new key and rebuilds the index from the national records, and a search
refreshes first when the index is older than `REFRESH_INTERVAL` (24 hours, on the state's clock). The old
key is dropped, so a value keyed under it no longer finds anything. A query is keyed with the current key.

A query's keyed values find the candidates (at least one name part sounding alike, born the same year);
each candidate is then scored against the national record with rapidfuzz (names in any order, compound
names, typos) and the date of birth (exact, year or year-month only, day and month swapped). The reply is
references with a quality and nothing else (P2-EPRIS-3). The query is not kept (PUR-2).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
from array import array
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import jellyfish
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import InvalidInput, UnknownReference, quote
from prum.services.common.store import IngestReport, open_database, transaction
from rapidfuzz import fuzz
from unidecode import unidecode

#: P2-EPRIS-5: national indexes are refreshed at least every 24 hours.
REFRESH_INTERVAL = timedelta(hours=24)
#: The biographic fields searched (P2-EPRIS-1, unconfirmed: the catalogue's default; the federation file's
#: `[epris] fields` may leave out the optional ones).
FIELDS = ("first_names", "surnames", "aliases", "date_of_birth", "nationality", "place_of_birth",
          "country_of_birth", "gender")
#: What every search needs: names and a date of birth (P2-EPRIS-2).
REQUIRED_FIELDS = ("first_names", "surnames", "date_of_birth")
#: The lowest quality reported as a match, and the most matches one reply carries.
MIN_QUALITY = 80
MAX_MATCHES = 10
#: The most candidates scored per search, those sharing the most keyed values first.
MAX_CANDIDATES = 500
GENDERS = ("", "F", "M", "X")

_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_NOT_LETTER = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class PoliceRecord:
    """One national record's biographic data (P2-EPRIS-1); it never leaves the holding state but on a decision."""

    reference: str
    first_names: str
    surnames: str
    date_of_birth: str
    aliases: tuple[str, ...] = ()
    nationality: str = ""
    place_of_birth: str = ""
    country_of_birth: str = ""
    gender: str = ""


@dataclass(frozen=True)
class BiographicQuery:
    """What a requesting state searches by (P2-EPRIS-2): names and a date of birth, whole or in part."""

    first_names: str
    surnames: str
    date_of_birth: str
    nationality: str = ""
    place_of_birth: str = ""
    country_of_birth: str = ""
    gender: str = ""


@dataclass(frozen=True)
class PartialDate:
    year: int
    month: int | None = None
    day: int | None = None


@dataclass(frozen=True)
class Match:
    """One record matched: its reference and the quality of the match, 0 to 100 (P2-EPRIS-3)."""

    reference: str
    quality: int


@dataclass(frozen=True)
class IndexStats:
    records: int
    blocking_keys: int
    refreshed_at: datetime
    key_generation: int


def parse_date(text: str, field: str, *, complete: bool = False) -> PartialDate:
    """YYYY-MM-DD, or YYYY-MM or YYYY when only part is known (`complete`: the whole date required)."""
    found = _DATE.match(text.strip())
    allowed = "YYYY-MM-DD" if complete else "YYYY-MM-DD, YYYY-MM or YYYY"
    if found is None or (complete and found.group(3) is None):
        raise InvalidInput(f"{quote(text)} is not a date; allowed: {allowed}", field=field)
    year, month, day = (int(g) if g else None for g in found.groups())
    assert year is not None
    if month is not None and not 1 <= month <= 12 or day is not None and not 1 <= day <= 31:
        raise InvalidInput(f"{quote(text)} has no such month or day; allowed: {allowed}", field=field)
    return PartialDate(year, month, day)


def fold(text: str) -> str:
    """Latin letters in lower case without diacritics, one space between name parts (Müller -> muller,
    Ελένη -> elene, whose codes are Eleni's; Łukasz -> lukasz)."""
    return " ".join(_NOT_LETTER.sub(" ", unidecode(text).lower()).split())


@lru_cache(maxsize=200_000)
def _codes(part: str) -> tuple[str, ...]:
    """The phonetic codes of one folded name part (Müller, Mueller and Muller share them)."""
    return (f"n{jellyfish.nysiis(part)}", f"m{jellyfish.metaphone(part)}")


def blocking_values(names: Iterable[str], year: int) -> set[str]:
    """The clear blocking values of some names born in `year`: each name part's phonetic codes with the year.
    Parts of one letter (initials) block nothing."""
    values: set[str] = set()
    for name in names:
        for part in fold(name).split():
            if len(part) > 1:
                values.update(f"{code}|{year}" for code in _codes(part))
    return values


def check_record(record: PoliceRecord) -> PoliceRecord:
    """The record as the index takes it, or the error naming what is wrong."""
    if not record.reference.strip():
        raise InvalidInput("is empty; every record has its national reference number", field="reference")
    for field, value in (("first_names", record.first_names), ("surnames", record.surnames)):
        if not fold(value):
            raise InvalidInput(f"{quote(value)} has no letters; a record names the person", field=field)
    parse_date(record.date_of_birth, "date_of_birth", complete=True)
    if record.gender not in GENDERS:
        raise InvalidInput(f"{quote(record.gender)}; allowed: F, M, X or empty", field="gender")
    return record


def check_query(query: BiographicQuery) -> BiographicQuery:
    """The query as it may be searched, or the error naming what is wrong (names with letters, a date)."""
    for field, value in (("first_names", query.first_names), ("surnames", query.surnames)):
        if not fold(value):
            raise InvalidInput(f"{quote(value)} has no letters; give the person's {field.replace('_', ' ')}",
                               field=f"person.{field}")
    parse_date(query.date_of_birth, "person.date_of_birth")
    if query.gender not in GENDERS:
        raise InvalidInput(f"{quote(query.gender)}; allowed: F, M, X or empty", field="person.gender")
    return query


def _names(record: PoliceRecord, aliases: bool = True) -> list[str]:
    return [f"{record.first_names} {record.surnames}", *(record.aliases if aliases else ())]


def _date_score(query: PartialDate, record: PartialDate) -> float:
    """How well a date of birth, whole or in part, agrees with the record's."""
    if query.year != record.year:
        same_day = (query.month, query.day) == (record.month, record.day) and query.day is not None
        return 0.6 if same_day and abs(query.year - record.year) == 1 else 0.0
    if query.month is None:
        return 0.85  # the year only
    if query.day is None:
        return 0.9 if query.month == record.month else 0.4
    if (query.month, query.day) == (record.month, record.day):
        return 1.0
    if (query.month, query.day) == (record.day, record.month):
        return 0.85  # day and month swapped
    if query.month == record.month or query.day == record.day:
        return 0.5
    return 0.3


def score(query: BiographicQuery, record: PoliceRecord, fields: frozenset[str] = frozenset(FIELDS)) -> int:
    """The quality of `record` as a match of `query`, 0 to 100: names (any order, compound names, typos, any
    alias) weigh 70 %, the date of birth 30 %; each optional field given that disagrees costs 5. Only the
    `fields` searched count (aliases, and each optional field)."""
    wanted = fold(f"{query.first_names} {query.surnames}")
    name = 0.0
    for candidate in _names(record, "aliases" in fields):
        folded = fold(candidate)
        name = max(name, fuzz.token_sort_ratio(wanted, folded), 0.95 * fuzz.token_set_ratio(wanted, folded))
    date = _date_score(parse_date(query.date_of_birth, "date_of_birth"),
                       parse_date(record.date_of_birth, "date_of_birth"))
    quality = 0.7 * name + 30 * date
    for field, given, held in (("nationality", query.nationality, record.nationality),
                               ("country_of_birth", query.country_of_birth, record.country_of_birth),
                               ("gender", query.gender, record.gender)):
        if field in fields and given and held and given != held:
            quality -= 5
    if "place_of_birth" in fields and query.place_of_birth and record.place_of_birth and fuzz.ratio(
            fold(query.place_of_birth), fold(record.place_of_birth)) < 80:
        quality -= 5
    return max(0, min(100, round(quality)))


class PoliceRecordIndex:
    """A state's national police records and their pseudonymised index (see the module docstring); thread-safe."""

    def __init__(self, clock: Clock | None = None, min_quality: int = MIN_QUALITY,
                 max_matches: int = MAX_MATCHES, fields: tuple[str, ...] = FIELDS,
                 refresh_interval: timedelta = REFRESH_INTERVAL, path: str | Path | None = None) -> None:
        missing = [f for f in REQUIRED_FIELDS if f not in fields]
        unknown = [f for f in fields if f not in FIELDS]
        if missing or unknown:
            raise InvalidInput(f"{list(fields)}: every search needs {', '.join(REQUIRED_FIELDS)}; allowed besides: "
                               f"{', '.join(f for f in FIELDS if f not in REQUIRED_FIELDS)}", field="fields")
        if not timedelta(0) < refresh_interval <= REFRESH_INTERVAL:
            raise InvalidInput(f"{refresh_interval}; the index is refreshed at least every 24 hours (P2-EPRIS-5)",
                               field="refresh_interval")
        self.fields = frozenset(fields)
        self.refresh_interval = refresh_interval
        self.clock = clock or SystemClock()
        self.min_quality = min_quality
        self.max_matches = max_matches
        self._lock = threading.RLock()
        self._refreshing = threading.Lock()  # one rebuild at a time: searches that find it due wait for it
        self._records: list[PoliceRecord] = []  # the national side: clear data, never in the index
        self._positions: dict[str, int] = {}
        self._key = secrets.token_bytes(32)
        self._generation = 1
        self._refreshed_at = self.clock.now()
        #: The pseudonymised index: keyed blocking value -> positions of the records that produce it.
        self._index: dict[bytes, array[int]] = {}
        # The national records on disk (SQLite, WAL, `synchronous=FULL`; in memory without a path): a restarted
        # state builds its index anew from them, under a new key.
        self._db = open_database(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS record (reference TEXT PRIMARY KEY, data TEXT NOT NULL)")
        for (text,) in self._db.execute("SELECT data FROM record ORDER BY rowid"):
            data = json.loads(text)
            self._place(PoliceRecord(**{**data, "aliases": tuple(data["aliases"])}))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- keying ------------------------------------------------------------------------------------------------

    @staticmethod
    def _keyed(key: bytes, value: str) -> bytes:
        return hmac.new(key, value.encode(), hashlib.sha256).digest()[:16]

    def _record_values(self, record: PoliceRecord) -> set[str]:
        return blocking_values(_names(record, "aliases" in self.fields), parse_date(record.date_of_birth, "date_of_birth").year)

    def _add(self, index: dict[bytes, array[int]], key: bytes, position: int, record: PoliceRecord) -> None:
        for value in self._record_values(record):
            index.setdefault(self._keyed(key, value), array("i")).append(position)

    # -- the national records ------------------------------------------------------------------------------------

    def _place(self, record: PoliceRecord) -> None:
        with self._lock:
            position = self._positions.get(record.reference)
            if position is None:
                position = len(self._records)
                self._records.append(record)
                self._positions[record.reference] = position
            else:
                self._records[position] = record
            self._add(self._index, self._key, position, record)

    def _store(self, records: list[PoliceRecord]) -> None:
        """The records on disk, in one transaction, before they are searchable."""
        with self._lock, transaction(self._db) as db:
            db.executemany("INSERT OR REPLACE INTO record (reference, data) VALUES (?, ?)",
                           ((r.reference, json.dumps(asdict(r), ensure_ascii=False)) for r in records))

    def ingest(self, record: PoliceRecord) -> None:
        """Add a record to the national records and the index (a reference given again replaces its record at
        the next refresh; until then both versions may be found, the newer one's data answered)."""
        check_record(record)
        self._store([record])
        self._place(record)

    def ingest_many(self, records: Iterable[PoliceRecord]) -> IngestReport:
        """Records accepted, and the rejections as (position, reference, reason); the accepted ones stored in
        chunks of one transaction each."""
        rejections: list[tuple[int, str, str]] = []
        accepted = 0
        chunk: list[PoliceRecord] = []

        def flush() -> None:
            self._store(chunk)
            for record in chunk:
                self._place(record)
            chunk.clear()

        for position, record in enumerate(records, 1):
            try:
                check_record(record)
            except InvalidInput as error:
                rejections.append((position, record.reference, str(error)))
                continue
            chunk.append(record)
            accepted += 1
            if len(chunk) >= 5000:
                flush()
        if chunk:
            flush()
        return IngestReport(accepted, rejections)

    def record(self, reference: str) -> PoliceRecord:
        """The national record behind a reference: for a decision to share it (P2-EPRIS-4), never for a search."""
        with self._lock:
            position = self._positions.get(reference)
            if position is None:
                raise UnknownReference(f"no police record {quote(reference)} in this state's index")
            return self._records[position]

    # -- the pseudonymised index ---------------------------------------------------------------------------------

    def refresh(self) -> IndexStats:
        """Rebuild the index from the national records under a new key; the old key is dropped (P2-EPRIS-5)."""
        with self._lock:
            records = list(self._records)
        key = secrets.token_bytes(32)
        index: dict[bytes, array[int]] = {}
        for position, record in enumerate(records):
            self._add(index, key, position, record)
        with self._lock:
            for position in range(len(records), len(self._records)):  # ingested while rebuilding
                self._add(index, key, position, self._records[position])
            self._key, self._index = key, index
            self._generation += 1
            self._refreshed_at = self.clock.now()
            return self._stats()

    def refresh_if_due(self) -> bool:
        """Refresh when the index is `refresh_interval` old or older; whether it did. Searches that find it due
        together rebuild it once (the others wait for that rebuild, then search under the new key)."""
        if self.clock.now() - self._refreshed_at < self.refresh_interval:
            return False
        with self._refreshing:
            if self.clock.now() - self._refreshed_at < self.refresh_interval:
                return False  # another search rebuilt it meanwhile
            self.refresh()
            return True

    def keyed_query(self, query: BiographicQuery) -> set[bytes]:
        """The query's blocking values keyed with the current key: what is looked up in the index."""
        year = parse_date(query.date_of_birth, "date_of_birth").year
        with self._lock:
            key = self._key
        return {self._keyed(key, value)
                for value in blocking_values([f"{query.first_names} {query.surnames}"], year)}

    def lookup(self, keyed: Iterable[bytes]) -> Counter[int]:
        """The positions the keyed values find, with how many of them each shares."""
        found: Counter[int] = Counter()
        with self._lock:
            for value in keyed:
                postings = self._index.get(value)
                if postings is not None:
                    found.update(postings)
        return found

    def search(self, query: BiographicQuery) -> list[Match]:
        """The records matching `query`, best first, at most `max_matches`, each at least `min_quality`. The
        index is refreshed first when it is due; the query is not kept (PUR-2)."""
        check_query(query)
        self.refresh_if_due()
        candidates = self.lookup(self.keyed_query(query))
        with self._lock:
            records = [self._records[p] for p, _ in candidates.most_common(MAX_CANDIDATES)]
        best: dict[str, int] = {}
        for record in records:
            quality = score(query, record, self.fields)
            if quality >= self.min_quality and quality > best.get(record.reference, -1):
                best[record.reference] = quality
        ranked = sorted(best.items(), key=lambda item: (-item[1], item[0]))[:self.max_matches]
        return [Match(reference, quality) for reference, quality in ranked]

    def index_values(self) -> list[tuple[bytes, tuple[int, ...]]]:
        """What the pseudonymised index holds, as it is (keyed values and positions): for audits and tests."""
        with self._lock:
            return [(value, tuple(postings)) for value, postings in self._index.items()]

    def _stats(self) -> IndexStats:
        return IndexStats(len(self._records), len(self._index), self._refreshed_at, self._generation)

    def stats(self) -> IndexStats:
        with self._lock:
            return self._stats()
