"""The synthetic DNA generator: deterministic, from the frequency table, planted relatives of a known class."""

from __future__ import annotations

import numpy as np
import pytest
from prum.federation.synthetic.dna import (
    CHANGE_CLASS,
    DEFAULT_LOCI,
    DEFAULT_QUERY_MIX,
    FREQUENCIES_PATH,
    LAB_WILDCARD_CODES,
    MIN_TRACE_LOCI,
    PLANTED_CHANGES,
    WILDCARD_INDEX,
    allele_frequencies,
    derive_batch,
    derived_profile,
    query_mix,
    random_batch,
    random_profile,
    synthetic_file,
)
from prum.services.common.reference import ReferenceKind
from prum.services.dna import STR_LOCI, check_inclusion, compare, normalize_profile


def test_frequency_table_is_documented_and_sound():
    text = FREQUENCIES_PATH.read_text(encoding="utf-8")
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Welch et al. 2012" in header and "Hill et al. 2013" in header and "from memory" in header
    assert "locus,allele,frequency" in text
    table = allele_frequencies()
    assert set(DEFAULT_LOCI) <= set(table) <= set(STR_LOCI)
    for locus, (alleles, weights) in table.items():
        assert abs(weights.sum() - 1) < 1e-9 and (weights > 0).all()
        assert len(alleles) >= 5, locus
        for allele in alleles:  # every allele is valid, canonical and not a wildcard at its locus
            assert normalize_profile({locus: [allele]})[locus] == (allele, allele)
    raw = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and not line.startswith("locus,"):
            locus, _, frequency = line.split(",")
            raw[locus] = raw.get(locus, 0.0) + float(frequency)
    assert all(abs(total - 1) < 0.05 for total in raw.values()), raw  # the file itself is near 1 per locus


def test_random_profiles_are_deterministic_for_a_seed():
    first = [random_profile(np.random.default_rng(7)) for _ in range(2)]
    assert first[0] == first[1]
    assert random_profile(np.random.default_rng(8)) != first[0]


def test_person_profiles_have_every_locus_and_pass_inclusion():
    rng = np.random.default_rng(1)
    table = allele_frequencies()
    for _ in range(50):
        profile = random_profile(rng)
        assert list(profile) == [*DEFAULT_LOCI, "AMEL"]
        assert profile["AMEL"] in (["X", "Y"], ["X", "X"])
        for locus in DEFAULT_LOCI:
            assert len(profile[locus]) == 2 and set(profile[locus]) <= set(table[locus][0])
        check_inclusion(profile, ReferenceKind.IDENTIFIED_PERSON)


def test_trace_profiles_may_lose_loci_but_keep_at_least_eight():
    rng = np.random.default_rng(2)
    sizes = set()
    for _ in range(50):
        profile = random_profile(rng, kind=ReferenceKind.UNIDENTIFIED_TRACE)
        loci = [locus for locus in profile if locus != "AMEL"]
        assert 8 <= len(loci) <= len(DEFAULT_LOCI) and loci == [l for l in DEFAULT_LOCI if l in loci]
        check_inclusion(profile, ReferenceKind.UNIDENTIFIED_TRACE)
        sizes.add(len(loci))
    assert len(sizes) > 1  # some drop-out happens


def test_random_profile_takes_other_loci_and_refuses_unknown_ones():
    rng = np.random.default_rng(3)
    profile = random_profile(rng, loci=("vWA", "Penta D", "TPOX"), amelogenin=False)
    assert list(profile) == ["VWA", "PENTA_D", "TPOX"]
    with pytest.raises(ValueError, match="no allele frequencies for FES"):
        random_profile(rng, loci=("VWA", "FES"))


def test_alleles_follow_the_frequencies():
    rng = np.random.default_rng(4)
    draws = [allele for _ in range(2000) for allele in random_profile(rng, loci=("TH01",), amelogenin=False)["TH01"]]
    alleles, weights = allele_frequencies()["TH01"]
    expected = dict(zip(alleles, weights))
    assert abs(draws.count("9.3") / len(draws) - expected["9.3"]) < 0.03
    assert abs(draws.count("6") / len(draws) - expected["6"]) < 0.03


@pytest.mark.parametrize("change", sorted(CHANGE_CLASS))
def test_derived_profiles_give_the_intended_match_class(change):
    rng = np.random.default_rng(sum(map(ord, change)))
    for _ in range(40):
        original = random_profile(rng)
        derived = derived_profile(rng, original, change)
        match = compare(derived, original)
        assert match is not None and match.match_class == CHANGE_CLASS[change], (change, original, derived)
        assert compare(original, derived) == match


def test_what_each_change_does():
    rng = np.random.default_rng(5)
    original = random_profile(rng)
    normalised = normalize_profile(original)
    assert derived_profile(rng, original, "duplicate") == {k: list(v) for k, v in normalised.items()}

    def changed_alleles(derived):
        return [(locus, list(normalised[locus]), derived[locus]) for locus in derived
                if sorted(derived[locus]) != sorted(normalised[locus])]

    [(_, before, after)] = changed_alleles(derived_profile(rng, original, "near"))
    assert len(set(before) ^ set(after)) in (1, 2)
    [(_, _, after)] = changed_alleles(derived_profile(rng, original, "wildcard"))
    assert set(after) & set(LAB_WILDCARD_CODES)
    [(_, before, after)] = changed_alleles(derived_profile(rng, original, "microvariant"))
    assert any("." in allele for allele in before + after)
    trace = derived_profile(rng, original, "trace")
    assert MIN_TRACE_LOCI <= len(trace) <= len(DEFAULT_LOCI) and set(trace) <= set(DEFAULT_LOCI)


def test_derivation_is_deterministic_and_refuses_what_it_cannot_do():
    original = random_profile(np.random.default_rng(6))
    assert derived_profile(np.random.default_rng(1), original, "near") == \
        derived_profile(np.random.default_rng(1), original, "near")
    with pytest.raises(ValueError, match="unknown change 'sibling'"):
        derived_profile(np.random.default_rng(1), original, "sibling")
    six = dict(list(original.items())[:6])
    with pytest.raises(ValueError, match="cannot derive a 'near' relative"):
        derived_profile(np.random.default_rng(1), six, "near")
    with pytest.raises(ValueError, match="cannot derive a 'trace' relative"):
        derived_profile(np.random.default_rng(1), six, "trace")


def test_batches_are_deterministic_fast_and_as_normalize_profile_gives_them():
    first = random_batch(np.random.default_rng(9), 2000, trace_share=0.3, wildcard_rate=0.1)
    second = random_batch(np.random.default_rng(9), 2000, trace_share=0.3, wildcard_rate=0.1)
    assert np.array_equal(first.alleles, second.alleles) and np.array_equal(first.traces, second.traces)
    for i in range(0, 2000, 97):
        profile = first.normalised(i)
        assert normalize_profile(first.lab(i)) == profile
        check_inclusion(profile, first.kind(i))
    designated = first.designated_counts()
    assert designated[~first.traces].min() >= 15 and designated[first.traces].min() >= 7
    assert 0.25 < first.traces.mean() < 0.35
    assert 0.05 < (first.alleles[:, :, 1] == WILDCARD_INDEX).any(axis=1).mean() < 0.15


@pytest.mark.parametrize("change", PLANTED_CHANGES)
def test_bulk_relatives_give_their_class(change):
    rng = np.random.default_rng(sum(map(ord, change)))
    sources = random_batch(rng, 300)
    relatives = derive_batch(rng, sources, change)
    for i in range(300):
        match = compare(relatives.normalised(i), sources.normalised(i))
        assert match is not None and match.match_class == CHANGE_CLASS[change], (change, i)


def test_query_mix_rates_and_expected_classes():
    rng = np.random.default_rng(12)
    file = synthetic_file(rng, 3000)
    mix = query_mix(rng, file, 1000)
    counts = {change: mix.changes.count(change) for change in DEFAULT_QUERY_MIX}
    assert counts == {change: round(rate * 1000) for change, rate in DEFAULT_QUERY_MIX.items()}
    for i in range(0, 1000, 7):
        if mix.sources[i] >= 0:
            match = compare(mix.batch.normalised(i), file.normalised(int(mix.sources[i])))
            assert match is not None and match.match_class == mix.expected[i]
        else:
            assert mix.expected[i] == ""
    with pytest.raises(ValueError, match="unknown recipes"):
        query_mix(rng, file, 10, {"cousin": 1.0})


def test_synthetic_file_plants_duplicates():
    file = synthetic_file(np.random.default_rng(4), 5000, duplicate_rate=0.02)
    rows = {file.alleles[i].tobytes() for i in range(5000)}
    assert 5000 - len(rows) >= 90  # about 100 planted copies (random ones are practically never equal)
