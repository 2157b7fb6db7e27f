"""The embedded store of every service: SQLite in WAL mode, durable at each commit.

`open_database` applies the settings every store shares; `transaction` is the one write
transaction helper; `IngestReport` is what a bulk ingest into any national file reports. A server database (PostgreSQL) can later sit behind the same cores.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from prum.services.common.errors import InvalidInput

R = TypeVar("R")
V = TypeVar("V")


def open_database(path: str | Path | None) -> sqlite3.Connection:
    """A connection shared by a store's threads (the store serialises writes with its own lock).

    `None` or ":memory:" gives an in-memory database (same code path, no durability). On disk:
    WAL, so readers never block the writer, and `synchronous=FULL`, so a commit is on disk when
    it returns: what a reply waits for (LOG-4).
    """
    target = ":memory:" if path is None else str(path)
    if target != ":memory:" and not target.startswith("file:"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=30.0)
    if target != ":memory:":
        db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    return db


@contextmanager
def transaction(db: sqlite3.Connection, mode: str = "IMMEDIATE") -> Iterator[sqlite3.Connection]:
    """One transaction; IMMEDIATE takes the write lock at once. Rolled back on any error."""
    db.execute(f"BEGIN {mode}")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


@dataclass(frozen=True, slots=True)
class IngestReport:
    """Outcome of a bulk ingest into a national file: rejections are (position from 1, the item's reference or
    VIN as given, reason)."""

    accepted: int
    rejections: list[tuple[int, str, str]] = field(default_factory=list)


def ingest_in_one_batch(requests: Iterable[R], convert: Callable[[R], V], reference: Callable[[R], str],
                        add_many: Callable[[list[V]], int]) -> tuple[int, list[str]]:
    """An Ingest stream into a file that adds in one batch (the AFIS and facial-image galleries): each request
    converted (`InvalidInput` rejects it, by its position from 1 and the reference it gave), the rest added at once.
    Returns how many were accepted and the rejections as the contracts word them ("#3 NL-F-1: reason")."""
    rejections: list[str] = []
    batch: list[V] = []
    for position, request in enumerate(requests, start=1):
        try:
            batch.append(convert(request))
        except InvalidInput as error:
            rejections.append(f"#{position} {reference(request)}: {error}")
    return (add_many(batch) if batch else 0), rejections
