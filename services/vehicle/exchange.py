"""The vehicle register's part in automated exchange (Art 12), without gRPC.

VRD-1 on the requested side: a key is looked up only as a complete VIN or a complete registration
number. A plate in this state's format is looked up; a complete plate in another member state's
format cannot be on this register and answers no-hit; anything else (partial, wildcard, a name) is
refused with the forms allowed. The key is not kept (PUR-2): it reaches only the protocol log.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from prum.services.common.errors import InvalidInput
from prum.services.common.exchange import Supply
from prum.services.vehicle.identifiers import normalize_plate, supported_countries
from prum.services.vehicle.model import VehicleRecord
from prum.services.vehicle.register import VehicleRegister


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


def record_data(record: VehicleRecord) -> dict[str, Any]:
    """What the log keeps of a supplied record (VRD-2: vehicle and holder data)."""
    return asdict(record)


def lookup_supply(register: VehicleRegister, vin: str | None, registration_number: str | None,
                  at: datetime | None) -> Supply:
    try:
        records = register.lookup(vin=vin, registration_number=registration_number, at=at)
    except InvalidInput:
        if registration_number is None or _foreign_plate(registration_number, register.country) is None:
            raise
        records = []  # a complete plate of another state: certainly not on this register
    return Supply(result=records, hit_count=len(records), data={"records": [record_data(r) for r in records]})


def query_record(vin: str | None, registration_number: str | None, at: datetime | None) -> dict[str, Any]:
    key = {"vin": vin} if vin is not None else {"registration_number": registration_number}
    return {**key, "at": at.isoformat() if at else None}


def require_one_key(vin: str | None, registration_number: str | None) -> None:
    if (vin is None) == (registration_number is None):
        raise InvalidInput("give exactly one key: a complete VIN or a complete registration number (VRD-1)",
                           field="key")
