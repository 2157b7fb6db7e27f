"""The vehicle register's part in automated exchange (Art 12), without gRPC or the seam.

VRD-1 on the requested side: a key is looked up only as a complete VIN or a complete registration
number. A plate in this state's format is looked up; a complete plate in another member state's
format cannot be on this register and answers no-hit; anything else (partial, wildcard, a name) is
refused with the forms allowed. The key is not kept (PUR-2): it reaches only the protocol log.
`prum.services.vehicle.plugin` plugs these into the exchange.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from prum.services.common.errors import InvalidInput
from prum.services.vehicle.identifiers import normalize_plate, supported_countries
from prum.services.vehicle.model import Address, Holder, VehicleRecord
from prum.services.vehicle.register import VehicleRegister


@dataclass(frozen=True)
class HolderIdentity:
    """An owner or holder as a key (Prüm II, P2-VRD-1): complete surname, first names and date of birth."""

    surname: str
    first_names: str
    date_of_birth: str


@dataclass(frozen=True)
class VehicleQuery:
    """One key looked up (VRD-1): a complete VIN or a complete registration number, or under Prüm II an owner's or
    holder's identity (P2-VRD-1), at a moment (None: now)."""

    vin: str | None = None
    registration_number: str | None = None
    at: datetime | None = None
    holder: HolderIdentity | None = None

    @property
    def keys_given(self) -> int:
        return sum(key is not None for key in (self.vin, self.registration_number, self.holder))


def _foreign_plate(text: str, own: str) -> str | None:
    """The member state whose format `text` matches in full, other than `own`, if any."""
    for country in supported_countries():
        if country == own:
            continue
        try:
            normalize_plate(text, country)
        except InvalidInput:
            continue
        return country
    return None


def _address_data(address: Address) -> dict[str, str]:
    return {"street": address.street, "postal_code": address.postal_code, "city": address.city,
            "country": address.country}


def _holder_data(holder: Holder) -> dict[str, Any]:
    data: dict[str, Any] = {"role": holder.role.name, "person": None, "company": None}
    if holder.person is not None:
        p = holder.person
        data["person"] = {"surname": p.surname, "first_names": p.first_names, "date_of_birth": p.date_of_birth,
                          "address": _address_data(p.address)}
    elif holder.company is not None:
        data["company"] = {"name": holder.company.name, "address": _address_data(holder.company.address)}
    return data


def record_data(record: VehicleRecord) -> dict[str, Any]:
    """What the log keeps of a supplied record (VRD-2: vehicle and holder data), as plain JSON values.

    Written out field by field: `dataclasses.asdict` deep-copies every value and took twice the time
    of the register lookup itself on every reply."""
    v = record.vehicle
    return {
        "vehicle": {"vin": v.vin, "registration_number": v.registration_number, "make": v.make, "model": v.model,
                    "colour": v.colour, "category": v.category, "first_registration_date": v.first_registration_date,
                    "status": v.status.name},
        "holders": [_holder_data(h) for h in record.holders],
        "registrations": [{"registration_number": r.registration_number, "valid_from": r.valid_from.isoformat(),
                           "valid_to": None if r.valid_to is None else r.valid_to.isoformat()}
                          for r in record.registrations],
    }


def lookup(register: VehicleRegister, vin: str | None, registration_number: str | None,
           at: datetime | None, holder: HolderIdentity | None = None) -> list[VehicleRecord]:
    """The register's records for the key; none for a complete plate in another member state's format."""
    if holder is not None:
        return register.lookup_by_holder(holder.surname, holder.first_names, holder.date_of_birth, at)
    try:
        records = register.lookup(vin=vin, registration_number=registration_number, at=at)
    except InvalidInput:
        if registration_number is None or _foreign_plate(registration_number, register.country) is None:
            raise
        records = []  # a complete plate of another state: certainly not on this register
    return records


def query_record(vin: str | None, registration_number: str | None, at: datetime | None,
                 holder: HolderIdentity | None = None) -> dict[str, Any]:
    key: dict[str, Any] = ({"vin": vin} if vin is not None else {"registration_number": registration_number}
                           if registration_number is not None else {"holder": asdict(holder) if holder else None})
    return {**key, "at": at.isoformat() if at else None}


def require_one_key(query: VehicleQuery, holder_search: bool) -> None:
    """Exactly one key; an owner's or holder's identity only where Prüm II applies (`holder_search`)."""
    if query.keys_given != 1:
        raise InvalidInput("give exactly one key: a complete VIN or a complete registration number (VRD-1), or under "
                           "Prüm II an owner's or holder's complete identity (P2-VRD-1)", field="key")
    if query.holder is not None and not holder_search:
        raise InvalidInput("is an owner's or holder's identity: a key of Prüm II (P2-VRD-1); this federation "
                           "exchanges vehicle data under the 2008 rules, which allow a complete VIN or a complete "
                           "registration number only (VRD-1)", field="holder")
