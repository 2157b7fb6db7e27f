"""The vehicle register of a state (Art 12, 2008/616 annex chapter 3): the pure core, without gRPC.

- `plates`: the registration-plate formats of the EU member states, as data (VRD-1).
- `identifiers`: `normalize_vin`, `normalize_plate`: the only keys a search may use (VRD-1).
- `model`: the common data set as dataclasses mirroring `prum.vehicle.v1` (VRD-2).
- `register`: `VehicleRegister`, SQLite (WAL) with an index for lookups at a point in time (PUR-2).
"""

from prum.services.common.store import IngestReport
from prum.services.vehicle.identifiers import (
    VIN_TEXT,
    normalize_plate,
    normalize_vin,
    plate_forms_text,
    supported_countries,
    uses_check_digit,
    vin_check_digit,
)
from prum.services.vehicle.model import (
    EU_CATEGORIES,
    Address,
    Company,
    Holder,
    HolderRole,
    NaturalPerson,
    Registration,
    Vehicle,
    VehicleRecord,
    VehicleStatus,
    canonical_category,
    normalize_record,
)
from prum.services.vehicle.plates import COUNTRY_ALIASES, PLATE_FORMATS, PlateFormat, random_plate, read_plate
from prum.services.vehicle.register import DEFAULT_INDEX, RegisterStats, VehicleRegister

__all__ = [
    "COUNTRY_ALIASES", "DEFAULT_INDEX", "EU_CATEGORIES", "PLATE_FORMATS", "VIN_TEXT",
    "Address", "Company", "Holder", "HolderRole", "IngestReport", "NaturalPerson", "PlateFormat", "RegisterStats",
    "Registration", "Vehicle", "VehicleRecord", "VehicleRegister", "VehicleStatus",
    "canonical_category", "normalize_plate", "normalize_record", "normalize_vin", "plate_forms_text",
    "random_plate", "read_plate", "supported_countries", "uses_check_digit", "vin_check_digit",
]
