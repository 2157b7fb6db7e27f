"""The exact candidate indexes: the same hits as a brute-force `compare` over every profile.

Every test runs against the reference pair index (`LocusPairIndex`) and the production block index
(`BlockIndex`), which must agree with `compare` exactly."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prum.federation.synthetic.dna import random_profile
from prum.services.dna import (
    LOCUS_GROUPS,
    STR_LOCI,
    LocusPairIndex,
    allele_neighbours,
    compare,
    normalize_profile,
)
from prum.services.dna.block_index import BlockIndex
from prum.services.dna.index import PAIRS, profile_keys, query_keys



class ListedBlockIndex(BlockIndex):
    """Every designated-locus set listed and every query with a missing locus reading the list: the
    wide-signature filter (`kernels.wide_passes`) alone decides which rows of the file are checked."""

    LISTED_SHARE = 2.0
    LISTED_MISSING = 0


INDEXES = [LocusPairIndex, BlockIndex, ListedBlockIndex]

# Loci from all 5 groups, two of them pentanucleotide; small alphabets full of microvariant neighbours,
# so that near, wildcard and microvariant hits are frequent.
LOCI = ("D3S1358", "VWA", "D16S539", "D8S1179", "D21S11", "TH01", "FGA", "D1S1656", "PENTA_D",
        "D10S1248", "PENTA_E")
TETRA = ("8", "8.3", "9", "9.1", "9.2", "9.3", "10", "11")
PENTA = ("8", "8.4", "9", "9.3", "9.4", "10", "11")
CODES = ("OL", "na")


def alphabet(locus: str) -> tuple[str, ...]:
    return PENTA if locus.startswith("PENTA") else TETRA


def test_groups_partition_every_comparable_locus():
    assert len(LOCUS_GROUPS) == 5
    assert sorted(locus for group in LOCUS_GROUPS for locus in group) == sorted(STR_LOCI)
    assert len(PAIRS) == sum(len(g) * (len(g) - 1) // 2 for g in LOCUS_GROUPS)


def test_a_common_16_locus_profile_has_18_keys():
    profile = normalize_profile(random_profile(np.random.default_rng(0)))
    assert len([locus for locus in profile if locus != "AMEL"]) == 16
    assert len(profile_keys(profile)) == 18
    wildcarded = normalize_profile({**profile, "VWA": ("17", "OL")})
    assert len(profile_keys(wildcarded)) == 18 - 3  # VWA shares a group with 3 others: its 3 pairs go


@pytest.mark.parametrize("make", INDEXES)
def test_a_hit_spread_over_all_groups_with_a_near_locus_and_wildcards_is_found(make):
    stored = {"D3S1358": ["15", "16"], "VWA": ["9", "17"], "D8S1179": ["13", "14"], "TH01": ["6", "9.3"],
              "D1S1656": ["12", "15.3"], "D10S1248": ["13", "14"], "FGA": ["21", "22"], "D21S11": ["29", "30"],
              "D16S539": ["11", "12"]}
    # 6 counting loci: D3S1358 and VWA (one group, both through microvariants), one in each other group;
    # FGA differs by one allele (near), D21S11 and D16S539 carry wildcards.
    query = {"D3S1358": ["15", "15.3"], "VWA": ["9.1", "17"], "D8S1179": ["13", "14"], "TH01": ["6", "10"],
             "D1S1656": ["12", "15.3"], "D10S1248": ["13", "14"], "FGA": ["21", "23"], "D21S11": ["29", "OL"],
             "D16S539": ["OL", "OL"]}
    index = make()
    index.add(7, stored)
    match = compare(query, stored)
    assert match is not None and match.match_class == "near" and match.loci_matched == 6
    assert index.search(query) == [(7, match)] == index.scan(query)


@pytest.mark.parametrize("make", INDEXES)
def test_remove_takes_a_profile_out_of_every_key(make):
    rng = np.random.default_rng(5)
    index = make()
    profiles = [random_profile(rng) for _ in range(30)]
    for row, profile in enumerate(profiles):
        index.add(row, profile)
    with pytest.raises(KeyError):
        index.add(0, profiles[0])
    assert [row for row, _ in index.search(profiles[3])] == [3]
    removed = index.remove(3)
    assert removed == normalize_profile(profiles[3])
    assert index.search(profiles[3]) == [] and 3 not in index and len(index) == 29
    for row in list(index):
        index.remove(row)
    assert len(index) == 0 and index.key_count == 0


def _mutate(rng: np.random.Generator, profile: dict[str, tuple[str, str]], rate: float) -> dict[str, list[str]]:
    """A relative: per locus, sometimes an allele becomes another value, a neighbour or a wildcard, or the
    locus is dropped."""
    out: dict[str, list[str]] = {}
    for locus, alleles in profile.items():
        values = list(alleles)
        roll = rng.random()
        if roll < rate * 0.3:
            continue
        if roll < rate:
            position = int(rng.integers(2))
            values[position] = str(rng.choice(alphabet(locus) + CODES))
        out[locus] = values
    return out


def _random_profile(rng: np.random.Generator) -> dict[str, list[str]]:
    loci = rng.choice(LOCI, size=int(rng.integers(5, len(LOCI) + 1)), replace=False)
    return {str(locus): [str(rng.choice(alphabet(str(locus)))) for _ in range(2)] for locus in loci}


@pytest.mark.parametrize("make", INDEXES)
def test_index_equals_brute_force_on_a_dense_random_file(make):
    rng = np.random.default_rng(2024)
    founders = [normalize_profile(_random_profile(rng)) for _ in range(12)]
    index = make()
    for row in range(400):
        founder = founders[int(rng.integers(len(founders)))]
        index.add(row, _mutate(rng, founder, rate=float(rng.choice([0.0, 0.1, 0.3]))) if row % 10 else
                  _random_profile(rng))
    classes: Counter[str] = Counter()
    for _ in range(150):
        query = _mutate(rng, founders[int(rng.integers(len(founders)))], rate=float(rng.choice([0.0, 0.1, 0.3])))
        found = index.search(query)
        assert found == index.scan(query)
        assert len(index.candidates(query)) >= len(found)
        classes.update(match.match_class for _, match in found)
    assert set(classes) == {"full", "wildcard", "microvariant", "near"}, classes


def _allele(locus: str):
    return st.sampled_from(alphabet(locus) * 5 + CODES)  # wildcard codes about one time in 20


@st.composite
def lab_profiles(draw) -> dict[str, list[str]]:
    loci = draw(st.lists(st.sampled_from(LOCI), min_size=7, max_size=len(LOCI), unique=True))
    return {locus: [draw(_allele(locus)), draw(_allele(locus))] for locus in loci}


@st.composite
def relatives(draw, base: dict[str, list[str]]) -> dict[str, list[str]]:
    """A profile close to `base`: each locus mostly kept; else one allele becomes a DNA-7 neighbour, any
    value or a wildcard, or the locus is dropped."""
    out = {}
    for locus, alleles in base.items():
        action = draw(st.sampled_from(("keep",) * 8 + ("neighbour", "other", "wildcard", "drop")))
        if action == "drop":
            continue
        values = list(alleles)
        position = draw(st.integers(0, 1))
        if action == "neighbour":
            canonical = normalize_profile({locus: values})[locus][position]
            values[position] = draw(st.sampled_from(sorted(allele_neighbours(locus, canonical))))
        elif action == "other":
            values[position] = draw(st.sampled_from(alphabet(locus)))
        elif action == "wildcard":
            values[position] = draw(st.sampled_from(CODES))
        out[locus] = values
    return out


@st.composite
def files_and_queries(draw):
    founders = draw(st.lists(lab_profiles(), min_size=1, max_size=3))
    relative = st.sampled_from(founders).flatmap(relatives)
    file = draw(st.lists(st.one_of(relative, relative, relative, lab_profiles()), min_size=1, max_size=25))
    query = draw(st.one_of(st.sampled_from(founders).flatmap(relatives), st.sampled_from(file), lab_profiles()))
    return file, query


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(files_and_queries())
def test_index_returns_exactly_the_brute_force_hits(file_and_query):
    file, query = file_and_query
    expected = [(row, match) for row, profile in enumerate(file) if (match := compare(query, profile)) is not None]
    for make in INDEXES:
        index = make()
        index.add_many(enumerate(file))
        assert index.search(query) == expected, make.__name__
    shared = query_keys(normalize_profile(query))
    for row, _ in expected:  # the pigeonhole claim itself: every hit shares a key with the query
        assert shared & set(profile_keys(normalize_profile(file[row])))


@st.composite
def tight_hits(draw):
    """A query and a candidate at the edge of the pigeonhole argument: exactly 6 counting loci, two in one
    group and one in each other group, matched exactly or through DNA-7 neighbours; around them a near
    locus, wildcard loci and loci only one side has. Sometimes one counting locus is spoiled, leaving 5."""
    pair_group = draw(st.integers(0, len(LOCUS_GROUPS) - 1))
    counting = list(draw(st.lists(st.sampled_from(LOCUS_GROUPS[pair_group]), min_size=2, max_size=2, unique=True)))
    counting += [draw(st.sampled_from(group)) for number, group in enumerate(LOCUS_GROUPS) if number != pair_group]
    others = [locus for locus in STR_LOCI if locus not in counting]
    query: dict[str, list[str]] = {}
    candidate: dict[str, list[str]] = {}
    repeats = st.integers(5, 30).map(str)
    for locus in counting:
        alleles = [draw(repeats), draw(repeats)]
        if draw(st.booleans()):
            alleles[0] += draw(st.sampled_from([".1", ".2", ".3"]))
        query[locus] = alleles
        relatives = [draw(st.sampled_from(sorted(allele_neighbours(locus, normalize_profile({locus: [a]})[locus][0]))))
                     for a in alleles]
        candidate[locus] = relatives[::-1] if draw(st.booleans()) else relatives
    extra = draw(st.lists(st.sampled_from(others), max_size=6, unique=True))
    for number, locus in enumerate(extra):
        a, b = draw(repeats), draw(repeats)
        kind = draw(st.sampled_from(("near", "wildcard_query", "wildcard_candidate", "query_only", "candidate_only")))
        if kind == "near" and number == 0:
            query[locus], candidate[locus] = [a, b], [a, str(int(b) + 3)]
        elif kind == "wildcard_query":
            query[locus], candidate[locus] = [a, "OL"], [a, b]
        elif kind == "wildcard_candidate":
            query[locus], candidate[locus] = [a, b], ["na", "na"]
        elif kind == "query_only":
            query[locus] = [a, b]
        else:
            candidate[locus] = [a, b]
    spoiled = draw(st.booleans()) and draw(st.booleans())
    if spoiled:
        query[draw(st.sampled_from(counting))][1] = "OL"
    return query, candidate, spoiled


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tight_hits(), st.lists(lab_profiles(), max_size=5))
def test_index_finds_hits_at_the_edge_of_the_pigeonhole_argument(tight, noise):
    query, candidate, spoiled = tight
    file = [*noise, candidate]
    expected = [(row, match) for row, profile in enumerate(file) if (match := compare(query, profile)) is not None]
    for make in INDEXES:
        index = make()
        index.add_many(enumerate(file))
        assert index.search(query) == expected, make.__name__
    planted = compare(query, candidate)
    assert (planted is None) == spoiled
    assert planted is None or planted.loci_matched == 6


@pytest.mark.parametrize("make", INDEXES)
def test_candidates_are_a_small_share_of_a_realistic_file(make):
    rng = np.random.default_rng(11)
    index = make()
    index.add_many((row, random_profile(rng)) for row in range(3000))
    shares = [len(index.candidates(random_profile(rng))) / len(index) for _ in range(20)]
    assert float(np.mean(shares)) < 0.15, shares


def test_a_thin_query_reads_the_listed_sets_and_their_rows_added_or_removed_since():
    """A query missing loci reads the small sets through their wide signatures: rows listed at the last
    merge, rows added since (not yet listed), and never a row removed since."""
    rng = np.random.default_rng(8)
    founders = [_random_profile(rng) for _ in range(6)]
    file = [_mutate(rng, founders[int(rng.integers(6))], rate=0.3) for _ in range(300)]
    index = ListedBlockIndex()
    index.add_many(enumerate(file[:200]))
    assert index._listed.all() and len(index._set_rows) == 200
    for row in range(200, 300):
        index.add(row, file[row])
    for row in range(0, 300, 9):
        index.remove(row)
    live = {row: profile for row, profile in enumerate(file) if row % 9}
    checked = 0
    for _ in range(120):
        query = _mutate(rng, founders[int(rng.integers(6))], rate=0.3)
        expected = [(row, match) for row, profile in live.items() if (match := compare(query, profile)) is not None]
        assert index.search(query) == expected
        checked += len(expected)
    assert checked > 50
