"""The AFIS service compiles its numba kernels before it serves, so no search waits for a first compile."""

from __future__ import annotations

import numpy as np
import pytest

from prum.federation.datagen_afis import impression, master_finger, mated_probe
from prum.services.afis import kernels
from prum.services.common.jit import compiled_signatures
from prum.services.afis.gallery import Gallery
from prum.services.afis.warmup import compile_kernels

pytestmark = pytest.mark.skipif(not kernels.AVAILABLE, reason="numba is not installed: nothing to compile")


def test_after_the_warm_up_searches_compile_nothing_new() -> None:
    compile_kernels()
    before = compiled_signatures(kernels)
    assert before["hough_votes"] and before["relax"] and before["mutual_pairs"]
    rng = np.random.default_rng(5)
    masters = [master_finger(rng) for _ in range(30)]
    gallery = Gallery()
    gallery.add_many([impression(rng, m, f"G{i}") for i, m in enumerate(masters[:20])])
    gallery.build_index()
    gallery.add_many([impression(rng, m, f"G{i}") for i, m in enumerate(masters[20:], start=20)])
    for n, master in enumerate(masters[::6]):
        gallery.search(mated_probe(rng, master, f"P{n}"))
        gallery.search(mated_probe(rng, master, f"T{n}", trace=True))
    assert compiled_signatures(kernels) == before


def test_the_warm_up_runs_once_per_process() -> None:
    compile_kernels()
    assert compile_kernels() == 0.0
