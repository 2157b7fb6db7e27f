"""Information on persons supplied without a request, for major events and against terrorism (Art 13-16).

The sending state's officer sends the persons, the circumstances and the conditions on use, which bind
the receiver. The receiver keeps the personal data only for its purpose: it is deleted when the
purpose is met (the event ends, or the receiver closes it) and one year after receipt at the latest,
both read from the clock. Both sides log the supply as a non-automated supply (LOG-3).
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from prum.services.common.category import Category
from prum.services.common.clock import Clock, SystemClock
from prum.services.common.errors import InvalidInput, UnknownReference, quote
from prum.services.common.identity import check_claim
from prum.services.common.store import open_database, transaction
from prum.services.exchange.context import QueryContext, ReplyHeader
from prum.services.logger import EntryKind, LogEntry, MessageType, ProtocolLog, Side
from prum.services.logger.entry import canonical_json

# Art 14(2) and 16(4): deleted when the purpose is met, and within one year at the latest.
KEPT_AT_MOST = timedelta(days=365)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS information (
    id TEXT PRIMARY KEY, sender_state TEXT NOT NULL, purpose TEXT NOT NULL, event TEXT NOT NULL,
    persons TEXT NOT NULL, conditions TEXT NOT NULL, received_at TEXT NOT NULL, delete_after TEXT NOT NULL
);
"""


class InformationPurpose(StrEnum):
    MAJOR_EVENT = "MAJOR_EVENT"
    TERRORISM_PREVENTION = "TERRORISM_PREVENTION"


@dataclass(frozen=True)
class InformedPerson:
    surname: str
    first_names: str
    date_of_birth: str
    place_of_birth: str
    circumstances: str


@dataclass(frozen=True)
class Information:
    information_id: str
    sender_state: str
    purpose: InformationPurpose
    event: str
    persons: tuple[InformedPerson, ...]
    conditions: tuple[str, ...]
    received_at: datetime
    delete_after: datetime


def check_information(event: str, persons: tuple[InformedPerson, ...]) -> None:
    if not event.strip():
        raise InvalidInput("is empty; name the event or threat the information is for (Art 14, 16)", field="event")
    if not persons:
        raise InvalidInput("is empty; the information concerns at least one person", field="persons")
    for position, person in enumerate(persons, start=1):
        if not person.surname.strip() or not person.circumstances.strip():
            raise InvalidInput(f"person #{position} needs a surname and the circumstances that give reason to "
                               f"believe offences will be committed (Art 14(1), 16(1))", field="persons")


class ReceivedInformationStore:
    """What this state received, kept only while its purpose lasts and one year at most (SQLite, WAL)."""

    def __init__(self, path: str | Path | None, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._db = open_database(path)
        # Deleted personal data is overwritten, not left in free pages; `_erase` also empties the WAL.
        self._db.execute("PRAGMA secure_delete=ON")
        self._db.executescript(_SCHEMA)

    def _erase(self) -> None:
        self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def receive(self, sender_state: str, purpose: InformationPurpose, event: str,
                persons: tuple[InformedPerson, ...], conditions: tuple[str, ...],
                purpose_ends_at: datetime | None) -> Information:
        check_information(event, persons)
        now = self.clock.now()
        if purpose_ends_at is not None and purpose_ends_at <= now:
            raise InvalidInput(f"{purpose_ends_at.isoformat()} has passed; information is sent for a purpose "
                               f"still to come", field="purpose_ends_at")
        delete_after = min(now + KEPT_AT_MOST, purpose_ends_at or now + KEPT_AT_MOST)
        information = Information(str(uuid.uuid4()), sender_state, purpose, event.strip(), persons, conditions,
                                  now, delete_after)
        with self._lock, transaction(self._db) as db:
            db.execute("INSERT INTO information VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (
                information.information_id, sender_state, purpose.name, information.event,
                json.dumps([asdict(p) for p in persons]), json.dumps(list(conditions)), now.isoformat(),
                delete_after.isoformat()))
        return information

    def purge(self) -> int:
        """Delete every piece whose time is up; returns how many went."""
        with self._lock:
            with transaction(self._db) as db:
                removed = db.execute("DELETE FROM information WHERE delete_after <= ?",
                                     (self.clock.now().isoformat(),)).rowcount
            if removed:
                self._erase()
            return removed

    def list(self) -> list[Information]:
        self.purge()
        with self._lock:
            rows = self._db.execute("SELECT * FROM information ORDER BY received_at").fetchall()
        return [Information(i, sender, InformationPurpose[purpose], event,
                            tuple(InformedPerson(**p) for p in json.loads(persons)), tuple(json.loads(conditions)),
                            datetime.fromisoformat(received), datetime.fromisoformat(delete_after))
                for i, sender, purpose, event, persons, conditions, received, delete_after in rows]

    def close_purpose(self, information_id: str) -> None:
        """The purpose is met: delete the personal data now."""
        with self._lock:
            with transaction(self._db) as db:
                if db.execute("DELETE FROM information WHERE id = ?", (information_id,)).rowcount == 0:
                    raise UnknownReference(f"no information {quote(information_id)} is held (deleted, or never received)")
            self._erase()

    def close(self) -> None:
        with self._lock:
            self._db.close()


class InformationTransport(Protocol):
    def send_information(self, context: QueryContext, purpose: InformationPurpose, event: str,
                         persons: tuple[InformedPerson, ...], conditions: tuple[str, ...],
                         purpose_ends_at: datetime | None, timeout_s: float) -> tuple[ReplyHeader, str, datetime]: ...


@dataclass
class InformationExchange:
    """Both halves for one state: `send` (its officers supply) and `receive` (a peer supplies)."""

    state: str
    log: ProtocolLog
    store: ReceivedInformationStore

    def _entry(self, context: QueryContext, kind: EntryKind, side: Side, data: dict[str, object],
               reply_id: str = "") -> LogEntry:
        return LogEntry.new(kind=kind, message_type=MessageType.INFORMATION, category=Category.PERSON_INFORMATION,
                            side=side, logging_state=self.state, requesting_state=context.requesting_state,
                            requested_state=context.requested_state, request_id=context.request_id,
                            reply_id=reply_id, officer_id=context.officer_id,
                            ordering_officer_id=context.ordering_officer_id, reason=context.reason,
                            case_reference=context.case_reference, data_supplied=canonical_json(data))

    @staticmethod
    def _data(purpose: InformationPurpose, event: str, persons: tuple[InformedPerson, ...],
              conditions: tuple[str, ...]) -> dict[str, object]:
        return {"purpose": purpose.name, "event": event, "persons": [asdict(p) for p in persons],
                "conditions": list(conditions)}

    def send(self, context: QueryContext, purpose: InformationPurpose, event: str,
             persons: tuple[InformedPerson, ...], conditions: tuple[str, ...], purpose_ends_at: datetime | None,
             transport: InformationTransport, timeout_s: float) -> tuple[ReplyHeader, str, datetime]:
        """Log the supply (durable), then send it; the peer's refusal keeps its code."""
        context.validate()
        check_information(event, persons)
        self.log.append(self._entry(context, EntryKind.NON_AUTOMATED_SUPPLY, Side.REQUESTING,
                                    self._data(purpose, event, persons, conditions)))
        return transport.send_information(context, purpose, event, persons, conditions, purpose_ends_at, timeout_s)

    def receive(self, context: QueryContext, certified_state: str | None, purpose: InformationPurpose, event: str,
                persons: tuple[InformedPerson, ...], conditions: tuple[str, ...],
                purpose_ends_at: datetime | None) -> tuple[ReplyHeader, Information]:
        """Keep the information for its purpose and log its receipt, durably, before acknowledging."""
        check_claim(certified_state, context.requesting_state)
        context.validate()
        if context.requested_state != self.state:
            raise InvalidInput(f"is {context.requested_state}; this is {self.state}'s contact point",
                               field="context.requested_state")
        information = self.store.receive(context.requesting_state, purpose, event, persons, conditions,
                                         purpose_ends_at)
        header = ReplyHeader(context.request_id, information.information_id, information.received_at,
                             context.requesting_state, self.state)
        self.log.append(self._entry(context, EntryKind.NON_AUTOMATED_RECEIPT, Side.FILE_MANAGING,
                                    {**self._data(purpose, event, persons, conditions),
                                     "delete_after": information.delete_after.isoformat()},
                                    reply_id=header.reply_id))
        return header, information
