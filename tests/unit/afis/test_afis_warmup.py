"""The AFIS service compiles its numba kernels before it serves, so no search waits for a first compile."""

from __future__ import annotations

import random

import numpy as np
import pytest
from prum.federation.synthetic.afis import impression, master_finger, mated_probe
from prum.services.afis import kernels
from prum.services.afis.gallery import Gallery
from prum.services.afis.matching import verify
from prum.services.afis.warmup import _finger, _impression, compile_kernels
from prum.services.common.jit import compiled_signatures
from prum.services.common.reference import ReferenceKind

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
        for probe in (mated_probe(rng, master, f"P{n}"), mated_probe(rng, master, f"T{n}", trace=True)):
            for candidate in gallery.search(probe, 3):
                verify(probe, gallery.template(candidate.reference))
    assert compiled_signatures(kernels) == before


def test_the_warm_up_finds_its_own_mates() -> None:
    """The made-up file is a real one: a full impression of a stored finger finds that finger first."""
    rng = random.Random(3)
    fingers = [_finger(rng, f"M-{i}", 50) for i in range(30)]
    gallery = Gallery()
    gallery.add_many(fingers)
    gallery.build_index()
    probe = _impression(rng, fingers[7], "PROBE", 0.9, ReferenceKind.IDENTIFIED_PERSON)
    assert gallery.search(probe, 3)[0].reference == "M-7"


def test_the_warm_up_runs_once_per_process() -> None:
    compile_kernels()
    assert compile_kernels() == 0.0
