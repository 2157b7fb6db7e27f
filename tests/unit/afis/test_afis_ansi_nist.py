"""ANSI/NIST-ITL transactions: exact round trips, foreign INCITS-only records, refusals."""

from __future__ import annotations

import numpy as np
import pytest
from prum.federation.synthetic.afis import impression, master_finger, trace_impression
from prum.services.afis.ansi_nist import (
    FS,
    GS,
    decode_transaction,
    encode_transaction,
    read_templates,
    write_templates,
)
from prum.services.afis.templates import Template
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind


@pytest.fixture(scope="module")
def templates() -> list[Template]:
    rng = np.random.default_rng(11)
    result = []
    for number in range(4):
        master = master_finger(rng)
        result.append(impression(rng, master, f"NL-P{number}"))
        result.append(trace_impression(rng, master, f"NL-T{number}", resolution_ppi=1000))
    return result


def test_round_trip_is_exact_both_ways(templates):
    data = encode_transaction(templates, tot="CPS", tcn="NL-2026-1", date="20260105")
    decoded = decode_transaction(data)
    assert decoded.templates == tuple(templates)  # every field, every minutia, angles to the degree
    assert (decoded.tot, decoded.tcn, decoded.date) == ("CPS", "NL-2026-1", "20260105")
    assert encode_transaction(decoded.templates, tot=decoded.tot, tcn=decoded.tcn, date=decoded.date,
                              originating_agency=decoded.originating_agency,
                              destination_agency=decoded.destination_agency) == data
    assert {t.kind for t in decoded.templates} == {ReferenceKind.IDENTIFIED_PERSON, ReferenceKind.UNIDENTIFIED_TRACE}


def test_record_lengths_are_right_and_nistitl_reads_it(templates):
    data = encode_transaction(templates[:2], tot="CPS", date="20260105")
    offset = 0
    while offset < len(data):  # every LEN field counts its record exactly
        length = int(data[offset:data.index(GS, offset)].split(b":")[1])
        assert data[offset + length - 1:offset + length] == FS
        offset += length
    assert offset == len(data)
    nistitl = pytest.importorskip("nistitl")
    message = nistitl.Message()
    message.parse(data)
    assert [record.type for record in message] == [1, 2, 9, 2, 9]


def test_a_foreign_record_with_only_the_incits_block_reads_at_two_degrees(templates):
    person = templates[0]
    data = encode_transaction([person], tcn="DE-77", date="20260105")
    start = data.index(b"\x1d9.300:")
    end = data.index(FS, start)
    stripped = data[:start] + data[end:]  # drop 9.300-9.331 (EFS): the LEN is now wrong, fix it
    head = stripped.index(b"9.001:")
    old = stripped[head:stripped.index(GS, head)]
    old_length = int(old.split(b":")[1])
    new_length = old_length - (end - start)
    new_length += len(str(new_length)) - len(str(old_length))
    stripped = stripped.replace(old, b"9.001:" + str(new_length).encode(), 1)
    read = decode_transaction(stripped).templates[0]
    assert read.reference == person.reference
    assert [m.angle for m in read.minutiae] == [m.angle // 2 * 2 for m in person.minutiae]
    assert [(m.x, m.y, m.type, m.quality) for m in read.minutiae] == \
        [(m.x, m.y, m.type, m.quality) for m in person.minutiae]


def test_files_and_folders(tmp_path, templates):
    paths = write_templates(templates, tmp_path, per_file=3, date="20260105")
    assert len(paths) == 4  # 4 persons and 4 traces, 3 a file, kinds apart
    assert sorted(read_templates(tmp_path), key=lambda t: t.reference) == sorted(templates, key=lambda t: t.reference)
    assert read_templates(paths[0]) == [t for t in templates if not t.is_trace][:3]


def test_malformed_transactions_are_refused(templates):
    data = encode_transaction(templates[:1], date="20260105")
    with pytest.raises(InvalidInput, match="claims"):
        decode_transaction(data[:-10])
    with pytest.raises(InvalidInput, match="Type-1"):
        decode_transaction(data[data.index(FS) + 1:])
    with pytest.raises(InvalidInput, match="mix persons and traces"):
        encode_transaction(templates[:2])
    with pytest.raises(InvalidInput, match="1-99 templates"):
        encode_transaction([])
