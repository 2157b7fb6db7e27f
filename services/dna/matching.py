"""The Prüm matching rules for two DNA profiles (DNA-6..DNA-9), without any index.

`compare(query, candidate)` is the reference the candidate index must agree with exactly.

Per locus both profiles have (amelogenin apart), the two alleles of each side are paired in
whichever of the two permutations explains them best (fewest differing alleles, then fewest
microvariant pairings). An allele pair is
- equal;
- through a wildcard: either side is "*" (DNA-6: "12,*" matches "12,14" and "9,12");
- through a microvariant: the values are neighbours in `loci.MICROVARIANT_NEIGHBOURS` (DNA-7), a
  relation used symmetrically (10 ~ 10.1 because the row of 10.1 names 10);
- different.

A locus *counts* towards the 6 of DNA-8 when it is fully designated on both sides (no wildcard) and
has no differing allele; a microvariant pairing does not stop a locus from counting. A hit needs at
least 6 counting loci and at most one differing allele over all compared loci; so a near match
has at least 7 compared loci.

Match class precedence (DNA-9), when several reasons apply, the one furthest from identity wins:
near > microvariant > wildcard > full. A differing allele is a real disagreement; a microvariant
pairing reconciles two measured values that disagree; a wildcard only lacks information and
contradicts nothing; full means every compared allele is equal. `match_class_code` states this rule
once, over a candidate's tally, for this module, `encoding.match_row` and `kernels.classify`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from prum.services.dna.loci import AMELOGENIN, MICROVARIANT_NEIGHBOURS, STR_LOCI, repeat_length
from prum.services.dna.profile import (
    MIN_DESIGNATED_LOCI,
    WILDCARD,
    Genotype,
    NormalisedProfile,
    normalize_profile,
)

FULL = "full"
WILDCARD_MATCH = "wildcard"
MICROVARIANT = "microvariant"
NEAR = "near"
MATCH_CLASSES: tuple[str, ...] = (FULL, WILDCARD_MATCH, MICROVARIANT, NEAR)
"""The match classes of DNA-9, best first; the order is also the precedence (last wins)."""

CLASS_FULL = MATCH_CLASSES.index(FULL)
CLASS_WILDCARD = MATCH_CLASSES.index(WILDCARD_MATCH)
CLASS_MICROVARIANT = MATCH_CLASSES.index(MICROVARIANT)
CLASS_NEAR = MATCH_CLASSES.index(NEAR)
"""The match classes as plain ints (0-3), their positions in MATCH_CLASSES: what the encoded and
compiled paths carry (the numba kernels read them as constants)."""
NO_HIT = -1
"""`match_class_code` for a candidate that is no hit."""

_RANK = {name: rank for rank, name in enumerate(MATCH_CLASSES)}


def match_class_code(matched: int, differing: int, microvariant: bool, wildcard_loci: int,
                     min_loci: int) -> int:
    """DNA-8 and DNA-9 over a candidate's tally of the compared loci: NO_HIT, or the code of its class.

    The one statement of the rule, shared by `compare_normalised`, `encoding.match_row` and the
    compiled `kernels.classify`. matched: loci that count (fully designated, no differing allele);
    differing: differing alleles over all compared loci; microvariant: whether a microvariant pairing
    reconciled some allele; wildcard_loci: loci that match only through a wildcard. No hit with two
    or more differing alleles or fewer than `min_loci` (6) counting loci; otherwise the reason
    furthest from identity wins: near > microvariant > wildcard > full.
    """
    if differing > 1 or matched < min_loci:
        return NO_HIT
    if differing:
        return CLASS_NEAR
    if microvariant:
        return CLASS_MICROVARIANT
    if wildcard_loci:
        return CLASS_WILDCARD
    return CLASS_FULL


@dataclass(frozen=True, slots=True)
class Match:
    """How a candidate matches a query (DNA-9); the class travels with the hit.

    loci_compared: loci both profiles have, amelogenin apart.
    loci_matched: fully designated loci whose alleles match, the count held against the 6 of DNA-8.
    loci_wildcard: compared loci that match only thanks to a wildcard on either side.
    differing_locus: for a near match, the locus where the one allele differs.
    """

    match_class: str
    loci_compared: int
    loci_matched: int
    loci_wildcard: int = 0
    differing_locus: str | None = None

    @property
    def rank(self) -> int:
        """0 for full up to 3 for near: lower is better."""
        return _RANK[self.match_class]

    def order_key(self) -> tuple[int, int, int]:
        """Sort key putting the best match first: class, then more matched, then more compared loci."""
        return (self.rank, -self.loci_matched, -self.loci_compared)


def _format(repeat: int, fraction: int) -> str:
    return f"{repeat}.{fraction}" if fraction else str(repeat)


def _neighbour_table(length: int) -> dict[str, frozenset[str]]:
    """Every designatable value of a `length`-base locus -> the values it matches (itself included),
    from MICROVARIANT_NEIGHBOURS, closed under symmetry. Derived from the table, never from queries."""
    rows = MICROVARIANT_NEIGHBOURS[length]
    fractions = (0, *sorted(rows))
    table: dict[str, frozenset[str]] = {}
    for repeat in range(100):
        for fraction in fractions:
            values = {(repeat, fraction)}
            values.update((repeat + dx, f) for dx, f in rows.get(fraction, ()))
            values.update((repeat - dx, g) for g, row in rows.items() for dx, f in row if f == fraction)
            table[_format(repeat, fraction)] = frozenset(_format(r, f) for r, f in values if 0 <= r < 100)
    return table


_NEIGHBOURS: dict[int, dict[str, frozenset[str]]] = {length: _neighbour_table(length)
                                                     for length in MICROVARIANT_NEIGHBOURS}
_LOCUS_NEIGHBOURS: dict[str, dict[str, frozenset[str]]] = {locus: _NEIGHBOURS[repeat_length(locus)]
                                                          for locus in STR_LOCI}


def allele_neighbours(locus: str, allele: str) -> frozenset[str]:
    """The values a normalised allele of a canonical locus matches without a wildcard (DNA-7).

    Includes the allele itself: {"10", "10.1", "9.3"} for "10" at a 4-base locus. For amelogenin
    and the wildcard, just the value itself.
    """
    table = _LOCUS_NEIGHBOURS.get(locus)
    if table is None:
        return frozenset((allele,))
    return table.get(allele, frozenset((allele,)))


def _pair_cost(table: dict[str, frozenset[str]], a: str, b: str) -> tuple[int, int]:
    """(differing, microvariant) for one allele pair."""
    if a == b or a == WILDCARD or b == WILDCARD:
        return (0, 0)
    neighbours = table.get(a)
    if neighbours is not None and b in neighbours:
        return (0, 1)
    return (1, 0)


def locus_outcome(locus: str, query: Genotype, candidate: Genotype) -> tuple[int, int]:
    """(differing alleles, microvariant pairings) of the best pairing of two genotypes (DNA-6, DNA-7)."""
    table = _LOCUS_NEIGHBOURS.get(locus, {})
    q1, q2 = query
    c1, c2 = candidate
    d1, m1 = _pair_cost(table, q1, c1)
    d2, m2 = _pair_cost(table, q2, c2)
    straight = (d1 + d2, m1 + m2)
    if straight == (0, 0):
        return straight
    d1, m1 = _pair_cost(table, q1, c2)
    d2, m2 = _pair_cost(table, q2, c1)
    return min(straight, (d1 + d2, m1 + m2))


def compare_normalised(query: NormalisedProfile, candidate: NormalisedProfile) -> Match | None:
    """`compare` for two profiles already normalised (the index's path); same rules, no checks."""
    compared = matched = wildcard_loci = differing = 0
    differing_locus: str | None = None
    microvariant = False
    for locus, q in query.items():
        c = candidate.get(locus)
        if c is None or locus == AMELOGENIN:
            continue
        compared += 1
        has_wildcard = WILDCARD in q or WILDCARD in c
        if q == c and not has_wildcard:
            matched += 1
            continue
        d, m = locus_outcome(locus, q, c)
        if d:
            differing += d
            if differing > 1:
                return None  # DNA-9: two or more differing alleles, no hit
            differing_locus = locus
            continue
        if has_wildcard:
            wildcard_loci += 1
        else:
            matched += 1
        microvariant = microvariant or m > 0
    code = match_class_code(matched, differing, microvariant, wildcard_loci, MIN_DESIGNATED_LOCI)
    if code == NO_HIT:
        return None  # DNA-8: fewer than 6 fully designated matching loci
    return Match(MATCH_CLASSES[code], compared, matched, wildcard_loci, differing_locus)


def compare(query: Mapping[str, object], candidate: Mapping[str, object]) -> Match | None:
    """Whether two profiles match under DNA-8/DNA-9, and how; None for no hit.

    Either argument may be raw (as a lab enters it) or normalised. The relation is symmetric:
    compare(a, b) and compare(b, a) give the same class and counts.
    """
    return compare_normalised(normalize_profile(query), normalize_profile(candidate))
