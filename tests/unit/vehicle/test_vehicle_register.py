"""The vehicle register: SQLite WAL, persistence, plate history at a point in time, holders, PUR-2, threads."""

from __future__ import annotations

import dataclasses
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prum.services.common.clock import SimulatedClock
from prum.services.common.errors import Duplicate, InvalidInput
from prum.services.vehicle import (
    Address,
    Company,
    Holder,
    HolderRole,
    NaturalPerson,
    Registration,
    Vehicle,
    VehicleRecord,
    VehicleRegister,
    VehicleStatus,
)

GOLF = "WVWZZZ1KZ8W123456"
POLO = "WVWZZZ6RZ9W654321"
FOCUS = "1FADP3F25EL123456"   # North American Ford: the check digit (9th character) is 5

ADDRESS = Address("Dorpsstraat 1", "3512 AB", "Utrecht", "NL")
JAN = Holder(HolderRole.OWNER, person=NaturalPerson("Jansen", "Jan Pieter", "1970-03-02", ADDRESS))
ACME = Holder(HolderRole.HOLDER, company=Company("Acme Lease B.V.", Address("Kade 9", "1011 AA", "Amsterdam", "NL")))


def at(year: int, month: int = 1, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


def record(vin: str, plate: str = "", *, registrations=(), holders=(JAN,), status=VehicleStatus.REGISTERED,
           first: str = "2008-01-01", model: str = "Golf") -> VehicleRecord:
    return VehicleRecord(Vehicle(vin, plate, "Volkswagen", model, "blue", "M1", first, status), tuple(holders),
                         tuple(registrations))


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(at(2026, 1, 5))


@pytest.fixture(params=["dict", "sqlite"])
def register(request, tmp_path: Path, clock: SimulatedClock):
    with VehicleRegister(tmp_path / "vehicle" / "register.db", clock, country="NL", index=request.param) as reg:
        yield reg


@pytest.fixture
def history(register: VehicleRegister) -> VehicleRegister:
    """12-BDF-3 on the Golf 2008-2015, then on the Polo from 2016; the Golf re-plated to 1-BDF-23."""
    register.ingest(record(GOLF, registrations=[Registration("12-BDF-3", at(2008), at(2015)),
                                                Registration("1-BDF-23", at(2015))]))
    register.ingest(record(POLO, "12-bdf-3", first="2016-01-01", holders=[ACME], model="Polo"))
    return register


def test_database_is_in_wal_mode_with_full_sync(register: VehicleRegister, tmp_path: Path):
    assert register.journal_mode == "wal"
    assert register._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    with sqlite3.connect(tmp_path / "vehicle" / "register.db") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_the_same_plate_answers_for_different_vehicles_at_different_times(history: VehicleRegister):
    assert [r.vehicle.vin for r in history.lookup(registration_number="12-BDF-3", at=at(2010))] == [GOLF]
    assert [r.vehicle.vin for r in history.lookup(registration_number="12-BDF-3", at=at(2020))] == [POLO]
    assert history.lookup(registration_number="12-BDF-3", at=at(2015, 6)) == []        # free between owners
    assert [r.vehicle.vin for r in history.lookup(registration_number="12-BDF-3")] == [POLO]   # now
    assert history.lookup(registration_number="1-BDF-23", at=at(2014)) == []
    assert [r.vehicle.vin for r in history.lookup(registration_number="1-BDF-23")] == [GOLF]


def test_a_period_ends_exactly_at_valid_to(history: VehicleRegister):
    end = at(2015)
    assert [r.vehicle.vin for r in history.lookup(registration_number="12-BDF-3", at=end - timedelta(microseconds=1))] == [GOLF]
    assert history.lookup(registration_number="12-BDF-3", at=end) == []
    assert [r.vehicle.vin for r in history.lookup(registration_number="1-BDF-23", at=end)] == [GOLF]


def test_the_answer_carries_the_plate_valid_at_the_time_asked(history: VehicleRegister):
    (then,) = history.lookup(vin=GOLF, at=at(2010))
    (now,) = history.lookup(vin=GOLF)
    assert then.vehicle.registration_number == "12-BDF-3" and now.vehicle.registration_number == "1-BDF-23"
    assert [r.registration_number for r in now.registrations] == ["12-BDF-3", "1-BDF-23"]   # the history travels
    assert history.lookup(vin=POLO, at=at(2010)) == []   # not yet registered then


def test_lookup_normalises_what_the_officer_typed(history: VehicleRegister):
    assert [r.vehicle.vin for r in history.lookup(registration_number=" 12 bdf 3 ")] == [POLO]
    assert [r.vehicle.vin for r in history.lookup(vin="wvwzzz-1kz8w-123456")] == [GOLF]


def test_owner_person_and_company_holder_come_back_whole(history: VehicleRegister):
    (golf,) = history.lookup(vin=GOLF)
    (polo,) = history.lookup(vin=POLO)
    assert golf.holders == (JAN,) and golf.holders[0].party.surname == "Jansen"
    assert golf.holders[0].role is HolderRole.OWNER and golf.holders[0].company is None
    assert polo.holders == (ACME,) and polo.holders[0].person is None
    assert polo.holders[0].role is HolderRole.HOLDER and polo.holders[0].party.name == "Acme Lease B.V."
    assert (polo.vehicle.make, polo.vehicle.model, polo.vehicle.category, polo.vehicle.status) == \
        ("Volkswagen", "Polo", "M1", VehicleStatus.REGISTERED)


@pytest.mark.parametrize("kwargs, field, says", [
    ({"vin": GOLF, "registration_number": "12-BDF-3"}, "key", "exactly one key"),
    ({}, "key", "exactly one key"),
    ({"vin": GOLF[:12]}, "vin", "12 characters is not a complete VIN"),
    ({"vin": "WVWZZZ*"}, "vin", "wildcards"),
    ({"vin": ""}, "vin", "empty VIN"),
    ({"registration_number": ""}, "registration_number", "empty registration number"),
    ({"registration_number": "12-BDF"}, "registration_number", "not a complete registration number of NL"),
    ({"registration_number": "12-BDF-%"}, "registration_number", "wildcards"),
    ({"registration_number": "Jansen"}, "registration_number", "never searched by the name"),
    ({"registration_number": "Jan Pieter Jansen"}, "registration_number", "never searched by the name"),
    ({"registration_number": "AB-123-CD"}, "registration_number", "not a complete registration number of NL"),
    ({"vin": GOLF, "at": datetime(2020, 1, 1)}, "at", "timezone-aware"),
])
def test_refused_queries(history: VehicleRegister, kwargs, field, says):
    with pytest.raises(InvalidInput) as caught:
        history.lookup(**kwargs)
    assert caught.value.field == field and says in str(caught.value)


def test_the_query_value_is_not_kept(tmp_path: Path, clock: SimulatedClock):
    path = tmp_path / "pur2.db"
    with VehicleRegister(path, clock, country="NL") as register:
        register.ingest(record(GOLF, "12-BDF-3"))
        for key in ("98-XZV-7", "XZ-987-V"):
            assert register.lookup(registration_number=key) == []
        assert register.lookup(vin="WVWZZZ3CZWE987654") == []
        with pytest.raises(InvalidInput):
            register.lookup(registration_number="98-XZV")
        register._db.execute("PRAGMA wal_checkpoint(PASSIVE)")  # still open: the -wal and -shm files exist
        stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    stored += b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"12-BDF-3" in stored  # the search covers the files that hold the data
    for key in (b"98-XZV-7", b"98XZV7", b"XZ-987-V", b"XZ987V", b"WVWZZZ3CZWE987654", b"98-XZV"):
        assert key not in stored


def test_persistence_across_reopen(tmp_path: Path, clock: SimulatedClock):
    path = tmp_path / "persist.db"
    with VehicleRegister(path, clock, country="nl") as register:
        register.ingest(record(GOLF, registrations=[Registration("12-BDF-3", at(2008), at(2015)),
                                                    Registration("1-BDF-23", at(2015))]))
        register.ingest(record(POLO, "12-BDF-3", first="2016-01-01", holders=[ACME]))
        before = register.stats()
    for index in ("dict", "sqlite"):
        with VehicleRegister(path, clock, index=index) as reopened:   # the country comes from the database
            assert reopened.country == "NL" and reopened.stats() == dataclasses.replace(before, index=index)
            assert before.vehicles == 2 and before.registrations == 3
            assert [r.vehicle.vin for r in reopened.lookup(registration_number="12-BDF-3", at=at(2010))] == [GOLF]
            assert reopened.lookup(vin=POLO)[0].holders == (ACME,)
    with pytest.raises(ValueError, match="belongs to NL, not DE"):
        VehicleRegister(path, clock, country="DE")


def test_counters_survive_a_reopen_and_are_recounted_for_an_older_file(tmp_path: Path, clock: SimulatedClock):
    path = tmp_path / "counts.db"
    with VehicleRegister(path, clock, country="NL") as register:
        assert register.index_kind == "sqlite"   # the default, chosen by bench/vehicle_bench.py
        register.ingest_many([record(GOLF, "12-BDF-3"), record(POLO, "BD-12-34", status=VehicleStatus.STOLEN)])
        before = register.stats()
        register._db.execute("DELETE FROM meta WHERE key = 'counts'")   # as a file written before the counters
    with VehicleRegister(path, clock) as reopened:
        assert reopened.stats() == before and (before.vehicles, before.stolen, before.registrations) == (2, 1, 2)


def test_a_new_register_needs_its_country(tmp_path: Path):
    with pytest.raises(ValueError, match="country code"):
        VehicleRegister(tmp_path / "none.db")


def test_duplicate_vin_and_overlapping_plate_are_refused(history: VehicleRegister):
    with pytest.raises(Duplicate, match="already in the register"):
        history.ingest(record(GOLF, "BD-12-34"))
    third = "WVWZZZ1JZXW000001"
    with pytest.raises(Duplicate, match="belongs to another vehicle"):
        history.ingest(record(third, registrations=[Registration("12-BDF-3", at(2014), at(2017)),
                                                    Registration("BD-12-34", at(2017))]))
    # the gap 2015-2016 is free
    history.ingest(record(third, registrations=[Registration("12-BDF-3", at(2015, 2), at(2015, 12)),
                                                Registration("BD-12-34", at(2015, 12))]))
    assert [r.vehicle.vin for r in history.lookup(registration_number="12-BDF-3", at=at(2015, 6))] == [third]


def test_replace_updates_status_holders_and_history(history: VehicleRegister):
    stolen = record(POLO, "12-BDF-3", first="2016-01-01", holders=[ACME, JAN], status=VehicleStatus.STOLEN,
                    model="Polo")
    with pytest.raises(Duplicate):
        history.ingest(stolen)
    history.ingest(stolen, replace=True)
    (polo,) = history.lookup(registration_number="12-BDF-3")
    assert polo.vehicle.status is VehicleStatus.STOLEN and polo.holders == (ACME, JAN)
    assert history.stats().stolen == 1 and history.stats().registered == 1 and history.stats().vehicles == 2
    deregistered = record(POLO, first="2016-01-01", holders=[], status="DEREGISTERED",
                          registrations=[Registration("12-BDF-3", at(2016), at(2025))])
    history.ingest(deregistered, replace=True)
    assert history.lookup(registration_number="12-BDF-3") == []
    assert history.lookup(vin=POLO)[0].vehicle.registration_number == ""
    assert [r.vehicle.vin for r in history.lookup(registration_number="12-BDF-3", at=at(2024))] == [POLO]


@pytest.mark.parametrize("bad, says", [
    (record("WVWZZZ1KZ8W12345", "12-BDF-3"), "not a complete VIN"),
    (record(FOCUS[:8] + "0" + FOCUS[9:], "12-BDF-3"), "check digit"),
    (record(GOLF, "AB-123-CD"), "not a complete registration number of NL"),
    (record(GOLF, "12-BDF-3", holders=()), "at least one owner or holder"),
    (record(GOLF, "12-BDF-3", first="2008-13-01"), "ISO 8601 date"),
    (record(GOLF, registrations=[Registration("12-BDF-3", at(2008), at(2012)),
                                 Registration("1-BDF-23", at(2011))]), "overlap"),
    (record(GOLF, registrations=[Registration("12-BDF-3", at(2008), at(2012))]), "needs a current registration"),
    (record(GOLF, registrations=[Registration("12-BDF-3", datetime(2008, 1, 1))]), "timezone-aware"),
    (record(GOLF, "12-BDF-3", first="2009-01-01", registrations=[Registration("12-BDF-3", at(2008))]),
     "before the first registration date"),
    (record(GOLF, "1-BDF-23", registrations=[Registration("12-BDF-3", at(2008))]), "open registration period"),
    (record(GOLF, "12-BDF-3", status="SCRAPPED"), "not a status"),
    (VehicleRecord(Vehicle(GOLF, "12-BDF-3", "VW", "Golf", "", "Z9", "2008-01-01", VehicleStatus.REGISTERED),
                   (JAN,)), "not an EU vehicle category"),
    (record(GOLF, "12-BDF-3", holders=[Holder(HolderRole.OWNER)]), "exactly one of a natural person and a company"),
])
def test_bad_records_are_refused_with_the_field(register: VehicleRegister, bad, says):
    with pytest.raises(InvalidInput, match=says):
        register.ingest(bad)
    assert register.stats().vehicles == 0


def test_north_american_vin_with_its_check_digit_is_accepted(register: VehicleRegister):
    register.ingest(record(FOCUS, "BD-12-34"))
    assert register.lookup(vin=FOCUS.lower())[0].vehicle.vin == FOCUS


def test_ingest_many_reports_positions_and_reasons(register: VehicleRegister):
    report = register.ingest_many([
        record(GOLF, "12-BDF-3"),
        record(GOLF, "BD-12-34"),                       # the VIN again in the same batch
        record(POLO, "12-BDF-3"),                       # the plate is taken by the Golf
        "not a record",
        record("WVWZZZ1JZXW000001", "AB-123-CD"),       # a French plate in the Dutch register
        record("WVWZZZ1JZXW000002", "BD-12-34"),
    ])
    assert report.accepted == 2
    assert [(position, vin) for position, vin, _ in report.rejections] == [
        (2, GOLF), (3, POLO), (4, ""), (5, "WVWZZZ1JZXW000001")]
    reasons = [reason for _, _, reason in report.rejections]
    assert "already in the register" in reasons[0] and "belongs to another vehicle" in reasons[1]
    assert "VehicleRecord" in reasons[2] and "registration number of NL" in reasons[3]
    assert register.stats().vehicles == 2 and len(register) == 2


def test_stats_count_by_status(register: VehicleRegister):
    register.ingest_many([record(GOLF, "12-BDF-3"), record(POLO, "BD-12-34", status=VehicleStatus.STOLEN),
                          record("WVWZZZ1JZXW000001", status=VehicleStatus.DEREGISTERED, holders=(),
                                 registrations=[Registration("BD-FG-12", at(2009), at(2019))])])
    stats = register.stats()
    assert (stats.country, stats.vehicles, stats.registered, stats.stolen, stats.deregistered,
            stats.registrations) == ("NL", 3, 1, 1, 1, 3)


def test_concurrent_lookups_and_ingests(register: VehicleRegister):
    register.ingest(record(GOLF, "12-BDF-3"))
    plates = [f"{n:02d}-BDF-{d}" for n in range(10, 40) for d in (4, 5)]

    def add(n: int) -> None:
        serial = f"{n:06d}"
        register.ingest(record(f"WVWZZZ1JZXW{serial}", plates[n]))

    def look(_: int) -> int:
        return len(register.lookup(registration_number="12-BDF-3"))

    with ThreadPoolExecutor(max_workers=8) as pool:
        added = [pool.submit(add, n) for n in range(len(plates))]
        looked = [pool.submit(look, n) for n in range(200)]
        for future in added:
            future.result()
        assert all(future.result() == 1 for future in looked)
    assert register.stats().vehicles == 1 + len(plates)
    assert all(len(register.lookup(registration_number=plate)) == 1 for plate in plates)


def test_the_logged_record_keeps_every_field_as_plain_json_values():
    """VRD-2: what the protocol log keeps of a supplied record is the whole record, JSON-ready."""
    import json

    from prum.services.vehicle.exchange import record_data

    golf = record(GOLF, "AB-123-C", holders=(JAN, ACME), status=VehicleStatus.STOLEN,
                  registrations=(Registration("AB-123-C", at(2020), None), Registration("XY-99-Z", at(2010), at(2020))))
    data = record_data(golf)
    assert json.loads(json.dumps(data)) == data
    assert data["vehicle"] == {"vin": GOLF, "registration_number": "AB-123-C", "make": "Volkswagen", "model": "Golf",
                               "colour": "blue", "category": "M1", "first_registration_date": "2008-01-01",
                               "status": "STOLEN"}
    assert data["holders"][0] == {"role": "OWNER", "company": None, "person": {
        "surname": "Jansen", "first_names": "Jan Pieter", "date_of_birth": "1970-03-02",
        "address": {"street": "Dorpsstraat 1", "postal_code": "3512 AB", "city": "Utrecht", "country": "NL"}}}
    assert data["holders"][1]["company"]["name"] == "Acme Lease B.V." and data["holders"][1]["person"] is None
    assert data["registrations"] == [
        {"registration_number": "AB-123-C", "valid_from": "2020-01-01T00:00:00+00:00", "valid_to": None},
        {"registration_number": "XY-99-Z", "valid_from": "2010-01-01T00:00:00+00:00",
         "valid_to": "2020-01-01T00:00:00+00:00"}]


def test_an_owner_or_holder_is_found_by_the_complete_identity(history: VehicleRegister):
    """P2-VRD-1: the vehicles a natural person owns or keeps now, by surname, first names and date of birth (case and
    spacing do not matter); a company is not a person; a changed owner is found no more under the old one."""
    found = history.lookup_by_holder("JANSEN", "jan  pieter", "1970-03-02")
    assert [(r.vehicle.vin, r.vehicle.registration_number) for r in found] == [(GOLF, "1-BDF-23")]
    assert history.lookup_by_holder("Jansen", "Jan", "1970-03-02") == []  # not a complete first names
    piet = Holder(HolderRole.OWNER, person=NaturalPerson("Jansen", "Piet", "1999-01-01", ADDRESS))
    history.ingest(dataclasses.replace(history.lookup(vin=GOLF)[0], holders=(piet,)), replace=True)
    assert history.lookup_by_holder("Jansen", "Jan Pieter", "1970-03-02") == []
    assert [r.vehicle.vin for r in history.lookup_by_holder("jansen", "PIET", "1999-01-01")] == [GOLF]


@pytest.mark.parametrize(("surname", "first", "born", "says"), [
    ("", "Jan", "1970-03-02", "holder.surname"), ("Jan%", "Jan", "1970-03-02", "wildcard"),
    ("Jansen", "Jan", "1970-3-2", "YYYY-MM-DD"), ("Jansen", "Jan", "1970-02-30", "YYYY-MM-DD")])
def test_a_partial_or_wildcard_identity_is_refused_without_repeating_it(history: VehicleRegister, surname, first,
                                                                         born, says):
    with pytest.raises(InvalidInput, match=says) as refused:
        history.lookup_by_holder(surname, first, born)
    assert "Jan%" not in str(refused.value)


def test_a_register_written_before_the_holder_index_is_indexed_once_on_open(tmp_path: Path, clock: SimulatedClock):
    path = tmp_path / "old.db"
    with VehicleRegister(path, clock, country="NL") as register:
        register.ingest(record(GOLF, "12-BDF-3"))
    with sqlite3.connect(path) as db:  # as an older prum left it: no holder rows, not marked as indexed
        db.execute("DELETE FROM holder")
        db.execute("DELETE FROM meta WHERE key = 'holders_indexed'")
    with VehicleRegister(path, clock) as register:
        assert [r.vehicle.vin for r in register.lookup_by_holder("Jansen", "Jan Pieter", "1970-03-02")] == [GOLF]
