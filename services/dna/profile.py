"""A DNA profile as a laboratory enters it, normalised to what the Prüm rules compare (DNA-3..DNA-7).

`normalize_profile` turns {"vWA": ["17", "9.3"], "TH01": ["6", "OL"], "D3S1358": ["15"]} into
{"D3S1358": ("15", "15"), "TH01": ("6", "*"), "VWA": ("9.3", "17")}: canonical locus names, two
alleles per locus sorted numerically with the wildcard last, microvariants kept.

Allele values, decided here once (DNA-5, DNA-6, DNA-7):
- a repeat number "12" or a microvariant "9.3" is kept ("09" -> "9", "12.0" -> "12"); the fraction
  may be .1-.3 at 4-base loci and .1-.4 at Penta D, Penta E and CD4;
- the values 0, 1 and 99 and every non-numeric value (o, f, r, na, nr, un, OL, "?", "<8", "*", ...)
  become the wildcard "*", except X and Y at amelogenin, which are kept;
- a value made only of digits and numeric punctuation that is not a repeat number ("9,3", "-2",
  "12.34", "12.", "150", "9.4" at a 4-base locus) is refused as malformed: it is a typing error,
  and silently turning it into a wildcard would hide it; a number at amelogenin and an empty value
  are refused too;
- repeat numbers are written in ASCII digits: a value with other decimal digits ("٣", "１２") is refused,
  not read as the number it looks like; a repeat number longer than the rules allow (a typing slip of
  thousands of digits) is refused as out of range before it is read as a number;
- one value means homozygous (two equal alleles); of three or more values the first is kept and the
  others become one wildcard (DNA-5): ["12", "14", "15"] -> ("12", "*").
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence

from prum.services.common.errors import InvalidInput, quote
from prum.services.common.reference import ReferenceKind
from prum.services.dna.loci import (
    AMELOGENIN,
    ESS_ORIGINAL,
    KNOWN_LOCI,
    MICROVARIANT_NEIGHBOURS,
    canonical_locus,
    repeat_length,
)

WILDCARD = "*"
"""The one wildcard value of a normalised profile (DNA-6)."""

WILDCARD_CODES: tuple[str, ...] = ("o", "f", "r", "na", "nr", "un", "OL", "0", "1", "99")
"""Typical codes labs use for an undesignated allele; any non-numeric value is a wildcard too (DNA-6)."""

MIN_DESIGNATED_LOCI = 6
"""DNA-4 and DNA-8: fully designated loci needed for inclusion and for a hit."""

MIN_ESS_LOCI_FOR_PERSON = 6
"""DNA-4: fully designated original ESS loci a reference (identified person) profile needs."""

Genotype = tuple[str, str]

_REPEAT = re.compile(r"([0-9]+)(?:\.([0-9]))?", re.ASCII)
# Unicode digits on purpose: a value that looks like a number in any script is a typing slip, not a wildcard.
_NUMERIC_CHARACTERS = re.compile(r"[\d\s.,+\-]+")
_DIGIT = re.compile(r"\d")
_NON_ASCII_DIGIT = re.compile(r"[^\D0-9]")
_MAX_REPEAT_DIGITS = 3
"""Digits a repeat number may have once its leading zeros are dropped: 98 is the largest, 99 a wildcard code."""
_AMEL_VALUES = {"X": "X", "Y": "Y"}
_ORDER = {locus: position for position, locus in enumerate(KNOWN_LOCI)}


class NormalisedProfile(dict[str, Genotype]):
    """A profile after `normalize_profile`: canonical locus -> two sorted alleles.

    A plain dict (JSON-serialisable, `.items()` as usual); its type only tells `compare` and
    `check_inclusion` that the work of normalising is done. Do not mutate it.
    """

    __slots__ = ()


def _allele_sort_key(allele: str) -> tuple[int, int, int]:
    """Numeric order, X before Y, the wildcard last."""
    if allele == WILDCARD:
        return (2, 0, 0)
    if allele in _AMEL_VALUES:
        return (1, ord(allele), 0)
    repeat, _, fraction = allele.partition(".")
    return (0, int(repeat), int(fraction or 0))


def _allowed(locus: str) -> str:
    if locus == AMELOGENIN:
        return "X or Y, or a wildcard code"
    top = max(MICROVARIANT_NEIGHBOURS[repeat_length(locus)])
    return (f"a repeat number such as 12, or a microvariant with a decimal point such as 9.3 "
            f"(fraction .1 to .{top} at this locus), or a wildcard code ({', '.join(WILDCARD_CODES)}, "
            f"any non-numeric value)")


def _canonical_values(length: int) -> dict[str, str]:
    """Allele strings already in canonical form at a locus of this repeat length, mapped to themselves,
    and the wildcard codes mapped to "*" (a table derived from the rules, for speed only)."""
    fractions = (0, *sorted(MICROVARIANT_NEIGHBOURS[length]))
    table = {f"{r}.{f}" if f else str(r): f"{r}.{f}" if f else str(r) for r in range(2, 99) for f in fractions}
    table.update({f"1.{f}": f"1.{f}" for f in fractions if f} | {f"0.{f}": f"0.{f}" for f in fractions if f})
    table.update({code: WILDCARD for code in (*WILDCARD_CODES, WILDCARD)})
    return table


_CANONICAL = {length: _canonical_values(length) for length in MICROVARIANT_NEIGHBOURS}


def _numeric_looking(text: str) -> bool:
    """Only digits (of any script), white space and numeric punctuation, and at least one digit. (One regex,
    `[...]*\\d[...]*`, said the same in time quadratic in the length: 40 s for 100,000 digits.)"""
    return _NUMERIC_CHARACTERS.fullmatch(text) is not None and _DIGIT.search(text) is not None


def normalize_allele(locus: str, value: object) -> str:
    """One allele value of a canonical locus as the rules keep it: a repeat, X/Y, or "*" (DNA-6, DNA-7)."""
    if locus != AMELOGENIN and type(value) is str:
        known = _CANONICAL[repeat_length(locus)].get(value)
        if known is not None:
            return known
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInput(f"allele {quote(value)} is not a value; allowed: {_allowed(locus)}", field=locus)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"allele {value!r} is not a value; allowed: {_allowed(locus)}", field=locus)
        value = format(value, "g")
    elif isinstance(value, int) and not -1000 < value < 1000:  # str() of a huge int is slow or refused
        raise InvalidInput(f"allele {quote(value)} is out of range; allowed: repeat numbers up to 98 "
                           f"(0, 1 and 99 are wildcard codes)", field=locus)
    text = str(value).strip()
    if not text:
        raise InvalidInput(f"an allele value is empty; allowed: {_allowed(locus)}", field=locus)
    if _NON_ASCII_DIGIT.search(text):
        raise InvalidInput(f"allele {quote(text)} has a digit that is not an ASCII digit 0-9; allowed: "
                           f"{_allowed(locus)}", field=locus)
    if locus == AMELOGENIN:
        if text.upper() in _AMEL_VALUES:
            return _AMEL_VALUES[text.upper()]
        if _numeric_looking(text):
            raise InvalidInput(f"allele {quote(text)} is a number, not a sex marker; allowed: {_allowed(locus)}",
                               field=locus)
        return WILDCARD
    match = _REPEAT.fullmatch(text)
    if match is None:
        if _numeric_looking(text):
            raise InvalidInput(f"allele {quote(text)} is malformed; allowed: {_allowed(locus)}", field=locus)
        return WILDCARD  # non-numeric: OL, na, F, "?", ... (DNA-6)
    digits = match.group(1).lstrip("0") or "0"
    if len(digits) > _MAX_REPEAT_DIGITS or int(digits) > 99:
        raise InvalidInput(f"allele {quote(text)} is out of range; allowed: repeat numbers up to 98 "
                           f"(0, 1 and 99 are wildcard codes)", field=locus)
    repeat, fraction = int(digits), int(match.group(2) or 0)
    if fraction and fraction not in MICROVARIANT_NEIGHBOURS[repeat_length(locus)]:
        raise InvalidInput(f"allele {quote(text)} has a fraction this {repeat_length(locus)}-base locus cannot "
                           f"have; allowed: {_allowed(locus)}", field=locus)
    if not fraction and repeat in (0, 1, 99):
        return WILDCARD  # DNA-6: the values 0, 1 and 99
    return f"{repeat}.{fraction}" if fraction else str(repeat)


def normalize_alleles(locus: str, values: object) -> Genotype:
    """The two alleles kept for a canonical locus, sorted, wildcard last (DNA-5, DNA-6)."""
    if isinstance(values, (str, int, float)) and not isinstance(values, bool):
        values = [values]  # a bare value: one allele, homozygous
    if not isinstance(values, Iterable) or isinstance(values, (bytes, Mapping)):
        raise InvalidInput(f"expected a list of allele values, got {type(values).__name__}; "
                           f"allowed: one value (homozygous) or two", field=locus)
    alleles = [normalize_allele(locus, v) for v in values]
    if not alleles:
        raise InvalidInput("the locus has no allele; allowed: one value (homozygous) or two values",
                           field=locus)
    if len(alleles) == 1:
        pair = (alleles[0], alleles[0])
    elif len(alleles) == 2:
        pair = (alleles[0], alleles[1])
    else:
        pair = (alleles[0], WILDCARD)  # DNA-5: no mixtures; keep the first, the rest is a wildcard
    first, second = sorted(pair, key=_allele_sort_key)
    return (first, second)


def normalize_profile(loci: Mapping[str, object]) -> NormalisedProfile:
    """Canonical loci and alleles of a profile as entered (DNA-3, DNA-5, DNA-6, DNA-7).

    Idempotent: a normalised profile normalises to itself. Raises InvalidInput with the locus as
    field for an unknown locus, a locus given twice under two spellings, an empty locus or a
    malformed value. Inclusion (DNA-4) is checked separately by `check_inclusion`.
    """
    if isinstance(loci, NormalisedProfile):
        return loci
    if not isinstance(loci, Mapping):
        raise InvalidInput(f"a profile is a mapping from locus to alleles, not {type(loci).__name__}",
                           field="loci")
    given: dict[str, str] = {}
    result: dict[str, Genotype] = {}
    for name, values in loci.items():
        locus = canonical_locus(name)
        if locus in given:
            raise InvalidInput(f"locus given twice, as {quote(given[locus])} and {quote(name)}; allowed: once",
                               field=locus)
        given[locus] = name
        result[locus] = normalize_alleles(locus, values)
    return NormalisedProfile(sorted(result.items(), key=lambda item: _ORDER[item[0]]))


def is_fully_designated(locus: str, genotype: Sequence[str]) -> bool:
    """A comparable locus without a wildcard: it may count towards the 6 of DNA-4 and DNA-8."""
    return locus != AMELOGENIN and WILDCARD not in genotype


def fully_designated_loci(profile: Mapping[str, Sequence[str]]) -> list[str]:
    """The loci of a normalised profile that have no wildcard, amelogenin apart (DNA-4)."""
    return [locus for locus, genotype in profile.items() if is_fully_designated(locus, genotype)]


def check_inclusion(profile: Mapping[str, object], kind: ReferenceKind) -> None:
    """DNA-4: refuse a profile with fewer than 6 fully designated loci, and a reference (identified
    person) profile with fewer than 6 of the 7 original ESS loci fully designated.

    Accepts a raw or a normalised profile. Raises InvalidInput (field "loci") saying how many loci
    were found and what is needed.
    """
    normalised = normalize_profile(profile)
    kind = ReferenceKind.parse(kind)
    designated = fully_designated_loci(normalised)
    if len(designated) < MIN_DESIGNATED_LOCI:
        found = ", ".join(designated) or "none"
        raise InvalidInput(
            f"the profile has {len(designated)} fully designated loci ({found}); at least "
            f"{MIN_DESIGNATED_LOCI} are needed (DNA-4); loci with a wildcard and amelogenin do not count",
            field="loci")
    if kind is ReferenceKind.IDENTIFIED_PERSON:
        ess = [locus for locus in ESS_ORIGINAL if locus in designated]
        if len(ess) < MIN_ESS_LOCI_FOR_PERSON:
            missing = ", ".join(locus for locus in ESS_ORIGINAL if locus not in ess)
            raise InvalidInput(
                f"a reference (identified person) profile needs at least {MIN_ESS_LOCI_FOR_PERSON} of the "
                f"7 original ESS loci ({', '.join(ESS_ORIGINAL)}) fully designated (DNA-4); found "
                f"{len(ess)}; missing or with a wildcard: {missing}", field="loci")
