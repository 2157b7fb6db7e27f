"""Profiles as codes: the vectorised and compiled rule checks give exactly `compare`'s matches."""

from __future__ import annotations

import numpy as np
import pytest

from prum.federation.synthetic.dna import random_profile, synthetic_file
from prum.services.dna import compare, normalize_profile
from prum.services.dna import kernels
from prum.services.dna.encoding import ProfileMatrix, match_row, scan_rows, screen
from prum.services.dna.matching import MATCH_CLASSES

from test_dna_compare import CASES


@pytest.mark.parametrize("case, query, candidate, match_class, compared, matched", CASES, ids=[c[0] for c in CASES])
def test_match_row_is_compare(case, query, candidate, match_class, compared, matched):
    matrix = ProfileMatrix()
    matrix.put(3, normalize_profile(candidate))
    encoded = matrix.encode_query(normalize_profile(query))
    assert match_row(encoded, matrix.codes[3].tolist()) == compare(query, candidate)
    passed = screen(matrix, encoded, np.array([3]))
    assert (3 in passed.tolist()) >= (compare(query, candidate) is not None)  # a superset of the hits
    if kernels.AVAILABLE:
        cols = 2 * encoded.cols
        wild = np.array([w for *_, w, _ in encoded.scalar], dtype=bool)
        hit = kernels.screen(matrix.codes, np.array([3]), cols, encoded.table, encoded.width, wild, 6)
        assert (3 in hit.tolist()) == (compare(query, candidate) is not None)
        out = np.full(5, -9, np.int64)
        if kernels.classify(matrix.codes, 3, cols, encoded.table, encoded.width, wild, 6, out):
            expected = compare(query, candidate)
            assert (MATCH_CLASSES[out[0]], out[1], out[2], out[3]) == (
                expected.match_class, expected.loci_compared, expected.loci_matched, expected.loci_wildcard)


def test_a_query_value_the_file_never_saw_matches_through_its_neighbours_and_is_not_kept():
    matrix = ProfileMatrix()
    stored = normalize_profile({"TH01": ["6", "10"], "VWA": ["14", "17"], "FGA": ["20", "23"], "D3S1358": ["15", "18"],
                                "D8S1179": ["10", "13"], "D21S11": ["28", "30"], "D18S51": ["12", "16"]})
    matrix.put(1, stored)
    before = matrix.book.to_json()
    query = normalize_profile({**stored, "TH01": ["6", "10.1"], "VWA": ["14", "21"]})  # 10.1 and 21: never stored
    encoded = matrix.encode_query(query)
    assert match_row(encoded, matrix.codes[1].tolist()) == compare(query, stored)
    assert compare(query, stored).match_class == "near"
    assert matrix.book.to_json() == before  # PUR-2: the query's values are not added to the codebook


def test_columns_many_and_state_round_trip_agree():
    rng = np.random.default_rng(3)
    batch = synthetic_file(rng, 300)
    by_columns = ProfileMatrix(capacity=301)
    by_columns.put_columns(np.arange(1, 301), batch.columns())
    one_by_one = ProfileMatrix()
    one_by_one.put_many(list(range(1, 301)), [batch.normalised(i) for i in range(300)])
    restored = ProfileMatrix.from_state(by_columns.state())
    for row in (1, 77, 300):
        assert by_columns.profile(row) == one_by_one.profile(row) == restored.profile(row) == batch.normalised(row - 1)
    query = normalize_profile(random_profile(rng))
    for matrix in (by_columns, one_by_one, restored):
        expected = [(row, m) for row in range(1, 301) if (m := compare(query, matrix.profile(row))) is not None]
        assert scan_rows(matrix, matrix.encode_query(query)) == expected
    assert by_columns.nbytes() / 301 == 2 * 17 + 4 + 1  # 16 loci + amelogenin at 2 bytes, a mask, a flag


def test_removed_rows_are_not_live_and_cannot_be_stored_twice():
    matrix = ProfileMatrix()
    profile = normalize_profile(random_profile(np.random.default_rng(1)))
    matrix.put(5, profile)
    with pytest.raises(KeyError):
        matrix.put(5, profile)
    matrix.remove(5)
    assert not matrix.live[5] and matrix.count == 0
    with pytest.raises(KeyError):
        matrix.remove(5)
