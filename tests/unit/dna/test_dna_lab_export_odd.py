"""Lab CSV exports with headers no laboratory writes (issue 16): an allele column is numbered in 1-3 ASCII digits,
a long header cell is read in linear time, and messages quote at most a short prefix."""

from __future__ import annotations

import time

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.dna.lab_export import LONG, parse_lab_csv

LONG_ROWS = "NL-T-7,trace,D3S1358,15,16\nNL-T-7,trace,VWA,17,18\n"


def test_an_allele_column_numbered_in_ascii_digits_is_read() -> None:
    parsed = parse_lab_csv("Sample Name,Type,Marker,Allele 1,Allele 2\n" + LONG_ROWS)
    assert parsed.layout == LONG and parsed.rows[0].loci["VWA"] == ["17", "18"]


@pytest.mark.parametrize("number", ["٢", "1" * 5000])
def test_an_allele_column_numbered_otherwise_is_no_allele_column(number: str) -> None:
    """int() read 'Allele ٢' as allele 2, and raised ValueError on 5,000 digits."""
    parsed = parse_lab_csv(f"Sample Name,Type,Marker,Allele 1,Allele {number}\n" + LONG_ROWS)
    assert parsed.layout == LONG and parsed.ignored_columns == [f"Allele {number}"]
    assert parsed.rows[0].loci["VWA"] == ["17"]


def test_a_long_header_cell_is_read_in_linear_time() -> None:
    """The paired-column regex took 15 s on a cell of 20,000 underscores."""
    started = time.perf_counter()
    parsed = parse_lab_csv("reference,kind,D3S1358," + "_" * 100_000 + "x\nNL-P-1,person,15 16,\n")
    assert parsed.ignored_columns == ["_" * 100_000 + "x"]
    assert time.perf_counter() - started < 1


def test_a_header_without_reference_is_quoted_cut() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_lab_csv("D3S1358," + "x" * 100_000 + "\n15,16\n")
    assert len(str(caught.value)) < 600 and "characters)" in str(caught.value)
