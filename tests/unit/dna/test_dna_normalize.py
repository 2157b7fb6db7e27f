"""Locus names (DNA-3), allele normalisation (DNA-5, DNA-6, DNA-7) and inclusion (DNA-4)."""

from __future__ import annotations

import pytest
from prum.services.common.errors import InvalidInput
from prum.services.common.reference import ReferenceKind
from prum.services.dna import (
    ANNEX_LOCI,
    ESS_ADDED,
    ESS_ORIGINAL,
    KNOWN_LOCI,
    PENTANUCLEOTIDE_LOCI,
    STR_LOCI,
    NormalisedProfile,
    canonical_locus,
    check_inclusion,
    normalize_profile,
)
from prum.services.dna.profile import normalize_alleles


def test_locus_lists_follow_the_annex_and_the_ess():
    assert len(ANNEX_LOCI) == 24 and "AMEL" in ANNEX_LOCI
    assert ESS_ORIGINAL == ("VWA", "TH01", "D21S11", "FGA", "D8S1179", "D3S1358", "D18S51")
    assert ESS_ADDED == ("D1S1656", "D2S441", "D10S1248", "D12S391", "D22S1045")
    assert set(ESS_ORIGINAL) <= set(ANNEX_LOCI) and not set(ESS_ADDED) & set(ANNEX_LOCI)
    assert len(STR_LOCI) == 28 and "AMEL" not in STR_LOCI
    assert PENTANUCLEOTIDE_LOCI == {"PENTA_D", "PENTA_E", "CD4"}
    assert all(name == name.upper() for name in KNOWN_LOCI)


@pytest.mark.parametrize("typed, canonical", [
    ("vWA", "VWA"), ("VWA", "VWA"), ("HUMVWA31A", "VWA"), ("TH01", "TH01"), ("THO1", "TH01"), ("th01", "TH01"),
    ("Penta D", "PENTA_D"), ("PENTA_D", "PENTA_D"), ("penta-d", "PENTA_D"), ("PentaE", "PENTA_E"),
    ("AMEL", "AMEL"), ("Amelogenin", "AMEL"), ("amel", "AMEL"), ("CSF1P0", "CSF1PO"), ("d3s1358", "D3S1358"),
    (" D8S1179 ", "D8S1179"), ("FES/FPS", "FES"), ("F13A01", "F13A1"), ("D22S1045", "D22S1045"),
])
def test_canonical_locus_accepts_what_labs_type(typed, canonical):
    assert canonical_locus(typed) == canonical


@pytest.mark.parametrize("name", ["XYZ", "D3S135", "", "PENTA F", "DYS391"])
def test_unknown_locus_is_refused_saying_what_is_allowed(name):
    with pytest.raises(InvalidInput) as caught:
        canonical_locus(name)
    assert "not a locus of the 2008/616 annex" in str(caught.value)
    assert "allowed: VWA, TH01" in str(caught.value)
    assert caught.value.field == name


@pytest.mark.parametrize("locus, values, expected", [
    ("D3S1358", ["15", "16"], ("15", "16")),
    ("D3S1358", ["16", "15"], ("15", "16")),
    ("D3S1358", ["15"], ("15", "15")),                 # DNA-5: one value is homozygous
    ("D3S1358", "15", ("15", "15")),                   # a bare value likewise
    ("VWA", ["17", "9.3"], ("9.3", "17")),             # DNA-7: microvariant kept, numeric order
    ("D21S11", ["30", "29.2"], ("29.2", "30")),
    ("VWA", ["9", "10"], ("9", "10")),                 # numeric, not text, order
    ("TH01", ["6", "OL"], ("6", "*")),                 # DNA-6: wildcard last
    ("TH01", ["OL", "6"], ("6", "*")),
    ("TH01", ["OL"], ("*", "*")),
    ("TH01", ["*", "*"], ("*", "*")),
    ("FGA", ["12", "14", "15"], ("12", "*")),          # DNA-5: third allele: keep the first, rest wildcard
    ("FGA", ["15", "12", "14", "16"], ("15", "*")),
    ("FGA", ["OL", "12", "14"], ("*", "*")),
    ("FGA", ["09", "12.0"], ("9", "12")),              # leading zero, ".0"
    ("FGA", [" 21 ", 22], ("21", "22")),               # spaces; numbers as numbers
    ("FGA", [21.2, 22.0], ("21.2", "22")),
    ("PENTA_D", ["9.4", "10"], ("9.4", "10")),         # .4 exists at pentanucleotide loci
    ("AMEL", ["x", "y"], ("X", "Y")),
    ("AMEL", ["Y", "X"], ("X", "Y")),
    ("AMEL", ["X"], ("X", "X")),
    ("AMEL", ["OL", "X"], ("X", "*")),
])
def test_alleles_are_normalised(locus, values, expected):
    assert normalize_alleles(locus, values) == expected


@pytest.mark.parametrize("code", ["o", "f", "r", "na", "nr", "un", "OL", "ol", "0", "1", "99", "00", "?", "<8",
                                  ">30", "X", "F", "n/a", "12a", "*"])
def test_wildcard_codes_become_the_wildcard(code):
    assert normalize_alleles("D8S1179", ["13", code]) == ("13", "*")


@pytest.mark.parametrize("locus, value, says", [
    ("VWA", "9,3", "malformed"),
    ("VWA", "-2", "malformed"),
    ("VWA", "12.34", "malformed"),
    ("VWA", "12.", "malformed"),
    ("VWA", "12 14", "malformed"),
    ("VWA", "150", "out of range"),
    ("VWA", "9.4", "fraction"),                        # 4-base locus: .1 to .3 only
    ("PENTA_E", "9.5", "fraction"),
    ("VWA", "", "empty"),
    ("VWA", "   ", "empty"),
    ("AMEL", "12", "number"),
    ("VWA", None, "not a value"),
    ("VWA", True, "not a value"),
])
def test_malformed_values_are_refused_with_the_locus_as_field(locus, value, says):
    with pytest.raises(InvalidInput) as caught:
        normalize_profile({locus: ["12", value]})
    assert says in str(caught.value)
    assert "allowed" in str(caught.value)
    assert caught.value.field == locus


def test_empty_locus_and_locus_given_twice_are_refused():
    with pytest.raises(InvalidInput, match="no allele") as caught:
        normalize_profile({"VWA": []})
    assert caught.value.field == "VWA"
    with pytest.raises(InvalidInput, match="given twice") as caught:
        normalize_profile({"vWA": ["17"], "VWA": ["18"]})
    assert caught.value.field == "VWA"
    with pytest.raises(InvalidInput, match="not a locus"):
        normalize_profile({"XYZ": ["1"]})
    with pytest.raises(InvalidInput, match="mapping"):
        normalize_profile([("VWA", ["17"])])  # type: ignore[arg-type]


def test_normalised_profile_has_canonical_order_and_is_idempotent():
    raw = {"TH01": ["OL", "6"], "vWA": ["17", "9.3"], "Amelogenin": ["X", "Y"], "D3S1358": ["15"]}
    normalised = normalize_profile(raw)
    assert isinstance(normalised, NormalisedProfile) and isinstance(normalised, dict)
    assert list(normalised.items()) == [("VWA", ("9.3", "17")), ("TH01", ("6", "*")),
                                        ("D3S1358", ("15", "15")), ("AMEL", ("X", "Y"))]
    assert normalize_profile(normalised) is normalised
    assert normalize_profile(dict(normalised)) == normalised  # a plain dict of the normalised form too


SIX_ESS = {"VWA": ["17", "18"], "TH01": ["6", "9.3"], "D21S11": ["29", "30"], "FGA": ["21", "22"],
           "D8S1179": ["13", "14"], "D3S1358": ["15", "16"]}


def test_inclusion_accepts_six_designated_loci_and_a_person_with_six_ess_loci():
    check_inclusion(SIX_ESS, ReferenceKind.UNIDENTIFIED_TRACE)
    check_inclusion(SIX_ESS, ReferenceKind.IDENTIFIED_PERSON)
    check_inclusion(normalize_profile(SIX_ESS), "IDENTIFIED_PERSON")
    non_ess = {"D1S1656": ["12", "13"], "D2S441": ["10", "11"], "D10S1248": ["13", "14"],
               "D12S391": ["18", "19"], "D22S1045": ["15", "16"], "SE33": ["17", "28.2"]}
    check_inclusion(non_ess, ReferenceKind.UNIDENTIFIED_TRACE)  # a trace needs no ESS locus


@pytest.mark.parametrize("profile, found", [
    ({k: v for k, v in list(SIX_ESS.items())[:5]}, 5),
    ({**SIX_ESS, "FGA": ["21", "OL"]}, 5),                       # a wildcard locus does not count
    ({**{k: v for k, v in list(SIX_ESS.items())[:5]}, "AMEL": ["X", "Y"]}, 5),  # nor does amelogenin
    ({}, 0),
])
def test_inclusion_refuses_fewer_than_six_designated_loci(profile, found):
    with pytest.raises(InvalidInput) as caught:
        check_inclusion(profile, ReferenceKind.UNIDENTIFIED_TRACE)
    message = str(caught.value)
    assert f"has {found} fully designated loci" in message
    assert "at least 6 are needed (DNA-4)" in message
    assert caught.value.field == "loci"


def test_inclusion_refuses_a_person_with_five_original_ess_loci():
    profile = {**{k: v for k, v in list(SIX_ESS.items())[:5]}, "D18S51": ["12", "OL"],
               "D1S1656": ["12", "13"], "D2S441": ["10", "11"], "SE33": ["17", "28.2"]}
    check_inclusion(profile, ReferenceKind.UNIDENTIFIED_TRACE)  # 8 designated: a trace is fine
    with pytest.raises(InvalidInput) as caught:
        check_inclusion(profile, ReferenceKind.IDENTIFIED_PERSON)
    message = str(caught.value)
    assert "at least 6 of the 7 original ESS loci" in message
    assert "found 5" in message
    assert "missing or with a wildcard: D3S1358, D18S51" in message


@pytest.mark.parametrize("given, kind", [
    (ReferenceKind.IDENTIFIED_PERSON, ReferenceKind.IDENTIFIED_PERSON),
    ("identified_person", ReferenceKind.IDENTIFIED_PERSON),
    ("PROFILE_KIND_UNIDENTIFIED_TRACE", ReferenceKind.UNIDENTIFIED_TRACE),
])
def test_profile_kind_parses_names(given, kind):
    assert ReferenceKind.parse(given) is kind


@pytest.mark.parametrize("given", [None, "", "PERSON", 1])
def test_profile_kind_refuses_other_values(given):
    with pytest.raises(InvalidInput, match="allowed: IDENTIFIED_PERSON, UNIDENTIFIED_TRACE"):
        ReferenceKind.parse(given)


class _Typed(str):
    """A str subclass: takes the full parsing path of normalize_allele, not its lookup table."""


@pytest.mark.parametrize("locus", ["VWA", "PENTA_D"])
def test_the_fast_lookup_agrees_with_the_parsing_rules(locus):
    from prum.services.dna.loci import repeat_length
    from prum.services.dna.profile import _CANONICAL, normalize_allele

    table = _CANONICAL[repeat_length(locus)]
    assert len(table) > 300
    for value, normalised in table.items():
        assert normalize_allele(locus, _Typed(value)) == normalised == normalize_allele(locus, value)
