"""Matching rules (DNA-6..DNA-9): table-driven, with the expected match class."""

from __future__ import annotations

import pytest

from prum.services.dna import MICROVARIANT_NEIGHBOURS, Match, allele_neighbours, compare, normalize_profile
from prum.services.dna.matching import (
    CLASS_FULL,
    CLASS_MICROVARIANT,
    CLASS_NEAR,
    CLASS_WILDCARD,
    MATCH_CLASSES,
    NO_HIT,
    match_class_code,
)

# 8 loci, heterozygous everywhere, no microvariant and no allele within one repeat of another at a locus.
BASE = {
    "VWA": ["14", "17"], "TH01": ["6", "9"], "D21S11": ["28", "30"], "FGA": ["20", "23"],
    "D8S1179": ["10", "13"], "D3S1358": ["15", "18"], "D18S51": ["12", "16"], "PENTA_D": ["9", "12"],
    "AMEL": ["X", "Y"],
}


def variant(base=BASE, drop=(), **changes):
    """`base` with some loci replaced (locus=[alleles]) and some dropped."""
    profile = {locus: list(alleles) for locus, alleles in base.items() if locus not in drop}
    profile.update({locus: list(alleles) for locus, alleles in changes.items()})
    return profile


# (case, query, candidate, expected class or None, loci compared, loci matched)
CASES = [
    ("identical", BASE, BASE, "full", 8, 8),
    ("amelogenin is never compared", variant(AMEL=["X", "X"]), BASE, "full", 8, 8),
    ("amelogenin wildcard is not a wildcard match", variant(AMEL=["X", "OL"]), BASE, "full", 8, 8),
    ("only shared loci are compared", variant(SE33=["17", "28.2"]), variant(drop=("VWA",)), "full", 7, 7),
    ("allele order as entered does not matter", variant(VWA=["17", "14"]), BASE, "full", 8, 8),
    # DNA-6: 12,* matches 12,14 and 9,12 (both permutations)
    ("wildcard second, other allele first", variant(D18S51=["12", "OL"]), BASE, "wildcard", 8, 7),
    ("wildcard second, other allele second", variant(D18S51=["16", "na"]), BASE, "wildcard", 8, 7),
    ("wildcard on the candidate side", BASE, variant(D18S51=["12", "99"]), "wildcard", 8, 7),
    ("wildcard on both sides", variant(D18S51=["12", "OL"]), variant(D18S51=["OL", "16"]), "wildcard", 8, 7),
    ("double wildcard matches anything", variant(D18S51=["OL", "f"]), BASE, "wildcard", 8, 7),
    ("wildcard with the other allele different: near", variant(D18S51=["11", "OL"]), BASE, "near", 8, 7),
    ("wildcard pairs with a homozygote", variant(D18S51=["12", "OL"]), variant(D18S51=["12"]), "wildcard", 8, 7),
    # DNA-7, 4-base loci: x.1 ~ {x, x.1, x.2}; x.2 ~ {x.1, x.2, x.3}; x.3 ~ {x.2, x.3, x+1}
    ("x.1 ~ x", variant(TH01=["6", "9.1"]), BASE, "microvariant", 8, 8),
    ("x ~ x.1 (symmetric)", BASE, variant(TH01=["6", "9.1"]), "microvariant", 8, 8),
    ("x.1 ~ x.2", variant(TH01=["6", "9.1"]), variant(TH01=["6", "9.2"]), "microvariant", 8, 8),
    ("x.2 ~ x.3", variant(TH01=["6", "9.2"]), variant(TH01=["6", "9.3"]), "microvariant", 8, 8),
    ("x.3 ~ x+1", variant(TH01=["6", "9.3"]), variant(TH01=["6", "10"]), "microvariant", 8, 8),
    ("x+1 ~ x.3 (symmetric)", variant(TH01=["6", "10"]), variant(TH01=["6", "9.3"]), "microvariant", 8, 8),
    ("x.3 = x.3 is full", variant(TH01=["6", "9.3"]), variant(TH01=["6", "9.3"]), "full", 8, 8),
    ("x.1 !~ x.3", variant(TH01=["6", "9.1"]), variant(TH01=["6", "9.3"]), "near", 8, 7),
    ("x.3 !~ x", variant(TH01=["6", "9.3"]), variant(TH01=["6", "9"]), "near", 8, 7),
    ("x.2 !~ x", variant(TH01=["6", "9.2"]), BASE, "near", 8, 7),
    ("x.1 !~ x+1", variant(TH01=["6", "9.1"]), variant(TH01=["6", "10"]), "near", 8, 7),
    ("x !~ x+1", variant(TH01=["6", "10"]), BASE, "near", 8, 7),
    # DNA-7, pentanucleotide: x.3 ~ {x.2, x.3, x.4}; x.4 ~ {x.3, x.4, x+1}
    ("penta x.3 ~ x.4", variant(PENTA_D=["9.3", "12"]), variant(PENTA_D=["9.4", "12"]), "microvariant", 8, 8),
    ("penta x.4 ~ x+1", variant(PENTA_D=["9.4", "12"]), variant(PENTA_D=["10", "12"]), "microvariant", 8, 8),
    ("penta x.1 ~ x", variant(PENTA_D=["9.1", "12"]), BASE, "microvariant", 8, 8),
    ("penta x.3 !~ x+1", variant(PENTA_D=["9.3", "12"]), variant(PENTA_D=["10", "12"]), "near", 8, 7),
    # DNA-9: near = exactly one compared allele differs; two or more: no hit
    ("one allele differs", variant(FGA=["20", "24"]), BASE, "near", 8, 7),
    ("homozygote against heterozygote: one allele differs", variant(FGA=["20"]), BASE, "near", 8, 7),
    ("two alleles differ at one locus", variant(FGA=["21", "24"]), BASE, None, 0, 0),
    ("two alleles differ at two loci", variant(FGA=["20", "24"], VWA=["14", "18"]), BASE, None, 0, 0),
    ("homozygotes of different values", variant(FGA=["21"]), variant(FGA=["24"]), None, 0, 0),
    # DNA-8: at least 6 fully designated matching loci; so a near match needs 7 compared loci
    ("six loci, all equal", variant(drop=("D18S51", "PENTA_D")), BASE, "full", 6, 6),
    ("six loci, one through a microvariant: it counts",
     variant(drop=("D18S51", "PENTA_D"), TH01=["6", "9.1"]), BASE, "microvariant", 6, 6),
    ("five loci", variant(drop=("D18S51", "PENTA_D", "FGA")), BASE, None, 0, 0),
    ("six loci, one with a wildcard: only five count",
     variant(drop=("D18S51", "PENTA_D"), FGA=["20", "OL"]), BASE, None, 0, 0),
    ("seven loci, one allele differs: near", variant(drop=("PENTA_D",), FGA=["20", "24"]), BASE, "near", 7, 6),
    ("six loci, one allele differs: no hit", variant(drop=("D18S51", "PENTA_D"), FGA=["20", "24"]), BASE,
     None, 0, 0),
    ("seven loci, a wildcard and a differing allele: five count",
     variant(drop=("PENTA_D",), FGA=["20", "24"], VWA=["14", "OL"]), BASE, None, 0, 0),
    # precedence: near > microvariant > wildcard > full
    ("wildcard and microvariant: microvariant", variant(D18S51=["12", "OL"], TH01=["6", "9.1"]), BASE,
     "microvariant", 8, 7),
    ("wildcard and microvariant in one locus", variant(TH01=["9.1", "OL"]), BASE, "microvariant", 8, 7),
    ("wildcard and near: near", variant(D18S51=["12", "OL"], FGA=["20", "24"]), BASE, "near", 8, 6),
    ("microvariant and near: near", variant(TH01=["6", "9.1"], FGA=["20", "24"]), BASE, "near", 8, 7),
    ("all three: near", variant(TH01=["6", "9.1"], FGA=["20", "24"], D18S51=["OL", "16"]), BASE, "near", 8, 6),
]


@pytest.mark.parametrize("case, query, candidate, match_class, compared, matched", CASES, ids=[c[0] for c in CASES])
def test_match_class(case, query, candidate, match_class, compared, matched):
    match = compare(query, candidate)
    if match_class is None:
        assert match is None
    else:
        assert match is not None
        assert (match.match_class, match.loci_compared, match.loci_matched) == (match_class, compared, matched)


@pytest.mark.parametrize("case, query, candidate, match_class, compared, matched", CASES, ids=[c[0] for c in CASES])
def test_compare_is_symmetric_and_takes_raw_or_normalised(case, query, candidate, match_class, compared, matched):
    forward = compare(query, candidate)
    assert compare(candidate, query) == forward
    assert compare(normalize_profile(query), candidate) == forward
    assert compare(dict(normalize_profile(query)), normalize_profile(candidate)) == forward


def test_match_reports_the_differing_locus_and_the_wildcard_loci():
    near = compare(variant(FGA=["20", "24"], D18S51=["12", "OL"]), BASE)
    assert near == Match("near", 8, 6, loci_wildcard=1, differing_locus="FGA")
    assert compare(BASE, BASE) == Match("full", 8, 8, 0, None)


def test_match_order_puts_the_best_class_first():
    matches = [Match("near", 9, 8), Match("full", 6, 6), Match("microvariant", 8, 8), Match("wildcard", 8, 7),
               Match("full", 8, 8)]
    ordered = sorted(matches, key=Match.order_key)
    assert [(m.match_class, m.loci_matched) for m in ordered] == [
        ("full", 8), ("full", 6), ("wildcard", 7), ("microvariant", 8), ("near", 8)]
    assert MATCH_CLASSES == ("full", "wildcard", "microvariant", "near")


@pytest.mark.parametrize("matched, differing, microvariant, wildcard_loci, expected", [
    (8, 0, False, 0, CLASS_FULL),
    (7, 0, False, 1, CLASS_WILDCARD),
    (7, 0, True, 1, CLASS_MICROVARIANT),     # microvariant outranks wildcard
    (7, 1, True, 1, CLASS_NEAR),             # a differing allele outranks everything
    (6, 1, False, 0, CLASS_NEAR),
    (5, 0, False, 0, NO_HIT),                # DNA-8: fewer than 6 counting loci
    (9, 2, False, 0, NO_HIT),                # DNA-9: two differing alleles
])
def test_match_class_rule_by_code(matched, differing, microvariant, wildcard_loci, expected):
    assert match_class_code(matched, differing, microvariant, wildcard_loci, 6) == expected
    if expected != NO_HIT:
        assert MATCH_CLASSES[expected] == ("full", "wildcard", "microvariant", "near")[expected]


@pytest.mark.parametrize("locus, allele, expected", [
    ("VWA", "9.1", {"9", "9.1", "9.2"}),
    ("VWA", "9.2", {"9.1", "9.2", "9.3"}),
    ("VWA", "9.3", {"9.2", "9.3", "10"}),
    ("VWA", "10", {"10", "10.1", "9.3"}),           # the symmetric side of the x.1 and x.3 rows
    ("PENTA_E", "9.3", {"9.2", "9.3", "9.4"}),
    ("PENTA_E", "9.4", {"9.3", "9.4", "10"}),
    ("CD4", "10", {"10", "10.1", "9.4"}),
    ("AMEL", "X", {"X"}),
    ("VWA", "*", {"*"}),
])
def test_microvariant_neighbours_follow_the_dna7_table(locus, allele, expected):
    assert allele_neighbours(locus, allele) == expected


def test_microvariant_table_is_data_in_one_place():
    assert set(MICROVARIANT_NEIGHBOURS) == {4, 5}
    assert MICROVARIANT_NEIGHBOURS[4][3] == ((0, 2), (0, 3), (1, 0))
    assert MICROVARIANT_NEIGHBOURS[5][4] == ((0, 3), (0, 4), (1, 0))
    with pytest.raises(TypeError):
        MICROVARIANT_NEIGHBOURS[4][1] = ()  # type: ignore[index]
