"""One entry of a state's Art 30 protocol log, and the rules an entry must meet before it is written.

The enums' member names equal the suffixes of the contract's enums (`ENTRY_KIND_AUTOMATED_SUPPLY`
-> `EntryKind.AUTOMATED_SUPPLY`), so a servicer maps them by name. `LogEntry` carries every field of
the contract's `prum.logger.v1.Entry`; the logger fills in `sequence`, `recorded_at`,
`previous_hash` and `hash` (LOG-2 date and time, LOG-5 hash chain).
"""

from __future__ import annotations

import hashlib
import json
import operator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from json.encoder import encode_basestring  # type: ignore[attr-defined]  # the C encoder json.dumps uses
from typing import Any

from prum.services.common.category import Category
from prum.services.common.errors import InvalidInput, quote
from prum.services.common.identity import is_state_code
from prum.services.common.purpose import SearchPurpose

#: What the first entry of every log chains to (LOG-5).
GENESIS_HASH = "0" * 64


class EntryKind(StrEnum):
    """Supply or receipt, automated or not (LOG-1, LOG-3); seen from the logging state."""

    AUTOMATED_SUPPLY = "AUTOMATED_SUPPLY"
    AUTOMATED_RECEIPT = "AUTOMATED_RECEIPT"
    NON_AUTOMATED_SUPPLY = "NON_AUTOMATED_SUPPLY"
    NON_AUTOMATED_RECEIPT = "NON_AUTOMATED_RECEIPT"

    @property
    def automated(self) -> bool:
        return self in (EntryKind.AUTOMATED_SUPPLY, EntryKind.AUTOMATED_RECEIPT)

    @property
    def supply(self) -> bool:
        return self in (EntryKind.AUTOMATED_SUPPLY, EntryKind.NON_AUTOMATED_SUPPLY)


class MessageType(StrEnum):
    QUERY = "QUERY"
    REPLY = "REPLY"  # a hit or no-hit notification
    REFUSAL = "REFUSAL"
    FOLLOW_UP_REQUEST = "FOLLOW_UP_REQUEST"
    FOLLOW_UP_REPLY = "FOLLOW_UP_REPLY"
    INFORMATION = "INFORMATION"  # Art 13-16
    CORE_DATA_REQUEST = "CORE_DATA_REQUEST"  # Prüm II Art 47: core data after a confirmed match (P2-CORE-1)
    CORE_DATA_REPLY = "CORE_DATA_REPLY"
    CORE_DATA_REFUSAL = "CORE_DATA_REFUSAL"
    CORE_DATA_DELAY = "CORE_DATA_DELAY"  # a reasoned delay for a judicial authorisation (P2-CORE-2)


class Outcome(StrEnum):
    """`NONE` is the contract's `OUTCOME_UNSPECIFIED`: a query has no outcome yet."""

    NONE = "NONE"
    HIT = "HIT"
    NO_HIT = "NO_HIT"
    REFUSED = "REFUSED"
    FAILED = "FAILED"


class Side(StrEnum):
    REQUESTING = "REQUESTING"
    FILE_MANAGING = "FILE_MANAGING"  # the state managing the searched file


# The canonical form writes an enum as its name, the row as its value: the same text for every member.
assert all(member.value == member.name for enum in (Category, EntryKind, MessageType, Outcome, Side, SearchPurpose)
           for member in enum)

#: Fields the logger sets; a caller leaves them at their defaults.
LOGGER_FIELDS = ("sequence", "recorded_at", "previous_hash", "hash")


@dataclass(frozen=True, kw_only=True)
class LogEntry:
    """One Art 30 log entry, field for field the contract's `Entry` (LOG-2, LOG-3, LOG-5)."""

    sequence: int = 0
    kind: EntryKind
    message_type: MessageType
    category: Category
    side: Side
    logging_state: str
    requesting_state: str
    requested_state: str
    request_id: str = ""
    reply_id: str = ""
    officer_id: str = ""
    ordering_officer_id: str = ""
    reason: str = ""
    case_reference: str = ""
    data_supplied: str = ""  # canonical JSON
    outcome: Outcome = Outcome.NONE
    hit_count: int = 0
    recorded_at: datetime | None = None
    previous_hash: str = ""
    hash: str = ""
    #: Why the search was made, as its query context said (P2-SCOPE-1; Europol's task, P2-EUROPOL-1).
    purpose: SearchPurpose = SearchPurpose.CRIMINAL_INVESTIGATION

    @classmethod
    def new(cls, *, kind: EntryKind, message_type: MessageType, category: Category, side: Side,
            logging_state: str, requesting_state: str, requested_state: str, request_id: str = "",
            reply_id: str = "", officer_id: str = "", ordering_officer_id: str = "", reason: str = "",
            case_reference: str = "", data_supplied: str = "", outcome: Outcome = Outcome.NONE,
            hit_count: int = 0, purpose: SearchPurpose = SearchPurpose.CRIMINAL_INVESTIGATION) -> LogEntry:
        """An entry as a service hands it to the logger: everything but the logger's own fields."""
        return cls(kind=EntryKind(kind), message_type=MessageType(message_type), category=Category(category),
                   side=Side(side), logging_state=logging_state, requesting_state=requesting_state,
                   requested_state=requested_state, request_id=request_id, reply_id=reply_id,
                   officer_id=officer_id, ordering_officer_id=ordering_officer_id, reason=reason,
                   case_reference=case_reference, data_supplied=data_supplied, outcome=Outcome(outcome),
                   hit_count=hit_count, purpose=SearchPurpose(purpose))

    def caller_fields(self) -> dict[str, Any]:
        """The fields a caller gives (everything but `LOGGER_FIELDS`), as keyword arguments of `new`."""
        fields = {name: getattr(self, name) for name in self.__dataclass_fields__}
        for name in LOGGER_FIELDS:
            del fields[name]
        return fields

    def canonical(self) -> bytes:
        """The bytes the hash covers: every field but `hash`, `previous_hash` included (LOG-5): canonical
        JSON (sorted keys, no spaces, UTF-8), enums by name, the time as `format_moment` writes it."""
        return _canonical(self.__dict__, format_moment(self.recorded_at) if self.recorded_at else "")

    def compute_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()

    def sealed(self, sequence: int, recorded_at: datetime, previous_hash: str, stamp: str | None = None) -> LogEntry:
        """This entry at its place in the chain, with its hash (done by the logger only). `stamp` is
        `format_moment(recorded_at)` when the caller has it already (one per group commit)."""
        moment = recorded_at.astimezone(UTC)
        placed = object.__new__(LogEntry)  # `placed` is new and not yet shared, so its fields are set in place
        fields = placed.__dict__
        fields.update(self.__dict__, sequence=sequence, recorded_at=moment, previous_hash=previous_hash)
        fields["hash"] = hashlib.sha256(_canonical(fields, stamp or format_moment(moment))).hexdigest()
        return placed

    def with_fields(self, **changes: Any) -> LogEntry:
        """A copy with `changes`: `dataclasses.replace` without its per-field checks, which cost more than
        the rest of an append (every field is a scalar; unknown names are refused all the same)."""
        unknown = changes.keys() - self.__dict__.keys()
        if unknown:
            raise TypeError(f"LogEntry has no field {min(unknown)!r}")
        copy = object.__new__(LogEntry)
        copy.__dict__.update(self.__dict__, **changes)
        return copy


#: The hashed fields in key order; the canonical JSON as one template with a named slot per value. The purpose
#: (P2-SCOPE-1) is hashed only when it is not a criminal investigation: an entry written before entries had a purpose
#: (every search then was one) keeps the hash it was sealed with, so a log kept across the upgrade still verifies.
_HASHED_FIELDS = tuple(sorted(name for name in LogEntry.__dataclass_fields__ if name != "hash"))
_DEFAULT_PURPOSE = SearchPurpose.CRIMINAL_INVESTIGATION
_INT_FIELDS = ("hit_count", "sequence")


def _template(names: tuple[str, ...]) -> tuple[str, tuple[str, ...], Any]:
    strings = tuple(name for name in names if name not in (*_INT_FIELDS, "recorded_at"))
    return ("{" + ",".join(f'"{name}":%({name}){"d" if name in _INT_FIELDS else "s"}' for name in names) + "}",
            strings, operator.itemgetter(*strings))


_WITH_PURPOSE = _template(_HASHED_FIELDS)
_WITHOUT_PURPOSE = _template(tuple(name for name in _HASHED_FIELDS if name != "purpose"))


def _canonical(fields: dict[str, Any], recorded_at: str) -> bytes:
    """`json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)` over the hashed
    fields (the purpose left out when it is the default), byte for byte, from a template and the C string encoder
    json.dumps itself uses (twice as fast); a value of another type (an entry read from a tampered row, say) takes
    json.dumps itself."""
    template, strings, values = _WITHOUT_PURPOSE if fields["purpose"] == _DEFAULT_PURPOSE else _WITH_PURPOSE
    try:
        if type(fields["hit_count"]) is not int or type(fields["sequence"]) is not int:
            raise TypeError
        slots = dict(zip(strings, map(encode_basestring, values(fields)), strict=True),
                     recorded_at=encode_basestring(recorded_at), hit_count=fields["hit_count"],
                     sequence=fields["sequence"])
    except TypeError:  # an enum member is a str whose value is its name (checked below)
        plain = {name: recorded_at if name == "recorded_at" else fields[name] for name in _HASHED_FIELDS
                 if name != "purpose" or fields["purpose"] != _DEFAULT_PURPOSE}
        return json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return (template % slots).encode("utf-8")


def format_moment(moment: datetime) -> str:
    """UTC, microsecond precision, fixed width: sorts as text in the same order as in time."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


class CanonicalJson(str):
    """Text in the log's canonical JSON form (sorted keys, no spaces) as `canonical_json` or `canonical_data`
    wrote it: the logger takes it as it is, where other text is parsed and written again (twice the JSON work
    of an append, paid by every answering service for both its entries)."""

    __slots__ = ()


_ENCODER = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def canonical_json(data: Any) -> CanonicalJson:
    """`data` as the log keeps supplied data: canonical JSON; a value JSON has no type for is written as text."""
    return CanonicalJson(_ENCODER.encode(data))


def canonical_data(text: str) -> CanonicalJson:
    """`data_supplied` in its canonical JSON form (sorted keys, no spaces); InvalidInput if not JSON."""
    if type(text) is CanonicalJson:
        return text
    try:
        value = json.loads(text)
    except ValueError as error:
        raise InvalidInput(f"is not JSON ({getattr(error, 'msg', error)}); the data supplied is logged as "
                           f"canonical JSON", field="data_supplied") from None
    return canonical_json(value)


def _require(entry: LogEntry, name: str, why: str) -> None:
    if not str(getattr(entry, name)).strip():
        raise InvalidInput(f"is empty; {why}", field=name)


def validate_entry(entry: LogEntry) -> None:
    """Refuse an entry that lacks what LOG-2 / LOG-3 ask for, naming the missing field.

    Always: the codes of the requesting and the file-managing state (2 capitals) and the logging
    state on its side of the exchange; the date and time are the logger's (LOG-2), so a caller
    may not set them. A requesting-side automated query also records its reason, the officer who
    ran it and the officer who ordered it (LOG-2). A non-automated supply or receipt records its
    reason and the data (LOG-3).
    """
    for name in LOGGER_FIELDS:
        if getattr(entry, name) not in (0, "", None):
            raise InvalidInput("is set by the logger when the entry is written; leave it empty", field=name)
    for name in ("logging_state", "requesting_state", "requested_state"):
        value = getattr(entry, name)
        if not is_state_code(value):
            raise InvalidInput(f"{quote(value)} is not a state code; allowed: ISO 3166 alpha-2 in capitals, "
                               f"e.g. 'NL' (LOG-2)", field=name)
    own = entry.requesting_state if entry.side is Side.REQUESTING else entry.requested_state
    if entry.logging_state != own:
        raise InvalidInput(f"{entry.logging_state} logs on the {entry.side.name} side, so it must be the "
                           f"{'requesting' if entry.side is Side.REQUESTING else 'requested'} state ({own})",
                           field="logging_state")
    if entry.hit_count < 0:
        raise InvalidInput(f"{entry.hit_count}; allowed: 0 or more", field="hit_count")
    if (entry.side is Side.REQUESTING and entry.kind is EntryKind.AUTOMATED_SUPPLY
            and entry.message_type is MessageType.QUERY):
        _require(entry, "reason", "the requesting side logs the reason for every query (LOG-2)")
        _require(entry, "officer_id", "the requesting side logs the officer who ran the query (LOG-2)")
        _require(entry, "ordering_officer_id",
                 "the requesting side logs the officer who ordered the query (LOG-2)")
    if not entry.kind.automated:
        _require(entry, "reason", "a non-automated supply or receipt is logged with its reason (LOG-3)")
        _require(entry, "data_supplied", "a non-automated supply or receipt is logged with the data (LOG-3)")
