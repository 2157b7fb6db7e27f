"""Synthetic DNA profiles for the national files: deterministic for a seeded numpy Generator.

Alleles are drawn per locus from `data/dna_allele_frequencies.csv` (approximate European / Caucasian
population frequencies; the file's header says where they come from and how far to trust them).
`derived_profile` plants a relative of a profile that gives a chosen match class against it
(DNA-9); every derived profile is checked with `compare` before it is returned.
"""

from __future__ import annotations

import csv
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path

import numpy as np

from prum.services.dna.loci import AMELOGENIN, ESS_LOCI, canonical_locus
from prum.services.dna.matching import FULL, MICROVARIANT, NEAR, WILDCARD_MATCH, allele_neighbours, compare
from prum.services.dna.profile import WILDCARD, ProfileKind, fully_designated_loci, normalize_profile

FREQUENCIES_PATH = Path(__file__).parent / "data" / "dna_allele_frequencies.csv"

DEFAULT_LOCI: tuple[str, ...] = ESS_LOCI + ("D16S539", "D2S1338", "D19S433", "SE33")
"""The 16 STR loci of the common European kits (ESS + D16S539, D2S1338, D19S433, SE33)."""

CHANGE_CLASS: dict[str, str] = {
    "duplicate": FULL,
    "near": NEAR,
    "wildcard": WILDCARD_MATCH,
    "microvariant": MICROVARIANT,
    "trace": FULL,
}
"""Each change `derived_profile` knows, and the match class it gives against its original."""

LAB_WILDCARD_CODES: tuple[str, ...] = ("OL", "na", "nr", "un", "o", "f", "r", "99", "0")
"""Codes a lab enters for an allele it cannot designate; each becomes "*" (DNA-6)."""

MIN_TRACE_LOCI = 7
"""A partial trace keeps at least this many loci (a near match with it is then still possible)."""

_TRIES = 200

Loci = dict[str, list[str]]


@cache
def allele_frequencies(path: Path = FREQUENCIES_PATH) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
    """Locus -> (alleles, probabilities summing to 1), read from the CSV (comment lines start with #)."""
    table: dict[str, dict[str, float]] = {}
    with open(path, newline="", encoding="utf-8") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        for row in rows:
            locus = canonical_locus(row["locus"])
            table.setdefault(locus, {})[row["allele"].strip()] = float(row["frequency"])
    result = {}
    for locus, alleles in table.items():
        weights = np.array(list(alleles.values()), dtype=float)
        if (weights <= 0).any():
            raise ValueError(f"{path}: locus {locus} has a frequency that is not positive")
        result[locus] = (tuple(alleles), weights / weights.sum())
    return result


@cache
def _cumulative(locus: str) -> list[float]:
    return [float(total) for total in np.cumsum(allele_frequencies()[locus][1])]


def _sort_key(allele: str) -> tuple[int, float]:
    try:
        return (0, float(allele))
    except ValueError:
        return (1, 0.0)


def _lab_form(profile: Mapping[str, Sequence[str]]) -> Loci:
    return {locus: list(alleles) for locus, alleles in profile.items()}


def random_profile(rng: np.random.Generator, loci: Sequence[str] = DEFAULT_LOCI,
                   kind: ProfileKind = ProfileKind.IDENTIFIED_PERSON, *, amelogenin: bool = True) -> Loci:
    """A random profile: two alleles per locus drawn from the population frequencies, sorted.

    A person's profile has every locus asked for (and amelogenin). An unidentified trace may have
    lost up to a quarter of them to drop-out, keeping at least 8; the loci keep the order asked for.
    """
    frequencies = allele_frequencies()
    names = [canonical_locus(name) for name in loci]
    missing = [name for name in names if name not in frequencies and name != AMELOGENIN]
    if missing:
        raise ValueError(f"no allele frequencies for {', '.join(missing)}; available: {', '.join(frequencies)}")
    names = [name for name in names if name != AMELOGENIN]
    if ProfileKind.parse(kind) is ProfileKind.UNIDENTIFIED_TRACE and len(names) > 8:
        dropped = int(rng.integers(0, max(1, min(len(names) // 4, len(names) - 8) + 1)))
        lost = set(rng.choice(len(names), size=dropped, replace=False).tolist()) if dropped else set()
        names = [name for position, name in enumerate(names) if position not in lost]
    profile: Loci = {}
    draws = rng.random(2 * len(names)).tolist()
    for position, name in enumerate(names):
        alleles = frequencies[name][0]
        cumulative = _cumulative(name)
        drawn = (alleles[min(bisect_right(cumulative, u), len(alleles) - 1)] for u in draws[2 * position:2 * position + 2])
        profile[name] = sorted(drawn, key=_sort_key)
    if amelogenin:
        profile[AMELOGENIN] = ["X", "Y"] if rng.random() < 0.5 else ["X", "X"]
    return profile


def _near_value(rng: np.random.Generator, locus: str, allele: str) -> str:
    """Another plausible value at the locus that does not match `allele`, not even as a microvariant."""
    frequencies = allele_frequencies()
    neighbours = allele_neighbours(locus, allele)
    if locus in frequencies:
        options = [a for a in frequencies[locus][0] if a not in neighbours]
        if options:
            return str(options[int(rng.integers(len(options)))])
    repeat = int(allele.partition(".")[0])
    return str(repeat + 3 if repeat < 50 else repeat - 3)  # 3 repeats away: never a DNA-7 neighbour


def _microvariant_value(rng: np.random.Generator, locus: str, allele: str) -> str | None:
    """A different value the DNA-7 table matches with `allele`, or None when there is none."""
    options = sorted(v for v in allele_neighbours(locus, allele) if v != allele and float(v) >= 2)
    return options[int(rng.integers(len(options)))] if options else None


def derived_profile(rng: np.random.Generator, profile: Mapping[str, Sequence[str]], change: str) -> Loci:
    """A planted relative of `profile` that compares with it in the class `CHANGE_CLASS[change]`.

    duplicate: an exact copy. near: one allele changed to a value that does not match it.
    wildcard: one allele replaced by a lab wildcard code. microvariant: one allele turned into a
    neighbouring microvariant that DNA-7 matches. trace: a partial profile of at least 7 of its fully
    designated loci. Raises ValueError for an unknown change, or when the profile has too few fully
    designated loci for it (a near match needs 7).
    """
    if change not in CHANGE_CLASS:
        raise ValueError(f"unknown change {change!r}; allowed: {', '.join(CHANGE_CLASS)}")
    original = normalize_profile(profile)
    base = _lab_form(original)
    designated = fully_designated_loci(original)
    if change == "duplicate":
        return base
    for _ in range(_TRIES):
        derived = _lab_form(base)
        if change == "trace":
            if len(designated) < MIN_TRACE_LOCI:
                break
            size = int(rng.integers(MIN_TRACE_LOCI, len(designated) + 1))
            kept = set(rng.choice(designated, size=size, replace=False).tolist())
            derived = {locus: alleles for locus, alleles in derived.items() if locus in kept}
        else:
            if not designated:
                break
            locus = designated[int(rng.integers(len(designated)))]
            position = int(rng.integers(2))
            allele = derived[locus][position]
            if change == "near":
                value: str | None = _near_value(rng, locus, allele)
            elif change == "wildcard":
                value = LAB_WILDCARD_CODES[int(rng.integers(len(LAB_WILDCARD_CODES)))]
            else:
                value = _microvariant_value(rng, locus, allele)
            if value is None:
                continue
            derived[locus][position] = value
            derived[locus].sort(key=_sort_key)
        match = compare(derived, original)
        if match is not None and match.match_class == CHANGE_CLASS[change]:
            return derived
    raise ValueError(f"cannot derive a {change!r} relative of this profile: it has {len(designated)} fully "
                     f"designated loci ({WILDCARD!r} loci do not count); a {change} match needs more")
