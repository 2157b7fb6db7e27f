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
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from prum.services.common.reference import ReferenceKind
from prum.services.dna.block_index import BlockIndex
from prum.services.dna.encoding import ProfileMatrix
from prum.services.dna.loci import AMELOGENIN, ESS_LOCI, KNOWN_LOCI, canonical_locus
from prum.services.dna.matching import FULL, MICROVARIANT, NEAR, WILDCARD_MATCH, allele_neighbours, compare
from prum.services.dna.profile import WILDCARD, NormalisedProfile, fully_designated_loci, normalize_profile

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
                   kind: ReferenceKind = ReferenceKind.IDENTIFIED_PERSON, *, amelogenin: bool = True) -> Loci:
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
    if ReferenceKind.parse(kind) is ReferenceKind.UNIDENTIFIED_TRACE and len(names) > 8:
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


# -- Bulk generation (vectorised): national files and query mixes for the index benchmark ------------------

PLANTED_CHANGES: tuple[str, ...] = ("duplicate", "near", "wildcard", "microvariant", "trace")
"""Relatives `derive_batch` plants; each gives `CHANGE_CLASS[change]` against its source profile."""

DEFAULT_QUERY_MIX: dict[str, float] = {
    "duplicate": 0.15, "trace": 0.10, "near": 0.10, "wildcard": 0.05, "microvariant": 0.05,
    "person": 0.35, "stain": 0.20,
}
"""The Art 3 benchmark mix: relatives of stored profiles (hits: full, partial trace, wildcard,
microvariant; near matches) and unrelated new profiles (no-hits): persons with every kit locus,
stains (unidentified traces) with drop-out."""

NO_HIT_KINDS: dict[str, ReferenceKind] = {"person": ReferenceKind.IDENTIFIED_PERSON, "stain": ReferenceKind.UNIDENTIFIED_TRACE}

ABSENT_INDEX = -1
"""In a `ProfileBatch`: the locus is absent."""
WILDCARD_INDEX = -2
"""In a `ProfileBatch`: the allele is a wildcard (DNA-6)."""


@cache
def _value_tables(loci: tuple[str, ...]) -> tuple[dict[str, tuple[str, ...]], dict[str, np.ndarray],
                                                   dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per STR locus: the values a batch may hold (the frequency table's alleles plus every DNA-7
    neighbour of them, in value order), the cumulative draw probabilities over those values (0 for the
    added neighbours), a matrix value x value of "matches without a differing allele" (equal or DNA-7
    neighbours), and for each value the positions of its neighbours other than itself."""
    frequencies = allele_frequencies()
    values: dict[str, tuple[str, ...]] = {}
    cumulative: dict[str, np.ndarray] = {}
    matches: dict[str, np.ndarray] = {}
    for locus in loci:
        table, weights = frequencies[locus]
        extended = set(table)
        for allele in table:
            extended.update(v for v in allele_neighbours(locus, allele) if float(v) >= 2)
        ordered = tuple(sorted(extended, key=_sort_key))
        position = {value: i for i, value in enumerate(ordered)}
        probabilities = np.zeros(len(ordered))
        probabilities[[position[a] for a in table]] = weights
        values[locus] = ordered
        cumulative[locus] = np.cumsum(probabilities)
        grid = np.zeros((len(ordered), len(ordered)), dtype=bool)
        for i, value in enumerate(ordered):
            grid[i, [position[v] for v in allele_neighbours(locus, value) if v in position]] = True
        matches[locus] = grid
    neighbours = {locus: grid & ~np.eye(len(grid), dtype=bool) for locus, grid in matches.items()}
    return values, cumulative, matches, neighbours


@dataclass(frozen=True)
class ProfileBatch:
    """Many profiles column-wise, as `ProfileMatrix.put_columns` loads them.

    loci: the batch's loci, comparable ones first and amelogenin last when present. values: per locus
    the allele values in value order. alleles: (n, loci, 2) int16 positions in `values[locus]`, each
    pair in value order, -2 for a wildcard (always second), -1 for an absent locus. traces: (n,) bool,
    True for an unidentified trace (DNA-2).
    """

    loci: tuple[str, ...]
    values: Mapping[str, tuple[str, ...]]
    alleles: np.ndarray
    traces: np.ndarray

    def __len__(self) -> int:
        return len(self.alleles)

    def kind(self, i: int) -> ReferenceKind:
        return ReferenceKind.UNIDENTIFIED_TRACE if self.traces[i] else ReferenceKind.IDENTIFIED_PERSON

    def normalised(self, i: int) -> NormalisedProfile:
        """Profile i exactly as `normalize_profile` gives it (canonical locus order)."""
        row = self.alleles[i].tolist()
        out = []
        for locus, (a, b) in zip(self.loci, row):
            if a == ABSENT_INDEX:
                continue
            values = self.values[locus]
            out.append((locus, (values[a] if a >= 0 else WILDCARD, values[b] if b >= 0 else WILDCARD)))
        return NormalisedProfile(sorted(out, key=lambda item: _KNOWN_ORDER[item[0]]))

    def lab(self, i: int, wildcard_code: str = "OL") -> Loci:
        """Profile i as a lab enters it: lists of values, a lab code for each wildcard."""
        return {locus: [wildcard_code if a == WILDCARD else a for a in alleles]
                for locus, alleles in self.normalised(i).items()}

    def columns(self) -> dict[str, tuple[tuple[str, ...], np.ndarray]]:
        """locus -> (values, (n, 2) positions): the argument of `ProfileMatrix.put_columns`."""
        return {locus: (self.values[locus], self.alleles[:, j, :]) for j, locus in enumerate(self.loci)}

    def take(self, rows: np.ndarray | Sequence[int]) -> ProfileBatch:
        rows = np.asarray(rows, dtype=np.int64)
        return ProfileBatch(self.loci, self.values, self.alleles[rows], self.traces[rows])

    def designated_counts(self) -> np.ndarray:
        """Fully designated comparable loci per profile."""
        comparable = np.array([locus != AMELOGENIN for locus in self.loci])
        return ((self.alleles[:, :, 1] >= 0) & comparable).sum(axis=1)

    @staticmethod
    def concat(batches: Sequence[ProfileBatch]) -> ProfileBatch:
        first = batches[0]
        if any(b.loci != first.loci for b in batches):
            raise ValueError("batches with different loci cannot be joined")
        return ProfileBatch(first.loci, first.values, np.concatenate([b.alleles for b in batches]),
                            np.concatenate([b.traces for b in batches]))


_KNOWN_ORDER = {locus: position for position, locus in enumerate(KNOWN_LOCI)}
_AMEL_VALUES = ("X", "Y")


def random_batch(rng: np.random.Generator, n: int, *, loci: Sequence[str] = DEFAULT_LOCI, trace_share: float = 0.0,
                 wildcard_rate: float = 0.0, amelogenin: bool = True) -> ProfileBatch:
    """n random profiles at once, with the draws of `random_profile`: alleles from the population
    frequencies; a share of unidentified traces that lose up to a quarter of their loci to drop-out
    (keeping at least 8); and, at `wildcard_rate` per profile, one allele replaced by a wildcard.
    Deterministic for a seeded Generator."""
    names = tuple(canonical_locus(name) for name in loci if canonical_locus(name) != AMELOGENIN)
    frequencies = allele_frequencies()
    missing = [name for name in names if name not in frequencies]
    if missing:
        raise ValueError(f"no allele frequencies for {', '.join(missing)}; available: {', '.join(frequencies)}")
    values, cumulative, _, _ = _value_tables(names)
    alleles = np.empty((n, len(names) + (1 if amelogenin else 0), 2), dtype=np.int16)
    for j, locus in enumerate(names):
        cum = cumulative[locus]
        drawn = np.searchsorted(cum, rng.random((n, 2)) * cum[-1], side="right")
        alleles[:, j, :] = np.sort(np.minimum(drawn, len(cum) - 1), axis=1)
    traces = rng.random(n) < trace_share
    count = len(names)
    top = max(0, min(count // 4, count - 8)) if count > 8 else 0
    if top and traces.any():
        rows = np.flatnonzero(traces)
        dropped = rng.integers(0, top + 1, size=len(rows))
        ranks = np.argsort(np.argsort(rng.random((len(rows), count)), axis=1), axis=1)
        lost = ranks < dropped[:, None]
        block = alleles[rows, :count, :]
        block[lost] = ABSENT_INDEX
        alleles[rows, :count, :] = block
    if wildcard_rate:
        _plant_wildcards(rng, alleles, count, np.flatnonzero(rng.random(n) < wildcard_rate))
    if amelogenin:
        alleles[:, -1, 0] = 0
        alleles[:, -1, 1] = (rng.random(n) < 0.5).astype(np.int16)
    return ProfileBatch(names + ((AMELOGENIN,) if amelogenin else ()), {**values, AMELOGENIN: _AMEL_VALUES},
                        alleles, traces)


def _random_designated(rng: np.random.Generator, alleles: np.ndarray, count: int, rows: np.ndarray) -> np.ndarray:
    """For each row, a random comparable locus (position < count) that is fully designated (-1 if none)."""
    designated = alleles[rows, :count, 1] >= 0
    keys = np.where(designated, rng.random((len(rows), count)), -1.0)
    chosen = keys.argmax(axis=1)
    return np.where(designated.any(axis=1), chosen, -1)


def _plant_wildcards(rng: np.random.Generator, alleles: np.ndarray, count: int, rows: np.ndarray) -> None:
    loci = _random_designated(rng, alleles, count, rows)
    rows, loci = rows[loci >= 0], loci[loci >= 0]
    kept = alleles[rows, loci, rng.integers(0, 2, size=len(rows))]
    alleles[rows, loci, 0] = kept
    alleles[rows, loci, 1] = WILDCARD_INDEX


def derive_batch(rng: np.random.Generator, batch: ProfileBatch, change: str) -> ProfileBatch:
    """One planted relative per profile of `batch`, each in the match class `CHANGE_CLASS[change]`
    against its source (as `derived_profile` does one at a time; vectorised, for bulk query mixes).

    duplicate: a copy. near: one allele of a fully designated locus becomes a value that matches
    neither allele there (one differing allele). wildcard: one allele becomes a wildcard.
    microvariant: one allele becomes a DNA-7 neighbour of itself. trace: a partial profile keeping
    between 7 and all of its fully designated loci. Sources need at least 7 fully designated loci
    (ValueError otherwise). The class holds for sources without a wildcard; against a source with
    one, a duplicate, trace or (other-locus) wildcard relative is a wildcard match.
    """
    if change not in CHANGE_CLASS:
        raise ValueError(f"unknown change {change!r}; allowed: {', '.join(CHANGE_CLASS)}")
    count = len(batch.loci) - (1 if batch.loci and batch.loci[-1] == AMELOGENIN else 0)
    alleles = batch.alleles.copy()
    designated = (alleles[:, :count, 1] >= 0).sum(axis=1)
    if (designated < MIN_TRACE_LOCI).any():
        raise ValueError(f"cannot derive a {change!r} relative of a profile with fewer than {MIN_TRACE_LOCI} fully "
                         f"designated loci (a near match needs 7)")
    n = len(batch)
    rows = np.arange(n)
    if change == "duplicate":
        pass
    elif change == "trace":
        keep = rng.integers(MIN_TRACE_LOCI, designated + 1)
        keys = np.where(alleles[:, :count, 1] >= 0, rng.random((n, count)), -1.0)
        ranks = np.argsort(np.argsort(-keys, axis=1), axis=1)
        alleles[:, :count, :][ranks >= keep[:, None]] = ABSENT_INDEX
    elif change == "wildcard":
        _plant_wildcards(rng, alleles, count, rows)
    else:
        _, cumulative, matches, neighbours = _value_tables(tuple(batch.loci[:count]))
        pending = rows
        while len(pending):
            loci = _random_designated(rng, alleles, count, pending)
            position = rng.integers(0, 2, size=len(pending))
            done = np.zeros(len(pending), dtype=bool)
            for j in np.unique(loci):
                at = np.flatnonzero(loci == j)
                locus = batch.loci[j]
                rows_j = pending[at]
                old = alleles[rows_j, j, position[at]].astype(np.int64)
                other = alleles[rows_j, j, 1 - position[at]].astype(np.int64)
                size = len(batch.values[locus])
                if change == "near":
                    table = matches[locus]
                    cum = cumulative[locus]  # another allele of the population, unrelated to both
                    new = np.minimum(np.searchsorted(cum, rng.random(len(at)) * cum[-1], side="right"), size - 1)
                    ok = ~table[new, old] & ~table[new, other]
                else:
                    options = neighbours[locus][old]
                    counts = options.sum(axis=1)
                    keys = np.where(options, rng.random(options.shape), -1.0)
                    new = keys.argmax(axis=1)
                    ok = counts > 0
                chosen = rows_j[ok]
                alleles[chosen, j, position[at][ok]] = new[ok]
                alleles[chosen, j, :] = np.sort(alleles[chosen, j, :], axis=1)
                done[at[ok]] = True
            pending = pending[~done]
    return ProfileBatch(batch.loci, batch.values, alleles, batch.traces.copy() if change != "trace"
                        else np.ones(n, dtype=bool))


@dataclass(frozen=True)
class QueryMix:
    """Queries for a benchmark, each with what it should find.

    batch: the queries. changes: per query its recipe (a key of `DEFAULT_QUERY_MIX`). sources: per
    query the profile of the file it was derived from, -1 for an unrelated one. expected: the match
    class the source gives (CHANGE_CLASS), "" for unrelated queries.
    """

    batch: ProfileBatch
    changes: tuple[str, ...]
    sources: np.ndarray
    expected: tuple[str, ...]


def query_mix(rng: np.random.Generator, file: ProfileBatch, n: int,
              mix: Mapping[str, float] = DEFAULT_QUERY_MIX) -> QueryMix:
    """n queries against `file`, drawn by recipe at the given rates (they are normalised to sum to 1).

    Relatives (keys of CHANGE_CLASS) are derived from random profiles of the file that have at least
    7 fully designated loci and no wildcard, so that each gives exactly its class against its source;
    "person" and "stain" are new unrelated profiles (persons with every locus, stains with drop-out),
    normally no-hits. The order is shuffled, deterministically."""
    unknown = [recipe for recipe in mix if recipe not in CHANGE_CLASS and recipe not in NO_HIT_KINDS]
    if unknown:
        raise ValueError(f"unknown recipes {unknown}; allowed: {', '.join([*CHANGE_CLASS, *NO_HIT_KINDS])}")
    total = sum(mix.values())
    recipes = list(mix)
    counts = np.floor(np.array([mix[r] / total for r in recipes]) * n).astype(int)
    counts[np.argmax(counts)] += n - counts.sum()
    eligible = np.flatnonzero((file.designated_counts() >= MIN_TRACE_LOCI)
                              & ~(file.alleles[:, :, 1] == WILDCARD_INDEX).any(axis=1))
    parts: list[ProfileBatch] = []
    changes: list[str] = []
    sources: list[np.ndarray] = []
    count = len([locus for locus in file.loci if locus != AMELOGENIN])
    for recipe, size in zip(recipes, counts.tolist()):
        if not size:
            continue
        if recipe in NO_HIT_KINDS:
            share = 1.0 if NO_HIT_KINDS[recipe] is ReferenceKind.UNIDENTIFIED_TRACE else 0.0
            part = random_batch(rng, size, loci=file.loci[:count], trace_share=share,
                                amelogenin=file.loci[-1] == AMELOGENIN)
            sources.append(np.full(size, -1))
        else:
            picked = eligible[rng.integers(0, len(eligible), size=size)]
            part = derive_batch(rng, file.take(picked), recipe)
            sources.append(picked)
        parts.append(part)
        changes.extend([recipe] * size)
    batch = ProfileBatch.concat(parts)
    order = rng.permutation(len(batch))
    source = np.concatenate(sources)[order]
    ordered = tuple(changes[i] for i in order.tolist())
    return QueryMix(batch.take(order), ordered, source, tuple(CHANGE_CLASS.get(c, "") for c in ordered))


def synthetic_file(rng: np.random.Generator, n: int, *, trace_share: float = 0.2, duplicate_rate: float = 0.01,
                   wildcard_rate: float = 0.02, loci: Sequence[str] = DEFAULT_LOCI) -> ProfileBatch:
    """A national file of n profiles: persons with every locus and a share of traces with drop-out, a
    share of them with one wildcard, and planted duplicates (the same person sampled twice: later rows
    copy earlier ones at `duplicate_rate`)."""
    batch = random_batch(rng, n, loci=loci, trace_share=trace_share, wildcard_rate=wildcard_rate)
    copies = int(n * duplicate_rate)
    if copies and n > 1:
        targets = np.sort(rng.choice(np.arange(1, n), size=min(copies, n - 1), replace=False))
        sources = rng.integers(0, targets)
        batch.alleles[targets] = batch.alleles[sources]
        batch.traces[targets] = batch.traces[sources]
    return batch


def build_index(batch: ProfileBatch) -> BlockIndex:
    """An index over a synthetic batch, rows 0..n-1 (the bulk path: column-wise encoding, one key build)."""
    matrix = ProfileMatrix(capacity=len(batch))
    matrix.put_columns(np.arange(len(batch)), batch.columns())
    return BlockIndex(matrix)
