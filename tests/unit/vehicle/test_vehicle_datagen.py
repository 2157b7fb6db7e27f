"""The synthetic vehicle registers: valid VINs and plates, holders, history, determinism."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime

import pytest
from faker import Faker
from prum.federation.synthetic.vehicle import (
    AS_OF,
    FAKER_LOCALE,
    FAKER_PLATE_STATES,
    MAKES,
    make_vin,
    model_year_code,
    vehicle_records,
)
from prum.services.common.errors import InvalidInput
from prum.services.vehicle import (
    PLATE_FORMATS,
    VehicleRegister,
    VehicleStatus,
    normalize_plate,
    normalize_record,
    normalize_vin,
    uses_check_digit,
    vin_check_digit,
)


@pytest.fixture(scope="module")
def dutch():
    return list(vehicle_records("NL", 3000, seed=7))


@pytest.mark.parametrize("country", sorted(PLATE_FORMATS))
def test_every_vin_and_plate_is_valid_and_records_are_stored_as_given(country):
    records = list(vehicle_records(country, 150, seed=1))
    assert len(records) == 150
    for record in records:
        assert normalize_vin(record.vehicle.vin) == record.vehicle.vin
        for registration in record.registrations:
            assert normalize_plate(registration.registration_number, country) == registration.registration_number
        assert normalize_record(record, country) == record   # already in canonical form
        for holder in record.holders:
            expected = "GR" if country == "EL" else country
            assert holder.party.address.country == expected


def test_vins_and_plates_are_unique_apart_from_moved_plates(dutch):
    vins = [r.vehicle.vin for r in dutch]
    assert len(set(vins)) == len(vins)
    owners = Counter(reg.registration_number for r in dutch for reg in r.registrations)
    shared = [plate for plate, n in owners.items() if n > 1]
    assert shared and all(n == 2 for n in owners.values() if n > 1)


def test_check_digits_where_the_maker_uses_one(dutch):
    checked = {m.wmi for m in MAKES if m.check_digit}
    seen = [r.vehicle.vin for r in dutch if r.vehicle.vin[:3] in checked]
    assert seen and all(vin[8] == vin_check_digit(vin) for vin in seen)
    assert any(uses_check_digit(vin) for vin in seen)   # North American makers are among them


def test_model_year_codes_follow_iso_3779():
    assert (model_year_code(1980), model_year_code(2001), model_year_code(2010), model_year_code(2025)) == \
        ("A", "1", "A", "S")


def test_vw_group_vins_have_the_makers_layout():
    golf = make_vin(random.Random(1), MAKES[0], "5G", 2018, 123456)
    assert golf[:9] == "WVWZZZ5GZ" and golf[9] == "J" and golf[-6:] == "123456"


def test_the_wmis_are_those_of_the_makes():
    vininfo = pytest.importorskip("vininfo")
    from vininfo.dicts import WMI
    for make in MAKES:
        known = WMI.get(make.wmi) or WMI.get(make.wmi[:2])
        name = known if isinstance(known, str) else getattr(known, "manufacturer", str(known))
        first_word = make.name.split()[0].replace("Š", "S").lower()
        assert first_word[:4] in name.lower().replace("š", "s"), (make.wmi, make.name, name)
    for vin in ("1FADP3F25EL123456", "5YJ3E1EA7KF317000"):
        assert vininfo.Vin(vin).verify_checksum() == (vin[8] == vin_check_digit(vin))


def test_holders_companies_and_history_shares(dutch):
    n = len(dutch)
    companies = sum(1 for r in dutch if r.holders and r.holders[0].company is not None)
    assert 0.11 * n < companies < 0.19 * n
    assert all(r.holders for r in dutch)
    statuses = Counter(r.vehicle.status for r in dutch)
    assert statuses[VehicleStatus.STOLEN] > 0.01 * n and statuses[VehicleStatus.DEREGISTERED] > 0.02 * n
    replated = sum(1 for r in dutch if len(r.registrations) > 1)
    assert replated > 0.05 * n
    assert all(r.registrations[-1].valid_from < AS_OF for r in dutch)
    assert all(r.vehicle.first_registration_date <= r.registrations[0].valid_from.date().isoformat() for r in dutch)
    categories = Counter(r.vehicle.category for r in dutch)
    assert {"M1", "N1", "L3e", "N3"} <= set(categories) and categories["M1"] > 0.75 * n


def test_moved_plates_answer_for_the_right_vehicle_over_time(tmp_path, dutch):
    with VehicleRegister(tmp_path / "nl.db", country="NL") as register:
        report = register.ingest_many(dutch)
        assert report.accepted == len(dutch) and not report.rejections
        holders = {}
        for record in dutch:
            for registration in record.registrations:
                holders.setdefault(registration.registration_number, []).append((registration, record.vehicle.vin))
        moved = [periods for periods in holders.values() if len(periods) == 2]
        assert len(moved) > 20
        for periods in moved[:20]:
            for registration, vin in periods:
                found = register.lookup(registration_number=registration.registration_number,
                                        at=registration.valid_from)
                assert [r.vehicle.vin for r in found] == [vin]


def test_same_seed_same_register_other_seed_other_register():
    first = list(vehicle_records("DE", 200, seed=5))
    assert first == list(vehicle_records("DE", 200, seed=5))
    assert first != list(vehicle_records("DE", 200, seed=6))
    assert list(vehicle_records("DE", 50, seed=5))[:40] == first[:40]   # a shorter register starts the same


def test_every_member_state_has_a_locale_and_unknown_states_are_refused():
    assert set(FAKER_LOCALE) == set(PLATE_FORMATS)
    with pytest.raises(ValueError, match="no plate formats"):
        list(vehicle_records("XX", 1, seed=1))
    assert list(vehicle_records("GR", 3, seed=1)) == list(vehicle_records("EL", 3, seed=1))


def test_as_of_moves_every_date_before_it():
    as_of = datetime(2015, 6, 1, tzinfo=UTC)
    for record in vehicle_records("FR", 200, seed=3, as_of=as_of):
        assert all(r.valid_from < as_of and (r.valid_to is None or r.valid_to < as_of) for r in record.registrations)


def test_faker_plates_are_used_only_where_the_locale_makes_plates_of_the_formats():
    for country in FAKER_PLATE_STATES:
        faker = Faker(FAKER_LOCALE[country])
        faker.seed_instance(1)
        fitting = 0
        for _ in range(100):
            try:
                normalize_plate(faker.license_plate(), country)
                fitting += 1
            except InvalidInput:
                pass
        assert fitting >= 30, country
