"""VRD-1: only a complete VIN or a complete registration number; what a person types is normalised."""

from __future__ import annotations

import random

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.vehicle import (
    PLATE_FORMATS,
    normalize_plate,
    normalize_vin,
    random_plate,
    supported_countries,
    vin_check_digit,
)
from prum.services.vehicle.plates import read_plate

EU_STATES = {"AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE", "IT", "LT",
             "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"}


# -- VINs ---------------------------------------------------------------------------------------------

def test_vin_check_digit_of_published_examples():
    # 49 CFR 565 worked example and a real Mercury VIN; X stands for 10
    assert vin_check_digit("11111111111111111") == "1"
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"


@pytest.mark.parametrize("typed", ["1m8gdm9axkp042788", " 1M8-GDM9A.XKP 042788 ", "1M8 GDM 9AX KP0 42788"])
def test_vin_is_normalised_from_what_a_person_types(typed):
    assert normalize_vin(typed) == "1M8GDM9AXKP042788"


def test_european_vin_without_check_digit_is_accepted():
    assert normalize_vin("wvwzzz1kz8w123456") == "WVWZZZ1KZ8W123456"


@pytest.mark.parametrize("typed, says", [
    ("WVWZZZ1KZ8W1234", "15 characters is not a complete VIN"),
    ("WVWZZZ1KZ8W1234567", "18 characters is not a complete VIN"),
    ("WVWZZZ1KZ8W12345*", "wildcards (*, ?, %, _) are not allowed"),
    ("WVWZZZ1KZ8W1234%", "wildcards"),
    ("WVWZZZ1KZ8W12345?", "wildcards"),
    ("WVWZZZ1KZ8W12345_", "wildcards"),
    ("", "empty VIN"),
    ("   ", "empty VIN"),
    ("Jan de Vries", "never searched by the name of an owner or holder"),
    ("Vries, Jan 12", "reads like a name"),
    ("WVWZZZ1KZ8W12345O", "never contains I, O or Q"),
    ("WVWZZZ1KZ8W1234/6", "only letters and digits"),
    ("1M8GDM9A1KP042788", "check digit (9th character) does not agree"),
])
def test_vin_refusals_say_what_is_wrong_and_what_is_allowed(typed, says):
    with pytest.raises(InvalidInput) as caught:
        normalize_vin(typed)
    message = str(caught.value)
    assert caught.value.field == "vin"
    assert says in message
    assert "exactly 17 characters A-Z and 0-9 without I, O and Q" in message and "VRD-1" in message
    if len(typed.strip()) > 3:
        assert typed.strip() not in message.partition("; allowed:")[0]  # PUR-2: the value typed is not repeated


def test_vin_must_be_text():
    with pytest.raises(InvalidInput, match="must be text"):
        normalize_vin(12345678901234567)


# -- plates -------------------------------------------------------------------------------------------

def test_every_eu_member_state_has_plate_formats():
    assert set(supported_countries()) == EU_STATES


@pytest.mark.parametrize("country", sorted(PLATE_FORMATS))
def test_each_format_example_is_canonical_and_read_back(country):
    for plate_format in PLATE_FORMATS[country]:
        assert normalize_plate(plate_format.example, country) == plate_format.example, plate_format.name
        assert normalize_plate(plate_format.example.lower(), country) == plate_format.example


@pytest.mark.parametrize("country", sorted(PLATE_FORMATS))
def test_random_plates_are_canonical_in_their_country(country):
    rng = random.Random(country)
    for _ in range(200):
        plate = random_plate(rng, country)
        assert normalize_plate(plate, country) == plate


@pytest.mark.parametrize("typed, country, canonical", [
    ("b-ab 1234", "DE", "B-AB 1234"),
    ("B AB 1234", "DE", "B-AB 1234"),
    ("ba-b1234", "DE", "BA-B 1234"),          # the separator tells Bamberg from Berlin
    ("DLZG587", "DE", "DL-ZG 587"),           # only one reading: DLZ is no district
    ("m-xy 123 e", "DE", "M-XY 123E"),
    ("ab123cd", "FR", "AB-123-CD"),
    ("Ab.123.cD", "FR", "AB-123-CD"),
    ("317 pum 06", "FR", "317 PUM 06"),
    ("1abc123", "BE", "1-ABC-123"),
    ("1234bcd", "ES", "1234 BCD"),
    ("m-1234-ab", "ES", "M-1234-AB"),
    ("12bdf3", "NL", "12-BDF-3"),
    ("12 – bdf – 3", "NL", "12-BDF-3"),
    ("ab1234", "LU", "AB 1234"),
    ("gu 123ab", "AT", "GU-123 AB"),
    ("ικα1234", "EL", "IKA-1234"),            # Greek letters typed on a Greek keyboard
    ("ika-1234", "GR", "IKA-1234"),           # ISO code GR for the EU's EL
    ("са 1234 ав", "BG", "CA 1234 AB"),       # Cyrillic look-alikes
    ("wa12345", "PL", "WA 12345"),
    ("191d123", "IE", "191-D-123"),
    ("ab123cd", "IT", "AB 123CD"),
])
def test_plates_are_normalised_to_their_canonical_form(typed, country, canonical):
    assert normalize_plate(typed, country) == canonical


@pytest.mark.parametrize("typed, country, says", [
    ("AB-123", "FR", "not a complete registration number of FR"),          # partial
    ("12-BDF", "NL", "not a complete registration number of NL"),
    ("AB-123-*", "FR", "wildcards (*, ?, %, _) are not allowed"),
    ("12-BD?-3", "NL", "wildcards"),
    ("12-BD%-3", "NL", "wildcards"),
    ("12-BD_-3", "NL", "wildcards"),
    ("", "NL", "empty registration number"),
    ("Jan de Vries", "NL", "never searched by the name of an owner or holder"),
    ("Müller", "DE", "never searched by the name"),
    ("AB-123-CD", "NL", "not a complete registration number of NL"),       # another state's format
    ("1234 BCD", "DE", "not a complete registration number of DE"),
    ("BAB1234", "DE", "ambiguous: 2 different plates of DE"),              # B-AB 1234 or BA-B 1234
    ("GUMAX7", "AT", "ambiguous"),
    ("AB-12-3CD", "FR", "not a complete registration number of FR"),       # separator inside a part
    ("WVWZZZ1KZ8W123456", "NL", "a VIN goes in the vin field"),
    ("12/BDF/3", "NL", "only letters and digits"),
])
def test_plate_refusals_say_what_is_wrong_and_what_is_allowed(typed, country, says):
    with pytest.raises(InvalidInput) as caught:
        normalize_plate(typed, country)
    message = str(caught.value)
    assert caught.value.field == "registration_number"
    assert says in message and "VRD-1" in message
    assert f"a complete registration number of {country if country != 'GR' else 'EL'}" in message
    assert PLATE_FORMATS[country][0].example in message  # names the allowed forms
    if len(typed) > 3:
        assert typed not in message.partition("; allowed:")[0]  # PUR-2: the value typed is not repeated


def test_unknown_country_is_refused_with_the_supported_list():
    with pytest.raises(InvalidInput, match="supported: AT, BE") as caught:
        normalize_plate("AB 123", "XX")
    assert caught.value.field == "country"


def test_readings_are_unique_within_each_format_variant():
    # every fixed-length variant regex has one reading, so two readings only come from two variants
    assert read_plate("DE", "BAB1234") == ["B-AB 1234", "BA-B 1234"]
    assert read_plate("DE", "BAB1234", frozenset({2})) == ["BA-B 1234"]
    assert read_plate("DE", "BAB1234", frozenset({1, 3})) == ["B-AB 1234"]


@pytest.mark.parametrize("country", sorted(PLATE_FORMATS))
def test_typed_variants_of_a_plate_read_back_or_are_refused_as_ambiguous(country):
    rng = random.Random(f"typed:{country}")
    for _ in range(100):
        plate = random_plate(rng, country)
        compact = "".join(c for c in plate if c.isalnum())
        spaced = " ".join(part for part in plate.replace("-", " ").split())
        assert normalize_plate(spaced.lower(), country) == plate   # separators where the plate has them
        try:
            assert normalize_plate(compact.lower(), country) == plate
        except InvalidInput as error:   # without separators two readings may remain (DE, AT, ...)
            assert "ambiguous" in str(error) and len(read_plate(country, compact)) > 1
