"""VRD-1 keys with digits of other scripts or of great length (issue 16): refused with InvalidInput saying what is
allowed, never read as the ASCII key they look like, and quickly."""

from __future__ import annotations

import time

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.vehicle import normalize_plate, normalize_vin
from prum.services.vehicle.model import canonical_category
from prum.services.vehicle.plates import read_plate


@pytest.mark.parametrize("typed", ["WVWZZZ1JZ٣W386752", "WVWZZZ1JZ３W386752"])
def test_a_vin_with_a_digit_of_another_script_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="ASCII digits 0-9") as caught:
        normalize_vin(typed)
    assert caught.value.field == "vin"


@pytest.mark.parametrize("typed", ["AB-١٢٣-C", "٣٣-XX-٣٣", "１２-ＡＢ-３４"])
def test_a_plate_with_a_digit_of_another_script_is_refused(typed: str) -> None:
    with pytest.raises(InvalidInput, match="ASCII digits 0-9") as caught:
        normalize_plate(typed, "NL")
    assert caught.value.field == "registration_number"


def test_reading_a_plate_takes_only_ascii_digits() -> None:
    """read_plate classified characters with str.isdigit(), which says yes to '٣'."""
    assert read_plate("NL", "12BDF3") == ["12-BDF-3"]
    assert read_plate("NL", "١٢BDF٣") == []


def test_long_keys_are_refused_quickly_and_briefly() -> None:
    started = time.perf_counter()
    for typed in ("1" + "A" * 100_000, "1" + "AB " * 30_000, "1" * 100_000):
        for refuse in (normalize_vin, lambda t: normalize_plate(t, "NL")):
            with pytest.raises(InvalidInput) as caught:
                refuse(typed)
            assert len(str(caught.value)) < 1024
    assert time.perf_counter() - started < 2


def test_a_long_category_is_quoted_cut() -> None:
    with pytest.raises(InvalidInput) as caught:
        canonical_category("M" * 100_000)
    assert "(100,000 characters)" in str(caught.value) and len(str(caught.value)) < 600
