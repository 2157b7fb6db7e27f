"""ANSI/NIST-ITL Type-10 records of face templates (P2-FACE-1): exact round trip, read by nistitl, and a record
nistitl writes reads back."""

from __future__ import annotations

import numpy as np
import pytest
from prum.federation.synthetic.face import population, probe
from prum.services.common.errors import InvalidInput
from prum.services.face.ansi_nist import decode_transaction, encode_transaction


@pytest.fixture(scope="module")
def templates():
    rng = np.random.default_rng(10)
    pairs = list(population(rng, 3, "NL-FACE-"))
    return [t for _, t in pairs] + [probe(rng, pairs[0][0], "DE-CCTV-1")]


def same(a, b) -> bool:
    return ((a.reference, a.kind, a.quality, a.width, a.height, a.yaw_degrees)
            == (b.reference, b.kind, b.quality, b.width, b.height, b.yaw_degrees)
            and np.array_equal(a.features, b.features))


def test_round_trip_is_exact_both_ways(templates) -> None:
    data = encode_transaction(templates, tcn="DE-2026-1", date="20261203")
    read = decode_transaction(data)
    assert len(read) == 4 and all(same(a, b) for a, b in zip(templates, read, strict=True))
    assert encode_transaction(read, tcn="DE-2026-1", date="20261203") == data


def test_nistitl_reads_it_and_a_record_it_writes_reads_back(templates) -> None:
    nistitl = pytest.importorskip("nistitl")
    data = encode_transaction(templates[:2], date="20261203")
    message = nistitl.Message()
    message.parse(data)
    assert [record.type for record in message] == [1, 2, 10, 2, 10]
    rewritten = message.NIST  # nistitl's own serialisation of what it parsed
    assert all(same(a, b) for a, b in zip(decode_transaction(rewritten), templates[:2], strict=True))


def test_foreign_and_broken_records_are_refused_saying_why(templates) -> None:
    data = encode_transaction(templates[:1], date="20261203")
    with pytest.raises(InvalidInput, match="no 10.200 face template"):
        start = data.index(b"\x1d10.200:")
        end = data.index(b"\x1d10.999:")
        cut = data[:start] + data[end:]
        head = cut.index(b"10.001:")
        old = cut[head:cut.index(b"\x1d", head)]
        length = int(old.split(b":")[1]) - (end - start)
        length += len(str(length)) - len(old.split(b":")[1])
        decode_transaction(cut.replace(old, b"10.001:" + str(length).encode(), 1))
    with pytest.raises(InvalidInput, match="claims"):
        decode_transaction(data[:-10])
    with pytest.raises(InvalidInput, match="1-49 face templates"):
        encode_transaction([])
