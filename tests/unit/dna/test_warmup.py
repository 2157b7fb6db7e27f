"""A state compiles the DNA kernels before it serves, so no search waits for numba's first compile."""

from __future__ import annotations

import random

import pytest

from prum.services.dna import BlockIndex, kernels
from prum.services.common.jit import compiled_signatures
from prum.services.dna.loci import STR_LOCI
from prum.services.dna.warmup import compile_kernels

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed: nothing to compile")


def test_after_the_warm_up_searches_compile_nothing_new() -> None:
    compile_kernels()
    before = compiled_signatures(kernels)
    assert any(before.values())
    rng = random.Random(7)
    index = BlockIndex()
    stored = [{locus: [str(rng.randint(9, 13)), str(rng.randint(9, 13))]
               for locus in rng.sample(list(STR_LOCI), rng.randint(6, 20))} for _ in range(300)]
    index.add_many(enumerate(stored))
    for profile in stored[::5]:
        index.search(profile)
        trace = dict(rng.sample(sorted(profile.items()), 6))
        index.search(trace)
        locus = next(iter(profile))
        index.search({**profile, locus: [profile[locus][0], "X"]})
    assert compiled_signatures(kernels) == before


def test_the_warm_up_runs_once_per_process() -> None:
    compile_kernels()
    assert compile_kernels() == 0.0
