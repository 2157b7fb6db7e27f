"""Compiled kernels for the block index's per-query work (numba), with the same results as its numpy path.

A search's control flow (a plan per stored designated-locus set, key combinations, bucket probes) is
many small steps; in numpy each step is a call costing microseconds whatever its size. Compiled by
numba they cost nanoseconds. `AVAILABLE` says whether numba is installed; without it (or with
PRUM_DNA_NO_NUMBA=1 in the environment) the index uses its numpy path, and the tests check that the
two agree. Compiled code is cached beside this module (numba's `cache=True`).

`search_profile` is a whole search in one call from the query's allele codes (the index's usual path):
encoding (`encode`: score rows, matching stored genotypes and their hashes), the plan, keys, probe,
rule check and the class of each hit (`classify`, the compiled twin of `encoding.match_row`), so a
query costs one dispatch and no Python objects beyond its codes.

Arguments. `search_profile` reads the whole index: its parameters come in groups, each the fields
of one of the named tuples below, in order (`Encoding`, `Sets`, `Plan`, `Directory`, `Stored`,
`Lists`), and its caller passes each group unpacked (`*directory`); `plan` begins with a `Sets`.
The kernels take the fields one by one rather than as tuples: an array taken out of a tuple argument
is reference-counted in and out of every kernel that takes it out (atomic operations that numba does
not prune across calls), which costs a search more than its other per-call overheads.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from prum.services.common.jit import compiler
from prum.services.dna.encoding import ABSENT, FIRST_VALUE, SCORE_DIFFERENT, SCORE_MICROVARIANT, WILD
from prum.services.dna.matching import NO_HIT, match_class_code

AVAILABLE, njit = compiler("PRUM_DNA_NO_NUMBA")

_match_class_code = njit(nogil=True, inline="always")(match_class_code)
"""`matching.match_class_code` compiled into the kernels that call it (numba reads the CLASS_* codes it
returns as constants). numba's cache beside this module does not see changes to matching.py or
encoding.py: after changing the rule or the codes there, clear `__pycache__/kernels.*` (the tests
that compare the compiled path with `compare` fail until then)."""


class Encoding(NamedTuple):
    """What `encode` encodes a query's codes against: the matrix and its score tables
    (`encoding.ProfileMatrix`, `encoding.ScoreTables`), and block_index's genotype hash tables."""

    col: np.ndarray
    """Per locus position, its matrix column; -1 where no stored profile has the locus."""
    score: np.ndarray
    """The score tables, loci x width x width."""
    sizes: np.ndarray
    """Codes per locus."""
    present: np.ndarray
    """loci x width x width: whether some row has the designated genotype (low code, high code)."""
    salt: np.ndarray
    """Genotype hashes (`block_index.genotype_hash`): salt per locus, ..."""
    low: np.ndarray
    """... random value of the low code per locus and code, ..."""
    high: np.ndarray
    """... and of the high code."""
    loci: int
    """Comparable loci (rows of the hash tables)."""
    amelogenin: int
    """Amelogenin's locus position (never compared)."""


class Sets(NamedTuple):
    """The stored designated-locus sets and their block values, as `plan` reads them (block_index's
    registry; block values of all partitions numbered together)."""

    masks: np.ndarray
    """Per set, its designated loci (mask)."""
    value_ids: np.ndarray
    """sets x blocks: the set's block value in each block."""
    value_mask: np.ndarray
    """Per block value, its loci (mask)."""
    value_salt: np.ndarray
    """Per block value, the salt of its keys."""
    value_rows: np.ndarray
    """Per block value, the rows of every set that has it."""
    block_level: np.ndarray
    """Per block, its partition."""
    levels: int
    """Partitions."""
    union: int
    """The loci of any set (mask)."""
    set_count: np.ndarray
    """Per set, its rows."""
    small: int
    """A set that two clean blocks of one partition cannot cover and that has at most this many rows is
    checked row by row."""


class Plan(NamedTuple):
    """What `plan` returns for a query's usable loci, per block value and per set."""

    exact: np.ndarray
    """Per block value: probe its key exactly."""
    single: np.ndarray
    """Per block value: probe it with its one or two missing loci enumerated."""
    leave_one_out: np.ndarray
    """Per block value: probe it leaving out each of its loci in turn."""
    need: np.ndarray
    """Per set: the keys a row of it must match (the count filter; 1: none)."""
    scan: np.ndarray
    """Per set: check its rows one by one."""


class Directory(NamedTuple):
    """The key directory and what a probe needs beside it (block_index's module doc, Layout)."""

    present_offsets: np.ndarray
    """Per comparable locus, the hashes of every stored designated genotype (CSR offsets, ..."""
    present_hashes: np.ndarray
    """... and hashes): what a missing locus is enumerated over."""
    capacity: int
    """The most keys a plan may expand into (beyond: every row is checked)."""
    bits: int
    """Bucket bits: a key's low bits are its bucket, the rest its fingerprint."""
    offsets: np.ndarray
    """Per bucket, its first entry (one more at the end)."""
    fingerprints: np.ndarray
    """Per entry, its key's fingerprint (sorted within a bucket), ..."""
    rows: np.ndarray
    """... its row, ..."""
    signatures: np.ndarray
    """... and its row's signature (`passes`)."""
    delta_keys: np.ndarray
    """Entries not merged into the directory yet: keys (sorted), ..."""
    delta_rows: np.ndarray
    """... rows ..."""
    delta_signatures: np.ndarray
    """... and row signatures."""
    slot: np.ndarray
    """Per comparable locus, its signature slot (-1: none)."""


class Stored(NamedTuple):
    """The stored rows."""

    live: np.ndarray
    """Per row, whether it is stored."""
    row_set: np.ndarray
    """Per row, its designated-locus set."""
    codes: np.ndarray
    """Rows x columns of allele codes (`encoding.ProfileMatrix.codes`)."""


class Lists(NamedTuple):
    """The small designated-locus sets read as a list (block_index's module doc)."""

    set_bounds: np.ndarray
    """2 x sets: a listed set's rows are set_rows[set_bounds[0, set]:set_bounds[1, set]]; -1: not listed."""
    set_rows: np.ndarray
    """The listed rows, by set."""
    recent: np.ndarray
    """Rows of listed sets added since the list was made."""
    listed: np.ndarray
    """Per set, whether it is listed."""
    listed_wide: np.ndarray
    """Per listed row, its wide signature (`wide_passes`)."""
    listed_planes: np.ndarray
    """The wide signatures as bit planes (`scan_planes`)."""
    common: int
    """The loci most stored profiles have (mask)."""
    thin: int
    """A query missing at least this many of them reads the list instead of planning keys for its sets."""


EMPTY, CLEAN, SINGLE, BAD, DOUBLE = 0, 1, 2, 3, 4
"""Status of a block value for a query: no locus, every locus usable, one or two missing (enumerated), more."""

BIG_SET = 1024
"""A designated-locus set with at least this many rows gets its plan by the cost model below (few sets)."""
_KEY_COST = 1.0
"""Cost model, in units of one probed key (a random read of the directory)."""
_ENTRY_COST = 0.1
"""Per entry a probe collects (read in order beside its bucket; its row signature tested, `passes`)."""
_CHECK_COST = 0.3
"""Per candidate row checked by the rules: a random read of the rows, paid only by the few entries
(a few %) whose signature passes."""
_SCAN_COST = 0.7
"""Per row of a set checked one by one (rows in memory order)."""
_PAIR_KEYS = 1 << 16
"""Most keys one block of a `_big_set` pair may expand into (the key buffer has room for 2^18)."""
_GENOTYPE_SHARE = 0.08
"""About the share of stored profiles with a given query genotype at a locus (European loci, DNA-7
neighbours included): a key over k query loci finds about rows x 0.08^k entries."""


@njit(cache=True, nogil=True)
def _popcount(value: int) -> int:
    """Set bits of a value below 2^32 (locus masks), in a few arithmetic steps (no loop)."""
    value = value - ((value >> 1) & 0x55555555)
    value = (value & 0x33333333) + ((value >> 2) & 0x33333333)
    value = (value + (value >> 4)) & 0x0F0F0F0F
    return ((value * 0x01010101) & 0xFFFFFFFF) >> 24


SIGNATURE_SHIFT = 20
"""A stored genotype's 2-bit signature code is 1 + (its `genotype_hash` >> SIGNATURE_SHIFT) % 3; 0 is
"not fully designated" (absent or a wildcard). block_index keeps one such code per signature locus
(16 loci, 32 bits) beside every key entry."""


@njit(cache=True, nogil=True)
def query_filter(qhash: np.ndarray, qcount: np.ndarray, designated: int, usable: int, slot: np.ndarray,
                 min_loci: int) -> np.ndarray:
    """What an entry's row signature must show for the row to be able to hit this query, as 12 numbers:
    (loci without a signature slot that may count, min_loci, whether to test at all (-1: no), the mask
    of the slots tested (the low bit of each 2-bit field), then per code value v = 0..3 the slots where
    v is allowed, and the slots where v may count, same layout). At a designated query locus with a
    slot, a row's code that is not allowed means a genotype that matches none of the query's (a
    differing allele); a countable code, a matching designated genotype (a locus that may count). See
    `passes`."""
    out = np.zeros(12, np.int64)
    base = 0
    tested = 0
    for locus in range(slot.shape[0]):
        if not (designated >> locus) & 1:
            continue
        s = slot[locus]
        allowed = 1
        if (usable >> locus) & 1:
            if s < 0:
                base += 1
                continue
            for e in range(qcount[locus]):
                allowed |= 1 << (1 + (qhash[locus, e] >> SIGNATURE_SHIFT) % 3)
        elif s < 0:
            continue
        bit = 1 << (2 * s)
        tested |= bit
        for v in range(4):
            if (allowed >> v) & 1:
                out[4 + v] |= bit
                if v:
                    out[8 + v] |= bit
    out[0] = base
    out[1] = min_loci
    out[2] = 1
    out[3] = tested
    return out


@njit(cache=True, nogil=True)
def passes(signature: int, qfilter: np.ndarray) -> bool:
    """Whether a row with this signature may hit the query of `qfilter`: False when two signature loci
    show a genotype matching none of the query's (two differing alleles, DNA-9) or when fewer than
    min_loci loci can count (DNA-8). Never False for a hit; a hash collision only lets a row through.
    Bit-parallel over the 16 fields (their low and high bits side by side)."""
    low = signature & 0x55555555
    high = (signature >> 1) & 0x55555555
    zero = ~(low | high) & 0x55555555
    one = low & ~high
    two = high & ~low
    three = low & high
    bad = qfilter[3] & ~((zero & qfilter[4]) | (one & qfilter[5]) | (two & qfilter[6]) | (three & qfilter[7]))
    if bad & (bad - 1):  # two fields or more
        return False
    return qfilter[0] + _popcount((one & qfilter[9]) | (two & qfilter[10]) | (three & qfilter[11])) >= qfilter[1]


WIDE_SHIFT = 24
"""A stored genotype's 4-bit wide-signature code is 1 + (its `genotype_hash` >> WIDE_SHIFT) % 15; 0 is
"not fully designated". The rows of small designated-locus sets keep one such code per signature locus
(64 bits) in a list read in order by queries with missing loci (`scan_listed`)."""
_NIBBLES = 0x1111111111111111

LISTED, UNMATCHED, ANY_CODE = 0, 1, 2
"""How a query locus with a wide-signature field tests it (`_wide_loci`): against the codes of its
matching stored genotypes (up to 8); as a locus no stored genotype matches (a designated row there
has a differing allele); as counting whenever designated (more than 8 codes)."""


@njit(cache=True, nogil=True)
def _wide_loci(qhash: np.ndarray, qcount: np.ndarray, designated: int, usable: int, slot: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int, int]:
    """The query's loci as the wide signatures see them: per designated query locus with a signature
    slot, its slot and kind (LISTED: usable, with the codes of its matching stored genotypes, up to 8;
    UNMATCHED: no stored genotype matches, so a designated row there fails; ANY_CODE: usable with more
    than 8 codes, counts whenever designated), those codes and their number; how many such loci, how
    many of them may count (LISTED and ANY_CODE), and the usable loci without a slot (they may count too)."""
    loci = np.empty(slot.shape[0], np.int64)
    kinds = np.empty(slot.shape[0], np.int64)
    allowed = np.zeros((slot.shape[0], 8), np.int64)
    allowed_count = np.zeros(slot.shape[0], np.int64)
    read = 0
    counted = 0
    base = 0
    for locus in range(slot.shape[0]):
        if not (designated >> locus) & 1:
            continue
        s = slot[locus]
        if not (usable >> locus) & 1:
            if s >= 0:
                loci[read] = s
                kinds[read] = UNMATCHED
                read += 1
            continue
        if s < 0:
            base += 1
            continue
        k = 0
        for e in range(qcount[locus]):
            code = 1 + (qhash[locus, e] >> WIDE_SHIFT) % 15
            seen = False
            for j in range(min(k, 8)):
                seen |= allowed[read, j] == code
            if not seen:
                if k < 8:
                    allowed[read, k] = code
                k += 1
        loci[read] = s
        kinds[read] = LISTED if k <= 8 else ANY_CODE
        allowed_count[read] = k
        read += 1
        counted += 1
    return loci, kinds, allowed, allowed_count, read, counted, base


@njit(cache=True, nogil=True)
def wide_filter(qhash: np.ndarray, qcount: np.ndarray, designated: int, usable: int, slot: np.ndarray,
                min_loci: int) -> np.ndarray:
    """What a row's wide signature must show to be able to hit this query, as 5 numbers: the query's
    code per tested field (`WIDE_SHIFT`), the tested fields (the low bit of each 4-bit field), the fields
    that count whenever designated (a query locus with several matching stored genotypes), loci without a
    field that may count, min_loci. A designated query locus no stored genotype matches is tested with
    code 0: a designated row there has a differing allele. See `wide_passes`."""
    loci, kinds, allowed, allowed_count, read, _, base = _wide_loci(qhash, qcount, designated, usable, slot)
    out = np.zeros(5, np.int64)
    for r in range(read):
        field = 1 << (4 * loci[r])
        if kinds[r] == UNMATCHED:
            out[1] |= field
        elif kinds[r] == LISTED and allowed_count[r] == 1:
            out[0] |= allowed[r, 0] << (4 * loci[r])
            out[1] |= field
        else:
            out[2] |= field
    out[3] = base
    out[4] = min_loci
    return out


@njit(cache=True, nogil=True, inline="always")
def _nonzero_fields(value: int) -> int:
    """The low bit of each 4-bit field of value that is not zero."""
    folded = value | (value >> 1)
    folded |= folded >> 2
    return folded & _NIBBLES


@njit(cache=True, nogil=True)
def wide_passes(signature: int, wfilter: np.ndarray) -> bool:
    """Whether a row with this wide signature may hit the query of `wfilter` (`passes` with 15 codes a
    locus instead of 3): False when two tested fields are designated with a code other than the query's
    (two differing alleles, DNA-9) or when fewer than min_loci loci can count (DNA-8). Never False for a
    hit: at a counting locus its genotype is the query's one matching stored genotype, so its code is."""
    designated = _nonzero_fields(signature)
    differ = _nonzero_fields(signature ^ wfilter[0])
    failing = designated & differ & wfilter[1]
    if failing & (failing - 1):
        return False
    counted = (designated & ~differ & wfilter[1]) | (designated & wfilter[2])
    folded = (counted + (counted >> 4)) & 0x0F0F0F0F0F0F0F0F
    return wfilter[3] + (((folded * 0x0101010101010101) >> 56) & 0xFF) >= wfilter[4]


@njit(cache=True, nogil=True)
def _any_few_failing(signatures: np.ndarray, pattern: int, tested: int) -> bool:
    """Whether any of these wide signatures has at most one failing field (`wide_passes`' first test),
    without a branch a row, so that it compiles to vector instructions (~0.3 ns a row)."""
    few = 0
    for i in range(signatures.shape[0]):  # over the whole view: a loop numba vectorises
        value = signatures[i]
        failing = _nonzero_fields(value) & _nonzero_fields(value ^ pattern) & tested
        few += (failing & (failing - 1)) == 0
    return few > 0


_LISTED_CHUNK = 512
"""Listed rows tested together by `_any_few_failing` before any is tested alone."""


@njit(cache=True, nogil=True)
def scan_listed(listed_rows: np.ndarray, listed_wide: np.ndarray, live: np.ndarray, wfilter: np.ndarray,
                codes: np.ndarray, cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray, min_loci: int
                ) -> np.ndarray:
    """The listed rows that hit: each one whose wide signature passes, checked by the rules. (Rows added
    since the list was made: `check_recent`.)"""
    found = np.empty(16, np.int64)
    scratch = np.empty(5, np.int64)
    n = 0
    passing = np.empty(_LISTED_CHUNK, np.int64)
    for start in range(0, listed_rows.shape[0], _LISTED_CHUNK):
        chunk = listed_wide[start:start + _LISTED_CHUNK]
        if not _any_few_failing(chunk, wfilter[0], wfilter[1]):
            continue
        k = 0
        for j in range(chunk.shape[0]):
            if wide_passes(chunk[j], wfilter):
                passing[k] = listed_rows[start + j]
                k += 1
        for j in range(k):
            if live[passing[j]]:
                found, n = _check_into(found, n, passing[j], codes, cols, table, width, wild, min_loci, scratch)
    return found[:n]


THIN_MISSES = 3
"""A query whose usable loci exceed the min_loci a hit needs by at most this many (a partial trace)
reads the list through its bit planes (`scan_planes`); a fuller one through the wide signatures."""


@njit(cache=True, nogil=True)
def scan_planes(planes: np.ndarray, listed_rows: np.ndarray, live: np.ndarray, qhash: np.ndarray,
                qcount: np.ndarray, designated: int, usable: int, slot: np.ndarray, codes: np.ndarray,
                cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray, min_loci: int, max_misses: int
                ) -> tuple[np.ndarray, bool]:
    """`scan_listed` for a thin query, 64 listed rows at a time. planes[4 * slot + bit] holds bit `bit` of
    every listed row's wide code at signature slot `slot`, a row a bit (word w, bit i: listed row 64w + i).
    Per row: loci that miss (not designated with an allowed code, at a usable query locus) and loci that
    fail (designated with a code the query does not allow). A row can hit only with at most one failing
    locus and at most `misses` missing ones, misses being the usable loci beyond the min_loci a hit needs
    (DNA-8, DNA-9; the argument of `wide_passes`). Returns the hits, and False without reading anything
    when the query has more than `max_misses` to spare (then `scan_listed` is cheaper)."""
    loci, kinds, allowed, allowed_count, read, counted, base = _wide_loci(qhash, qcount, designated, usable, slot)
    misses = counted - (min_loci - base)
    if misses > max_misses:
        return np.empty(0, np.int64), False
    found = np.empty(16, np.int64)
    scratch = np.empty(5, np.int64)
    n = 0
    rows = listed_rows.shape[0]
    words = planes.shape[1]
    if misses >= 0 and rows:
        fail1 = np.zeros(words, np.int64)
        fail2 = np.zeros(words, np.int64)
        miss = np.zeros((4, words), np.int64)  # miss[k]: more than k loci missing
        equal = np.empty(words, np.int64)
        for r in range(read):
            s = loci[r]
            p0, p1, p2, p3 = planes[4 * s], planes[4 * s + 1], planes[4 * s + 2], planes[4 * s + 3]
            equal[:] = 0
            if kinds[r] == LISTED:
                for e in range(allowed_count[r]):
                    code = allowed[r, e]
                    m0, m1, m2, m3 = -(code & 1), -((code >> 1) & 1), -((code >> 2) & 1), -((code >> 3) & 1)
                    for w in range(words):
                        equal[w] |= ~(p0[w] ^ m0) & ~(p1[w] ^ m1) & ~(p2[w] ^ m2) & ~(p3[w] ^ m3)
            elif kinds[r] == ANY_CODE:
                equal[:] = -1
            for w in range(words):
                present = p0[w] | p1[w] | p2[w] | p3[w]
                failing = present & ~equal[w]
                fail2[w] |= fail1[w] & failing
                fail1[w] |= failing
                if kinds[r] != UNMATCHED:
                    missing = ~(present & equal[w])
                    miss[3, w] |= miss[2, w] & missing
                    miss[2, w] |= miss[1, w] & missing
                    miss[1, w] |= miss[0, w] & missing
                    miss[0, w] |= missing
        for w in range(words):
            ok = ~miss[misses, w] & ~fail2[w]
            if w == words - 1 and rows % 64:
                ok &= (np.int64(1) << (rows % 64)) - 1
            if ok == 0:
                continue
            for bit in range(64):
                if (ok >> bit) & 1:
                    row = np.int64(listed_rows[64 * w + bit])
                    if live[row]:
                        found, n = _check_into(found, n, row, codes, cols, table, width, wild, min_loci, scratch)
    return found[:n], True


@njit(cache=True, nogil=True)
def check_recent(recent: np.ndarray, listed: np.ndarray, live: np.ndarray, row_set: np.ndarray, codes: np.ndarray,
                 cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray, min_loci: int) -> np.ndarray:
    """The recent rows (added since the list was made) of a listed set that hit, checked directly: the
    list's other half for `scan_listed` and `scan_planes`."""
    found = np.empty(16, np.int64)
    scratch = np.empty(5, np.int64)
    n = 0
    for i in range(recent.shape[0]):
        row = recent[i]
        s = row_set[row]
        if s < listed.shape[0] and listed[s] and live[row]:
            found, n = _check_into(found, n, row, codes, cols, table, width, wild, min_loci, scratch)
    return found[:n]


@njit(cache=True, nogil=True)
def _block_cost(v: int, state: int, rows: int, usable: int, value_mask: np.ndarray, missing: int,
                present_counts: np.ndarray) -> float:
    """Expected cost of probing block value v for a set of `rows` rows (see the cost model above); inf
    beyond `_PAIR_KEYS` keys."""
    mask = value_mask[v]
    entries = rows * _GENOTYPE_SHARE ** _popcount(mask & usable)
    keys = 1.0
    gap = mask & missing
    while gap:  # every missing locus is enumerated over its stored genotypes
        lowest = gap & -gap
        gap ^= lowest
        keys *= present_counts[_popcount(lowest - 1)]
    if keys > _PAIR_KEYS:
        return np.inf
    return keys + entries * (_ENTRY_COST + _CHECK_COST)


@njit(cache=True, nogil=True)
def _big_set(ids: np.ndarray, status: np.ndarray, value_mask: np.ndarray, block_level: np.ndarray, levels: int,
             usable: int, missing: int, six: bool, rows: int, present_counts: np.ndarray) -> int:
    """For one big designated-locus set (block values `ids`), the blocks to probe as a bit mask when the
    cheapest is two blocks sharing no usable locus (one block for |S| = 6), of any partitions and with
    up to two missing loci enumerated; 0 when one partition's blocks (the usual plan) cost less; -1 when
    nothing usual exists and checking the set row by row costs less."""
    blocks = ids.shape[0]
    wanted = 1 if six else 2
    for level in range(levels):  # a partition with enough clean and single blocks: the usual plan
        clean, singles = _level_counts(ids, status, block_level, level)
        if clean + singles >= wanted:
            return 0
    best = rows * _SCAN_COST
    chosen = -1
    for level in range(levels):  # the usual last resort: each locus of the first partition's clean blocks left out
        cost = 0.0
        for b in range(blocks):
            if block_level[b] == level and status[ids[b]] == CLEAN:
                m = value_mask[ids[b]]
                known = _popcount(m & usable)
                while m:
                    lowest = m & -m
                    m ^= lowest
                    cost += (present_counts[_popcount(lowest - 1)]
                             + rows * _GENOTYPE_SHARE ** (known - 1) * (_ENTRY_COST + _CHECK_COST))
        if cost > 0.0:
            if cost <= best:
                best = cost
                chosen = 0
            break
    for a in range(blocks):
        state = status[ids[a]]
        if state != CLEAN and state != SINGLE and state != DOUBLE:
            continue
        cost_a = _block_cost(ids[a], state, rows, usable, value_mask, missing, present_counts)
        if six:
            if cost_a < best:
                best = cost_a
                chosen = 1 << a
            continue
        for b in range(a + 1, blocks):
            other = status[ids[b]]
            if (other != CLEAN and other != SINGLE and other != DOUBLE) or (
                    value_mask[ids[a]] & value_mask[ids[b]] & usable):
                continue
            cost = cost_a + _block_cost(ids[b], other, rows, usable, value_mask, missing, present_counts)
            if cost < best:
                best = cost
                chosen = (1 << a) | (1 << b)
    return chosen


@njit(cache=True, nogil=True, inline="always")
def _level_counts(ids: np.ndarray, status: np.ndarray, block_level: np.ndarray, level: int) -> tuple[int, int]:
    """How many of a set's blocks in partition `level` are clean, and how many miss one locus of the query."""
    clean = 0
    singles = 0
    for b in range(ids.shape[0]):
        if block_level[b] == level:
            state = status[ids[b]]
            if state == CLEAN:
                clean += 1
            elif state == SINGLE:
                singles += 1
    return clean, singles


@njit(cache=True, nogil=True, inline="always")
def _cheapest_single(ids: np.ndarray, status: np.ndarray, block_level: np.ndarray, level: int, taken: int,
                     single: np.ndarray, rank: np.ndarray) -> tuple[int, float]:
    """The block of partition `level` missing one locus, not in `taken`, whose enumeration costs least (nothing
    if another set enumerates it already): (block, cost); (-1, inf) if none is left."""
    pick = -1
    least = np.inf
    for b in range(ids.shape[0]):
        v = ids[b]
        if block_level[b] == level and status[v] == SINGLE and not taken >> b & 1:
            cost = 0.0 if single[v] else rank[v]
            if cost < least:
                pick = b
                least = cost
    return pick, least


@njit(cache=True, nogil=True)
def plan(masks: np.ndarray, value_ids: np.ndarray, value_mask: np.ndarray, value_salt: np.ndarray,
         value_rows: np.ndarray, block_level: np.ndarray, levels: int, union: int, set_count: np.ndarray, small: int,
         usable: int, missing: int, min_loci: int, present_counts: np.ndarray, listed: np.ndarray
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`BlockIndex._plan` per stored designated-locus set (see block_index's module doc): which block
    values to probe exactly, which with their one (or two) missing loci enumerated, which leave-one-out; the
    count filter per set; the sets to check row by row. A set that two clean blocks of one partition
    cannot cover and that has at most `small` rows is checked row by row at once: cheaper than
    enumerating a locus for it. Of the blocks with one missing locus, the cheapest are enumerated: one
    already enumerated for another set costs nothing more, else its keys (stored genotypes at the
    missing locus, `present_counts`) and the entries its keys find, in every set that has the block
    value (`value_rows`: rows per block value) and not only in this one. A big set (`BIG_SET` rows or more) may instead take the cheapest
    two blocks of any partitions that share no usable locus (a hit's one differing allele spoils at
    most one of them), blocks with two missing loci included: `_big_set`. Sets flagged in `listed` get no
    plan: the caller reads their rows' wide signatures instead (`scan_listed`; ids past its end are not
    flagged). Takes a `Sets` (value_salt and union unused) and returns a `Plan`."""
    count, blocks = value_ids.shape
    values = value_mask.shape[0]
    status = np.empty(values, np.int8)
    rank = np.zeros(values, np.float64)
    for v in range(values):
        mask = value_mask[v]
        if mask == 0:
            status[v] = EMPTY
        else:
            gap = mask & missing
            miss = _popcount(gap)
            status[v] = CLEAN if miss == 0 else (SINGLE if miss == 1 else (DOUBLE if miss == 2 else BAD))
            if miss == 1:  # what enumerating it costs: keys, and the entries found in all sets
                rank[v] = (present_counts[_popcount(gap - 1)] * _KEY_COST + value_rows[v]
                           * _GENOTYPE_SHARE ** _popcount(mask & usable) * (_ENTRY_COST + _CHECK_COST))
    exact = np.zeros(values, np.bool_)
    single = np.zeros(values, np.bool_)
    leave_one_out = np.zeros(values, np.bool_)
    need = np.ones(count, np.uint8)
    scan = np.zeros(count, np.bool_)
    for d in range(count):
        if d < listed.shape[0] and listed[d]:
            continue
        shared = _popcount(masks[d] & usable)
        if shared < min_loci:
            continue
        six = shared == min_loci
        wanted = 1 if six else 2
        settled = False
        for level in range(levels):  # enough clean blocks in one partition: exact keys only, cheapest
            clean, _ = _level_counts(value_ids[d], status, block_level, level)
            if clean >= wanted:
                picked = 0  # the wanted number of them, those another set already probes first
                for again in range(2):
                    for b in range(blocks):
                        v = value_ids[d, b]
                        if (picked < wanted and block_level[b] == level and status[v] == CLEAN
                                and exact[v] == (again == 0)):
                            exact[v] = True
                            picked += 1
                settled = True
                break
        if settled:
            continue
        if set_count[d] <= small:
            scan[d] = True
            continue
        if set_count[d] >= BIG_SET:
            chosen = _big_set(value_ids[d], status, value_mask, block_level, levels, usable, missing, six,
                              set_count[d], present_counts)
            if chosen < 0:
                scan[d] = True
                continue
            if chosen:
                k = 0
                for b in range(blocks):
                    if chosen >> b & 1:
                        v = value_ids[d, b]
                        if status[v] == CLEAN:
                            exact[v] = True
                        else:
                            single[v] = True
                        k += 1
                need[d] = k - 1 if (k > 2 and not six) else 1
                continue
        best_level = -1
        best_cost = np.inf
        for level in range(levels):  # the partition whose cheapest single blocks cost least
            clean, singles = _level_counts(value_ids[d], status, block_level, level)
            if clean + singles < wanted:
                continue
            cost = 0.0
            taken = 0
            for _ in range(wanted - clean if wanted > clean else 0):
                pick, least = _cheapest_single(value_ids[d], status, block_level, level, taken, single, rank)
                taken |= 1 << pick
                cost += least
            if cost < best_cost:
                best_cost = cost
                best_level = level
        if best_level >= 0:  # it has enough clean and single blocks (else it has no cost)
            level = best_level
            clean, _ = _level_counts(value_ids[d], status, block_level, level)
            extra = wanted - clean if wanted > clean else 0
            for b in range(blocks):
                if block_level[b] == level and status[value_ids[d, b]] == CLEAN:
                    exact[value_ids[d, b]] = True
            taken = 0
            for _ in range(extra):  # the cheapest single blocks
                pick, _ = _cheapest_single(value_ids[d], status, block_level, level, taken, single, rank)
                taken |= 1 << pick
                single[value_ids[d, pick]] = True
            if not six:
                k = clean + extra
                need[d] = k - 1 if k > 2 else 1
            continue
        for level in range(levels):
            for b in range(blocks):
                if block_level[b] == level:
                    v = value_ids[d, b]
                    if status[v] == CLEAN:
                        leave_one_out[v] = True
                        settled = True
            if settled:
                break
        if not settled:
            scan[d] = True
    return exact, single, leave_one_out, need, scan


@njit(cache=True, nogil=True)
def _emit(out: np.ndarray, n: int, salt: int, summed: int, enumerated: int, qhash: np.ndarray, qcount: np.ndarray,
          present_offsets: np.ndarray, present_hashes: np.ndarray, scratch: np.ndarray) -> int:
    """Append to out the keys salt + one query hash per locus of `summed` (every combination), each plus
    every stored genotype hash of locus `enumerated` (if >= 0). Returns the new length, -1 if full.
    scratch: room for two entries per locus (the loci with several hashes and their current choice)."""
    size = 0
    combinations = 1
    key = salt
    m = summed
    while m:  # over the set bits only
        lowest = m & -m
        m ^= lowest
        locus = _popcount(lowest - 1)
        count = qcount[locus]
        if count == 0:
            return n  # a locus the query cannot match without a difference: no key
        key += qhash[locus, 0]
        if count > 1:
            scratch[size] = locus
            scratch[32 + size] = 0
            size += 1
            combinations *= count
    if enumerated >= 0:
        start, stop = present_offsets[enumerated], present_offsets[enumerated + 1]
        if stop == start:
            return n
    else:
        start, stop = 0, 1
    if n + combinations * (stop - start) > out.shape[0]:
        return -1  # the caller grows the buffer and tries again
    while True:  # every combination, as an odometer over the loci with several hashes (no division)
        if enumerated >= 0:
            for j in range(start, stop):
                out[n] = key + present_hashes[j]
                n += 1
        else:
            out[n] = key
            n += 1
        i = 0
        while i < size:
            locus = scratch[i]
            choice = scratch[32 + i]
            if choice + 1 < qcount[locus]:
                key += qhash[locus, choice + 1] - qhash[locus, choice]
                scratch[32 + i] = choice + 1
                break
            key += qhash[locus, 0] - qhash[locus, choice]
            scratch[32 + i] = 0
            i += 1
        if i == size:
            return n


@njit(cache=True, nogil=True)
def keys(exact: np.ndarray, single: np.ndarray, leave_one_out: np.ndarray, value_mask: np.ndarray,
         value_salt: np.ndarray, missing: int, qhash: np.ndarray, qcount: np.ndarray, present_offsets: np.ndarray,
         present_hashes: np.ndarray, capacity: int) -> np.ndarray:
    """Every key a plan probes (`BlockIndex._keys`); an array holding only -1 when there would be more
    than `capacity`."""
    size = 256
    loci = np.empty(64, np.int64)
    while True:
        out = np.empty(size, np.int64)
        n = 0
        for v in range(value_mask.shape[0]):
            if n < 0:
                break
            mask = value_mask[v]
            salt = value_salt[v]
            if exact[v]:
                n = _emit(out, n, salt, mask, -1, qhash, qcount, present_offsets, present_hashes, loci)
                if n < 0:
                    break
            if single[v]:  # every missing locus of the block (one or two) enumerated
                gap = mask & missing
                lowest = gap & -gap
                locus = _popcount(lowest - 1)
                rest = gap ^ lowest
                if rest == 0:
                    n = _emit(out, n, salt, mask & ~gap, locus, qhash, qcount, present_offsets, present_hashes, loci)
                else:
                    other = _popcount((rest & -rest) - 1)
                    for j in range(present_offsets[locus], present_offsets[locus + 1]):
                        n = _emit(out, n, salt + present_hashes[j], mask & ~gap, other, qhash, qcount,
                                  present_offsets, present_hashes, loci)
                        if n < 0:
                            break
                if n < 0:
                    break
            if leave_one_out[v]:
                m = mask
                locus = 0
                while m:
                    if m & 1:
                        n = _emit(out, n, salt, mask & ~(1 << locus), locus, qhash, qcount, present_offsets,
                                  present_hashes, loci)
                        if n < 0:
                            break
                    m >>= 1
                    locus += 1
        if n >= 0:
            return out[:n]
        if size >= capacity:
            return np.full(1, -1, np.int64)
        size = min(capacity, size * 8)


@njit(cache=True, nogil=True)
def query_hashes(pairs: np.ndarray, salt: np.ndarray, low: np.ndarray, high: np.ndarray, loci: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """The hash table of a query's matching genotypes: pairs is (locus, low code, high code) rows in
    locus order; returns (loci x widest) hashes and the count per locus (`genotype_hash`)."""
    count = np.zeros(loci, np.int64)
    for i in range(pairs.shape[0]):
        count[pairs[i, 0]] += 1
    width = max(1, count.max())
    table = np.zeros((loci, width), np.int64)
    filled = np.zeros(loci, np.int64)
    for i in range(pairs.shape[0]):
        locus = pairs[i, 0]
        table[locus, filled[locus]] = salt[locus] + (low[locus, pairs[i, 1]] ^ high[locus, pairs[i, 2]])
        filled[locus] += 1
    return table, count


@njit(cache=True, nogil=True)
def _sort_rows(rows: np.ndarray) -> np.ndarray:
    """Row numbers (non-negative, below 2^32) in ascending order: a radix sort of 11-bit digits when
    there are many (the entries a thin trace collects), else numpy's sort."""
    n = rows.shape[0]
    if n < 2048:
        return np.sort(rows)
    top = 0
    for i in range(n):
        top = max(top, rows[i])
    source = rows.copy()
    target = np.empty(n, np.int64)
    counts = np.empty(2049, np.int64)
    shift = 0
    while (top >> shift) > 0:
        counts[:] = 0
        for i in range(n):
            counts[((source[i] >> shift) & 2047) + 1] += 1
        for d in range(2048):
            counts[d + 1] += counts[d]
        for i in range(n):
            digit = (source[i] >> shift) & 2047
            target[counts[digit]] = source[i]
            counts[digit] += 1
        source, target = target, source
        shift += 11
    return source


@njit(cache=True, nogil=True)
def probe(keys: np.ndarray, bits: int, offsets: np.ndarray, fingerprints: np.ndarray, rows: np.ndarray,
          signatures: np.ndarray, delta_keys: np.ndarray, delta_rows: np.ndarray, delta_signatures: np.ndarray,
          live: np.ndarray, row_set: np.ndarray, need: np.ndarray, use_need: bool, qfilter: np.ndarray
          ) -> np.ndarray:
    """Live rows of the entries whose key is among `keys`, sorted, each once, those of a set with a count
    filter only when they match at least `need[set]` keys (`BlockIndex.candidate_rows`); an entry whose
    row signature cannot hit (`passes` with `qfilter`) is dropped as it is read, without reading its row."""
    low = (1 << bits) - 1
    total = 0
    n = keys.shape[0]
    starts = np.empty(n, np.int64)
    i: int | np.int64
    for i in range(n):  # independent loads first, many in flight: the buckets' bounds, then first fingerprints
        bucket = keys[i] & low
        starts[i] = offsets[bucket]
        total += offsets[bucket + 1] - starts[i]
    touched = np.uint32(0)
    if fingerprints.shape[0]:
        last = fingerprints.shape[0] - 1
        for i in range(n):
            at = min(starts[i], last)
            touched ^= fingerprints[at] ^ signatures[at]
    found = np.empty(total + 16 + (touched & 1), np.int64)  # (uses the loads, so they are made)
    j: int | np.int64
    m = 0
    for i in range(keys.shape[0]):
        key = keys[i]
        bucket = key & low
        fingerprint = key >> bits
        j = np.int64(offsets[bucket])
        stop = np.int64(offsets[bucket + 1])
        if stop - j > 8:  # entries are sorted by fingerprint within a bucket: skip to this key's
            high = stop
            while j < high:
                middle = (j + high) >> 1
                if fingerprints[middle] < fingerprint:
                    j = middle + 1
                else:
                    high = middle
        while j < stop and fingerprints[j] < fingerprint:
            j += 1
        while j < stop and fingerprints[j] == fingerprint:  # this key's entries, side by side
            if qfilter[2] < 0 or passes(np.int64(signatures[j]), qfilter):
                found[m] = rows[j]
                m += 1
            j += 1
    if delta_keys.shape[0]:
        for i in range(keys.shape[0]):
            key = keys[i]
            j = np.searchsorted(delta_keys, key)
            while j < delta_keys.shape[0] and delta_keys[j] == key:
                if qfilter[2] >= 0 and not passes(np.int64(delta_signatures[j]), qfilter):
                    j += 1
                    continue
                if m >= found.shape[0]:
                    grown = np.empty(found.shape[0] * 2 + 16, np.int64)
                    grown[:m] = found[:m]
                    found = grown
                found[m] = delta_rows[j]
                m += 1
                j += 1
    found = _sort_rows(found[:m])
    out = np.empty(m, np.int64)
    n = 0
    i = 0
    while i < m:
        row = found[i]
        j = i
        while j < m and found[j] == row:
            j += 1
        if live[row] and (not use_need or j - i >= need[row_set[row]]):
            out[n] = row
            n += 1
        i = j
    return out[:n]


@njit(cache=True, nogil=True)
def classify(codes: np.ndarray, row: int, cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray,
             min_loci: int, out: np.ndarray) -> bool:
    """`encoding.match_row` for one row: False for no hit, else out = (class code, `matching.CLASS_*`;
    loci compared; loci matched; wildcard loci; index of the differing locus among the query's
    compared loci or -1)."""
    compared = 0
    matched = 0
    wildcard_loci = 0
    differing: int | np.int64 = 0
    differing_locus = -1
    microvariant = False
    remaining = cols.shape[0]
    for j in range(cols.shape[0]):
        remaining -= 1
        c = cols[j]
        c1 = np.int64(codes[row, c])
        if c1 == ABSENT:
            if matched + remaining < min_loci:
                return False
            continue
        c2 = np.int64(codes[row, c + 1])
        compared += 1
        base = j * 2 * width
        score = np.int64(table[base + c1]) + np.int64(table[base + width + c2])
        if score:
            other = np.int64(table[base + c2]) + np.int64(table[base + width + c1])
            score = min(score, other)
        if score >= SCORE_DIFFERENT:
            differing += score // SCORE_DIFFERENT
            if differing > 1:
                return False
            differing_locus = j
        elif wild[j] or c2 == WILD:
            wildcard_loci += 1
            if score:
                microvariant = True
        else:
            matched += 1
            if score:
                microvariant = True
        if matched + remaining < min_loci:
            return False
    code = _match_class_code(matched, differing, microvariant, wildcard_loci, min_loci)
    if code == NO_HIT:
        return False
    out[0] = code
    out[1] = compared
    out[2] = matched
    out[3] = wildcard_loci
    out[4] = differing_locus
    return True


@njit(cache=True, nogil=True)
def screen(codes: np.ndarray, rows: np.ndarray, cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray,
           min_loci: int) -> np.ndarray:
    """The rows (of `rows`) that hit. Each row's codes are first touched in a pass of independent loads
    (many cache misses in flight at once, the rows being scattered), then checked: 2-3x faster for the
    hundreds of candidates of a thin trace than checking each as it is loaded."""
    touched: int | np.int64 = 0
    if cols.shape[0]:
        first, last = cols[0], cols[cols.shape[0] - 1] + 1
        for i in range(rows.shape[0]):
            touched ^= np.int64(codes[rows[i], first]) ^ np.int64(codes[rows[i], last])
    out = np.empty(rows.shape[0] + (touched & 1), np.int64)  # (uses the loads, so they are made)
    scratch = np.empty(5, np.int64)
    n = 0
    for i in range(rows.shape[0]):
        if classify(codes, rows[i], cols, table, width, wild, min_loci, scratch):
            out[n] = rows[i]
            n += 1
    return out[:n]


@njit(cache=True, nogil=True, inline="always")
def _check_into(found: np.ndarray, n: int, row: int, codes: np.ndarray, cols: np.ndarray, table: np.ndarray,
                width: int, wild: np.ndarray, min_loci: int, scratch: np.ndarray) -> tuple[np.ndarray, int]:
    """found with row appended if it hits (`classify`), growing it when full; and the new length."""
    if classify(codes, row, cols, table, width, wild, min_loci, scratch):
        if n == found.shape[0]:
            grown = np.empty(2 * n, np.int64)
            grown[:n] = found
            found = grown
        found[n] = row
        n += 1
    return found, n


@njit(cache=True, nogil=True)
def scan_sets(codes: np.ndarray, set_bounds: np.ndarray, set_rows: np.ndarray, recent: np.ndarray,
              live: np.ndarray, row_set: np.ndarray, scan: np.ndarray, cols: np.ndarray, table: np.ndarray,
              width: int, wild: np.ndarray, min_loci: int) -> np.ndarray:
    """The live rows whose designated-locus set is flagged in `scan` and that hit, checked one by one. A
    listed set's rows are set_rows[set_bounds[0, set]:set_bounds[1, set]] (and, if added since, among
    `recent`); the rows of any other flagged set are found by one pass over every row (start -1: the big
    sets are not listed, and the plan flags them only for queries sharing few loci with them)."""
    found = np.empty(64, np.int64)
    scratch = np.empty(5, np.int64)
    n = 0
    every = False
    row: int | np.int64
    for s in range(scan.shape[0]):
        if not scan[s]:
            continue
        if s >= set_bounds.shape[1] or set_bounds[0, s] < 0:
            every = True
            continue
        for i in range(set_bounds[0, s], set_bounds[1, s]):
            row = np.int64(set_rows[i])
            if live[row]:
                found, n = _check_into(found, n, row, codes, cols, table, width, wild, min_loci, scratch)
    if every:
        for row in range(min(live.shape[0], row_set.shape[0])):
            s = row_set[row]
            if live[row] and s < scan.shape[0] and scan[s] and (s >= set_bounds.shape[1] or set_bounds[0, s] < 0):
                found, n = _check_into(found, n, row, codes, cols, table, width, wild, min_loci, scratch)
    for i in range(recent.shape[0]):
        row = recent[i]
        s = row_set[row]
        if live[row] and scan[s] and s < set_bounds.shape[1] and set_bounds[0, s] >= 0:
            found, n = _check_into(found, n, row, codes, cols, table, width, wild, min_loci, scratch)
    return np.sort(found[:n])


@njit(cache=True, nogil=True)
def search(exact: np.ndarray, single: np.ndarray, leave_one_out: np.ndarray, value_mask: np.ndarray,
           value_salt: np.ndarray, missing: int, qhash: np.ndarray, qcount: np.ndarray, present_offsets: np.ndarray,
           present_hashes: np.ndarray, capacity: int, bits: int, offsets: np.ndarray, fingerprints: np.ndarray,
           rows: np.ndarray, signatures: np.ndarray, delta_keys: np.ndarray, delta_rows: np.ndarray,
           delta_signatures: np.ndarray, live: np.ndarray, row_set: np.ndarray, need: np.ndarray, use_need: bool,
           qfilter: np.ndarray, codes: np.ndarray, cols: np.ndarray, table: np.ndarray, width: int,
           wild: np.ndarray, min_loci: int) -> tuple[np.ndarray, bool]:
    """`keys`, `probe` and `screen` in one call: the rows reached by the plan that hit, and False when
    the plan expands into more than `capacity` keys (then nothing is probed)."""
    probed = keys(exact, single, leave_one_out, value_mask, value_salt, missing, qhash, qcount, present_offsets,
                  present_hashes, capacity)
    if probed.shape[0] == 1 and probed[0] == -1:
        return np.empty(0, np.int64), False
    found = probe(probed, bits, offsets, fingerprints, rows, signatures, delta_keys, delta_rows, delta_signatures,
                  live, row_set, need, use_need, qfilter)
    return screen(codes, found, cols, table, width, wild, min_loci), True


@njit(cache=True, nogil=True)
def encode(query: np.ndarray, extra: np.ndarray, col: np.ndarray, score: np.ndarray, sizes: np.ndarray,
           present: np.ndarray, salt: np.ndarray, low: np.ndarray, high: np.ndarray, loci: int, amelogenin: int
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """`ProfileMatrix.encode_query` and `query_hashes` in one step: query is (locus position, code 1,
    code 2) per locus, codes in normalised order (a wildcard, code 1, last); a value no stored profile
    has is given as -1 - k, its score row being extra[k] (`encoding.unseen_row`). Returns the positions
    and row offsets of the compared loci, their flat score rows (loci x 2 x width), wildcard flags, the
    hash table of matching stored genotypes and its counts per comparable locus, the designated mask
    and the usable mask."""
    n = query.shape[0]
    width = score.shape[1]
    positions = np.empty(n, np.int64)
    cols = np.empty(n, np.int64)
    wild = np.zeros(n, np.bool_)
    table = np.empty(n * 2 * width, np.uint8)
    count = np.zeros(loci, np.int64)
    found = np.empty((n, 64), np.int64)
    first = np.empty(width, np.int64)
    second = np.empty(width, np.int64)
    designated = 0
    unmatched = 0
    m = 0
    widest = 1
    for i in range(n):
        locus, c1, c2 = query[i, 0], query[i, 1], query[i, 2]
        if locus == amelogenin:
            continue
        is_wild = c2 == WILD
        if not is_wild:
            designated |= 1 << locus
        c = col[locus]
        if c < 0:
            continue  # no stored profile has this locus: never compared
        positions[m] = locus
        cols[m] = 2 * c
        wild[m] = is_wild
        base = m * 2 * width
        row1 = score[locus, c1] if c1 >= 0 else extra[-1 - c1]
        row2 = score[locus, c2] if c2 >= 0 else extra[-1 - c2]
        table[base:base + width] = row1
        table[base + width:base + 2 * width] = row2
        m += 1
        if is_wild or locus >= loci:
            continue
        # every stored genotype matching (c1, c2) without a differing allele: DNA-7 neighbours of each
        size = sizes[locus]
        k1 = 0
        k2 = 0
        for b in range(FIRST_VALUE, size):
            if b == c1 or row1[b] == SCORE_MICROVARIANT:
                first[k1] = b
                k1 += 1
            if b == c2 or row2[b] == SCORE_MICROVARIANT:
                second[k2] = b
                k2 += 1
        if k1 * k2 > found.shape[1]:
            grown = np.empty((n, k1 * k2), np.int64)
            grown[:, :found.shape[1]] = found
            found = grown
        k = 0
        for i1 in range(k1):
            a = first[i1]
            for i2 in range(k2):
                b = second[i2]
                lo, hi = (a, b) if a <= b else (b, a)
                if not present[locus, lo, hi]:
                    continue
                value = salt[locus] + (low[locus, lo] ^ high[locus, hi])
                seen = False
                for e in range(k):
                    if found[i, e] == value:
                        seen = True
                        break
                if not seen:
                    found[i, k] = value
                    k += 1
        count[locus] = k
        if k == 0:
            unmatched |= 1 << locus
        elif k > widest:
            widest = k
    qhash = np.zeros((loci, widest), np.int64)
    for i in range(n):
        locus = query[i, 0]
        if locus < loci and locus != amelogenin and col[locus] >= 0:
            for e in range(count[locus]):
                qhash[locus, e] = found[i, e]
    return (positions[:m], cols[:m], table[:m * 2 * width], wild[:m], qhash, count, designated,
            designated & ~unmatched)


@njit(cache=True, nogil=True)
def search_profile(
        query: np.ndarray, extra: np.ndarray,
        # Encoding
        col: np.ndarray, score: np.ndarray, sizes: np.ndarray, present: np.ndarray, salt: np.ndarray,
        low: np.ndarray, high: np.ndarray, loci: int, amelogenin: int,
        # Sets
        masks: np.ndarray, value_ids: np.ndarray, value_mask: np.ndarray, value_salt: np.ndarray,
        value_rows: np.ndarray, block_level: np.ndarray, levels: int, union: int, set_count: np.ndarray, small: int,
        # Plan, for a query with every locus of the file
        full_exact: np.ndarray, full_single: np.ndarray, full_leave_one_out: np.ndarray, full_need: np.ndarray,
        full_scan: np.ndarray,
        # the usable loci of the cached Plan, and the Plan
        cached_usable: int,
        cached_exact: np.ndarray, cached_single: np.ndarray, cached_leave_one_out: np.ndarray,
        cached_need: np.ndarray, cached_scan: np.ndarray,
        # Directory
        present_offsets: np.ndarray, present_hashes: np.ndarray, capacity: int, bits: int, offsets: np.ndarray,
        fingerprints: np.ndarray, rows: np.ndarray, signatures: np.ndarray, delta_keys: np.ndarray,
        delta_rows: np.ndarray, delta_signatures: np.ndarray, slot: np.ndarray,
        # Stored
        live: np.ndarray, row_set: np.ndarray, codes: np.ndarray,
        # Lists
        set_bounds: np.ndarray, set_rows: np.ndarray, recent: np.ndarray, listed: np.ndarray,
        listed_wide: np.ndarray, listed_planes: np.ndarray, common: int, thin: int,
        min_loci: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A whole Art 3 search of a query given as codes (`encode`), the index's groups of arrays given
    field by field (see the module doc): the plan (the full-profile plan given, else made here), keys,
    probe, rule check, the sets checked row by row, and the class of every hit. The plan for a query
    with missing loci is `cached_*` when it was made for the same usable loci (`cached_usable`), else
    made here. A query missing at least `thin` of the `common` loci reads the rows of the `listed`
    (small) sets through their wide signatures instead of planning keys for them (`scan_listed`).
    Returns the hit rows, ascending; per hit `classify`'s five numbers, the differing locus as its
    position (-1 for none); and the usable loci a plan was made for here (-1 if none was) with that
    plan (a `Plan`'s fields), for the caller to keep."""
    positions, cols, table, wild, qhash, qcount, designated, usable = encode(
        query, extra, col, score, sizes, present, salt, low, high, loci, amelogenin)
    width = score.shape[1]
    if cols.shape[0] == 0:
        return (np.empty(0, np.int64), np.empty((0, 5), np.int64), -1, full_exact, full_single, full_leave_one_out,
                full_need, full_scan)
    missing = union & ~usable
    if _popcount(common & ~usable) < thin:
        listed = listed[:0]  # few loci missing: keys for the small sets cost less than reading their list
    planned = -1
    if missing == 0:
        exact, single, leave_one_out, need, scan = full_exact, full_single, full_leave_one_out, full_need, full_scan
    elif usable == cached_usable:
        exact, single, leave_one_out, need, scan = (cached_exact, cached_single, cached_leave_one_out, cached_need,
                                                    cached_scan)
    else:
        planned = usable
        exact, single, leave_one_out, need, scan = plan(masks, value_ids, value_mask, value_salt, value_rows,
                                                        block_level, levels, union, set_count, small, usable,
                                                        missing, min_loci, present_offsets[1:] - present_offsets[:-1],
                                                        listed)
    use_need = False
    for d in range(need.shape[0]):
        if need[d] > 1:
            use_need = True
            break
    qfilter = query_filter(qhash, qcount, designated, usable, slot, min_loci)
    if missing == 0:  # a full query's keys find few rows: reading their signatures costs more than it saves
        qfilter[2] = -1
    found, complete = search(exact, single, leave_one_out, value_mask, value_salt, missing, qhash, qcount,
                             present_offsets, present_hashes, capacity, bits, offsets, fingerprints, rows,
                             signatures, delta_keys, delta_rows, delta_signatures, live, row_set, need, use_need,
                             qfilter, codes, cols, table, width, wild, min_loci)
    any_scan = not complete
    if complete:
        for d in range(scan.shape[0]):
            if scan[d]:
                any_scan = True
                break
    if any_scan:
        checked = scan if complete else np.ones(scan.shape[0], np.bool_)  # too many keys: check every row
        scanned = scan_sets(codes, set_bounds, set_rows, recent, live, row_set, checked, cols, table, width, wild,
                            min_loci)
        if scanned.shape[0]:
            found = np.unique(np.concatenate((found, scanned)))
    if missing != 0 and complete and listed.shape[0]:  # set_rows: the listed rows, by set
        scanned, read = scan_planes(listed_planes, set_rows, live, qhash, qcount, designated, usable, slot, codes,
                                    cols, table, width, wild, min_loci, THIN_MISSES)
        if not read:
            wfilter = wide_filter(qhash, qcount, designated, usable, slot, min_loci)
            scanned = scan_listed(set_rows, listed_wide, live, wfilter, codes, cols, table, width, wild, min_loci)
        added = check_recent(recent, listed, live, row_set, codes, cols, table, width, wild, min_loci)
        if scanned.shape[0] or added.shape[0]:
            found = np.unique(np.concatenate((found, scanned, added)))
    out = np.empty((found.shape[0], 5), np.int64)
    hits = np.empty(found.shape[0], np.int64)
    n = 0
    for i in range(found.shape[0]):
        if classify(codes, found[i], cols, table, width, wild, min_loci, out[n]):
            if out[n, 4] >= 0:
                out[n, 4] = positions[out[n, 4]]
            hits[n] = found[i]
            n += 1
    return hits[:n], out[:n], planned, exact, single, leave_one_out, need, scan
