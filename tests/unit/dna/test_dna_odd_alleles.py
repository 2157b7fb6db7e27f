"""Allele values no laboratory means (issue 16, findings 2 and 3): refused by the core with InvalidInput naming
the locus and what is allowed, quoting at most a short prefix of the value; never read as another number."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.dna import canonical_locus, normalize_profile
from prum.services.dna.file import DnaFile
from prum.services.dna.profile import normalize_allele

DONOR = {"D3S1358": ["15", "16"], "VWA": ["17", "18"], "D8S1179": ["13", "14"], "D21S11": ["29", "30"],
         "D18S51": ["14", "17"], "TH01": ["6", "9.3"], "FGA": ["21", "24"], "D1S1656": ["12", "15.3"]}


def refusal(locus: str, value: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        normalize_allele(locus, value)
    assert caught.value.field == locus
    message = str(caught.value)
    assert "allowed:" in message
    assert len(message) < 600, len(message)
    return message


@pytest.mark.parametrize("value", ["1" * 5000, "9" * 100_000, "1" + "0" * 4999, "1" * 5000 + ".1"])
def test_a_repeat_number_of_thousands_of_digits_is_out_of_range(value: str) -> None:
    """Finding 2: int() of 5,000 digits raised Python's own ValueError ("Exceeds the limit (4300 digits) for
    integer string conversion"), which ended as INTERNAL."""
    message = refusal("VWA", value)
    assert "out of range" in message and "repeat numbers up to 98" in message
    assert "4300" not in message and "int_max_str_digits" not in message
    assert f"({len(value):,} characters)" in message  # quoted cut, with its length


def test_leading_zeros_still_read_as_the_repeat_number() -> None:
    assert normalize_allele("VWA", "0017") == "17"
    assert normalize_allele("VWA", "00099") == "*"  # 99 is a wildcard code (DNA-6)
    assert normalize_allele("VWA", "0" * 5000 + "12") == "12"
    assert "out of range" in refusal("VWA", "0100")


def test_a_huge_integer_allele_is_out_of_range() -> None:
    message = refusal("VWA", 10 ** 5000)  # str() of it raises ValueError in Python itself
    assert "out of range" in message and "bits" in message


@pytest.mark.parametrize("value, shown", [
    ("٣", "٣"),            # Arabic-Indic three
    ("١٧", "١٧"),          # Arabic-Indic 17
    ("۱۸", "۱۸"),          # Extended Arabic-Indic (Persian) 18
    ("१७", "१७"),          # Devanagari 17
    ("１７", "１７"),        # full-width 17
    ("17.٣", "17.٣"),      # an ASCII repeat with a foreign fraction
])
def test_a_digit_of_another_script_is_refused_not_read_as_a_number(value: str, shown: str) -> None:
    """Finding 3: "٣" was read as the allele 3 (re's \\d and int() take every Unicode digit) and gave a near
    match; allele numbers are ASCII digits."""
    message = refusal("VWA", value)
    assert "not an ASCII digit 0-9" in message and repr(shown) in message


def test_a_foreign_digit_at_amelogenin_is_refused_too() -> None:
    assert "not an ASCII digit" in refusal("AMEL", "٣")


def test_a_profile_typed_in_arabic_indic_digits_does_not_match(tmp_path: Path) -> None:
    """End to end in the core: the file refuses the search instead of reporting a hit."""
    with DnaFile(tmp_path / "dna.db") as file:
        file.ingest("NL-P-1", ReferenceKind.IDENTIFIED_PERSON, DONOR)
        typed = {**DONOR, "VWA": ["١٧", "18"]}
        with pytest.raises(InvalidInput, match="VWA: allele '١٧' has a digit that is not an ASCII digit"):
            file.search(typed)
        assert [hit.reference for hit in file.search(DONOR)] == ["NL-P-1"]


def test_a_long_value_is_read_in_linear_time() -> None:
    """One regex ([...]*\\d[...]*) took time quadratic in the length: 3.5 s for 30,000 digits and a letter,
    40 s for 100,000."""
    started = time.perf_counter()
    assert normalize_allele("VWA", "1" * 100_000 + "x") == "*"  # not a number: a wildcard (DNA-6)
    assert "malformed" in refusal("VWA", "1" * 100_000 + ",")
    assert time.perf_counter() - started < 1.0


def test_a_100_kb_locus_name_is_quoted_cut() -> None:
    with pytest.raises(InvalidInput) as caught:
        canonical_locus("D" * 100_000)
    assert caught.value.field == "loci"
    assert len(str(caught.value)) < 800 and "(100,000 characters)" in str(caught.value)
    with pytest.raises(InvalidInput) as caught:
        normalize_profile({**DONOR, "\x00" * 1000: ["12"]})
    assert caught.value.field == "loci" and len(str(caught.value)) < 800


def test_a_locus_given_twice_quotes_both_names_cut() -> None:
    with pytest.raises(InvalidInput) as caught:
        normalize_profile({"VWA": ["17"], "vWA" + " " * 50_000: ["17"]})
    assert len(str(caught.value)) < 400 and "allowed: once" in str(caught.value)
