"""Synthetic national vehicle registers: deterministic for a seed, valid for `normalize_record` (VRD-1, VRD-2).

- VINs follow ISO 3779: world manufacturer identifiers (WMI) of real makes, a descriptor section in
  the maker's style (VW group: "ZZZ" + type code + "Z"), the model-year code, a plant code and a
  serial unique in the register; the check digit in position 9 where the maker uses one (North
  American WMIs, BMW, Tesla, the Japanese motorcycle makers).
- Plates in the state's real formats (`prum.services.vehicle.plates`): faker's `license_plate` of
  the state's locale (for half the plates, where the locale has a provider) when it produces a plate
  of one of those formats, else drawn from the formats with their weights.
- Holders: natural persons (names and addresses from the state's faker locale) and, for about 15 %
  of vehicles, a company (a lease or fleet owner, sometimes with a person as HOLDER).
- History: some vehicles re-plated, some plates moved to another vehicle (the old vehicle re-plated
  or deregistered first), some vehicles stolen, some deregistered.

`vehicle_records(country, count, seed)` yields `VehicleRecord`s; nothing is drawn from global state.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from faker import Faker
from prum.services.common.errors import InvalidInput
from prum.services.vehicle.identifiers import VIN_CHARACTERS, normalize_plate, vin_check_digit
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
)
from prum.services.vehicle.plates import COUNTRY_ALIASES, PLATE_FORMATS, random_plate

AS_OF = datetime(2026, 1, 1, tzinfo=UTC)
"""The default "today" of a synthetic register: every date lies before it."""

MODEL_YEAR_CODES = "ABCDEFGHJKLMNPRSTVWXY123456789"
"""Position 10: model year, A = 1980 (and 2010), cycling every 30 years."""

FAKER_LOCALE: dict[str, str] = {
    "AT": "de_AT", "BE": "nl_BE", "BG": "bg_BG", "CY": "el_CY", "CZ": "cs_CZ", "DE": "de_DE", "DK": "da_DK",
    "EE": "et_EE", "EL": "el_GR", "ES": "es_ES", "FI": "fi_FI", "FR": "fr_FR", "HR": "hr_HR", "HU": "hu_HU",
    "IE": "en_IE", "IT": "it_IT", "LT": "lt_LT", "LU": "de_LU", "LV": "lv_LV", "MT": "en_GB", "NL": "nl_NL",
    "PL": "pl_PL", "PT": "pt_PT", "RO": "ro_RO", "SE": "sv_SE", "SI": "sl_SI", "SK": "sk_SK",
}
"""The faker locale for names, addresses and companies of each state (Malta: en_GB)."""

FAKER_PLATE_STATES = frozenset({"AT", "BE", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HU", "IT", "LT", "NL", "PL",
                                "PT", "RO", "SE", "SK"})
"""States whose faker locale has its own license_plate provider; elsewhere faker's plates are generic."""

ISO_COUNTRY = {"EL": "GR"}
"""Address country codes are ISO 3166 alpha-2: Greece is GR there, EL in the EU's lists."""

COLOURS = ("black", "white", "grey", "silver", "blue", "red", "green", "brown", "beige", "yellow", "orange")
COLOUR_WEIGHTS = (22, 20, 18, 12, 11, 8, 3, 2, 2, 1, 1)

CATEGORY_WEIGHTS = {"M1": 84, "N1": 8, "L3e": 5, "L1e": 1, "N3": 2}

COMPANY_SHARE = 0.15
SECOND_HOLDER_SHARE = 0.10
REPLATED_SHARE = 0.06
MOVED_PLATE_SHARE = 0.04   # of vehicles, a pair (the old and the new vehicle of a plate)
STOLEN_SHARE = 0.02
DEREGISTERED_SHARE = 0.04
IMPORTED_SHARE = 0.15      # first registered earlier (abroad) than in this register


@dataclass(frozen=True, slots=True)
class Make:
    """A maker's world manufacturer identifier and models: (model, EU category, type code)."""

    name: str
    wmi: str
    models: tuple[tuple[str, str, str], ...]
    plants: str
    check_digit: bool = False
    vw_style: bool = False   # "ZZZ" + 2-character type code + "Z" in positions 4-9
    weight: float = 1.0


MAKES: tuple[Make, ...] = (
    Make("Volkswagen", "WVW", (("Golf", "M1", "5G"), ("Polo", "M1", "AW"), ("Passat", "M1", "3C"),
                               ("Tiguan", "M1", "5N"), ("T-Roc", "M1", "A1"), ("ID.3", "M1", "E1")), "WEPX",
         vw_style=True, weight=12),
    Make("Volkswagen", "WV1", (("Caddy", "N1", "2K"), ("Transporter", "N1", "7H")), "HX", vw_style=True, weight=3),
    Make("Audi", "WAU", (("A3", "M1", "8V"), ("A4", "M1", "8W"), ("A6", "M1", "4G"), ("Q5", "M1", "FY")), "AN",
         vw_style=True, weight=5),
    Make("SEAT", "VSS", (("Ibiza", "M1", "6J"), ("Leon", "M1", "5F")), "RB", vw_style=True, weight=3),
    Make("Škoda", "TMB", (("Octavia", "M1", "JG7NE"), ("Fabia", "M1", "EA6NJ"), ("Superb", "M1", "JH9NP")), "0BK",
         weight=5),
    Make("BMW", "WBA", (("320d", "M1", "8E310"), ("520i", "M1", "JA510"), ("X1", "M1", "HS210")), "AFGN",
         check_digit=True, weight=5),
    Make("Mercedes-Benz", "W1K", (("C 200", "M1", "20504"), ("E 220 d", "M1", "21300"), ("A 180", "M1", "17708")),
         "AFJ", weight=5),
    Make("Mercedes-Benz", "W1V", (("Sprinter", "N1", "90763"), ("Vito", "N1", "44770")), "P3", weight=2),
    Make("Mercedes-Benz", "WDB", (("Actros", "N3", "96340"),), "L4", weight=0.5),
    Make("Renault", "VF1", (("Clio", "M1", "RJA00"), ("Mégane", "M1", "RFB00"), ("Kangoo", "N1", "FW000")), "5VM",
         weight=6),
    Make("Peugeot", "VF3", (("208", "M1", "UPHNS"), ("308", "M1", "LBHNZ"), ("3008", "M1", "MCYHZ")), "DLS", weight=6),
    Make("Citroën", "VF7", (("C3", "M1", "SXHMZ"), ("Berlingo", "N1", "ERHNP")), "JLT", weight=4),
    Make("Dacia", "UU1", (("Sandero", "M1", "SDAAH"), ("Duster", "M1", "HSDAC")), "4CM", weight=4),
    Make("Fiat", "ZFA", (("Panda", "M1", "31200"), ("500", "M1", "31200"), ("Ducato", "N1", "25000")), "0JT",
         weight=5),
    Make("Alfa Romeo", "ZAR", (("Giulia", "M1", "95200"),), "7P", weight=1),
    Make("Opel", "W0L", (("Corsa", "M1", "0XEP6"), ("Astra", "M1", "0BEP6")), "GEJ", weight=5),
    Make("Ford", "WF0", (("Fiesta", "M1", "XXGAJ"), ("Focus", "M1", "XXGCB"), ("Transit", "N1", "XXTTG")), "CBT",
         weight=5),
    Make("Toyota", "VNK", (("Yaris", "M1", "KAB3D"),), "2V", weight=3),
    Make("Toyota", "SB1", (("Corolla", "M1", "ZAB3E"),), "5U", weight=3),
    Make("Volvo", "YV1", (("XC60", "M1", "UZ68V"), ("V60", "M1", "ZW10V")), "12", weight=3),
    Make("Kia", "U5Y", (("Ceed", "M1", "H5145"),), "T5", weight=3),
    Make("Hyundai", "TMA", (("i30", "M1", "D8158"),), "U3", weight=3),
    Make("Tesla", "5YJ", (("Model 3", "M1", "3E1EA"),), "FP", check_digit=True, weight=1.5),
    Make("Tesla", "XP7", (("Model Y", "M1", "YGCEK"),), "B", check_digit=True, weight=1.5),
    Make("Ford", "1FA", (("Mustang", "M1", "6P8TH"),), "5", check_digit=True, weight=0.3),
    Make("Chevrolet", "1G1", (("Camaro", "M1", "FB1RS"),), "0", check_digit=True, weight=0.2),
    Make("Toyota", "2T1", (("Corolla", "M1", "BURHE"),), "C", check_digit=True, weight=0.2),
    Make("Volkswagen", "3VW", (("Jetta", "M1", "C7AJ2"),), "M", check_digit=True, weight=0.2),
    Make("MAN", "WMA", (("TGX", "N3", "06XZZ"),), "M", weight=0.5),
    Make("Scania", "YS2", (("R 450", "N3", "R4X20"),), "S", weight=0.4),
    Make("Volvo Trucks", "YV2", (("FH", "N3", "RG0A5"),), "A", weight=0.4),
    Make("DAF", "XLR", (("XF", "N3", "GTS43"),), "E", weight=0.4),
    Make("Iveco", "ZCF", (("Daily", "N1", "C35A0"), ("S-Way", "N3", "AS4AS")), "U", weight=1),
    Make("Honda", "JH2", (("CB500F", "L3e", "PC45A"),), "K", check_digit=True, weight=2),
    Make("Yamaha", "JYA", (("MT-07", "L3e", "RM043"),), "A", check_digit=True, weight=2),
    Make("Ducati", "ZDM", (("Monster", "L3e", "MA00A"),), "B", weight=1),
    Make("BMW", "WB1", (("R 1250 GS", "L3e", "0J110"),), "Z", check_digit=True, weight=1.5),
    Make("Piaggio", "ZAP", (("Vespa Primavera", "L1e", "M8100"),), "0", weight=2),
)
"""Makes drawn for the synthetic registers; WMIs checked against vininfo's table by the tests."""


def model_year_code(year: int) -> str:
    return MODEL_YEAR_CODES[(year - 1980) % 30]


def make_vin(rng: random.Random, make: Make, type_code: str, model_year: int, serial: int) -> str:
    """A VIN of `make` for the given type code, model year and 6-digit serial (ISO 3779)."""
    if make.vw_style:
        descriptor = "ZZZ" + type_code + "Z"
    else:
        descriptor = (type_code + "".join(rng.choice(VIN_CHARACTERS) for _ in range(5)))[:5] + "0"
    vin = make.wmi + descriptor + model_year_code(model_year) + rng.choice(make.plants) + f"{serial % 1_000_000:06d}"
    if make.check_digit:
        vin = vin[:8] + vin_check_digit(vin) + vin[9:]
    elif not make.vw_style:
        vin = vin[:8] + rng.choice(VIN_CHARACTERS) + vin[9:]
    return vin


class _Pool:
    """`size` values made by `make` on first use, drawn by index: cheap to combine, deterministic."""

    def __init__(self, size: int, make: Callable[[], Any]) -> None:
        self._values: list[Any] = [None] * size
        self._make = make

    def draw(self, rng: random.Random) -> Any:
        index = rng.randrange(len(self._values))
        value = self._values[index]
        if value is None:
            value = self._values[index] = self._make()
        return value


class _People:
    """Names, streets, places and companies of one state from its faker locale, pooled (fast to combine)."""

    def __init__(self, country: str, seed: int, size: int = 400) -> None:
        faker = Faker(FAKER_LOCALE[country])
        faker.seed_instance(seed)
        self.faker = faker
        self.country = ISO_COUNTRY.get(country, country)
        self.surnames = _Pool(size, faker.last_name)
        self.first_names = _Pool(size, faker.first_name)
        self.streets = _Pool(size, lambda: " ".join(faker.street_address().split()))
        self.places = _Pool(size, lambda: (faker.postcode(), faker.city()))
        self.companies = _Pool(size // 2, faker.company)

    def address(self, rng: random.Random) -> Address:
        postcode, city = self.places.draw(rng)
        return Address(self.streets.draw(rng), postcode, city, self.country)

    def person(self, rng: random.Random) -> NaturalPerson:
        first = self.first_names.draw(rng)
        if rng.random() < 0.25:
            first = f"{first} {self.first_names.draw(rng)}"
        born = datetime(1940, 1, 1) + timedelta(days=rng.randrange(0, 365 * 66))
        return NaturalPerson(self.surnames.draw(rng), first, born.date().isoformat(), self.address(rng))

    def company(self, rng: random.Random) -> Company:
        return Company(self.companies.draw(rng), self.address(rng))


class VehicleGenerator:
    """Draws vehicle records of one state; every VIN and every plate it hands out is unique (plates
    handed on deliberately, from one vehicle to the next, apart)."""

    def __init__(self, country: str, seed: int, *, as_of: datetime = AS_OF, use_faker_plates: bool = True) -> None:
        code = COUNTRY_ALIASES.get(country.upper(), country.upper())
        if code not in PLATE_FORMATS:
            raise ValueError(f"no plate formats for {country!r}; supported: {', '.join(sorted(PLATE_FORMATS))}")
        self.country = code
        self.as_of = as_of
        self.rng = random.Random(f"vehicle:{code}:{seed}")
        self.people = _People(code, self.rng.randrange(2**31))
        self.use_faker_plates = use_faker_plates and code in FAKER_PLATE_STATES
        self._vins: set[str] = set()
        self._plates: set[str] = set()
        self._serials: dict[str, int] = {}
        self._makes = {category: [m for m in MAKES if any(c == category for _, c, _ in m.models)]
                       for category in CATEGORY_WEIGHTS}

    # -- pieces -------------------------------------------------------------------------------------------

    def plate(self) -> str:
        """A plate of the state no vehicle of this register has had yet, in canonical form."""
        rng = self.rng
        for _ in range(1000):
            plate = None
            if self.use_faker_plates and rng.random() < 0.5:
                try:
                    plate = normalize_plate(self.people.faker.license_plate(), self.country)
                except InvalidInput:
                    plate = None
            if plate is None:
                plate = random_plate(rng, self.country)
            if plate not in self._plates:
                self._plates.add(plate)
                return plate
        raise RuntimeError(f"no unused {self.country} plate found in 1000 tries")  # pragma: no cover

    def vin(self, make: Make, type_code: str, model_year: int) -> str:
        while True:
            serial = self._serials.get(make.wmi, self.rng.randrange(100_000, 400_000)) + self.rng.randrange(1, 7)
            self._serials[make.wmi] = serial
            vin = make_vin(self.rng, make, type_code, model_year, serial)
            if vin not in self._vins:
                self._vins.add(vin)
                return vin

    def _moment(self, start: datetime, end: datetime) -> datetime:
        """A random time of a working day between start and end (end > start)."""
        span = max(1, int((end - start).total_seconds() // 86_400))
        day = (start + timedelta(days=self.rng.randrange(span))).replace(hour=0, minute=0, second=0, microsecond=0)
        moment = day + timedelta(hours=self.rng.randrange(8, 17), minutes=self.rng.randrange(60),
                                 seconds=self.rng.randrange(60))
        return min(max(moment, start + timedelta(seconds=1)), end - timedelta(seconds=1))

    def _holders(self) -> tuple[Holder, ...]:
        rng, people = self.rng, self.people
        if rng.random() < COMPANY_SHARE:
            holders = [Holder(HolderRole.OWNER, company=people.company(rng))]
            if rng.random() < 0.5:
                holders.append(Holder(HolderRole.HOLDER, person=people.person(rng)))
            return tuple(holders)
        holders = [Holder(HolderRole.OWNER, person=people.person(rng))]
        if rng.random() < SECOND_HOLDER_SHARE:
            holders.append(Holder(HolderRole.HOLDER, person=people.person(rng)))
        return tuple(holders)

    def _vehicle_base(self, latest_first: datetime) -> tuple[Vehicle, datetime]:
        """A vehicle (no plate yet) and the start of its registration in this state."""
        rng = self.rng
        category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
        makes = self._makes[category]
        make = rng.choices(makes, weights=[m.weight for m in makes])[0]
        model, _, type_code = rng.choice([m for m in make.models if m[1] == category])
        earliest = self.as_of - timedelta(days=365 * 20)
        first = self._moment(earliest, min(latest_first, self.as_of - timedelta(days=30)))
        model_year = first.year + (1 if first.month >= 9 and rng.random() < 0.5 else 0)
        start = first
        if rng.random() < IMPORTED_SHARE:   # first registered abroad, here later
            start = self._moment(first, min(first + timedelta(days=365 * 6), latest_first + timedelta(days=1)))
        vehicle = Vehicle(self.vin(make, type_code, model_year), "", make.name, model,
                          rng.choices(COLOURS, weights=COLOUR_WEIGHTS)[0], category, first.date().isoformat(),
                          VehicleStatus.REGISTERED)
        return vehicle, start

    def _finish(self, vehicle: Vehicle, registrations: list[Registration]) -> VehicleRecord:
        """Status and current plate from the history; the stolen share among the still-registered."""
        current = registrations[-1]
        if current.valid_to is not None:
            status, plate = VehicleStatus.DEREGISTERED, ""
        else:
            status = VehicleStatus.STOLEN if self.rng.random() < STOLEN_SHARE else VehicleStatus.REGISTERED
            plate = current.registration_number
        return VehicleRecord(replace(vehicle, registration_number=plate, status=status), self._holders(),
                             tuple(registrations))

    # -- records ------------------------------------------------------------------------------------------

    def single(self) -> VehicleRecord:
        """A vehicle with its own plate(s): maybe re-plated, maybe deregistered."""
        rng = self.rng
        vehicle, start = self._vehicle_base(self.as_of - timedelta(days=30))
        registrations = [Registration(self.plate(), start)]
        if rng.random() < REPLATED_SHARE and (self.as_of - start).days > 60:
            change = self._moment(start + timedelta(days=30), self.as_of)
            registrations = [Registration(registrations[0].registration_number, start, change),
                             Registration(self.plate(), change)]
        if rng.random() < DEREGISTERED_SHARE:
            last = registrations[-1]
            if (self.as_of - last.valid_from).days > 2:
                end = self._moment(last.valid_from + timedelta(days=1), self.as_of)
                registrations[-1] = Registration(last.registration_number, last.valid_from, end)
        return self._finish(vehicle, registrations)

    def moved_pair(self) -> tuple[VehicleRecord, VehicleRecord]:
        """A plate that moved: the old vehicle had it until `handover`, the new one has it from then on.

        The old vehicle is re-plated or deregistered at the handover; the new vehicle was first
        registered before and may have had a plate of its own until then.
        """
        rng = self.rng
        old, old_start = self._vehicle_base(self.as_of - timedelta(days=400))
        moved = self.plate()
        handover = self._moment(old_start + timedelta(days=60), self.as_of - timedelta(days=60))
        if rng.random() < 0.5:
            old_history = [Registration(moved, old_start, handover), Registration(self.plate(), handover)]
        else:
            old_history = [Registration(moved, old_start, handover)]
        new, new_start = self._vehicle_base(handover)
        new_start = min(new_start, handover)
        if new_start < handover - timedelta(days=1) and rng.random() < 0.7:
            new_history = [Registration(self.plate(), new_start, handover), Registration(moved, handover)]
        else:
            new_history = [Registration(moved, handover)]
        return self._finish(old, old_history), self._finish(new, new_history)

    def records(self, count: int) -> Iterator[VehicleRecord]:
        produced = 0
        while produced < count:
            if count - produced >= 2 and self.rng.random() < MOVED_PLATE_SHARE / 2:
                for record in self.moved_pair():
                    produced += 1
                    yield record
            else:
                produced += 1
                yield self.single()


def vehicle_records(country: str, count: int, seed: int, *, as_of: datetime = AS_OF) -> Iterator[VehicleRecord]:
    """`count` synthetic vehicle records of `country`'s register, the same for the same seed."""
    if count < 0:
        raise ValueError("count must not be negative")
    return VehicleGenerator(country, seed, as_of=as_of).records(count)
