"""The router's own log (P2-ROUTER-3): every query it routes, and every search it refuses, without data content.

eu-LISA logs every processing operation of the router. One entry per query routed to one state: who asked
(requesting state), whom (requested state), when (received, answered), the category, the request's and the
reply's ids, the outcome (status and code) and the hit count. No profile, no template, no reference number and
no free text a requested state wrote (a refusal's detail may quote what was sent): the router does not keep the
data it routes (P2-ROUTER-1). A search the router refuses as a whole (a requesting state not ready) is one entry
with no requested state.

Entries are durable before the router replies (SQLite WAL, `synchronous=FULL`). The counts per requested state
and category (P2-LOG-2) are kept beside them in the same transaction, so they outlive the retention purge.
Retention: a federation-file setting (P2-ROUTER-3 is unconfirmed; default one year).

Core data forwarded after a confirmed match (Art 47(1)) have a sibling table, `relayed`: one entry per request or
decision carried, with who sent it to whom, when, the category, the message (REQUEST, or the decision's status)
and the receiving state's answer code; no reference, no facts, no core data (`RelayedEntry`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import InvalidInput
from prum.services.common.fan_out import ResultStatus
from prum.services.common.store import open_database, transaction
from prum.services.logger.entry import format_moment

#: Which count of the statistics each status adds to (P2-LOG-2).
COUNTED_AS = {
    ResultStatus.HIT: "hits", ResultStatus.NO_HIT: "no_hits",
    ResultStatus.NOT_READY: "refusals", ResultStatus.REFUSED: "refusals",
    ResultStatus.UNAVAILABLE: "failures", ResultStatus.DEADLINE_EXCEEDED: "failures", ResultStatus.FAILED: "failures",
}

#: How long the router keeps its log by default (P2-ROUTER-3, unconfirmed: one year).
DEFAULT_RETENTION_DAYS = 365


@dataclass(frozen=True)
class RoutedEntry:
    """One query routed to one state (or one search refused as a whole: `requested_state` empty)."""

    request_id: str
    requesting_state: str
    requested_state: str
    category: Category
    received_at: datetime
    answered_at: datetime
    status: ResultStatus
    code: str
    hit_count: int = 0
    reply_id: str = ""
    elapsed_ms: float = 0.0
    sequence: int = 0


@dataclass(frozen=True)
class RouterStats:
    """The queries routed to one requested state in one category, by outcome."""

    state: str
    category: Category
    queries_routed: int
    hits: int
    no_hits: int
    refusals: int
    failures: int


_SCHEMA = """
CREATE TABLE IF NOT EXISTS routed (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, reply_id TEXT NOT NULL,
    requesting_state TEXT NOT NULL, requested_state TEXT NOT NULL, category TEXT NOT NULL,
    received_at TEXT NOT NULL, answered_at TEXT NOT NULL, status TEXT NOT NULL, code TEXT NOT NULL,
    hit_count INTEGER NOT NULL, elapsed_ms REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS stats (
    state TEXT NOT NULL, category TEXT NOT NULL, queries_routed INTEGER NOT NULL DEFAULT 0,
    hits INTEGER NOT NULL DEFAULT 0, no_hits INTEGER NOT NULL DEFAULT 0, refusals INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (state, category)
);
"""

_RELAYED_SCHEMA = """
CREATE TABLE IF NOT EXISTS relayed (
    sequence INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL, message TEXT NOT NULL,
    from_state TEXT NOT NULL, to_state TEXT NOT NULL, category TEXT NOT NULL, received_at TEXT NOT NULL,
    answered_at TEXT NOT NULL, code TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class RelayedEntry:
    """One core-data request or decision the router carried (Art 47(1)), without its content."""

    request_id: str
    message: str  # REQUEST, or the decision's status (SUPPLIED, REFUSED, DELAYED)
    from_state: str
    to_state: str
    category: Category
    received_at: datetime
    answered_at: datetime
    code: str  # the receiving state's answer ("OK"), or the code it refused or failed with
    sequence: int = 0


_COLUMNS = ("sequence, request_id, reply_id, requesting_state, requested_state, category, received_at, answered_at, "
            "status, code, hit_count, elapsed_ms")


class RouterLog:
    """The router's log and statistics (SQLite, WAL; in memory without a path). Thread-safe."""

    def __init__(self, path: str | Path | None = None, clock: Clock | None = None,
                 retention_days: int = DEFAULT_RETENTION_DAYS) -> None:
        self.clock: Clock = clock or SystemClock()
        self.retention = timedelta(days=retention_days)
        self._lock = threading.Lock()
        self._db = open_database(path)
        self._db.executescript(_SCHEMA)
        self._db.executescript(_RELAYED_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def record(self, entries: Sequence[RoutedEntry]) -> None:
        """Append `entries` and count them, in one transaction: durable when this returns."""
        if not entries:
            return
        with self._lock, transaction(self._db) as db:
            for e in entries:
                db.execute(
                    "INSERT INTO routed (request_id, reply_id, requesting_state, requested_state, category, "
                    "received_at, answered_at, status, code, hit_count, elapsed_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (e.request_id, e.reply_id, e.requesting_state, e.requested_state, e.category.value,
                     format_moment(e.received_at), format_moment(e.answered_at), e.status.value, e.code,
                     e.hit_count, e.elapsed_ms))
                if e.requested_state:
                    counted = COUNTED_AS[e.status]
                    db.execute(
                        f"INSERT INTO stats (state, category, queries_routed, {counted}) VALUES (?, ?, 1, 1) "
                        f"ON CONFLICT (state, category) DO UPDATE SET queries_routed = queries_routed + 1, "
                        f"{counted} = {counted} + 1", (e.requested_state, e.category.value))

    def entries(self, after: int = 0, limit: int = 100, requesting_state: str = "") -> tuple[list[RoutedEntry], bool]:
        """A page of entries after sequence `after`, oldest first, at most `limit` (1 to 1000); only
        `requesting_state`'s if given. Returns the page and whether more entries follow it."""
        if not 1 <= limit <= 1000:
            raise InvalidInput(f"{limit}; allowed: 1 to 1000", field="page_size")
        where, args = "sequence > ?", [after]
        if requesting_state:
            where += " AND requesting_state = ?"
            args.append(requesting_state)  # type: ignore[arg-type]  # sqlite takes both
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM routed WHERE {where} ORDER BY sequence LIMIT ?",
                                    (*args, limit + 1)).fetchall()
        return [RoutedEntry(sequence=row[0], request_id=row[1], reply_id=row[2], requesting_state=row[3],
                            requested_state=row[4], category=Category(row[5]),
                            received_at=datetime.fromisoformat(row[6]), answered_at=datetime.fromisoformat(row[7]),
                            status=ResultStatus(row[8]), code=row[9], hit_count=row[10], elapsed_ms=row[11])
                for row in rows[:limit]], len(rows) > limit

    def export(self) -> Iterator[RoutedEntry]:
        """Every entry kept, oldest first, read page by page (the supervisors' copy, `prum.services.router.audit`)."""
        after = 0
        while True:
            page, more = self.entries(after, 1000)
            yield from page
            if not more:
                return
            after = page[-1].sequence

    def stats(self) -> list[RouterStats]:
        """The counts per requested state and category, by state then category."""
        with self._lock:
            rows = self._db.execute("SELECT state, category, queries_routed, hits, no_hits, refusals, failures "
                                    "FROM stats ORDER BY state, category").fetchall()
        return [RouterStats(row[0], Category(row[1]), *row[2:]) for row in rows]

    def purge(self) -> int:
        """Delete the entries older than the retention period (P2-ROUTER-3), core-data forwardings too; the counts
        stay. Returns how many."""
        cutoff = format_moment(self.clock.now() - self.retention)
        with self._lock, transaction(self._db) as db:
            return (db.execute("DELETE FROM routed WHERE received_at < ?", (cutoff,)).rowcount
                    + db.execute("DELETE FROM relayed WHERE received_at < ?", (cutoff,)).rowcount)

    def record_relayed(self, entry: RelayedEntry) -> None:
        """Append one core-data forwarding: durable when this returns (P2-ROUTER-3)."""
        with self._lock, transaction(self._db) as db:
            db.execute("INSERT INTO relayed (request_id, message, from_state, to_state, category, received_at, "
                       "answered_at, code) VALUES (?,?,?,?,?,?,?,?)",
                       (entry.request_id, entry.message, entry.from_state, entry.to_state, entry.category.value,
                        format_moment(entry.received_at), format_moment(entry.answered_at), entry.code))

    def relayed(self, request_id: str = "", state: str = "") -> list[RelayedEntry]:
        """The core-data forwardings, oldest first: of one request if given, to or from one state if given."""
        query, args = "SELECT * FROM relayed WHERE 1=1", list[str]()
        if request_id:
            query, args = query + " AND request_id = ?", [*args, request_id]
        if state:
            query, args = query + " AND (from_state = ? OR to_state = ?)", [*args, state, state]
        with self._lock:
            rows = self._db.execute(query + " ORDER BY sequence", args).fetchall()
        return [RelayedEntry(request_id, message, from_state, to_state, Category(category),
                             datetime.fromisoformat(received), datetime.fromisoformat(answered), code, sequence)
                for sequence, request_id, message, from_state, to_state, category, received, answered, code in rows]
