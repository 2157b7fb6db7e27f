"""Compile the DNA index's kernels before a state serves.

numba compiles a kernel on its first call: tens of seconds for all of them on a fresh machine, then
a fraction of a second from its on-disk cache (`__pycache__` beside kernels.py). A first compile
inside a search would hold that search, and every search queued behind the GIL, far past the
callers' deadlines. So a state compiles first: `compile_kernels()` runs searches that take every
compiled path (full queries, queries with drop-out that need a plan, wildcards, microvariants, near
matches, rows not yet merged into the directory, Art 4 bulk) on a small made-up file, once per
process. Without numba it returns at once: the numpy path needs no compiling.
"""

from __future__ import annotations

import random

from prum.services.common.jit import once_per_process
from prum.services.dna import kernels
from prum.services.dna.block_index import BlockIndex
from prum.services.dna.loci import ESS_LOCI, STR_LOCI


def _profile(rng: random.Random, loci: list[str]) -> dict[str, list[str]]:
    profile = {}
    for locus in loci:
        first, second = rng.randint(8, 14), rng.randint(8, 14)
        profile[locus] = [str(first), str(second)]
    return profile


def _exercise() -> None:
    rng = random.Random(2008)
    index = BlockIndex()
    stored = []
    for row in range(400):
        loci = list(STR_LOCI[:16]) if row % 3 else rng.sample(list(STR_LOCI), rng.randint(7, 14))
        stored.append(_profile(rng, loci))
    index.add_many(enumerate(stored[:300]))
    index.rebuild()  # the bucket directory; the last 100 rows stay recent (the delta path)
    index.add_many((row, profile) for row, profile in enumerate(stored[300:], start=300))
    queries = []
    for row in range(0, 400, 7):
        query = dict(stored[row])
        queries.append(query)                                     # itself: full or wildcard-free hit
        some = rng.sample(sorted(query), k=min(len(query), rng.randint(6, 9)))
        queries.append({locus: query[locus] for locus in some})   # a trace with drop-out: plan per set
        locus = min(query)
        queries.append({**query, locus: [query[locus][0], "OL"]})  # a wildcard
        queries.append({**query, locus: [query[locus][0], "17"]})  # a near match
        queries.append({**query, locus: [query[locus][0], f"{query[locus][1]}.1"]})  # a microvariant
    queries.append({locus: ["9", "10"] for locus in ESS_LOCI})   # an unrelated person: no hit
    for query in queries:
        index.search(query)


compile_kernels = once_per_process(kernels.AVAILABLE, _exercise)
"""Compile (or load from the cache) every DNA kernel, once per process; the seconds it took (0.0 after)."""
