"""The common data set of the vehicle register (VRD-2), as dataclasses mirroring `prum.vehicle.v1`.

`VehicleRecord` = `Vehicle` + its `Holder`s (a `NaturalPerson` or a `Company`, as OWNER or HOLDER)
+ its `Registration`s, the periods during which a registration number belonged to it. A plate may
move between vehicles over time, so a record's history, not its current plate, answers "which
vehicle had this plate at that time".

`normalize_record` checks a record as the register stores it: keys through `identifiers` (VRD-1),
dates, categories and a consistent history. Times are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from typing import Self

from prum.services.common.errors import InvalidInput, quote
from prum.services.vehicle.identifiers import normalize_plate, normalize_vin

EU_CATEGORIES: tuple[str, ...] = (
    "M1", "M2", "M3", "N1", "N2", "N3", "O1", "O2", "O3", "O4",
    "L1E", "L2E", "L3E", "L4E", "L5E", "L6E", "L7E", "T", "C", "R", "S",
)
"""EU vehicle categories (Regulation (EU) 2018/858, 168/2013, 167/2013); L categories as "L3e"."""


def canonical_category(value: object) -> str:
    """"M1", "N1", "L3e", ... from any case; InvalidInput otherwise."""
    text = value.strip().upper() if isinstance(value, str) else ""
    if text not in EU_CATEGORIES:
        raise InvalidInput(f"{quote(value)} is not an EU vehicle category; allowed: "
                           f"{', '.join(c[:-1] + 'e' if c.endswith('E') else c for c in EU_CATEGORIES)}",
                           field="category")
    return text[:-1] + "e" if text.endswith("E") else text


class _Parsed(enum.Enum):
    @classmethod
    def parse(cls, value: object, field: str) -> Self:
        if isinstance(value, cls):
            return value
        if isinstance(value, str):
            key = value.strip().upper().removeprefix(cls._prefix())  # type: ignore[attr-defined]
            if key in cls.__members__:
                return cls[key]
        raise InvalidInput(f"{quote(value)} is not a {field}; allowed: {', '.join(cls.__members__)}", field=field)


class VehicleStatus(_Parsed):
    """The status of a vehicle in the register (proto `VehicleStatus`)."""

    REGISTERED = "registered"
    STOLEN = "stolen"
    DEREGISTERED = "deregistered"

    @staticmethod
    def _prefix() -> str:
        return "VEHICLE_STATUS_"


class HolderRole(_Parsed):
    """Whether a holder owns the vehicle or keeps it (proto `HolderRole`)."""

    OWNER = "owner"
    HOLDER = "holder"

    @staticmethod
    def _prefix() -> str:
        return "HOLDER_ROLE_"


@dataclass(frozen=True, slots=True)
class Address:
    street: str
    postal_code: str
    city: str
    country: str
    """ISO 3166 alpha-2."""


@dataclass(frozen=True, slots=True)
class NaturalPerson:
    surname: str
    first_names: str
    date_of_birth: str
    """ISO 8601 date, YYYY-MM-DD."""
    address: Address


@dataclass(frozen=True, slots=True)
class Company:
    name: str
    address: Address


@dataclass(frozen=True, slots=True)
class Holder:
    """An owner or holder: exactly one of person and company (the proto's `oneof party`)."""

    role: HolderRole
    person: NaturalPerson | None = None
    company: Company | None = None

    @property
    def party(self) -> NaturalPerson | Company:
        party = self.person or self.company
        if party is None:
            raise InvalidInput("a holder is a natural person or a company", field="holders")
        return party


@dataclass(frozen=True, slots=True)
class Registration:
    """A period during which `registration_number` belonged to the vehicle; `valid_to` None while current."""

    registration_number: str
    valid_from: datetime
    valid_to: datetime | None = None

    def covers(self, moment: datetime) -> bool:
        return self.valid_from <= moment and (self.valid_to is None or moment < self.valid_to)


@dataclass(frozen=True, slots=True)
class Vehicle:
    vin: str
    """ISO 3779, 17 characters."""
    registration_number: str
    """The current registration number ("" when deregistered); in a lookup, the one valid at the time asked."""
    make: str
    model: str
    colour: str
    category: str
    """EU category, e.g. "M1"."""
    first_registration_date: str
    """ISO 8601 date, YYYY-MM-DD."""
    status: VehicleStatus


@dataclass(frozen=True, slots=True)
class VehicleRecord:
    """One vehicle with its holders and registration history (VRD-2), registrations in time order."""

    vehicle: Vehicle
    holders: tuple[Holder, ...] = ()
    registrations: tuple[Registration, ...] = field(default_factory=tuple)

    def registration_at(self, moment: datetime) -> Registration | None:
        return next((r for r in self.registrations if r.covers(moment)), None)


# -- checking a record ------------------------------------------------------------------------------


def _text(value: object, field_name: str, *, required: bool = True) -> str:
    if not isinstance(value, str):
        raise InvalidInput(f"must be text, not {type(value).__name__}", field=field_name)
    text = " ".join(value.split())
    if required and not text:
        raise InvalidInput("must not be empty", field=field_name)
    return text


def _iso_date(value: object, field_name: str) -> str:
    try:
        return date.fromisoformat(_text(value, field_name)).isoformat()
    except ValueError:
        raise InvalidInput("must be an ISO 8601 date, YYYY-MM-DD", field=field_name) from None


def utc(moment: object, field_name: str) -> datetime:
    """A timezone-aware datetime in UTC; InvalidInput for anything else (a naive time is ambiguous)."""
    if not isinstance(moment, datetime) or moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("must be a timezone-aware datetime", field=field_name)
    return moment.astimezone(UTC)


def _address(address: object, field_name: str) -> Address:
    if not isinstance(address, Address):
        raise InvalidInput("an address is needed (street, postal code, city, country)", field=field_name)
    country = _text(address.country, f"{field_name}.country").upper()
    if len(country) != 2 or not country.isalpha() or not country.isascii():
        raise InvalidInput("must be an ISO 3166 alpha-2 code such as NL", field=f"{field_name}.country")
    return Address(_text(address.street, f"{field_name}.street"),
                   _text(address.postal_code, f"{field_name}.postal_code", required=False),
                   _text(address.city, f"{field_name}.city"), country)


def _holder(holder: object, position: int) -> Holder:
    name = f"holders[{position}]"
    if not isinstance(holder, Holder):
        raise InvalidInput("must be a Holder", field=name)
    role = HolderRole.parse(holder.role, f"{name}.role")
    if (holder.person is None) == (holder.company is None):
        raise InvalidInput("a holder is exactly one of a natural person and a company", field=name)
    if holder.person is not None:
        person = holder.person
        born = _iso_date(person.date_of_birth, f"{name}.person.date_of_birth")
        return Holder(role, person=NaturalPerson(_text(person.surname, f"{name}.person.surname"),
                                                 _text(person.first_names, f"{name}.person.first_names"), born,
                                                 _address(person.address, f"{name}.person.address")))
    company = holder.company
    assert company is not None
    return Holder(role, company=Company(_text(company.name, f"{name}.company.name"),
                                        _address(company.address, f"{name}.company.address")))


def normalize_record(record: object, country: str) -> VehicleRecord:
    """The record as the register of `country` stores it; InvalidInput naming the field otherwise.

    The VIN and every registration number are normalised (VRD-1); the history is sorted, its
    periods do not overlap, at most one is open and none starts before the first registration
    date. The current registration number is the open period's ("" for a deregistered vehicle,
    which has no open period); a record without history gets one period from its first
    registration date for its current number.
    """
    if not isinstance(record, VehicleRecord) or not isinstance(record.vehicle, Vehicle):
        raise InvalidInput("must be a VehicleRecord with a Vehicle", field="record")
    v = record.vehicle
    vin = normalize_vin(v.vin)
    status = VehicleStatus.parse(v.status, "status")
    first = _iso_date(v.first_registration_date, "first_registration_date")
    current = normalize_plate(v.registration_number, country) if _text(v.registration_number,
                                                                       "registration_number", required=False) else ""
    registrations = []
    for position, registration in enumerate(record.registrations):
        name = f"registrations[{position}]"
        if not isinstance(registration, Registration):
            raise InvalidInput("must be a Registration", field=name)
        start = utc(registration.valid_from, f"{name}.valid_from")
        end = None if registration.valid_to is None else utc(registration.valid_to, f"{name}.valid_to")
        if end is not None and end <= start:
            raise InvalidInput("valid_to must be after valid_from", field=name)
        registrations.append(Registration(normalize_plate(registration.registration_number, country), start, end))
    if not registrations and current:
        start = datetime.fromisoformat(first).replace(tzinfo=UTC)
        registrations.append(Registration(current, start))
    registrations.sort(key=lambda r: r.valid_from)
    for earlier, later in itertools.pairwise(registrations):
        if earlier.valid_to is None or earlier.valid_to > later.valid_from:
            raise InvalidInput("registration periods overlap: each must end before the next starts",
                               field="registrations")
    if registrations and registrations[0].valid_from.date().isoformat() < first:
        raise InvalidInput("the first registration period starts before the first registration date",
                           field="registrations")
    open_period = registrations[-1] if registrations and registrations[-1].valid_to is None else None
    if status is VehicleStatus.DEREGISTERED:
        if open_period is not None or current:
            raise InvalidInput("a deregistered vehicle has no current registration number and no open period",
                               field="registration_number")
    else:
        if open_period is None:
            raise InvalidInput(f"a {status.name.lower()} vehicle needs a current registration (an open period)",
                               field="registrations")
        if current and current != open_period.registration_number:
            raise InvalidInput("differs from the registration number of the open registration period",
                               field="registration_number")
        current = open_period.registration_number
    holders = tuple(_holder(holder, position) for position, holder in enumerate(record.holders))
    if not holders and status is not VehicleStatus.DEREGISTERED:
        raise InvalidInput("a registered or stolen vehicle has at least one owner or holder (VRD-2)",
                           field="holders")
    vehicle = replace(v, vin=vin, registration_number=current, make=_text(v.make, "make"),
                      model=_text(v.model, "model"), colour=_text(v.colour, "colour", required=False),
                      category=canonical_category(v.category), first_registration_date=first, status=status)
    return VehicleRecord(vehicle, holders, tuple(registrations))
