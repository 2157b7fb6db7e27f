"""The block index: every case of its plan, the compiled and numpy paths, growth, snapshots, size."""

from __future__ import annotations

import inspect
from collections import Counter

import numpy as np
import pytest
from prum.federation.synthetic.dna import (
    DEFAULT_LOCI,
    build_index,
    derived_profile,
    query_mix,
    random_profile,
    synthetic_file,
)
from prum.services.dna import compare, kernels
from prum.services.dna.block_index import BLOCKS, PARTITIONS, BlockIndex, genotype_hashes
from prum.services.dna.encoding import N_STR
from prum.services.dna.index import LOCUS_GROUPS
from prum.services.dna.loci import STR_LOCI


def brute(index: BlockIndex, query) -> list:
    return [(row, m) for row in index if (m := compare(query, index.profile(row))) is not None]


@pytest.fixture(scope="module")
def realistic():
    rng = np.random.default_rng(21)
    batch = synthetic_file(rng, 3000)
    return batch, build_index(batch), query_mix(rng, batch, 400)


def test_partitions_cover_every_comparable_locus_and_spread_the_common_kit():
    assert PARTITIONS == (BLOCKS, LOCUS_GROUPS)
    for partition in PARTITIONS:
        assert sorted(locus for block in partition for locus in block) == sorted(STR_LOCI)
    assert sorted(sum(locus in block for locus in DEFAULT_LOCI) for block in BLOCKS) == [5, 5, 6]


def test_a_realistic_mix_finds_exactly_the_brute_force_hits_and_every_planted_source(realistic):
    batch, index, mix = realistic
    found = Counter()
    for i in range(len(mix.batch)):
        query = mix.batch.normalised(i)
        hits = index.search(query)
        assert hits == index.scan_numpy(query)
        if i % 8 == 0:
            assert hits == brute(index, query)
        if mix.sources[i] >= 0:
            assert (int(mix.sources[i]), mix.expected[i]) in [(row, m.match_class) for row, m in hits]
            found[mix.expected[i]] += 1
    assert set(found) == {"full", "near", "wildcard", "microvariant"}


def test_kernel_groups_name_the_index_arrays(realistic):
    """The index builds the kernels' argument groups as plain tuples, field by field in order: named,
    each field is the array or number it should be."""
    from prum.services.dna.block_index import (
        _BLOCK_LEVEL,
        _HIGH,
        _LOCUS_SALT,
        _LOW,
        _SIGNATURE_SLOT,
        _SPEC_CAP,
    )
    from prum.services.dna.encoding import AMEL_INDEX

    _, index, _ = realistic
    matrix, registry = index.matrix, index._registry_now()
    tables = matrix.tables()
    encoding = kernels.Encoding(*index._kernel_encoding(tables))
    assert (encoding.col is matrix.col and encoding.score is tables.table and encoding.sizes is tables.sizes
            and encoding.present is matrix.genotype_grid and encoding.salt is _LOCUS_SALT
            and encoding.low is _LOW and encoding.high is _HIGH)
    assert (encoding.loci, encoding.amelogenin) == (N_STR, AMEL_INDEX)
    sets = kernels.Sets(*registry.sets)
    assert (sets.masks is registry.masks64 and sets.value_ids is registry.value_ids
            and sets.value_mask is registry.value_mask and sets.value_salt is registry.value_salt
            and sets.value_rows is registry.value_rows and sets.block_level is _BLOCK_LEVEL
            and sets.set_count is registry.set_count)
    assert (sets.levels, sets.union, sets.small) == (len(PARTITIONS), registry.union, index.SMALL_SET)
    directory = kernels.Directory(*index._kernel_directory())
    assert (directory.offsets is index._offsets and directory.fingerprints is index._fingerprints
            and directory.rows is index._rows and directory.signatures is index._signatures
            and directory.delta_keys is index._delta_keys and directory.delta_rows is index._delta_rows
            and directory.delta_signatures is index._delta_signatures and directory.slot is _SIGNATURE_SLOT)
    assert (directory.capacity, directory.bits) == (_SPEC_CAP * 16, index._bucket_bits)
    assert directory.present_offsets[-1] == len(directory.present_hashes)
    stored = kernels.Stored(*index._kernel_stored())
    assert stored.codes is matrix.codes and stored.live is matrix.live and stored.row_set is index._row_mask
    lists = kernels.Lists(*index._kernel_lists())
    assert (lists.set_bounds is index._set_bounds and lists.set_rows is index._set_rows
            and lists.listed is index._listed and lists.listed_wide is index._listed_wide
            and lists.listed_planes is index._listed_planes)
    assert (lists.common, lists.thin) == (index._common, index.LISTED_MISSING)
    assert len(kernels.Plan._fields) == len(index._compiled_plan(registry, registry.union))
    # and the kernels' parameters follow the same groups, in the same order
    def parameters(kernel):
        return list(inspect.signature(getattr(kernel, "py_func", kernel)).parameters)

    assert parameters(kernels.search_profile) == [
        "query", "extra", *kernels.Encoding._fields, *kernels.Sets._fields,
        *(f"full_{name}" for name in kernels.Plan._fields), "cached_usable",
        *(f"cached_{name}" for name in kernels.Plan._fields), *kernels.Directory._fields, *kernels.Stored._fields,
        *kernels.Lists._fields, "min_loci"]
    assert parameters(kernels.plan)[:len(kernels.Sets._fields)] == list(kernels.Sets._fields)


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
def test_compiled_and_numpy_paths_agree(realistic):
    batch, index, mix = realistic
    try:
        for i in range(0, len(mix.batch), 2):
            query = mix.batch.normalised(i)
            index.compiled = True
            fast = index.search(query)
            assert index.search(index.encode(query)) == fast  # from codes in one call, and from an EncodedQuery
            index.compiled = False
            assert fast == index.search(query)
    finally:
        index.compiled = True


def test_every_case_of_the_plan_is_reached_and_exact():
    rng = np.random.default_rng(5)
    persons = [random_profile(rng) for _ in range(300)]
    index = BlockIndex()
    index.add_many(enumerate(persons))
    donor = persons[17]
    full = index.explain(donor)
    assert full["exact_specs"] and not full["enumerated_specs"] and not full["scanned_sets"]
    # one locus missing: two big blocks are still clean, nothing to enumerate
    one_gone = {k: v for k, v in donor.items() if k != "SE33"}
    assert not index.explain(one_gone)["enumerated_specs"]
    # one locus missing in each of two big blocks: one clean, one enumerated
    two_gone = {k: v for k, v in donor.items() if k not in ("SE33", "D1S1656")}
    assert index.explain(two_gone)["enumerated_specs"] and not index.explain(two_gone)["scanned_sets"]
    # a 7-locus trace spread thinly over the blocks: the last resort, a scan of the matching sets
    thin = {k: donor[k] for k in ("SE33", "FGA", "D1S1656", "D18S51", "D2S1338", "D12S391", "VWA")}
    assert index.explain(thin)["scanned_sets"]
    for query in (donor, one_gone, two_gone, thin, derived_profile(rng, donor, "near"),
                  derived_profile(rng, donor, "trace")):
        assert index.search(query) == brute(index, query)
        assert 17 in [row for row, _ in index.search(query)]


def test_growth_through_the_delta_and_merges_removal_and_rebuild():
    rng = np.random.default_rng(8)
    index = BlockIndex()
    index.DELTA_LIMIT = 64  # merge often
    profiles = [random_profile(rng, kind="unidentified_trace" if i % 3 else "identified_person") for i in range(400)]
    for row, profile in enumerate(profiles):
        index.add(row, profile)
    assert len(index) == 400 and index.key_count >= 400 * 4
    for row in range(0, 400, 7):
        index.remove(row)
    for row in (3, 8, 398):
        query = profiles[row]
        assert index.search(query) == brute(index, query)
        assert row in [r for r, _ in index.search(query)]
    assert index.search(profiles[7]) == brute(index, profiles[7]) and 7 not in [r for r, _ in index.search(profiles[7])]
    before = [index.search(p) for p in profiles[:20]]
    index.rebuild()
    assert [index.search(p) for p in profiles[:20]] == before


def test_state_round_trip(realistic):
    batch, index, mix = realistic
    restored = BlockIndex.from_state(index.matrix.__class__.from_state(index.matrix.state()), index.state())
    for i in range(60):
        query = mix.batch.normalised(i)
        assert restored.search(query) == index.search(query)


def test_memory_per_profile_is_small(realistic):
    batch, index, _ = realistic
    assert sum(index.nbytes().values()) / len(batch) < 150


def test_queries_leave_nothing_in_the_index(realistic):
    """PUR-2: searching adds no code, key, row or designated set."""
    batch, index, mix = realistic
    before = (index.matrix.book.to_json(), index.key_count, index.designated_sets, len(index))
    for i in range(40):
        index.search(mix.batch.normalised(i))
    assert (index.matrix.book.to_json(), index.key_count, index.designated_sets, len(index)) == before


def test_a_thin_trace_against_a_big_set_probes_blocks_instead_of_checking_the_set():
    """A 7-locus trace leaves no partition with two usable blocks of a full 16-locus profile; the compiled
    plan then takes two blocks of any partitions sharing no query locus, enumerating up to two missing
    loci, rather than checking the big set row by row. Exact either way."""
    rng = np.random.default_rng(12)
    # few alleles a locus, so that enumerating two loci (a few genotypes each) is cheaper than the set
    persons = [{locus: sorted(rng.choice(["10", "11", "12", "13"], size=2).tolist(), key=int) for locus in DEFAULT_LOCI}
               for _ in range(1200)]
    index = BlockIndex()
    index.add_many(enumerate(persons))
    donor = persons[17]
    thin = {k: donor[k] for k in ("SE33", "FGA", "D1S1656", "D18S51", "D2S1338", "D12S391", "VWA")}
    for query in (thin, derived_profile(rng, thin, "near"), derived_profile(rng, thin, "wildcard"),
                  derived_profile(rng, thin, "microvariant")):
        hits = index.search(query)
        assert hits == brute(index, query)
        assert 17 in [row for row, _ in hits]
    if kernels.AVAILABLE and len(index) >= kernels.BIG_SET:
        assert len(index.candidates(thin)) < len(index) // 4


def test_the_probe_sorts_many_rows_like_numpy():
    rng = np.random.default_rng(4)
    for size, top in ((5, 100), (3000, 1 << 20), (20_000, 1 << 31), (4096, 1)):
        rows = rng.integers(0, top, size=size)
        assert kernels._sort_rows(rows).tolist() == np.sort(rows).tolist()


@pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed")
def test_plans_of_queries_with_missing_loci_are_kept_and_give_the_same_hits(realistic):
    batch, index, mix = realistic
    stains = [mix.batch.normalised(i) for i in range(len(mix.batch)) if mix.changes[i] in ("stain", "trace")][:40]
    first = [index.search(query) for query in stains]
    assert index._registry_now().plans  # plans made for these queries are kept, by usable loci
    assert [index.search(query) for query in stains] == first  # now from the kept plans
    index.compiled = False
    try:
        assert [index.search(query) for query in stains] == first
    finally:
        index.compiled = True


def test_row_signatures_drop_rows_without_reading_them_and_lose_no_hit(realistic):
    """Each key entry carries its row's 2-bit code at the 16 common loci: the probe drops a row whose
    codes show two loci matching none of the query's genotypes, or too few loci that can count. The
    compiled and numpy filters are the same, and every hit still comes out."""
    from prum.services.dna.block_index import _SIGNATURE_SLOT, _passing, _query_filter
    from prum.services.dna.profile import MIN_DESIGNATED_LOCI

    batch, index, mix = realistic
    dropped = 0
    for i in range(0, len(mix.batch), 3):
        query = mix.batch.normalised(i)
        encoded = index.encode(query)
        hashes = {locus: genotype_hashes(locus, found) for locus, found in encoded.genotypes.items() if found}
        usable = encoded.usable
        qfilter = _query_filter(encoded.designated, usable, hashes)
        if kernels.AVAILABLE:
            width = max((len(v) for v in hashes.values()), default=1)
            qhash = np.zeros((N_STR, width), dtype=np.int64)
            qcount = np.zeros(N_STR, dtype=np.int64)
            for locus, values in hashes.items():
                qhash[locus, :len(values)] = values
                qcount[locus] = len(values)
            assert kernels.query_filter(qhash, qcount, encoded.designated, usable, _SIGNATURE_SLOT,
                                        MIN_DESIGNATED_LOCI).tolist()[:len(qfilter)] == qfilter.tolist()
            sample = index._signatures[:500]
            assert _passing(sample, qfilter).tolist() == [kernels.passes(int(s), qfilter) for s in sample]
        hits = {row for row, _ in index.search(query)}
        passing = set(np.flatnonzero(_passing(index._row_signatures(np.arange(len(index))), qfilter)).tolist())
        assert hits <= passing
        dropped += len(index) - len(passing)
    assert dropped > 0.5 * len(index) * len(range(0, len(mix.batch), 3))


def test_a_snapshot_without_signatures_is_still_read(realistic):
    batch, index, mix = realistic
    state = dict(index.state())
    del state["signatures"]
    restored = BlockIndex.from_state(index.matrix.__class__.from_state(index.matrix.state()), state)
    assert restored._signatures.tolist() == index._signatures.tolist()
    for i in range(40):
        query = mix.batch.normalised(i)
        assert restored.search(query) == index.search(query)
