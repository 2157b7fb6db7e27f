"""An exact candidate index for DNA profiles: it finds every hit `compare` finds, and only looks at
profiles that share a key with the query (ARCHITECTURE.md, "A note on the DNA index").

Why no hit is lost. The comparable loci are partitioned into 5 groups (`LOCUS_GROUPS`). A hit has
at least 6 *counting* loci (DNA-8): fully designated on both sides (no wildcard, not amelogenin) and
matching with no differing allele, exactly or through a microvariant (DNA-7). By pigeonhole, 6
counting loci in 5 groups put two of them, A and B, in one group. So the stored profile has, at A
and B, genotypes that match the query's genotypes there without a wildcard. The stored side is
keyed by (pair A-B, its exact genotype at A, its exact genotype at B) for every within-group pair
of its fully designated loci; the query side expands each of its fully designated loci into every
genotype that matches it (each allele into its DNA-7 neighbours, `matching.allele_neighbours`) and
looks up every combination for every within-group pair. The stored profile's key for (A, B) is
among them, so it becomes a candidate.
- Near matches (DNA-9): the one differing allele sits on a locus that does not count; the 6
  counting loci are still there, so the argument holds unchanged.
- Wildcards (DNA-6): a locus with a wildcard on either side never counts, so neither side needs
  keys for it; the 6 counting loci are wildcard-free on both sides.
- Loci only one profile has are not compared and cannot count.
Hence no case needs a fall-back scan; `scan` exists as the brute-force reference for tests and
benchmarks. Candidates are then checked by the full rules (`compare_normalised`).

Keys are plain ints: (pair number << 40) | (genotype A << 20) | genotype B, where a genotype is
lower allele code * 1000 + upper allele code and an allele code is repeat * 10 + fraction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from itertools import combinations
from types import MappingProxyType

from prum.services.dna.loci import STR_LOCI
from prum.services.dna.matching import Match, allele_neighbours, compare_normalised
from prum.services.dna.profile import WILDCARD, Genotype, NormalisedProfile, normalize_profile

LOCUS_GROUPS: tuple[tuple[str, ...], ...] = (
    ("D3S1358", "VWA", "D16S539", "D2S1338", "TPOX", "FES"),
    ("D8S1179", "D21S11", "D18S51", "CSF1PO", "F13A1"),
    ("TH01", "FGA", "D19S433", "D13S317", "F13B"),
    ("D1S1656", "D12S391", "D2S441", "D7S820", "PENTA_D", "GABA"),
    ("D10S1248", "D22S1045", "SE33", "D5S818", "PENTA_E", "CD4"),
)
"""5 groups over all comparable loci. The 16 loci of common European kits (12 ESS + D16S539,
D2S1338, D19S433, SE33) are spread 4-3-3-3-3, so such a profile has 18 keys."""

_GROUP_OF = {locus: number for number, group in enumerate(LOCUS_GROUPS) for locus in group}
if sorted(_GROUP_OF) != sorted(STR_LOCI) or sum(map(len, LOCUS_GROUPS)) != len(STR_LOCI):
    raise RuntimeError("LOCUS_GROUPS must partition the comparable loci exactly (index exactness)")
if len(LOCUS_GROUPS) >= 6:
    raise RuntimeError("the pigeonhole argument needs fewer groups than the 6 counting loci of DNA-8")

PAIRS: tuple[tuple[str, str], ...] = tuple(pair for group in LOCUS_GROUPS for pair in combinations(group, 2))
"""Every within-group pair of loci, in a fixed order: its position is the pair number of a key."""
_PAIR_NUMBER = {pair: number for number, pair in enumerate(PAIRS)}


def _allele_code(allele: str) -> int:
    repeat, _, fraction = allele.partition(".")
    return int(repeat) * 10 + int(fraction or 0)


def _genotype_code(first: int, second: int) -> int:
    return first * 1000 + second if first <= second else second * 1000 + first


def _key(pair_number: int, genotype_a: int, genotype_b: int) -> int:
    return (pair_number << 40) | (genotype_a << 20) | genotype_b


def _designated_by_group(profile: Mapping[str, Genotype]) -> list[list[str]]:
    """The fully designated comparable loci of a profile, per group, in group order."""
    return [[locus for locus in group if (genotype := profile.get(locus)) is not None and WILDCARD not in genotype]
            for group in LOCUS_GROUPS]


def profile_keys(profile: Mapping[str, Genotype]) -> list[int]:
    """The keys of a stored profile: the exact genotypes of each within-group pair of its fully
    designated loci."""
    keys = []
    for members in _designated_by_group(profile):
        codes = {locus: _genotype_code(*map(_allele_code, profile[locus])) for locus in members}
        for a, b in combinations(members, 2):
            keys.append(_key(_PAIR_NUMBER[(a, b)], codes[a], codes[b]))
    return keys


def _matching_genotypes(locus: str, genotype: Genotype) -> set[int]:
    """Codes of every wildcard-free genotype that matches `genotype` with no differing allele (DNA-7)."""
    first, second = genotype
    left = [_allele_code(v) for v in allele_neighbours(locus, first)]
    right = [_allele_code(v) for v in allele_neighbours(locus, second)]
    return {_genotype_code(x, y) for x in left for y in right}


def query_keys(profile: Mapping[str, Genotype]) -> set[int]:
    """Every key a stored profile that could hit this query has in common with it (see module doc)."""
    keys: set[int] = set()
    for members in _designated_by_group(profile):
        expanded = {locus: _matching_genotypes(locus, profile[locus]) for locus in members}
        for a, b in combinations(members, 2):
            pair_number = _PAIR_NUMBER[(a, b)]
            keys.update(_key(pair_number, ga, gb) for ga in expanded[a] for gb in expanded[b])
    return keys


class LocusPairIndex:
    """Normalised profiles by row number, with the within-group locus-pair keys that find them.

    In memory; rebuilt by its owner (the DNA file) at start-up. Not thread-safe by itself: the owner
    serialises writers against readers.
    """

    def __init__(self) -> None:
        self._rows: dict[int, list[int]] = {}
        self._profiles: dict[int, NormalisedProfile] = {}

    def __len__(self) -> int:
        return len(self._profiles)

    def __contains__(self, row: object) -> bool:
        return row in self._profiles

    @property
    def profiles(self) -> Mapping[int, NormalisedProfile]:
        """Read-only view: row -> stored profile."""
        return MappingProxyType(self._profiles)

    @property
    def key_count(self) -> int:
        """Distinct keys held (for sizing)."""
        return len(self._rows)

    def add(self, row: int, profile: Mapping[str, object]) -> None:
        """Index a profile under a row number not yet used."""
        if row in self._profiles:
            raise KeyError(f"row {row} is already indexed")
        normalised = normalize_profile(profile)
        self._profiles[row] = normalised
        for key in profile_keys(normalised):
            self._rows.setdefault(key, []).append(row)

    def add_many(self, rows: Iterable[tuple[int, Mapping[str, object]]]) -> None:
        for row, profile in rows:
            self.add(row, profile)

    def remove(self, row: int) -> NormalisedProfile:
        """Drop a row from the index; returns its profile. KeyError if absent."""
        profile = self._profiles.pop(row)
        for key in profile_keys(profile):
            rows = self._rows[key]
            rows.remove(row)
            if not rows:
                del self._rows[key]
        return profile

    def candidates(self, query: Mapping[str, object]) -> set[int]:
        """Rows sharing at least one key with the query: a superset of its hits."""
        found: set[int] = set()
        rows = self._rows
        for key in query_keys(normalize_profile(query)):
            hit = rows.get(key)
            if hit is not None:
                found.update(hit)
        return found

    def search(self, query: Mapping[str, object]) -> list[tuple[int, Match]]:
        """Every (row, match) that `compare` gives for the query, by ascending row."""
        normalised = normalize_profile(query)
        profiles = self._profiles
        return [(row, match) for row in sorted(self.candidates(normalised))
                if (match := compare_normalised(normalised, profiles[row])) is not None]

    def scan(self, query: Mapping[str, object]) -> list[tuple[int, Match]]:
        """The brute-force reference: `compare` against every row, by ascending row."""
        normalised = normalize_profile(query)
        return [(row, match) for row, profile in sorted(self._profiles.items())
                if (match := compare_normalised(normalised, profile)) is not None]

    def __iter__(self) -> Iterator[int]:
        return iter(self._profiles)
