"""Compiled kernels for the block index's per-query work (numba), with the same results as its numpy path.

A search's control flow (a plan per stored designated-locus set, key combinations, bucket probes) is
many small steps; in numpy each step is a call costing microseconds whatever its size. Compiled by
numba they cost nanoseconds. `AVAILABLE` says whether numba is installed; without it (or with
PRUM_DNA_NO_NUMBA=1 in the environment) the index uses its numpy path, and the tests check that the
two agree. Compiled code is cached beside this module (numba's `cache=True`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

try:  # pragma: no cover - depends on the environment
    if os.environ.get("PRUM_DNA_NO_NUMBA"):
        raise ImportError("disabled by PRUM_DNA_NO_NUMBA")
    from numba import njit

    AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the environment
    AVAILABLE = False

    def njit(*args: Any, **kwargs: Any) -> Any:
        def wrap(function: Any) -> Any:
            return function
        return wrap if not (len(args) == 1 and callable(args[0])) else args[0]


EMPTY, CLEAN, SINGLE, BAD = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _popcount(value: int) -> int:
    count = 0
    while value:
        value &= value - 1
        count += 1
    return count


@njit(cache=True, nogil=True)
def plan(masks: np.ndarray, value_ids: np.ndarray, value_mask: np.ndarray, block_level: np.ndarray, levels: int,
         usable: int, missing: int, min_loci: int, set_count: np.ndarray, small: int
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """`BlockIndex._plan` per stored designated-locus set (see block_index's module doc): which block
    values to probe exactly, which with their one missing locus enumerated, which leave-one-out; the
    count filter per set; the sets to check row by row. A set that two clean blocks of one partition
    cannot cover and that has at most `small` rows is checked row by row at once: cheaper than
    enumerating a locus for it."""
    count, blocks = value_ids.shape
    values = value_mask.shape[0]
    status = np.empty(values, np.int8)
    for v in range(values):
        mask = value_mask[v]
        if mask == 0:
            status[v] = EMPTY
        else:
            miss = _popcount(mask & missing)
            status[v] = CLEAN if miss == 0 else (SINGLE if miss == 1 else BAD)
    exact = np.zeros(values, np.bool_)
    single = np.zeros(values, np.bool_)
    leave_one_out = np.zeros(values, np.bool_)
    need = np.ones(count, np.uint8)
    scan = np.zeros(count, np.bool_)
    for d in range(count):
        shared = _popcount(masks[d] & usable)
        if shared < min_loci:
            continue
        six = shared == min_loci
        wanted = 1 if six else 2
        settled = False
        clean = 0  # clean blocks of the first (most selective) partition: exact keys, cheapest
        for b in range(blocks):
            if block_level[b] == 0 and status[value_ids[d, b]] == CLEAN:
                clean += 1
        if clean >= wanted:
            for b in range(blocks):
                if block_level[b] == 0 and status[value_ids[d, b]] == CLEAN:
                    exact[value_ids[d, b]] = True
            if not six:
                need[d] = clean - 1 if clean > 2 else 1
            continue
        if set_count[d] <= small:
            scan[d] = True
            continue
        for level in range(levels):
            clean = 0
            singles = 0
            for b in range(blocks):
                if block_level[b] == level:
                    state = status[value_ids[d, b]]
                    if state == CLEAN:
                        clean += 1
                    elif state == SINGLE:
                        singles += 1
            if clean + singles >= wanted:
                extra = wanted - clean if wanted > clean else 0
                taken = 0
                for b in range(blocks):
                    if block_level[b] == level:
                        v = value_ids[d, b]
                        if status[v] == CLEAN:
                            exact[v] = True
                        elif status[v] == SINGLE and taken < extra:
                            single[v] = True
                            taken += 1
                if not six:
                    k = clean + extra
                    need[d] = k - 1 if k > 2 else 1
                settled = True
                break
        if settled:
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
          present_offsets: np.ndarray, present_hashes: np.ndarray) -> int:
    """Append to out the keys salt + one query hash per locus of `summed` (every combination), each plus
    every stored genotype hash of locus `enumerated` (if >= 0). Returns the new length, -1 if full."""
    loci = np.empty(32, np.int64)
    size = 0
    combinations = 1
    m = summed
    locus = 0
    while m:
        if m & 1:
            if qcount[locus] == 0:
                return n  # a locus the query cannot match without a difference: no key
            loci[size] = locus
            size += 1
            combinations *= qcount[locus]
        m >>= 1
        locus += 1
    if enumerated >= 0:
        start, stop = present_offsets[enumerated], present_offsets[enumerated + 1]
        if stop == start:
            return n
    else:
        start, stop = 0, 1
    if n + combinations * (stop - start) > out.shape[0]:
        return -1  # the caller grows the buffer and tries again
    for c in range(combinations):
        key = salt
        rest = c
        for i in range(size):
            l = loci[i]
            key += qhash[l, rest % qcount[l]]
            rest //= qcount[l]
        if enumerated >= 0:
            for j in range(start, stop):
                out[n] = key + present_hashes[j]
                n += 1
        else:
            out[n] = key
            n += 1
    return n


@njit(cache=True, nogil=True)
def keys(exact: np.ndarray, single: np.ndarray, leave_one_out: np.ndarray, value_mask: np.ndarray,
         value_salt: np.ndarray, missing: int, qhash: np.ndarray, qcount: np.ndarray, present_offsets: np.ndarray,
         present_hashes: np.ndarray, capacity: int) -> np.ndarray:
    """Every key a plan probes (`BlockIndex._keys`); an array holding only -1 when there would be more
    than `capacity`."""
    size = 256
    while True:
        out = np.empty(size, np.int64)
        n = 0
        for v in range(value_mask.shape[0]):
            if n < 0:
                break
            mask = value_mask[v]
            salt = value_salt[v]
            if exact[v]:
                n = _emit(out, n, salt, mask, -1, qhash, qcount, present_offsets, present_hashes)
                if n < 0:
                    break
            if single[v]:
                gap = mask & missing
                locus = 0
                while not gap >> locus & 1:
                    locus += 1
                n = _emit(out, n, salt, mask & ~(1 << locus), locus, qhash, qcount, present_offsets,
                          present_hashes)
                if n < 0:
                    break
            if leave_one_out[v]:
                m = mask
                locus = 0
                while m:
                    if m & 1:
                        n = _emit(out, n, salt, mask & ~(1 << locus), locus, qhash, qcount, present_offsets,
                                  present_hashes)
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
def probe(keys: np.ndarray, bits: int, offsets: np.ndarray, fingerprints: np.ndarray, rows: np.ndarray,
          delta_keys: np.ndarray, delta_rows: np.ndarray, live: np.ndarray, row_set: np.ndarray,
          need: np.ndarray, use_need: bool) -> np.ndarray:
    """Live rows of the entries whose key is among `keys`, sorted, each once, those of a set with a count
    filter only when they match at least `need[set]` keys (`BlockIndex.candidate_rows`)."""
    low = (1 << bits) - 1
    total = 0
    for i in range(keys.shape[0]):
        bucket = keys[i] & low
        total += offsets[bucket + 1] - offsets[bucket]
    found = np.empty(total + 16, np.int64)
    m = 0
    for i in range(keys.shape[0]):
        key = keys[i]
        bucket = key & low
        fingerprint = key >> bits
        for j in range(offsets[bucket], offsets[bucket + 1]):
            if fingerprints[j] == fingerprint:
                found[m] = rows[j]
                m += 1
    if delta_keys.shape[0]:
        for i in range(keys.shape[0]):
            key = keys[i]
            j = np.searchsorted(delta_keys, key)
            while j < delta_keys.shape[0] and delta_keys[j] == key:
                if m >= found.shape[0]:
                    grown = np.empty(found.shape[0] * 2 + 16, np.int64)
                    grown[:m] = found[:m]
                    found = grown
                found[m] = delta_rows[j]
                m += 1
                j += 1
    found = np.sort(found[:m])
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
def _hits(codes: np.ndarray, row: int, cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray,
          min_loci: int) -> bool:
    """DNA-8/DNA-9 for one row: at most one differing allele and at least `min_loci` counting loci
    (`encoding.match_row` decides the class for the rows that pass)."""
    differing = 0
    matched = 0
    remaining = cols.shape[0]
    for j in range(cols.shape[0]):
        remaining -= 1
        c = cols[j]
        c1 = codes[row, c]
        if c1 == 0:
            if matched + remaining < min_loci:
                return False
            continue
        c2 = codes[row, c + 1]
        base = j * 2 * width
        score = table[base + c1] + table[base + width + c2]
        if score:
            other = table[base + c2] + table[base + width + c1]
            if other < score:
                score = other
        if score >= 3:
            differing += score // 3
            if differing > 1:
                return False
        elif not wild[j] and c2 != 1:
            matched += 1
        if matched + remaining < min_loci:
            return False
    return matched >= min_loci


@njit(cache=True, nogil=True)
def screen(codes: np.ndarray, rows: np.ndarray, cols: np.ndarray, table: np.ndarray, width: int, wild: np.ndarray,
           min_loci: int) -> np.ndarray:
    """The rows (of `rows`) that hit."""
    out = np.empty(rows.shape[0], np.int64)
    n = 0
    for i in range(rows.shape[0]):
        if _hits(codes, rows[i], cols, table, width, wild, min_loci):
            out[n] = rows[i]
            n += 1
    return out[:n]


@njit(cache=True, nogil=True)
def scan_sets(codes: np.ndarray, set_offsets: np.ndarray, set_rows: np.ndarray, recent: np.ndarray,
              live: np.ndarray, row_set: np.ndarray, scan: np.ndarray, cols: np.ndarray, table: np.ndarray,
              width: int, wild: np.ndarray, min_loci: int) -> np.ndarray:
    """The live rows whose designated-locus set is flagged in `scan` and that hit, checked one by one:
    the rows of each flagged set (set_offsets/set_rows, by set), and the recent rows not yet listed."""
    found = np.empty(64, np.int64)
    n = 0
    for which in range(2):
        for s in range(scan.shape[0] if which == 0 else 1):
            if which == 0:
                if not scan[s] or s + 1 >= set_offsets.shape[0]:
                    continue
                start, stop = set_offsets[s], set_offsets[s + 1]
            else:
                start, stop = 0, recent.shape[0]
            for i in range(start, stop):
                row = set_rows[i] if which == 0 else recent[i]
                if which == 1 and not scan[row_set[row]]:
                    continue
                if live[row] and _hits(codes, row, cols, table, width, wild, min_loci):
                    if n == found.shape[0]:
                        grown = np.empty(2 * n, np.int64)
                        grown[:n] = found
                        found = grown
                    found[n] = row
                    n += 1
    return np.sort(found[:n])


@njit(cache=True, nogil=True)
def search(exact: np.ndarray, single: np.ndarray, leave_one_out: np.ndarray, value_mask: np.ndarray,
           value_salt: np.ndarray, missing: int, qhash: np.ndarray, qcount: np.ndarray, present_offsets: np.ndarray,
           present_hashes: np.ndarray, capacity: int, bits: int, offsets: np.ndarray, fingerprints: np.ndarray,
           rows: np.ndarray, delta_keys: np.ndarray, delta_rows: np.ndarray, live: np.ndarray, row_set: np.ndarray,
           need: np.ndarray, use_need: bool, codes: np.ndarray, cols: np.ndarray, table: np.ndarray, width: int,
           wild: np.ndarray, min_loci: int) -> tuple[np.ndarray, bool]:
    """`keys`, `probe` and `screen` in one call: the rows reached by the plan that hit, and False when
    the plan expands into more than `capacity` keys (then nothing is probed)."""
    probed = keys(exact, single, leave_one_out, value_mask, value_salt, missing, qhash, qcount, present_offsets,
                  present_hashes, capacity)
    if probed.shape[0] == 1 and probed[0] == -1:
        return np.empty(0, np.int64), False
    found = probe(probed, bits, offsets, fingerprints, rows, delta_keys, delta_rows, live, row_set, need, use_need)
    return screen(codes, found, cols, table, width, wild, min_loci), True
