"""The demo's synthetic national files and the searches run against them, planted so the results are known.

Every state gets random profiles drawn from European allele frequencies. Then matches are planted
across borders: a crime-scene trace whose donor is on another state's file (full match), a relative
of it with one differing allele in a third state (near match), a trace with a dropped-out allele
(wildcard match), one with a microvariant (microvariant match), and a profile on no file (no hit).
Each planted search records the status it must give per state, so the report can check itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypedDict

import numpy as np
from faker import Faker
from prum.federation.runtime.topology import Federation
from prum.federation.synthetic.afis import mated_probe, population
from prum.federation.synthetic.dna import derived_profile, random_profile
from prum.federation.synthetic.police_records import police_records
from prum.federation.synthetic.vehicle import FAKER_LOCALE, vehicle_records
from prum.services.afis.templates import Template
from prum.services.common.reference import ReferenceKind
from prum.services.contact_point.persons import CoreDetails, Person
from prum.services.police_records.index import PoliceRecord
from prum.services.vehicle.model import VehicleRecord, VehicleStatus

Loci = dict[str, list[str]]


class VehicleKeyFields(TypedDict, total=False):
    """The key of a vehicle search, as keyword arguments of the VehicleKey message: one of the two."""

    vin: str
    registration_number: str


@dataclass(frozen=True)
class FileRow:
    reference: str
    kind: ReferenceKind
    loci: Loci


@dataclass
class PlannedSearch:
    title: str
    from_state: str
    officer_id: str
    ordering_officer_id: str
    reason: str
    reference: str
    kind: ReferenceKind
    loci: Loci
    # state -> (status, match class or "") that the search must give; states not named: NO_HIT.
    expected: dict[str, tuple[str, str]] = field(default_factory=dict)
    # Set when the whole search must be refused: the gRPC status code name.
    expected_error: str = ""
    category: str = "DNA"
    # For a vehicle search: {"vin": ...} or {"registration_number": ...}.
    vehicle_key: VehicleKeyFields = field(default_factory=VehicleKeyFields)
    # For a fingerprint search: the probe.
    template: Template | None = None
    target_states: tuple[str, ...] = ()


@dataclass
class Scenario:
    files: dict[str, list[FileRow]]
    searches: list[PlannedSearch]
    registers: dict[str, list[VehicleRecord]] = field(default_factory=dict)
    # The national person records behind identified DNA references (followed up, FOL-1).
    persons: dict[str, list[Person]] = field(default_factory=dict)
    # The national fingerprint files (AFIS).
    fingerprints: dict[str, list[Template]] = field(default_factory=dict)
    # What the Prüm II core data set adds to each person record (P2-CORE-3).
    core_details: dict[str, list[CoreDetails]] = field(default_factory=dict)
    # The national police-record indexes of the states taking part in EPRIS (P2-EPRIS-1).
    police_records: dict[str, list[PoliceRecord]] = field(default_factory=dict)


def _officers(federation: Federation, code: str) -> tuple[str, str, str]:
    """(authorised officer, ordering officer, an officer who is not authorised) of a state."""
    officers = federation.state(code).officers
    authorised = [o.officer_id for o in officers if o.authorised]
    refused = [o.officer_id for o in officers if not o.authorised]
    return authorised[0], authorised[-1], (refused[0] if refused else f"{code}-UNKNOWN")


def build_scenario(federation: Federation, seed: int | None = None) -> Scenario:
    rng = np.random.default_rng(federation.seed if seed is None else seed)
    codes = federation.codes
    ready = [c for c in codes if federation.state(c).is_ready("DNA")]
    not_ready = [c for c in codes if c not in ready]
    files: dict[str, list[FileRow]] = {}
    for spec in federation.states:
        rows = []
        for i in range(spec.dna_profiles):
            kind = ReferenceKind.UNIDENTIFIED_TRACE if i % 4 == 3 else ReferenceKind.IDENTIFIED_PERSON
            prefix = "T" if kind is ReferenceKind.UNIDENTIFIED_TRACE else "P"
            rows.append(FileRow(f"{spec.code}-{prefix}-{i + 1:06d}", kind, random_profile(rng, kind=kind)))
        files[spec.code] = rows

    def pick(offset: int) -> str:
        return ready[offset % len(ready)]

    def expect_not_ready(from_state: str) -> dict[str, tuple[str, str]]:
        return {c: ("NOT_READY", "") for c in not_ready if c != from_state}

    def plant(holder: str, reference: str, loci: Loci) -> None:
        files[holder].append(FileRow(reference, ReferenceKind.IDENTIFIED_PERSON, loci))

    searches: list[PlannedSearch] = []

    def planted(title: str, from_state: str, change: str, holder: str, match_class: str,
                extra: Callable[[Loci], dict[str, tuple[str, str]]] | None = None) -> None:
        donor = random_profile(rng, kind=ReferenceKind.IDENTIFIED_PERSON)
        plant(holder, f"{holder}-P-PLANTED-{len(searches) + 1}", donor)
        query = donor if change == "duplicate" else derived_profile(rng, donor, change)
        officer, ordering, _ = _officers(federation, from_state)
        expected = {holder: ("HIT", match_class), **expect_not_ready(from_state)}
        if extra:
            expected.update(extra(donor))
        searches.append(PlannedSearch(title, from_state, officer, ordering, "homicide investigation, art. 3 search",
                                      f"{from_state}-CS-{len(searches) + 1:04d}", ReferenceKind.UNIDENTIFIED_TRACE,
                                      query, expected))

    def near_relative(donor: Loci) -> dict[str, tuple[str, str]]:
        holder = pick(3)
        plant(holder, f"{holder}-P-PLANTED-NEAR", derived_profile(rng, donor, "near"))
        return {holder: ("HIT", "near")}

    planted("crime-scene trace: donor on a foreign file, a relative elsewhere", pick(1), "duplicate", pick(2),
            "full", near_relative if len(ready) > 3 else None)
    planted("trace with a dropped-out allele (wildcard)", pick(4), "wildcard", pick(5), "wildcard")
    planted("trace with a microvariant allele", pick(6), "microvariant", pick(7), "microvariant")

    nobody = random_profile(rng, kind=ReferenceKind.UNIDENTIFIED_TRACE)
    officer, ordering, untrained = _officers(federation, pick(0))
    searches.append(PlannedSearch("trace on no national file", pick(0), officer, ordering,
                                  "burglary series, art. 3 search", f"{pick(0)}-CS-NOHIT", ReferenceKind.UNIDENTIFIED_TRACE,
                                  nobody, expect_not_ready(pick(0))))
    searches.append(PlannedSearch("officer without special authorisation (SEC-2)", pick(0), untrained, ordering,
                                  "curiosity", f"{pick(0)}-CS-UNAUTH", ReferenceKind.UNIDENTIFIED_TRACE, nobody,
                                  expected_error="PERMISSION_DENIED"))
    too_small = dict(list(nobody.items())[:4])
    searches.append(PlannedSearch("profile with only 4 loci (DNA-4)", pick(0), officer, ordering,
                                  "partial trace, art. 3 search", f"{pick(0)}-CS-SMALL", ReferenceKind.UNIDENTIFIED_TRACE,
                                  too_small, expected_error="INVALID_ARGUMENT"))
    for code in not_ready:
        officer, ordering, _ = _officers(federation, code)
        searches.append(PlannedSearch(f"search from {code}, not ready for DNA (GATE-1)", code, officer, ordering,
                                      "robbery, art. 3 search", f"{code}-CS-GATE", ReferenceKind.UNIDENTIFIED_TRACE,
                                      nobody, expected_error="FAILED_PRECONDITION"))
    registers = {spec.code: list(vehicle_records(spec.code, spec.vehicles, federation.seed + i))
                 for i, spec in enumerate(federation.states)}
    searches += vehicle_searches(federation, registers)
    persons = {code: person_records(code, [r.reference for r in rows if r.kind is ReferenceKind.IDENTIFIED_PERSON],
                                    federation.seed) for code, rows in files.items()}
    fingerprints, probe_search = fingerprint_files(federation, rng)
    searches += probe_search
    for code, templates in fingerprints.items():  # the persons behind identified fingerprints (P2-CORE-3)
        persons[code] += person_records(code, [t.reference for t in templates
                                               if t.kind is ReferenceKind.IDENTIFIED_PERSON], federation.seed + 1)
    details = {code: core_details(code, [p.reference for p in rows], federation.seed) for code, rows in persons.items()}
    police = {spec.code: list(police_records(spec.code, spec.police_records, federation.seed + i))
              for i, spec in enumerate(federation.states) if spec.epris}
    return Scenario(files, searches, registers, persons, fingerprints, details, police)


def fingerprint_files(federation: Federation, rng: np.random.Generator
                      ) -> tuple[dict[str, list[Template]], list[PlannedSearch]]:
    """Each state's AFIS file, and a search by another capture of a finger on one of them (Art 9)."""
    masters: dict[str, list] = {}
    files: dict[str, list[Template]] = {}
    for spec in federation.states:
        pairs = list(population(rng, spec.fingerprints, prefix=f"{spec.code}-F-"))
        masters[spec.code] = [master for master, _ in pairs]
        files[spec.code] = [template for _, template in pairs]
    ready = [c for c in federation.codes if federation.state(c).is_ready("FINGERPRINT") and files[c]]
    if len(ready) < 2:
        return files, []
    asker, holder = ready[1], ready[-2]
    number = len(files[holder]) // 2
    probe = mated_probe(rng, masters[holder][number], f"{asker}-ARREST-0001")
    officer, ordering, _ = _officers(federation, asker)
    others = {c: ("NOT_READY", "") for c in federation.codes
              if c not in (asker, holder) and not federation.state(c).is_ready("FINGERPRINT")}
    return files, [PlannedSearch(
        f"fingerprints of an arrested person (verified by {asker}, Art 9(2))", asker, officer, ordering,
        "arrest without identity papers, art. 9 search", f"{asker}-FP-1", ReferenceKind.IDENTIFIED_PERSON, {},
        {holder: ("HIT", ""), **others}, category="FINGERPRINT", template=probe)]


def person_records(country: str, references: list[str], seed: int) -> list[Person]:
    """A person record per identified reference, with names of the state's locale; the same for the same seed."""
    faker = Faker(FAKER_LOCALE[country])
    faker.seed_instance(seed)
    return [Person(reference, faker.last_name(), faker.first_name(),
                   faker.date_of_birth(minimum_age=18, maximum_age=80).isoformat(), country)
            for reference in references]


#: Offences a national file links to its biometric data (the core data set's "offence", P2-CORE-3).
OFFENCES = ("burglary", "armed robbery", "drug trafficking", "assault", "fraud", "theft of a vehicle")


def core_details(country: str, references: list[str], seed: int) -> list[CoreDetails]:
    """The core-data details of each person record: an alias for some, place of birth, gender, when and where the
    biometric data were taken, the offence and case number linked to them; the same for the same seed."""
    faker = Faker(FAKER_LOCALE[country])
    faker.seed_instance(seed + 7)
    details = []
    for number, reference in enumerate(references):
        gender = faker.random_element(("female", "male"))
        aliases = (faker.first_name() + " " + faker.last_name(),) if number % 3 == 0 else ()
        details.append(CoreDetails(
            reference, aliases, faker.city(), gender,
            faker.date_between(start_date="-10y", end_date="-30d").isoformat(), f"police station {faker.city()}",
            faker.random_element(OFFENCES), f"{country}-{faker.random_int(2015, 2025)}-{faker.random_int(1, 99999):05d}"))
    return details


def vehicle_searches(federation: Federation, registers: dict[str, list[VehicleRecord]]) -> list[PlannedSearch]:
    """A stolen car of one state looked up by VIN everywhere, then by its plate in its own state only."""
    ready = [c for c in federation.codes if federation.state(c).is_ready("VEHICLE") and registers[c]]
    if len(ready) < 2:
        return []
    holder, asker = ready[-1], ready[0]
    records = registers[holder]
    car = next((r for r in records if r.vehicle.status is VehicleStatus.STOLEN and r.vehicle.registration_number),
               next((r for r in records if r.vehicle.registration_number), records[0]))
    officer, ordering, _ = _officers(federation, asker)
    others = {c: ("NOT_READY", "") for c in federation.codes
              if c not in (asker, holder) and not federation.state(c).is_ready("VEHICLE")}
    searches = [PlannedSearch(
        f"vehicle by VIN ({car.vehicle.make} {car.vehicle.model}, {car.vehicle.status.name.lower()})", asker,
        officer, ordering, "stolen vehicle, art. 12 search", f"{asker}-VRD-1", ReferenceKind.UNIDENTIFIED_TRACE, {},
        {holder: ("HIT", ""), **others}, category="VEHICLE", vehicle_key={"vin": car.vehicle.vin})]
    if car.vehicle.registration_number:
        searches.append(PlannedSearch(
            f"vehicle by registration number in {holder}", asker, officer, ordering,
            "traffic offence, art. 12 search", f"{asker}-VRD-2", ReferenceKind.UNIDENTIFIED_TRACE, {},
            {holder: ("HIT", "")}, category="VEHICLE",
            vehicle_key={"registration_number": car.vehicle.registration_number}, target_states=(holder,)))
    return searches
